package fcn.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetTest {
  @TempDir Path dir;

  private static void assertFails(String fragment, Runnable r) {
    FcnException e = assertThrows(FcnException.class, r::run);
    assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' should contain '" + fragment + "'");
    assertTrue(!e.getMessage().contains("\n"), "one-line message: " + e.getMessage());
  }

  private Path label(String rel) {
    Path p = dir.resolve(rel);
    Images.writeIndexedPng(p, new LabelMap(2, 2, new int[] {0, 1, 1, 255}), Palette.voc());
    return p;
  }

  private Path image(String rel) {
    Path p = dir.resolve(rel);
    Images.writePng(p, new RgbImage(2, 2, new byte[12]));
    return p;
  }

  private Path voc(Path root, String... splits) throws Exception {
    for (String id : List.of("a", "b")) {
      image(dir.relativize(root.resolve("JPEGImages/" + id + ".png")).toString());
      label(dir.relativize(root.resolve("SegmentationClass/" + id + ".png")).toString());
    }
    Files.createDirectories(root.resolve("ImageSets/Segmentation"));
    for (String s : splits) {
      Files.writeString(root.resolve("ImageSets/Segmentation/" + s + ".txt"), "a\nb\n\n");
    }
    return root;
  }

  @Test
  void vocDefaultsToValAndIgnore255() throws Exception {
    Path root = voc(dir.resolve("VOC2012"), "train", "val");
    Dataset d = Dataset.open(root);
    assertEquals(Dataset.Kind.VOC, d.kind());
    assertEquals("val", d.split());
    assertEquals(255, d.ignoreLabel());
    assertEquals(ClassNames.VOC, d.classNames());
    assertEquals(List.of("a", "b"), d.samples().stream().map(Sample::id).toList());
    assertEquals("VOC2012", d.name());
    assertEquals(7, Dataset.open(root, null, 7).ignoreLabel());
    // the VOCdevkit folder above a single year folder works too
    assertEquals("VOC2012", Dataset.open(dir).name());
    assertFails("test.txt", () -> Dataset.open(root, "test", null));
  }

  @Test
  void vocWithoutValUsesFirstSplitAndChecksFiles() throws Exception {
    Path root = voc(dir.resolve("v"), "trainaug", "b");
    assertEquals("b", Dataset.open(root).split());
    Files.writeString(root.resolve("ImageSets/Segmentation/b.txt"), "a\nmissing\n");
    assertFails("b.txt:2: image 'missing'", () -> Dataset.open(root));
    Files.delete(root.resolve("SegmentationClass/a.png"));
    assertFails("a.png", () -> Dataset.open(root, "trainaug", null));
  }

  @Test
  void listFileResolvesRelativeToItsFolder() throws Exception {
    image("cam/test/x1.png");
    label("cam/annot/x1.png");
    image("cam/test/x2.png");
    label("cam/annot/x2.png");
    Files.writeString(dir.resolve("cam/test.txt"), "# comment\ntest/x1.png annot/x1.png\n\ntest/x2.png  annot/x2.png\n");
    Files.writeString(dir.resolve("cam/classes.txt"), "sky\nroad\n");
    Dataset d = Dataset.open(dir.resolve("cam/test.txt"), null, 11);
    assertEquals(Dataset.Kind.LIST, d.kind());
    assertEquals("cam", d.name());
    assertEquals("test", d.split());
    assertEquals(11, d.ignoreLabel());
    assertEquals(List.of("sky", "road"), d.classNames());
    assertEquals(List.of("x1", "x2"), d.samples().stream().map(Sample::id).toList());
    // the folder alone, or with --split naming the list
    assertEquals(2, Dataset.open(dir.resolve("cam")).samples().size());
    assertEquals(2, Dataset.open(dir.resolve("cam"), "test", null).samples().size());
    assertNull(Dataset.open(dir.resolve("cam")).ignoreLabel());
    assertFails("no split 'val'", () -> Dataset.open(dir.resolve("cam"), "val", null));

    Files.writeString(dir.resolve("cam/bad.txt"), "test/x1.png annot/x1.png\ntest/x2.png\n");
    assertFails("bad.txt:2: expected 'IMAGE LABEL'", () -> Dataset.open(dir.resolve("cam/bad.txt")));
    assertFails("several list files", () -> Dataset.open(dir.resolve("cam")));
    Files.writeString(dir.resolve("cam/bad.txt"), "test/x1.png annot/nope.png\n");
    assertFails("nope.png", () -> Dataset.open(dir.resolve("cam/bad.txt")));
  }

  @Test
  void imagesAndLabelsFoldersMatchByStem() throws Exception {
    image("f/images/p.png");
    label("f/labels/p.png");
    image("f/images/q.png");
    label("f/labels/q.png");
    Dataset d = Dataset.open(dir.resolve("f"));
    assertEquals(Dataset.Kind.FOLDERS, d.kind());
    assertEquals(List.of("p", "q"), d.samples().stream().map(Sample::id).toList());
    assertTrue(d.classNames().isEmpty());
    label("f/labels/r.png");
    assertFails("r.png: no image r.*", () -> Dataset.open(dir.resolve("f")));
    image("f/images/r.png");
    image("f/images/s.png");
    assertFails("s.png: no label", () -> Dataset.open(dir.resolve("f")));
  }

  @Test
  void missingOrUnknownPathsAreErrors() throws Exception {
    assertFails("nowhere: no such dataset", () -> Dataset.open(dir.resolve("nowhere")));
    Files.createDirectories(dir.resolve("empty"));
    assertFails("empty: not a dataset", () -> Dataset.open(dir.resolve("empty")));
  }

  @Test
  void classListEndsAtBlankLine() throws Exception {
    Path f = dir.resolve("classes.txt");
    Files.writeString(f, "\n# names\nbackground\ncat\n\nand 255 is the ignore label, see above\n");
    assertEquals(List.of("background", "cat"), ClassNames.read(f));
    Files.writeString(f, "a\nb\na\n");
    assertFails("classes.txt:3: class name 'a' already given on line 1", () -> ClassNames.read(f));
  }

  @Test
  void realVocSample() {
    Path voc = SharedData.require("data/voc-sample");
    Dataset d = Dataset.open(voc);
    assertEquals("voc-sample", d.name());
    assertEquals("val", d.split());
    assertEquals(List.of("2007_000129"), d.samples().stream().map(Sample::id).toList());
    LabelMap l = Images.readLabel(d.samples().get(0).label());
    assertEquals(334, l.width());
    assertEquals(500, l.height());
    RgbImage img = Images.readRgb(d.samples().get(0).image());
    assertEquals(334, img.width());
    // the shipped PASCAL class list (with its trailing note) reads as exactly the 21 VOC classes
    assertEquals(ClassNames.VOC, ClassNames.read(SharedData.require("data/pascal/classes.txt")));
  }

  @Test
  void realCamvidListFile() {
    Path cam = SharedData.require("data/camvid");
    Dataset d = Dataset.open(cam.resolve("test.txt"), null, 11);
    assertEquals(233, d.samples().size());
    assertEquals(11, d.classNames().size());
    assertEquals("camvid", d.name());
    assertEquals(233, Dataset.open(cam, "test", 11).samples().size());
  }
}
