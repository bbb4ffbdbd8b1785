package fcn.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.data.Images;
import fcn.data.LabelMap;
import fcn.data.RgbImage;
import fcn.data.SyntheticShapes;
import fcn.runtime.Device;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded default (fixtures/default, made by tools/make-default.sh): its dataset is what
 * the project's own generator writes for the recorded config (labels exactly, images as decoded pixels), and the trained FCN-8s,
 * converted by fcn, really segments it (the bar: at least 70% mean IU on the val split).
 * ConvertedFixturesTest checks model.onnx against a fresh conversion and against real Caffe.
 */
class DefaultModelTest {
  static final Path DIR = Path.of("fixtures", "default");

  /** The config tools/make-default.sh trains and scores with (TrainDefault: seed 1, val only). */
  static final SyntheticShapes.Config VAL = SyntheticShapes.Config.defaults().withSize(128, 128).withObjects(2, 6)
      .withDistractors(3).withCounts(0, 200);

  @Test
  void datasetIsTheGeneratorsOutputForTheRecordedConfig(@TempDir Path tmp) throws Exception {
    Path fresh = tmp.resolve("val");
    SyntheticShapes.generate(fresh, VAL);
    List<Path> committed = files(DIR.resolve("dataset"));
    List<Path> made = files(fresh);
    assertEquals(made.stream().map(fresh::relativize).toList(),
        committed.stream().map(DIR.resolve("dataset")::relativize).toList());
    for (int i = 0; i < made.size(); i++) {
      Path want = committed.get(i);
      Path got = made.get(i);
      String what = want + " differs from what SyntheticShapes writes for " + VAL;
      String name = want.getFileName().toString();
      if (name.endsWith(".png")) {
        // Labels: ImageIO's PNG bytes are not fcn's promise (zlib's choices); the class indices are.
        LabelMap a = Images.readLabel(want);
        LabelMap b = Images.readLabel(got);
        assertEquals(a.width() + "x" + a.height(), b.width() + "x" + b.height(), what);
        assertArrayEquals(a.values(), b.values(), what);
      } else if (name.endsWith(".jpg")) {
        assertJpegPixelsMatch(want, got, what);
      } else {
        assertArrayEquals(Files.readAllBytes(want), Files.readAllBytes(got), what);
      }
    }
  }

  /**
   * Both JPEGs decoded by this JVM. The pixels before encoding are fcn's (seeded, exact), but the
   * encoder is the JDK's libjpeg (bundled, or the system's libjpeg-turbo in some distributions'
   * JDKs), whose rounding may differ from the one that wrote the committed file: exact on the JDK
   * that made them, and on another within a small tolerance (a couple of levels where a quantised
   * DCT coefficient rounds the other way) far below what a different image gives (tens of levels
   * on average).
   */
  private static void assertJpegPixelsMatch(Path want, Path got, String what) {
    RgbImage a = Images.readRgb(want);
    RgbImage b = Images.readRgb(got);
    assertEquals(a.width() + "x" + a.height(), b.width() + "x" + b.height(), what);
    long sum = 0;
    int max = 0;
    for (int i = 0; i < a.rgb().length; i++) {
      int d = Math.abs((a.rgb()[i] & 0xff) - (b.rgb()[i] & 0xff));
      sum += d;
      max = Math.max(max, d);
    }
    double mean = (double) sum / a.rgb().length;
    assertTrue(max <= 16 && mean <= 1.0, what + ": decoded pixels differ by up to " + max + ", " + mean + " on average");
  }

  @Test
  void trainedDefaultReachesSeventyPercentMeanIu() {
    StringWriter err = new StringWriter();
    Bench.Result r = Bench.run(new Bench.Options(DIR.resolve("model.onnx")).device(Device.CPU).warmup(0)
        .dataset(DIR.resolve("dataset")).preprocess(fcn.data.Preprocess.caffe()), new PrintWriter(err));
    Bench.DatasetResult d = r.dataset();
    assertEquals(200, d.images());
    assertEquals(200L * 128 * 128, d.scores().pixels(), "every pixel is labelled (no void band)");
    double miu = d.scores().meanIu();
    assertTrue(miu >= 0.70, "val mean IU " + miu + " < 0.70\n" + Bench.summary(r));
    for (double iu : d.scores().classIu()) {
      assertTrue(iu > 0.3, "a class the net did not learn: " + Bench.summary(r));
    }
  }

  private static List<Path> files(Path root) throws Exception {
    try (Stream<Path> s = Files.walk(root)) {
      return s.filter(Files::isRegularFile).sorted().toList();
    }
  }
}
