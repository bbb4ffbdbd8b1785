package fcn.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import fcn.core.FcnException;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyntheticShapesTest {
  @TempDir Path dir;

  static final SyntheticShapes.Config SMALL = SyntheticShapes.Config.defaults().withCounts(24, 8).withSeed(42);

  @Test
  void sameSeedSameBytes() throws Exception {
    SyntheticShapes.generate(dir.resolve("a"), SMALL);
    SyntheticShapes.generate(dir.resolve("b"), SMALL);
    List<Path> a = files(dir.resolve("a"));
    List<Path> b = files(dir.resolve("b"));
    assertEquals(a.stream().map(p -> dir.resolve("a").relativize(p)).toList(),
        b.stream().map(p -> dir.resolve("b").relativize(p)).toList());
    assertEquals(24 + 8 + 24 + 8 + 4, a.size()); // jpg + png per image, 2 splits, classes, README
    for (int i = 0; i < a.size(); i++) {
      assertArrayEquals(Files.readAllBytes(a.get(i)), Files.readAllBytes(b.get(i)), a.get(i).toString());
    }
    // a different seed gives different images
    SyntheticShapes.generate(dir.resolve("c"), SMALL.withSeed(43));
    Path img = Path.of("JPEGImages", SyntheticShapes.id(0) + ".jpg");
    assertTrue(!java.util.Arrays.equals(Files.readAllBytes(dir.resolve("a").resolve(img)),
        Files.readAllBytes(dir.resolve("c").resolve(img))));
  }

  @Test
  void isAVocDatasetWithReadablePaletteLabels() {
    SyntheticShapes.Result r = SyntheticShapes.generate(dir.resolve("s"), SMALL.withVoidBorder(1));
    Dataset train = Dataset.open(dir.resolve("s"), "train", null);
    Dataset val = Dataset.open(dir.resolve("s"));
    assertEquals(Dataset.Kind.VOC, val.kind());
    assertEquals("val", val.split());
    assertEquals(24, train.samples().size());
    assertEquals(8, val.samples().size());
    assertEquals(SyntheticShapes.CLASSES, val.classNames());
    assertEquals(255, val.ignoreLabel());
    TreeSet<Integer> seen = new TreeSet<>();
    for (Sample s : train.samples()) {
      LabelMap l = Images.readLabel(s.label());
      assertEquals(64, l.width());
      assertEquals(64, l.height());
      RgbImage img = Images.readRgb(s.image());
      assertEquals(64, img.width());
      for (int v : l.values()) {
        seen.add(v);
      }
    }
    // all five shapes, background and the void band show up in 24 images
    assertEquals(List.of(0, 1, 2, 3, 4, 5, 255), List.copyOf(seen));
    assertTrue(r.classPixels()[0] > 0 && r.classPixels()[3] > 0);
  }

  @Test
  void renderMatchesWrittenLabelAndRefusesNonEmptyFolder() throws Exception {
    SyntheticShapes.generate(dir.resolve("s"), SMALL);
    LabelMap written = Images.readLabel(dir.resolve("s/SegmentationClass/" + SyntheticShapes.id(5) + ".png"));
    assertArrayEquals(SyntheticShapes.render(SMALL, 5).label().values(), written.values());
    FcnException e = assertThrows(FcnException.class, () -> SyntheticShapes.generate(dir.resolve("s"), SMALL));
    assertTrue(e.getMessage().contains("not empty"), e.getMessage());
  }

  @Test
  void pilReadsLabelsAsPaletteIndices() throws Exception {
    assumeTrue(new File("/usr/bin/python3").canExecute(), "no /usr/bin/python3: skipping PIL cross-check");
    SyntheticShapes.generate(dir.resolve("s"), SMALL.withCounts(1, 1));
    Path label = dir.resolve("s/SegmentationClass/" + SyntheticShapes.id(0) + ".png");
    Process p = new ProcessBuilder("/usr/bin/python3", "-c",
        "import sys\ntry:\n import numpy as np; from PIL import Image\nexcept ImportError:\n sys.exit(3)\n"
            + "im = Image.open(sys.argv[1]); a = np.array(im)\n"
            + "print(im.mode, int(a.sum()), a.shape[0], a.shape[1])", label.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes()).strip();
    int rc = p.waitFor();
    assumeTrue(rc != 3, "/usr/bin/python3 lacks numpy or PIL (apt-get install python3-numpy python3-pil): skipping");
    assertEquals(0, rc, out);
    long sum = 0;
    for (int v : Images.readLabel(label).values()) {
      sum += v;
    }
    assertEquals("P " + sum + " 64 64", out);
  }

  private static List<Path> files(Path root) throws Exception {
    try (Stream<Path> s = Files.walk(root)) {
      return s.filter(Files::isRegularFile).sorted().toList();
    }
  }
}
