package fcn.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import fcn.core.FcnException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PredictionWriterTest {
  @TempDir Path dir;

  @Test
  void writesIndexPngAndOverlay() {
    RgbImage img = new RgbImage(2, 1, new byte[] {100, 100, 100, 100, 100, 100});
    LabelMap pred = new LabelMap(2, 1, new int[] {0, 1});
    new PredictionWriter().write(dir, "im1", img, pred);
    assertArrayEquals(new int[] {0, 1}, Images.readLabel(dir.resolve("im1.png")).values());
    RgbImage ov = Images.readRgb(dir.resolve("overlay/im1.png"));
    // background (black in the VOC palette) is left as is
    assertEquals(100, ov.get(0, 0, 0));
    // class 1 = (128,0,0) at alpha 0.5: R = 100*0.5 + 128*0.5 = 114, G = B = 100*0.5 = 50
    assertEquals(114, ov.get(1, 0, 0));
    assertEquals(50, ov.get(1, 0, 1));
    assertEquals(50, ov.get(1, 0, 2));
  }

  @Test
  void sizeMismatchAndOversizedClassesAreErrors() {
    RgbImage img = new RgbImage(2, 1, new byte[6]);
    assertThrows(FcnException.class,
        () -> new PredictionWriter().writeOverlay(dir.resolve("o.png"), img, new LabelMap(1, 1, new int[] {0})));
    assertThrows(FcnException.class,
        () -> new PredictionWriter().writeIndexed(dir.resolve("p.png"), new LabelMap(1, 1, new int[] {300})));
    LabelMap small = new LabelMap(2, 1, new int[] {3, 4}).resizeNearest(4, 2);
    assertArrayEquals(new int[] {3, 3, 4, 4, 3, 3, 4, 4}, small.values());
  }
}
