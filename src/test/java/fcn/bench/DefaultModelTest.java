package fcn.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * The embedded default (fixtures/default, made by tools/make-default.sh): its dataset is exactly
 * what the project's own generator writes for the recorded config, and the trained FCN-8s,
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
      assertArrayEquals(Files.readAllBytes(made.get(i)), Files.readAllBytes(committed.get(i)),
          committed.get(i) + " differs from what SyntheticShapes writes for " + VAL);
    }
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
