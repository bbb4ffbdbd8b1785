package fcn.reference.caffe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import fcn.core.FcnException;
import fcn.ir.Shape;
import fcn.models.NetBuilder;
import fcn.models.NetBuilder.Fcn;
import fcn.models.NetBuilder.Mode;
import fcn.runtime.FloatTensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CaffeRunnerTest {
  @Test
  void trainNetRunsAsReferenceAndReshapes() {
    var train = new NetBuilder().widthDivisor(32).minWidth(4).classes(3).fcn(Fcn.FCN16S, Mode.TRAIN);
    try (CaffeRunner runner = CaffeRunner.open(train, null, Map.of("data", new long[] {1, 3, 24, 20}), 9, "fcn16s")) {
      assertEquals(List.of("data"), runner.inputs().stream().map(s -> s.name()).toList());
      assertEquals(Shape.of(1, 3, 24, 20), runner.inputs().get(0).shape());
      assertEquals(Shape.of(1, 3, 24, 20), runner.outputs().get(0).shape());
      FloatTensor in = new FloatTensor(new float[3 * 24 * 20], 1, 3, 24, 20);
      assertArrayEquals(new long[] {1, 3, 24, 20}, runner.run(Map.of("data", in)).get("score").shape());

      // Fully convolutional: another size reshapes.
      FloatTensor big = runner.run(Map.of("data", new FloatTensor(new float[3 * 30 * 31], 1, 3, 30, 31))).get("score");
      assertArrayEquals(new long[] {1, 3, 30, 31}, big.shape());
    }
  }

  @Test
  void classifierInputSizeIsFixed() {
    var vgg = new NetBuilder().widthDivisor(32).minWidth(4).classes(10).input(1, 32, 32).vgg16();
    try (CaffeRunner runner = CaffeRunner.open(vgg, null, Map.of(), 1, "vgg")) {
      assertArrayEquals(new long[] {1, 10}, runner.run(Map.of("data", new FloatTensor(new float[3 * 32 * 32], 1, 3, 32, 32)))
          .get("prob").shape());
      assertThrows(FcnException.class,
          () -> runner.run(Map.of("data", new FloatTensor(new float[3 * 64 * 64], 1, 3, 64, 64))));
    }
  }
}
