package fcn.passes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.frontend.onnx.OnnxImporter;
import fcn.ir.Attrs;
import fcn.ir.Constant;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.passes.HeadOptions.Head;
import fcn.testing.TestOnnx;
import fcn.testing.TestOnnx.Array;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** --fully-conv on PyTorch's VGG16-style exports, against PyTorch's own fully-conv heatmap. */
class ClassifierHeadPassTest {
  static final Path VGG = Path.of("src/test/resources/torch/vgg16n");

  @ParameterizedTest
  @ValueSource(ints = {11, 17})
  void heatmapMatchesPyTorch(int opset) throws IOException {
    Graph g = OnnxImporter.importModel(VGG.resolve("model_opset" + opset + ".onnx"));
    assertEquals(3, ClassifierHeadPass.apply(g));
    assertHeatmapMatches(g, "opset " + opset);
  }

  /** The other exporter forms normalise to the same head (weights rewritten exactly). */
  @ParameterizedTest
  @ValueSource(strings = {"matmul-add", "reshape", "gemm-transB0-alpha-beta", "as-exported"})
  void exporterVariantsMatchPyTorch(String variant) throws IOException {
    Graph g = OnnxImporter.importModel(VGG.resolve("model_opset17.onnx"));
    rewrite(g, variant);
    ClassifierHeadPass.apply(g);
    assertHeatmapMatches(g, variant);
    for (Node n : g.nodes()) {
      assertFalse(n.op() == Op.GEMM || n.op() == Op.MAT_MUL || n.op() == Op.FLATTEN
          || n.op() == Op.RESHAPE || n.op() == Op.AVERAGE_POOL, n.toString());
    }
  }

  @Test
  void logitsAt224AreTheClassifiers() throws IOException {
    Graph g = OnnxImporter.importModel(VGG.resolve("model_opset11.onnx"));
    ClassifierHeadPass.apply(g);
    Path d = VGG.resolve("test_data_set_0");
    Array ref = TestOnnx.readPb(d.resolve("output_0.pb"));
    Array got = TestOnnx.run(g, Map.of("input", TestOnnx.readPb(d.resolve("input_0.pb")))).get("logits");
    assertArrayEquals(new long[] {1, 10, 1, 1}, got.shape());
    double err = new Array(ref.shape(), got.data()).maxAbsDiff(ref);
    System.out.printf("vgg16n fully-conv logits at 224: max|err| %.3g, max|ref| %.3g%n", err, ref.maxAbs());
    assertTrue(err <= 1e-4f * ref.maxAbs(), "max|err| " + err);
  }

  @Test
  void fcnHeadOnTorchVggWithoutPad100IsRefusedCleanly() throws IOException {
    Graph g = OnnxImporter.importModel(VGG.resolve("model_opset17.onnx"));
    ClassifierHeadPass.apply(g);
    FcnException e = assertThrows(FcnException.class,
        () -> FcnHeadPass.apply(g, HeadOptions.of(Head.FCN32S, 21)));
    assertFalse(e.getMessage().contains("\n"));
    assertTrue(e.getMessage().startsWith("cannot crop 'upscore' to 'input': offset -"), e.getMessage());
  }

  /** ONNX source end to end: fully-conv, FCN's pad 100 on the first conv, an 8s head. */
  @Test
  void onnxClassifierToFcn8s() throws IOException {
    Graph g = OnnxImporter.importModel(VGG.resolve("model_opset17.onnx"));
    ClassifierHeadPass.apply(g);
    Node first = g.inputs().get(0).consumers().get(0);
    first.attrs().set("pads", new long[] {100, 100, 100, 100});
    FcnHeadPass.Result r = FcnHeadPass.apply(g, HeadOptions.of(Head.FCN8S, 21));
    assertArrayEquals(new long[] {5, 5}, r.cropOffsets().get("score_pool4c"));
    assertArrayEquals(new long[] {9, 9}, r.cropOffsets().get("score_pool3c"));
    assertArrayEquals(new long[] {31, 31}, r.cropOffsets().get("score"));
    assertEquals("/features/features.23/MaxPool_output_0", r.pool4());
    g.inputs().get(0).setShape(Shape.parse("1,3,height,width"));
    Array x = TestOnnx.readPb(VGG.resolve("heatmap_320x416/input_0.pb"));
    Array s = TestOnnx.run(g, Map.of("input", x)).get("score");
    assertArrayEquals(new long[] {1, 21, 320, 416}, s.shape());
  }

  @Test
  void unrecognisedHeadNamesNodeAndPattern() throws IOException {
    Graph g = OnnxImporter.importModel(VGG.resolve("model_opset17.onnx"));
    Node flat = g.value("/Flatten_output_0").producer();
    Value x = flat.input(0);
    Variable t = g.add(Op.TRANSPOSE, "odd_transpose", List.of(x), "odd_t",
        Attrs.of("perm", new long[] {0, 2, 3, 1}));
    flat.setInput(0, t);
    Node fc6 = g.value("/classifier/classifier.0/Gemm_output_0").producer();
    Variable f2 = g.add(Op.SIGMOID, "odd_sigmoid", List.of(fc6.input(0)), "odd_s", null);
    fc6.setInput(0, f2);
    FcnException e = assertThrows(FcnException.class, () -> ClassifierHeadPass.apply(g));
    assertEquals("Gemm '/classifier/classifier.0/Gemm' reads 'odd_s' from Sigmoid 'odd_sigmoid',"
        + " expected Flatten(axis=1) or Reshape to [N, C*H*W] of a 4-D feature map, or a previous"
        + " fully-connected layer through Relu/Dropout", e.getMessage());
  }

  @Test
  void noDenseLayerIsRefused() throws IOException {
    Graph g = OnnxImporter.importModel(Path.of("src/test/resources/torch/fcn_resnet50n/model_opset12.onnx"));
    FcnException e = assertThrows(FcnException.class, () -> ClassifierHeadPass.apply(g));
    assertTrue(e.getMessage().startsWith("--fully-conv: graph "), e.getMessage());
    assertTrue(e.getMessage().contains("has no fully-connected layer"), e.getMessage());
  }

  // ---- Helpers -----------------------------------------------------------------------------

  static void assertHeatmapMatches(Graph g, String what) throws IOException {
    g.inputs().get(0).setShape(Shape.parse("1,3,height,width"));
    Path d = VGG.resolve("heatmap_320x416");
    Array ref = TestOnnx.readPb(d.resolve("output_0.pb"));
    Array got = TestOnnx.run(g, Map.of("input", TestOnnx.readPb(d.resolve("input_0.pb")))).get("logits");
    double err = got.maxAbsDiff(ref);
    System.out.printf("vgg16n heatmap 320x416 (%s): max|err| %.3g, max|ref| %.3g%n", what, err, ref.maxAbs());
    assertTrue(err <= 1e-4f * ref.maxAbs(), what + ": max|err| " + err + " vs max|ref| " + ref.maxAbs());
  }

  /** Re-expresses the PyTorch head in another exporter's form, with the same numbers. */
  static void rewrite(Graph g, String variant) {
    List<Node> gemms = g.nodes().stream().filter(n -> n.op() == Op.GEMM).toList();
    switch (variant) {
      case "matmul-add" -> forEach(gemms, n -> {
        Tensor w = ((Constant) n.input(1)).data();
        Value b = n.input(2);
        Variable out = n.output(0);
        Value x = n.input(0);
        g.removeNode(n);
        Constant wt = g.addConstant(g.uniqueValueName("wt"), ClassifierHeadPass.transpose(w));
        Variable mm = g.add(Op.MAT_MUL, n.name() + "_mm", List.of(x, wt), g.uniqueValueName("mm"), null);
        g.addNodeProducing(Op.ADD, n.name() + "_add", List.of(b, mm), List.of(out), null);
      });
      case "reshape" -> {
        Node flat = g.value("/Flatten_output_0").producer();
        Variable out = flat.output(0);
        Value x = flat.input(0);
        g.removeNode(flat);
        g.addNodeProducing(Op.RESHAPE, "view", List.of(x, g.addConstant("view_shape",
            Tensor.vector(1, -1))), List.of(out), null);
      }
      case "gemm-transB0-alpha-beta" -> forEach(gemms, n -> {
        Tensor w = ((Constant) n.input(1)).data();
        float[] wt = ClassifierHeadPass.transpose(w).floats();
        for (int i = 0; i < wt.length; i++) {
          wt[i] *= 2f; // alpha = 0.5 undoes it exactly
        }
        float[] b = ((Constant) n.input(2)).data().floats();
        for (int i = 0; i < b.length; i++) {
          b[i] *= 0.25f; // beta = 4
        }
        n.setInput(1, g.addConstant(g.uniqueValueName("w2"), Tensor.ofFloats(
            new long[] {w.dims()[1], w.dims()[0]}, wt)));
        n.setInput(2, g.addConstant(g.uniqueValueName("b2"), Tensor.ofFloats(new long[] {1, b.length}, b)));
        n.attrs().set("transB", 0L).set("alpha", 0.5f).set("beta", 4f);
      });
      default -> { }
    }
  }

  private static void forEach(List<Node> nodes, Consumer<Node> f) {
    nodes.forEach(f);
  }
}
