package fcn.reference.caffe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.models.NetBuilder;
import fcn.models.NetBuilder.Fcn;
import fcn.models.NetBuilder.Mode;
import fcn.proto.CaffeProto.ConvolutionParameter;
import fcn.proto.CaffeProto.FillerParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.proto.CaffeProto.SolverParameter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CaffeSolverTest {
  @TempDir Path tmp;

  private static final SolverParameter ADAM = SolverParameter.newBuilder()
      .setType("Adam").setBaseLr(0.1f).setLrPolicy("fixed").setMomentum(0.9f).setMomentum2(0.999f).build();

  /** A 1x1-conv pixel classifier: class = whether channel 0 is positive. Learnable in a few steps. */
  private static NetParameter tinyTrainNet() {
    NetParameter train = new NetBuilder().input(4, 6, 6).fcn(Fcn.FCN32S, Mode.TRAIN);
    LayerParameter input = train.getLayer(0);
    return NetParameter.newBuilder()
        .addLayer(input)
        .addLayer(LayerParameter.newBuilder().setName("score").setType("Convolution").addBottom("data").addTop("score")
            .setConvolutionParam(ConvolutionParameter.newBuilder().setNumOutput(2).addKernelSize(1)
                .setWeightFiller(FillerParameter.newBuilder().setType("gaussian").setStd(0.01f))))
        .addLayer(train.getLayer(train.getLayerCount() - 1))  // SoftmaxWithLoss, ignore_label 255
        .build();
  }

  @Test
  void adamLearnsATinyProblemAndWeightsMoveToADeployNet() {
    Random r = new Random(3);
    float[] data = new float[4 * 3 * 36];
    float[] label = new float[4 * 36];
    for (int n = 0; n < 4; n++) {
      for (int i = 0; i < 36; i++) {
        float v = (float) r.nextGaussian();
        data[n * 108 + i] = v;
        data[n * 108 + 36 + i] = (float) r.nextGaussian();
        label[n * 36 + i] = v > 0 ? 1 : 0;
      }
    }
    label[0] = 255;  // ignored
    NetParameter deploy = DeployNets.rewrite(tinyTrainNet(), Map.of());
    try (CaffeSolver solver = CaffeSolver.open(tinyTrainNet(), ADAM, 1, "tiny");
        CaffeNet net = CaffeNet.open(deploy, null, 1, "tiny deploy")) {
      assertEquals(List.of("data", "label"), solver.inputNames());
      assertArrayEquals(new long[] {4, 1, 6, 6}, solver.inputShapes().get("label"));
      float first = solver.step(Map.of("data", data, "label", label));
      float last = first;
      for (int i = 0; i < 60; i++) {
        last = solver.step(Map.of("data", data, "label", label));
      }
      assertEquals(61, solver.iter());
      assertTrue(last < first / 4, "loss " + first + " -> " + last);

      assertEquals(List.of("score"), solver.copyWeightsTo(net));
      assertArrayEquals(solver.params("score").get(0).data(), net.params("score").get(0).data());
      float[] scores = net.forward(Map.of("data", data)).get("score").data();
      int correct = 0;
      for (int i = 1; i < 36; i++) {
        int pred = scores[36 + i] > scores[i] ? 1 : 0;
        correct += pred == (int) label[i] ? 1 : 0;
      }
      assertTrue(correct >= 33, correct + "/35 pixels right");

      net.setParam("score", 1, new float[] {5, -5});
      solver.copyWeightsFrom(net);
      assertArrayEquals(new float[] {5, -5}, solver.params("score").get(1).data());
      Path saved = tmp.resolve("tiny.caffemodel");
      solver.save(saved);
      try (CaffeNet reloaded = CaffeNet.open(deploy, saved, 0, "reloaded")) {
        assertArrayEquals(new float[] {5, -5}, reloaded.params("score").get(1).data());
      }
      assertThrows(FcnException.class, () -> solver.step(Map.of("data", data)));
    }
  }

  @Test
  void badSettingsAreUserErrors() {
    assertThrows(FcnException.class, () -> CaffeSolver.open(tinyTrainNet(), ADAM.toBuilder().setType("Lion").build(), 1, "t"));
    assertThrows(FcnException.class, () -> CaffeSolver.open(tinyTrainNet(), ADAM.toBuilder().clearLrPolicy().build(), 1, "t"));
  }
}
