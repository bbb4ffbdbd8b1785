package fcn.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import fcn.core.FcnException;
import fcn.export.OnnxExporter;
import fcn.ir.Attrs;
import fcn.ir.DataType;
import fcn.ir.Dim;
import fcn.ir.Graph;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Variable;
import fcn.proto.OnnxProto.AttributeProto;
import fcn.proto.OnnxProto.GraphProto;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.NodeProto;
import fcn.proto.OnnxProto.OperatorSetIdProto;
import fcn.proto.OnnxProto.TensorProto;
import fcn.proto.OnnxProto.TensorShapeProto;
import fcn.proto.OnnxProto.TypeProto;
import fcn.proto.OnnxProto.ValueInfoProto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Precision#detect} on fp32, fp16 and int8 graphs built in code. */
class PrecisionTest {
  @TempDir Path dir;

  private static final int FLOAT = 1;
  private static final int UINT8 = 2;
  private static final int INT8 = 3;
  private static final int FLOAT16 = 10;

  private static ValueInfoProto value(String name, int type) {
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
        TypeProto.Tensor.newBuilder().setElemType(type).setShape(TensorShapeProto.newBuilder()))).build();
  }

  /** A raw-data initializer; a large payload proves the scan skips it rather than failing on it. */
  private static TensorProto weights(String name, int type, int bytes) {
    return TensorProto.newBuilder().setName(name).setDataType(type).addDims(bytes)
        .setRawData(ByteString.copyFrom(new byte[bytes])).build();
  }

  private static NodeProto node(String op, List<String> in, String out, AttributeProto... attrs) {
    NodeProto.Builder b = NodeProto.newBuilder().setOpType(op).setName(out).addAllInput(in).addOutput(out);
    for (AttributeProto a : attrs) {
      b.addAttribute(a);
    }
    return b.build();
  }

  private static AttributeProto intAttr(String name, long v) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
  }

  private Path write(String name, GraphProto.Builder g) throws Exception {
    ModelProto m = ModelProto.newBuilder().setIrVersion(8).addOpsetImport(OperatorSetIdProto.newBuilder()
        .setVersion(17)).setGraph(g.setName("g")).build();
    Path p = dir.resolve(name);
    Files.write(p, m.toByteArray());
    return p;
  }

  @Test
  void fp32ModelWrittenByFcnsExporter() {
    Graph g = new Graph("tiny");
    Variable x = g.addInput("data", DataType.FLOAT, new Shape(List.of(Dim.of(1), Dim.of(3), Dim.of(4), Dim.of(4))));
    var w = g.addConstant("w", Tensor.ofFloats(new long[] {2, 3, 1, 1}, new float[] {1, 2, 3, 4, 5, 6}));
    g.setOutputs(List.of(g.add(Op.CONV, "score", List.of(x, w), "score", Attrs.of("kernel_shape", new long[] {1, 1}))));
    Path p = dir.resolve("fp32.onnx");
    OnnxExporter.write(g, p, OnnxExporter.DEFAULT_OPSET);
    assertEquals(Precision.FP32, Precision.detect(p));
  }

  @Test
  void fp32WhenOnlyFloatAndIndexTypes() throws Exception {
    // Casts to other types and int64/uint8 tensors do not make a model reduced-precision.
    GraphProto.Builder g = GraphProto.newBuilder().addInput(value("x", FLOAT)).addOutput(value("y", FLOAT))
        .addInitializer(weights("w", FLOAT, 1 << 20)).addInitializer(weights("shape", 7, 16))
        .addInitializer(weights("mask", UINT8, 4))
        .addNode(node("Cast", List.of("x"), "x64", intAttr("to", 7)))
        .addNode(node("Conv", List.of("x", "w"), "y"));
    assertEquals(Precision.FP32, Precision.detect(write("fp32.onnx", g)));
  }

  @Test
  void fp16FromWeightsValuesOrCasts() throws Exception {
    GraphProto.Builder weightsOnly = GraphProto.newBuilder().addInput(value("x", FLOAT)).addOutput(value("y", FLOAT))
        .addInitializer(weights("w", FLOAT16, 1 << 20)).addNode(node("Conv", List.of("x", "w"), "y"));
    assertEquals(Precision.FP16, Precision.detect(write("w16.onnx", weightsOnly)));

    GraphProto.Builder io = GraphProto.newBuilder().addInput(value("x", FLOAT16)).addOutput(value("y", FLOAT16))
        .addNode(node("Relu", List.of("x"), "y"));
    assertEquals(Precision.FP16, Precision.detect(write("io16.onnx", io)));

    // fp32 in and out, fp16 inside: only the Casts say so (attribute before op type in the stream
    // is also read right, since the node is judged after all its fields).
    GraphProto.Builder casts = GraphProto.newBuilder().addInput(value("x", FLOAT)).addOutput(value("y", FLOAT))
        .addNode(NodeProto.newBuilder().addAttribute(intAttr("to", FLOAT16)).setOpType("Cast").addInput("x")
            .addOutput("h").build())
        .addNode(node("Cast", List.of("h"), "y", intAttr("to", FLOAT)));
    assertEquals(Precision.FP16, Precision.detect(write("cast16.onnx", casts)));

    // "to" = 10 on another op is no cast to float16.
    GraphProto.Builder other = GraphProto.newBuilder().addInput(value("x", FLOAT)).addOutput(value("y", FLOAT))
        .addNode(node("Custom", List.of("x"), "y", intAttr("to", FLOAT16)));
    assertEquals(Precision.FP32, Precision.detect(write("other.onnx", other)));
  }

  @Test
  void int8FromQdqNodesQLinearOpsIntegerOpsOrInt8Weights() throws Exception {
    GraphProto.Builder qdq = GraphProto.newBuilder().addInput(value("x", FLOAT)).addOutput(value("y", FLOAT))
        .addInitializer(weights("s", FLOAT, 4)).addInitializer(weights("z", UINT8, 1))
        .addNode(node("QuantizeLinear", List.of("x", "s", "z"), "q"))
        .addNode(node("DequantizeLinear", List.of("q", "s", "z"), "y"));
    assertEquals(Precision.INT8, Precision.detect(write("qdq.onnx", qdq)));

    for (String op : List.of("QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger", "DynamicQuantizeLinear")) {
      GraphProto.Builder g = GraphProto.newBuilder().addInput(value("x", FLOAT)).addOutput(value("y", FLOAT))
          .addNode(node(op, List.of("x"), "y"));
      assertEquals(Precision.INT8, Precision.detect(write(op + ".onnx", g)), op);
    }

    GraphProto.Builder weights = GraphProto.newBuilder().addInput(value("x", FLOAT)).addOutput(value("y", FLOAT))
        .addInitializer(weights("w", INT8, 64)).addNode(node("Conv", List.of("x", "w"), "y"));
    assertEquals(Precision.INT8, Precision.detect(write("w8.onnx", weights)));

    // int8 wins over fp16 when a model has both.
    GraphProto.Builder mixed = qdq.clone().addInitializer(weights("h", FLOAT16, 8));
    assertEquals(Precision.INT8, Precision.detect(write("mixed.onnx", mixed)));
  }

  @Test
  void unreadableFileIsOneLineBadInput() throws Exception {
    Path missing = dir.resolve("none.onnx");
    FcnException e = assertThrows(FcnException.class, () -> Precision.detect(missing));
    assertTrue(e.getMessage().contains("none.onnx") && !e.getMessage().contains("\n"), e.getMessage());
    Path junk = dir.resolve("junk.onnx");
    Files.write(junk, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff});
    e = assertThrows(FcnException.class, () -> Precision.detect(junk));
    assertTrue(e.getMessage().startsWith(junk + ": cannot read as an ONNX model"), e.getMessage());
  }
}
