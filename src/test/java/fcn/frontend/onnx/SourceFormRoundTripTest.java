package fcn.frontend.onnx;

import static fcn.frontend.onnx.OnnxImporterTest.floatAttr;
import static fcn.frontend.onnx.OnnxImporterTest.input;
import static fcn.frontend.onnx.OnnxImporterTest.ints;
import static fcn.frontend.onnx.OnnxImporterTest.node;
import static fcn.frontend.onnx.OnnxImporterTest.output;
import static fcn.frontend.onnx.OnnxImporterTest.str;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.export.OnnxExporter;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.Tensor;
import fcn.proto.OnnxProto.GraphProto;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.OperatorSetIdProto;
import fcn.proto.OnnxProto.TensorProto;
import fcn.testing.TestOnnx;
import fcn.testing.TestOnnx.Array;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Operators the importer normalises to its opset-17 form (attributes turned into inputs,
 * Upsample into Resize, pre-13 Softmax spelled out) come out as they went in when written at
 * the source's opset and no pass touched them; ONNX Runtime gives the same bits.
 */
class SourceFormRoundTripTest {
  @TempDir Path tmp;

  /** Opset 9: Upsample (becomes Resize), Slice and Clip attributes, 4-D Softmax at axis 1. */
  static GraphProto.Builder opset9() {
    return GraphProto.newBuilder().setName("t").addInput(input("x", 1, 2, 3, 4))
        .addInitializer(OnnxImporterTest.floats("scales", new long[] {4}, 1f, 1f, 2f, 2f))
        .addNode(node("Upsample", "up", List.of("x", "scales"), List.of("u"), str("mode", "nearest")))
        .addNode(node("Slice", "slice", List.of("u"), List.of("s"), ints("starts", 0, 1),
            ints("ends", 2, 5), ints("axes", 1, 2)))
        .addNode(node("Clip", "clip", List.of("s"), List.of("c"), floatAttr("min", -0.5f),
            floatAttr("max", 0.5f)))
        .addNode(node("Softmax", "softmax", List.of("c"), List.of("y"), ints("axis", 1)))
        .addOutput(output("y"));
  }

  /** Opset 11: Squeeze/Unsqueeze axes, Split sizes and ReduceSum axes as attributes. */
  static GraphProto.Builder opset11() {
    return GraphProto.newBuilder().setName("t").addInput(input("x", 1, 1, 3, 4))
        .addNode(node("Squeeze", "squeeze", List.of("x"), List.of("sq"), ints("axes", 0)))
        .addNode(node("Unsqueeze", "unsqueeze", List.of("sq"), List.of("us"), ints("axes", 0)))
        .addNode(node("Split", "split", List.of("us"), List.of("a", "b"), ints("axis", 3),
            ints("split", 1, 3)))
        .addNode(node("ReduceSum", "sum", List.of("b"), List.of("r"), ints("axes", 3)))
        .addNode(node("Add", "add", List.of("a", "r"), List.of("y")))
        .addOutput(output("y"));
  }

  /** Opset 18: ReduceMean's axes as an input (the IR holds them as an attribute). */
  static GraphProto.Builder opset18() {
    return GraphProto.newBuilder().setName("t").addInput(input("x", 1, 2, 3, 4))
        .addInitializer(TensorProto.newBuilder().setName("axes").setDataType(7).addDims(2)
            .addInt64Data(2).addInt64Data(3))
        .addNode(node("ReduceMean", "mean", List.of("x", "axes"), List.of("y")))
        .addOutput(output("y"));
  }

  @Test
  void normalisedNodesComeOutAsTheyWentIn() throws Exception {
    Map<Integer, GraphProto.Builder> models = Map.of(9, opset9(), 11, opset11(), 18, opset18());
    for (var e : models.entrySet()) {
      int opset = e.getKey();
      ModelProto source = model(e.getValue(), opset);
      Path p = tmp.resolve("m" + opset + ".onnx");
      Files.write(p, source.toByteArray());
      Graph g = OnnxImporter.importModel(p);
      ModelProto written = OnnxExporter.toProto(g, opset);
      assertEquals(source.getGraph().getNodeList(), written.getGraph().getNodeList(), "opset " + opset);
      // Only what the written nodes read: no leftover constants of the canonical form.
      assertEquals(source.getGraph().getInitializerCount(), written.getGraph().getInitializerCount());
      long[] shape = opset == 11 ? new long[] {1, 1, 3, 4} : new long[] {1, 2, 3, 4};
      Array x = new Array(shape, TestOnnx.random(opset, (int) (shape[1] * 12)));
      Map<String, Array> ref = TestOnnx.run(source.toByteArray(), Map.of("x", x));
      Map<String, Array> got = TestOnnx.run(written.toByteArray(), Map.of("x", x));
      assertArrayEquals(ref.get("y").data(), got.get("y").data(), 0f, "opset " + opset);
      // At opset 17 the canonical form is written instead (the importer's own tests check it runs right).
      assertNotEquals(source.getGraph().getNodeList(), OnnxExporter.toProto(g, 17).getGraph().getNodeList());
    }
  }

  @Test
  void aTouchedLegacyNodeAtItsOldOpsetIsRefusedClearly() throws Exception {
    Path p = tmp.resolve("m11.onnx");
    Files.write(p, model(opset11(), 11).toByteArray());
    Graph g = OnnxImporter.importModel(p);
    Node squeeze = g.value("sq").producer();
    assertEquals(Op.SQUEEZE, squeeze.op());
    // A pass changes the axes: the source form no longer says what the node does.
    squeeze.setInput(1, g.addConstant("other_axes", Tensor.vector(0)));
    FcnException ex = assertThrows(FcnException.class, () -> OnnxExporter.toProto(g, 11));
    assertTrue(ex.getMessage().contains("Squeeze 'squeeze'") && ex.getMessage().contains("--opset 13"),
        ex.getMessage());
    // At opset 13 and later the IR's form is valid.
    assertEquals("Squeeze", OnnxExporter.toProto(g, 13).getGraph().getNode(0).getOpType());
  }

  static ModelProto model(GraphProto.Builder g, int opset) {
    return ModelProto.newBuilder().setIrVersion(opset <= 12 ? opset - 5 : 8)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(opset)).setGraph(g).build();
  }
}
