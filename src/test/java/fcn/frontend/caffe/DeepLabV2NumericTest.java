package fcn.frontend.caffe;

import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.ir.Graph;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.reference.caffe.WidthReducer;
import fcn.testing.TestOnnx;
import fcn.testing.TestOnnx.Array;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The published DeepLab v2 ResNet-101 deploy net (ASPP with dilations 6/12/18/24, BatchNorm +
 * Scale: BVLC layers only, no Interp) at reduced width (widths / 32, at least 2; topology and
 * layer parameters as published) against real BVLC Caffe: at its 321 x 321 size and at an odd
 * 187 x 253 through symbolic H/W. BatchNorm statistics are random, so a wrong formula shows.
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
    List<String> bn = net.getLayerList().stream().filter(l -> l.getType().equals("BatchNorm"))
        .map(LayerParameter::getName).toList();
    // Caffe fills BatchNorm's mean, variance and factor with zeros: draw them instead.
    CaffeTestNets.writeBinary(CaffeTestNets.randomizeBlobs(CaffeTestNets.readBinary(model), bn,
        0.5f, 1.5f, 3), model);
    Graph g = CaffeImporter.importNet(proto, model, CaffeImportOptions.defaults());
    try (CaffeRef caffe = new CaffeRef(proto, model)) {
      compare(caffe, g, new long[] {1, 3, 321, 321});
      TestOnnx.makeSpatialDynamic(g);
      compare(caffe, g, new long[] {1, 3, 187, 253});
    }
  }

  private static void compare(CaffeRef caffe, Graph g, long[] shape) throws Exception {
    Map<String, Array> feeds = Map.of("data", Array.gaussian(7, 1f, shape));
    Array ref = caffe.forward(feeds, List.of("fc1_voc12")).get("fc1_voc12");
    Array got = TestOnnx.run(g, feeds).get("fc1_voc12");
    double err = got.maxAbsDiff(ref);
    System.out.printf("deeplab v2 at %dx%d: max|err| %.3g, max|ref| %.3g, ratio %.3g%n",
        shape[2], shape[3], err, ref.maxAbs(), err / ref.maxAbs());
    assertTrue(ref.maxAbs() > 0, "fc1_voc12 is all zeros: the check would prove nothing");
    assertTrue(err <= 1e-4 * ref.maxAbs(), String.format("at %dx%d: caffe %s ort %s max|err| %g,"
        + " max|ref| %g", shape[2], shape[3], ref.shapeString(), got.shapeString(), err,
        ref.maxAbs()));
  }
}
