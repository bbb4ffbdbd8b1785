package fcn.validate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import fcn.models.NetBuilder;
import fcn.models.NetBuilder.Fcn;
import fcn.models.NetBuilder.Mode;
import fcn.reference.caffe.CaffeRunner;
import fcn.runtime.FloatTensor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real Caffe as the fixture reference: what FixtureGenerator writes is what Caffe computes. */
class CaffeReferenceFixtureTest {
  @TempDir Path tmp;

  @Test
  void fixturesFromCaffeRoundTrip() {
    var train = new NetBuilder().widthDivisor(32).minWidth(4).classes(3).fcn(Fcn.FCN16S, Mode.TRAIN);
    try (CaffeRunner runner = CaffeRunner.open(train, null, Map.of("data", new long[] {1, 3, 24, 20}), 9, "fcn16s")) {
      List<Path> sets = FixtureGenerator.generate(runner, tmp.resolve("fx"),
          new FixtureGenerator.Options(Map.of(), 4, 1, -1, 1, false));
      LoadedTensor in = TensorProtoIO.read(sets.get(0).resolve("input_0.pb"));
      LoadedTensor out = TensorProtoIO.read(sets.get(0).resolve("output_0.pb"));
      assertEquals("data", in.name());
      assertEquals("score", out.name());
      FloatTensor again = runner.run(Map.of("data", in.tensor())).get("score");
      assertArrayEquals(again.data(), out.tensor().data());
    }
  }
}
