package fcn.reference.caffe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.ir.Shape;
import fcn.models.NetBuilder;
import fcn.models.NetBuilder.Fcn;
import fcn.models.NetBuilder.Mode;
import fcn.proto.CaffeProto.NetParameter;
import fcn.runtime.FloatTensor;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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

  @Test
  void shapesThatDoNotFitAreRefusedBeforeCaffeAborts() {
    // FCN-32s up to fc7 without FCN's pad of 100: fc6's 7x7 window needs an input of at least 193.
    NetParameter fcn = new NetBuilder().widthDivisor(32).minWidth(4).classes(3).input(1, 256, 256).fcn(Fcn.FCN32S, Mode.DEPLOY);
    NetParameter.Builder b = fcn.toBuilder().clearLayer();
    for (var l : fcn.getLayerList()) {
      if (l.getName().equals("score_fr")) {
        break;
      }
      b.addLayer(l.getName().equals("conv1_1")
          ? l.toBuilder().setConvolutionParam(l.getConvolutionParam().toBuilder().setPad(0, 1)).build() : l);
    }
    NetParameter unpadded = b.build();
    try (CaffeRunner runner = CaffeRunner.open(unpadded, null, Map.of(), 3, "unpadded", List.of("pool5", "fc7"))) {
      assertTrue(runner.fullyConvolutional());
      assertEquals(List.of("pool5", "fc7"), runner.outputs().stream().map(s -> s.name()).toList());
      assertEquals(Optional.empty(), runner.checkShapes(Map.of("data", new long[] {1, 3, 256, 256})));
      assertEquals(Optional.empty(), runner.checkShapes(Map.of("data", new long[] {1, 3, 250, 301})));
      String why = runner.checkShapes(Map.of("data", new long[] {1, 3, 100, 100})).orElseThrow();
      assertTrue(why.startsWith("input shape data=1,3,100,100 does not fit unpadded: layer 'fc6'"), why);
      FcnException e = assertThrows(FcnException.class,
          () -> runner.run(Map.of("data", new FloatTensor(new float[3 * 100 * 100], 1, 3, 100, 100))));
      assertEquals(why, e.getMessage());
      Map<String, FloatTensor> out = runner.run(Map.of("data", new FloatTensor(new float[3 * 250 * 301], 1, 3, 250, 301)));
      assertEquals(List.of("pool5", "fc7"), List.copyOf(out.keySet()));
      assertArrayEquals(new long[] {8, 10}, java.util.Arrays.copyOfRange(out.get("pool5").shape(), 2, 4));
      assertArrayEquals(new long[] {2, 4}, java.util.Arrays.copyOfRange(out.get("fc7").shape(), 2, 4));
    }
    FcnException open = assertThrows(FcnException.class,
        () -> CaffeRunner.open(unpadded, null, Map.of("data", new long[] {1, 3, 64, 64}), 3, "unpadded"));
    assertTrue(open.getMessage().startsWith("input shape data=1,3,64,64 does not fit unpadded: "), open.getMessage());
    FcnException noBlob = assertThrows(FcnException.class,
        () -> CaffeRunner.open(unpadded, null, Map.of(), 3, "unpadded", List.of("nope")));
    assertTrue(noBlob.getMessage().contains("has no blob 'nope'"), noBlob.getMessage());
  }

  @Test
  void inputNamesOfTrainAndDeployNets() {
    var train = new NetBuilder().widthDivisor(32).minWidth(4).classes(3).fcn(Fcn.FCN16S, Mode.TRAIN);
    assertEquals(List.of("data"), DeployNets.inputNames(train), "the label top is not an input");
    var deploy = new NetBuilder().widthDivisor(32).minWidth(4).classes(3).fcn(Fcn.FCN16S, Mode.DEPLOY);
    assertEquals(List.of("data"), DeployNets.inputNames(deploy));
  }
}
