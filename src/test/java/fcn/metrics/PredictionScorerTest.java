package fcn.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.data.Dataset;
import fcn.data.Images;
import fcn.data.LabelMap;
import fcn.data.Palette;
import fcn.data.RgbImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PredictionScorerTest {
  @TempDir Path dir;

  // Two 2x2 samples "a" and "a_b" (one id is a prefix of the other), VOC layout.
  //   label a   = 0 1 / 1 255      label a_b = 2 2 / 0 0
  private Dataset voc() throws Exception {
    Path root = dir.resolve("voc");
    label(root.resolve("SegmentationClass/a.png"), 0, 1, 1, 255);
    label(root.resolve("SegmentationClass/a_b.png"), 2, 2, 0, 0);
    for (String id : List.of("a", "a_b")) {
      Images.writePng(root.resolve("JPEGImages/" + id + ".png"), new RgbImage(2, 2, new byte[12]));
    }
    Files.createDirectories(root.resolve("ImageSets/Segmentation"));
    Files.writeString(root.resolve("ImageSets/Segmentation/val.txt"), "a\na_b\n");
    Files.writeString(root.resolve("classes.txt"), "bg\nx\ny\n");
    return Dataset.open(root);
  }

  private static void label(Path p, int... v) {
    Images.writeIndexedPng(p, new LabelMap(2, 2, v), Palette.voc());
  }

  @Test
  void matchesByIdWithSuffixesAndDecodesColour() throws Exception {
    Dataset ds = voc();
    Path pred = dir.resolve("pred");
    // "a_b-net.png" belongs to a_b (longest id), not to a; a's prediction is colour-coded RGB
    label(pred.resolve("a_b-net.png"), 2, 0, 0, 0);
    Palette p = Palette.voc();
    byte[] rgb = new byte[12];
    int[] cls = {0, 1, 2, 2};
    for (int i = 0; i < 4; i++) {
      rgb[3 * i] = (byte) (p.color(cls[i]) >> 16);
      rgb[3 * i + 1] = (byte) (p.color(cls[i]) >> 8);
      rgb[3 * i + 2] = (byte) p.color(cls[i]);
    }
    Images.writePng(pred.resolve("a-net.png"), new RgbImage(2, 2, rgb));
    Files.writeString(pred.resolve("notes.txt"), "not a png");
    label(pred.resolve("zzz.png"), 0, 0, 0, 0);

    PredictionScorer.Result r = PredictionScorer.score(pred, ds, null);
    // a:   (0,0) (1,1) (1,2) [255 ignored]      a_b: (2,2) (2,0) (0,0) (0,0)
    //   row bg: 3 0 0   row x: 0 1 1   row y: 1 0 1
    long[][] h = r.scores().hist();
    assertArrayEquals(new long[] {3, 0, 0}, h[0]);
    assertArrayEquals(new long[] {0, 1, 1}, h[1]);
    assertArrayEquals(new long[] {1, 0, 1}, h[2]);
    assertEquals(List.of("bg", "x", "y"), r.scores().classNames());
    assertEquals(1, r.unmatchedPredictionFiles());
    assertEquals(2, r.images());

    // an exact ID.png wins over suffixed files
    label(pred.resolve("a.png"), 0, 1, 1, 0);
    // a.png = 0 1 / 1 0 against 0 1 / 1 255: two (x,x) pixels instead of one
    assertEquals(2, PredictionScorer.score(pred, ds, null).scores().hist()[1][1]);
  }

  @Test
  void ambiguousOrMissingPredictionsAreErrors() throws Exception {
    Dataset ds = voc();
    Path pred = dir.resolve("pred");
    label(pred.resolve("a_b.png"), 0, 0, 0, 0);
    label(pred.resolve("a-one.png"), 0, 0, 0, 0);
    label(pred.resolve("a-two.png"), 0, 0, 0, 0);
    FcnException e = assertThrows(FcnException.class, () -> PredictionScorer.score(pred, ds, null));
    assertTrue(e.getMessage().contains("several predictions for sample 'a'"), e.getMessage());
    Files.delete(pred.resolve("a-one.png"));
    Files.delete(pred.resolve("a-two.png"));
    e = assertThrows(FcnException.class, () -> PredictionScorer.score(pred, ds, null));
    assertTrue(e.getMessage().contains("no prediction for 1 of 2 samples") && e.getMessage().contains("(first: a)"),
        e.getMessage());
  }

  @Test
  void labelOutsideClassesIsAnError() throws Exception {
    Dataset ds = voc();
    Path pred = dir.resolve("pred");
    label(pred.resolve("a.png"), 0, 0, 0, 0);
    label(pred.resolve("a_b.png"), 0, 0, 0, 0);
    // with only two class names, label 2 in a_b is neither a class nor the ignore label
    FcnException e = assertThrows(FcnException.class, () -> PredictionScorer.score(pred, ds, List.of("bg", "x")));
    assertTrue(e.getMessage().contains("a_b.png: label 2 at x=0 y=0 is neither a class (0..1"), e.getMessage());
  }

  @Test
  void classesInferredWithoutNames() throws Exception {
    Path root = dir.resolve("f");
    label(root.resolve("labels/p.png"), 0, 3, 3, 9);
    Images.writePng(root.resolve("images/p.png"), new RgbImage(2, 2, new byte[12]));
    label(dir.resolve("pred/p.png"), 0, 3, 1, 0);
    // ignore label 9 given: classes are inferred as 0..3 from the values present
    PredictionScorer.Result r = PredictionScorer.score(dir.resolve("pred"), Dataset.open(root, null, 9), null);
    assertTrue(r.classesInferred());
    assertEquals(4, r.scores().numClasses());
    assertEquals(3, r.scores().pixels());
    // (0,0) (3,3) (3,1): iu = [1, 0, NaN, 1/2] -> mean over 3 defined = 1.5/3
    assertEquals(0.5, r.scores().meanIu(), 1e-15);
  }
}
