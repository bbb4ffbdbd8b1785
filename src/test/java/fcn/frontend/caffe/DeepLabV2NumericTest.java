package fcn.frontend.caffe;

import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.ir.Graph;
import fcn.proto.CaffeProto.BlobProto;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.reference.caffe.WidthReducer;
import fcn.testing.TestOnnx;
import fcn.testing.TestOnnx.Array;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The published DeepLab v2 ResNet-101 deploy net (ASPP with dilations 6/12/18/24, BatchNorm +
 * Scale: BVLC layers only, no Interp) at reduced width (widths / 32, at least 2; topology and
 * layer parameters as published) against real BVLC Caffe: at its 321 x 321 size and at an odd
 * 187 x 253 through symbolic H/W. BatchNorm statistics and Scale are random.
 */
class DeepLabV2NumericTest {
  static final Path NET = Path.of("..", "shared", "caffe", "deeplab",
      "deeplabv2_resnet101_deploy.prototxt");
  @TempDir Path tmp;

  @Test
  void reducedDeepLabV2MatchesCaffe() throws Exception {
    Assumptions.assumeTrue(Files.isRegularFile(NET),
        "../shared not found: skipping the DeepLab v2 Caffe-vs-ONNX Runtime check");
    NetParameter net = CaffeTestNets.reduced(
        new WidthReducer(32, 2).reduce(NetUpgrader.upgrade(CaffeTestNets.readText(NET),
            NET.toString())), 1);
    Path proto = CaffeTestNets.writeText(net, tmp.resolve("deeplab.prototxt"));
    Path model = tmp.resolve("deeplab.caffemodel");
    CaffeRef.writeCaffemodel(proto, model);
    CaffeTestNets.writeBinary(randomNormalisation(CaffeTestNets.readBinary(model), 3), model);
    Graph g = CaffeImporter.importNet(proto, model, CaffeImportOptions.defaults());
    try (CaffeRef caffe = new CaffeRef(proto, model)) {
      compare(caffe, g, new long[] {1, 3, 321, 321});
      TestOnnx.makeSpatialDynamic(g);
      compare(caffe, g, new long[] {1, 3, 187, 253});
    }
  }

  /**
   * Caffe fills BatchNorm's mean, variance and factor with zeros, and Scale with 1 and 0: draw
   * them instead (means Gaussian 0.1, variances and scales in [0.5, 1.5), factor 1, Scale
   * biases Gaussian 0.1), so that a wrong formula shows and the signal survives 100 layers.
   */
  private static NetParameter randomNormalisation(NetParameter model, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    NetParameter.Builder b = model.toBuilder();
    for (LayerParameter.Builder l : b.getLayerBuilderList()) {
      boolean bn = l.getType().equals("BatchNorm");
      if (!bn && !l.getType().equals("Scale")) {
        continue;
      }
      for (int i = 0; i < l.getBlobsCount(); i++) {
        BlobProto.Builder blob = l.getBlobsBuilder(i);
        int n = blob.getDataCount();
        blob.clearData();
        for (int j = 0; j < n; j++) {
          boolean spread = bn ? i == 1 : i == 0;
          blob.addData(bn && i == 2 ? 1f : spread ? (float) (0.5 + r.nextDouble())
              : (float) (0.1 * r.nextGaussian()));
        }
      }
    }
    return b.build();
  }

  private static void compare(CaffeRef caffe, Graph g, long[] shape) throws Exception {
    Map<String, Array> feeds = Map.of("data", Array.gaussian(7, 1f, shape));
    Array ref = caffe.forward(feeds, List.of("fc1_voc12")).get("fc1_voc12");
    Array got = TestOnnx.run(g, feeds).get("fc1_voc12");
    double err = got.maxAbsDiff(ref);
    System.out.printf("deeplab v2 at %dx%d: max|err| %.3g, max|ref| %.3g, ratio %.3g%n",
        shape[2], shape[3], err, ref.maxAbs(), err / ref.maxAbs());
    float lo = Float.MAX_VALUE;
    float hi = -Float.MAX_VALUE;
    for (float v : ref.data()) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    // A constant map (the signal died in the ReLUs) would match anything built on the biases.
    assertTrue(hi - lo > 0.01 * ref.maxAbs(), "fc1_voc12 is constant: the check would prove"
        + " nothing");
    assertTrue(err <= 1e-4 * ref.maxAbs(), String.format("at %dx%d: caffe %s ort %s max|err| %g,"
        + " max|ref| %g", shape[2], shape[3], ref.shapeString(), got.shapeString(), err,
        ref.maxAbs()));
  }
}
