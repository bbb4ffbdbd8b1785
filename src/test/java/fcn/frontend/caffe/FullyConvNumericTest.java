package fcn.frontend.caffe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.Value;
import fcn.passes.ClassifierHeadPass;
import fcn.passes.ShapeInference;
import fcn.proto.CaffeProto.BlobProto;
import fcn.proto.CaffeProto.BlobShape;
import fcn.proto.CaffeProto.ConvolutionParameter;
import fcn.proto.CaffeProto.InputParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
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
 * --fully-conv (ClassifierHeadPass) against real Caffe: VGG16 (the published V1 definition, widths / 16) with
 * Caffe-made weights must give Caffe's class scores at 224 x 224 after the rewrite, and at
 * 320 x 416 it must equal Caffe running FCN's net surgery (fc6/fc7/fc8 as 7x7/1x1/1x1
 * convolutions holding the same bytes).
 */
class FullyConvNumericTest {
  static final Path SHARED = Path.of("..", "shared");
  @TempDir Path tmp;

  @Test
  void vgg16BecomesFullyConvolutionalLikeFcnNetSurgery() throws Exception {
    Path v1 = SHARED.resolve("caffe/vgg16/VGG_ILSVRC_16_layers_deploy.v1.prototxt");
    Assumptions.assumeTrue(Files.isDirectory(SHARED),
        "../shared not found: skipping the VGG16 net-surgery check");
    NetParameter net = CaffeTestNets.reduced(
        NetUpgrader.upgrade(CaffeTestNets.readText(v1), "vgg16"), 16);
    NetParameter.Builder nb = net.toBuilder();
    nb.getLayerBuilder(0).setInputParam(InputParameter.newBuilder()
        .addShape(BlobShape.newBuilder().addDim(1).addDim(3).addDim(224).addDim(224)));
    net = nb.build();
    Path proto = CaffeTestNets.writeText(net, tmp.resolve("vgg.prototxt"));
    Path model = tmp.resolve("vgg.caffemodel");
    CaffeImporter.importNet(proto, null, CaffeImportOptions.defaults().withRandomWeightsSeed(1L));
    CaffeRef.writeCaffemodel(proto, model);

    Graph g = fullyConv(CaffeImporter.importNet(proto, model, CaffeImportOptions.defaults()));
    assertEquals(List.of("prob"), g.outputs().stream().map(Value::name).toList());
    assertArrayEquals(new long[] {1, 1000, 1, 1}, g.value("prob").shape().toArray());
    for (Node n : g.nodes()) {
      assertTrue(n.op() != Op.GEMM && n.op() != Op.FLATTEN, "left over: " + n);
    }
    Node fc6 = node(g, "fc6");
    assertEquals(Op.CONV, fc6.op());
    assertArrayEquals(new long[] {7, 7}, fc6.attrs().getInts("kernel_shape"));
    assertArrayEquals(new long[] {256, 32, 7, 7}, fc6.input(1).shape().toArray());
    assertArrayEquals(new long[] {1, 1}, node(g, "fc7").attrs().getInts("kernel_shape"));
    assertEquals(1L, g.value("prob").producer().attrs().getInt("axis", -1));

    Array x = Array.gaussian(5, 1f, 1, 3, 224, 224);
    try (CaffeRef caffe = new CaffeRef(proto, model)) {
      Array ref = caffe.forward(Map.of("data", x), List.of("prob")).get("prob");
      Array got = TestOnnx.run(g, Map.of("data", x)).get("prob");
      assertArrayEquals(new long[] {1, 1000, 1, 1}, got.shape());
      assertTrue(new Array(ref.shape(), got.data()).maxAbsDiff(ref) <= 1e-4 * ref.maxAbs());
    }

    // FCN's surgery in Caffe: the same bytes under convolution shapes.
    NetParameter.Builder sb = net.toBuilder();
    for (LayerParameter.Builder l : sb.getLayerBuilderList()) {
      if (l.getType().equals("InnerProduct")) {
        var ip = l.getInnerProductParam();
        l.setType("Convolution").clearInnerProductParam().setConvolutionParam(
            ConvolutionParameter.newBuilder().setNumOutput(ip.getNumOutput())
                .addKernelSize(l.getName().equals("fc6") ? 7 : 1));
      }
    }
    NetParameter surgery = sb.build();
    NetParameter.Builder mb = CaffeTestNets.readBinary(model).toBuilder();
    for (LayerParameter.Builder l : mb.getLayerBuilderList()) {
      if (l.getName().startsWith("fc") && l.getBlobsCount() > 0) {
        BlobProto.Builder w = l.getBlobsBuilder(0);
        long o = w.getShape().getDim(0);
        long k = w.getShape().getDim(1);
        long[] d = l.getName().equals("fc6") ? new long[] {o, k / 49, 7, 7}
            : new long[] {o, k, 1, 1};
        BlobShape.Builder s = BlobShape.newBuilder();
        for (long v : d) {
          s.addDim(v);
        }
        w.setShape(s);
        l.setType("Convolution");
      }
    }
    Path sProto = CaffeTestNets.writeText(surgery, tmp.resolve("vgg-fcn.prototxt"));
    Path sModel = CaffeTestNets.writeBinary(mb.build(), tmp.resolve("vgg-fcn.caffemodel"));
    CaffeImporter.importNet(sProto, sModel, CaffeImportOptions.defaults());
    TestOnnx.makeSpatialDynamic(g);
    Array big = Array.gaussian(6, 1f, 1, 3, 320, 416);
    try (CaffeRef caffe = new CaffeRef(sProto, sModel)) {
      Array ref = caffe.forward(Map.of("data", big), List.of("prob")).get("prob");
      Array got = TestOnnx.run(g, Map.of("data", big)).get("prob");
      assertArrayEquals(new long[] {1, 1000, 4, 7}, ref.shape());
      double err = got.maxAbsDiff(ref);
      assertTrue(err <= 1e-4 * ref.maxAbs(), "max|err| " + err + " ort " + got.shapeString());
    }
  }

  static Node node(Graph g, String name) {
    return g.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow();
  }

  @Test
  void transposedInnerProductChainMatchesCaffe() throws Exception {
    String text = """
        layer { name: 'in' type: 'Input' top: 'data' input_param { shape { dim: 2 dim: 3 dim: 4 dim: 5 } } }
        layer { name: 'fc1' type: 'InnerProduct' bottom: 'data' top: 'fc1' inner_product_param {
          num_output: 7 transpose: true weight_filler { type: 'gaussian' std: 0.3 } bias_filler { type: 'gaussian' std: 0.3 } } }
        layer { name: 'relu' type: 'ReLU' bottom: 'fc1' top: 'fc1' relu_param { negative_slope: 0.2 } }
        layer { name: 'drop' type: 'Dropout' bottom: 'fc1' top: 'fc1' }
        layer { name: 'fc2' type: 'InnerProduct' bottom: 'fc1' top: 'fc2' inner_product_param {
          num_output: 6 bias_term: false weight_filler { type: 'gaussian' std: 0.3 } } }
        layer { name: 'scale' type: 'Power' bottom: 'fc2' top: 'fc2s' power_param { scale: 2 } }
        layer { name: 'prob' type: 'Softmax' bottom: 'fc2s' top: 'prob' }
        """;
    Path proto = Files.writeString(tmp.resolve("mlp.prototxt"), text);
    CaffeImporter.importNet(proto, null, CaffeImportOptions.defaults().withRandomWeightsSeed(1L));
    Path model = tmp.resolve("mlp.caffemodel");
    CaffeRef.writeCaffemodel(proto, model);
    Graph g = fullyConv(CaffeImporter.importNet(proto, model, CaffeImportOptions.defaults()));
    assertArrayEquals(new long[] {2, 6, 1, 1}, g.value("prob").shape().toArray());
    Array x = Array.gaussian(9, 1f, 2, 3, 4, 5);
    try (CaffeRef caffe = new CaffeRef(proto, model)) {
      Array ref = caffe.forward(Map.of("data", x), List.of("prob")).get("prob");
      Array got = TestOnnx.run(g, Map.of("data", x)).get("prob");
      assertTrue(new Array(ref.shape(), got.data()).maxAbsDiff(ref) <= 1e-5 * ref.maxAbs());
    }
  }

  /** What `fcn convert --fully-conv` does: the surgery, then shapes at the import size. */
  private static Graph fullyConv(Graph g) {
    ClassifierHeadPass.apply(g);
    ShapeInference.apply(g);
    return g;
  }
}
