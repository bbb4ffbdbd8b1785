package fcn.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.ExitCode;
import fcn.proto.OnnxProto.AttributeProto;
import fcn.proto.OnnxProto.GraphProto;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.NodeProto;
import fcn.proto.OnnxProto.OperatorSetIdProto;
import fcn.proto.OnnxProto.TensorProto;
import fcn.proto.OnnxProto.TensorShapeProto;
import fcn.proto.OnnxProto.TypeProto;
import fcn.proto.OnnxProto.ValueInfoProto;
import fcn.runtime.Device;
import fcn.runtime.FloatTensor;
import fcn.runtime.OptLevel;
import fcn.runtime.Session;
import fcn.testing.TestOnnx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code fcn convert} carries, refuses and writes at each opset: subgraph operators
 * refused in one short line, operators without a shape rule carried but named when --dynamic
 * needs their shapes, carried ai.onnx operators kept at their opset, and the Caffe fixtures
 * written at every opset 13 to 21 with the same ONNX Runtime result.
 */
class ConvertCarryTest {
  static final Path FCN8S = Path.of("fixtures/caffe/fcn8s");
  @TempDir Path tmp;

  @Test
  void manyRefusedNodesAreSummarisedOnOneShortLine() throws Exception {
    GraphProto.Builder g = GraphProto.newBuilder().setName("t").addInput(input("x", 1, 3, 4, 4))
        .addOutput(output("y"));
    for (int i = 0; i < 119; i++) {
      g.addNode(NodeProto.newBuilder().setOpType("Loop").setName("input_Loop_" + i)
          .addInput("").addInput("").addInput("x").addOutput("l" + i)
          .addAttribute(graphAttr("body")));
      g.addNode(NodeProto.newBuilder().setOpType("If").setName("branch_If_" + i)
          .addInput("c").addOutput(i == 118 ? "y" : "f" + i)
          .addAttribute(graphAttr("then_branch")).addAttribute(graphAttr("else_branch")));
    }
    Path m = write(g, 13, "many.onnx");
    Path out = tmp.resolve("out.onnx");
    CliRun r = CliRun.fcn("convert", m.toString(), "-o", out.toString());
    assertEquals(ExitCode.BAD_INPUT, r.code(), r.all());
    String line = r.err().strip();
    assertEquals(1, line.lines().count(), line);
    // The path is the user's; the message after it is what must stay short.
    String prefix = "fcn: " + m + ": ";
    assertTrue(line.startsWith(prefix + "238 nodes use subgraphs"), line);
    assertTrue(line.length() - prefix.length() <= 200, line.length() + " chars: " + line);
    assertTrue(line.contains("Loop x119 (input_Loop_0, ...)"), line);
    assertTrue(line.contains("If x119 ("), line);
    assertTrue(Files.notExists(out));

    CliRun verbose = CliRun.fcn("convert", m.toString(), "-o", out.toString(), "--verbose");
    assertEquals(ExitCode.BAD_INPUT, verbose.code());
    for (int i = 0; i < 119; i++) {
      assertTrue(verbose.err().contains("input_Loop_" + i) && verbose.err().contains("branch_If_" + i),
          "--verbose lists every node: " + i);
    }
  }

  @Test
  void anOperatorWithoutAShapeRuleIsCarriedAndNamedWhenDynamicNeedsIt() throws Exception {
    GraphProto.Builder g = GraphProto.newBuilder().setName("t").addInput(input("x", 1, 3, 8, 8))
        .addNode(NodeProto.newBuilder().setOpType("Relu").setName("r").addInput("x").addOutput("a"))
        .addNode(NodeProto.newBuilder().setOpType("Frobnicate").setDomain("com.example").setName("f")
            .addInput("a").addInput("").addOutput("y")
            .addAttribute(AttributeProto.newBuilder().setName("strength").setF(0.5f)
                .setType(AttributeProto.AttributeType.FLOAT)))
        .addOutput(output("y"));
    Path m = write(g, 17, "frob.onnx", "com.example", 3);
    Path out = tmp.resolve("out.onnx");
    CliRun r = CliRun.fcn("convert", m.toString(), "-o", out.toString());
    assertEquals(ExitCode.OK, r.code(), r.all());
    ModelProto written = ModelProto.parseFrom(Files.readAllBytes(out));
    ModelProto source = ModelProto.parseFrom(Files.readAllBytes(m));
    assertEquals(source.getGraph().getNodeList(), written.getGraph().getNodeList());
    assertTrue(written.getOpsetImportList().contains(
        OperatorSetIdProto.newBuilder().setDomain("com.example").setVersion(3).build()));

    Files.delete(out);
    CliRun dyn = CliRun.fcn("convert", m.toString(), "--dynamic", "-o", out.toString());
    assertEquals(ExitCode.BAD_INPUT, dyn.code(), dyn.all());
    assertEquals(1, dyn.err().strip().lines().count(), dyn.err());
    assertTrue(dyn.err().contains("--dynamic") && dyn.err().contains("output 'y'")
        && dyn.err().contains("Frobnicate 'f'") && dyn.err().contains("no shape rule"), dyn.err());
    assertTrue(Files.notExists(out));
  }

  @Test
  void fullyConvNamesTheNodeWhoseShapeItNeeds() throws Exception {
    TensorProto.Builder w = TensorProto.newBuilder().setName("w").setDataType(1).addDims(2).addDims(48);
    for (int i = 0; i < 96; i++) {
      w.addFloatData(i * 0.01f);
    }
    GraphProto.Builder g = GraphProto.newBuilder().setName("t").addInput(input("x", 1, 3, 4, 4))
        .addInitializer(w)
        .addNode(NodeProto.newBuilder().setOpType("Frobnicate").setDomain("com.example").setName("f")
            .addInput("x").addOutput("a"))
        .addNode(NodeProto.newBuilder().setOpType("Flatten").setName("flat").addInput("a").addOutput("v"))
        .addNode(NodeProto.newBuilder().setOpType("Gemm").setName("fc").addInput("v").addInput("w")
            .addOutput("y").addAttribute(AttributeProto.newBuilder().setName("transB").setI(1)
                .setType(AttributeProto.AttributeType.INT)))
        .addOutput(output("y"));
    Path m = write(g, 13, "cls.onnx", "com.example", 1);
    Path out = tmp.resolve("out.onnx");
    CliRun r = CliRun.fcn("convert", m.toString(), "--fully-conv", "-o", out.toString());
    assertEquals(ExitCode.BAD_INPUT, r.code(), r.all());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().contains("--fully-conv") && r.err().contains("Flatten 'flat'")
        && r.err().contains("Frobnicate 'f'"), r.err());
    assertTrue(Files.notExists(out));
  }

  @Test
  void carriedStandardOperatorsStayAtTheirOpset() throws Exception {
    GraphProto.Builder g = GraphProto.newBuilder().setName("t").addInput(input("x", 1, 2, 3, 3))
        .addInitializer(TensorProto.newBuilder().setName("s").setDataType(1).addFloatData(0.1f))
        .addInitializer(TensorProto.newBuilder().setName("zp").setDataType(2).addInt32Data(128))
        .addNode(NodeProto.newBuilder().setOpType("QuantizeLinear").setName("q")
            .addInput("x").addInput("s").addInput("zp").addOutput("xq"))
        .addNode(NodeProto.newBuilder().setOpType("DequantizeLinear").setName("dq")
            .addInput("xq").addInput("s").addInput("zp").addOutput("y"))
        .addOutput(output("y"));
    Path m = write(g, 13, "qdq.onnx");
    Path out = tmp.resolve("out.onnx");
    CliRun r = CliRun.fcn("convert", m.toString(), "--opset", "17", "-o", out.toString());
    assertEquals(ExitCode.BAD_INPUT, r.code(), r.all());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().contains("--opset 17") && r.err().contains("QuantizeLinear x1 (q)")
        && r.err().contains("omit --opset"), r.err());
    assertTrue(Files.notExists(out));

    CliRun plain = CliRun.fcn("convert", m.toString(), "-o", out.toString());
    assertEquals(ExitCode.OK, plain.code(), plain.all());
    ModelProto written = ModelProto.parseFrom(Files.readAllBytes(out));
    assertEquals(13, written.getOpsetImport(0).getVersion());
    FloatTensor x = new FloatTensor(TestOnnx.random(2, 18), new long[] {1, 2, 3, 3});
    assertArrayEquals(run(m, x).get("y").data(), run(out, x).get("y").data(), 0f);
  }

  /** Issue 9: --opset 13 failed on the FCN fixtures ("Shape ... uses start/end"). */
  @Test
  void fcn8sConvertsAtEveryOpsetWithTheSameResult() throws Exception {
    FloatTensor x = fcn.validate.TensorProtoIO.read(FCN8S.resolve("test_data_set_0/input_0.pb")).tensor();
    float[] ref = null;
    for (int opset : new int[] {17, 13, 14, 15, 16, 18, 19, 20, 21}) {
      for (String dyn : opset == 13 ? List.of("--dynamic", "--no-dynamic") : List.of("--dynamic")) {
        Path out = tmp.resolve("fcn8s-" + opset + dyn + ".onnx");
        CliRun r = CliRun.fcn("convert", FCN8S.resolve("deploy.prototxt").toString(),
            FCN8S.resolve("weights.caffemodel").toString(), "--opset", "" + opset, dyn, "-o", out.toString());
        assertEquals(ExitCode.OK, r.code(), "--opset " + opset + " " + dyn + ": " + r.all());
        ModelProto m = ModelProto.parseFrom(Files.readAllBytes(out));
        assertEquals(opset, m.getOpsetImport(0).getVersion());
        if (opset < 15) {
          assertTrue(m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Shape"))
              .allMatch(n -> n.getAttributeCount() == 0), "no Shape start/end before opset 15");
        }
        float[] y = run(out, x).get("score").data();
        if (ref == null) {
          ref = y;
        } else {
          // The same float kernels on the same inputs: only the integer shape ops differ.
          assertArrayEquals(ref, y, 0f, "--opset " + opset + " " + dyn + " vs 17");
        }
      }
    }
    Path out = tmp.resolve("bad.onnx");
    CliRun r = CliRun.fcn("convert", FCN8S.resolve("deploy.prototxt").toString(),
        FCN8S.resolve("weights.caffemodel").toString(), "--opset", "12", "-o", out.toString());
    assertEquals(ExitCode.BAD_INPUT, r.code(), r.all());
    assertTrue(r.err().contains("expected 13 to 21"), r.err());
  }

  // ---- helpers -------------------------------------------------------------------------------

  static Map<String, FloatTensor> run(Path model, FloatTensor x) {
    try (Session s = Session.open(model, Device.CPU, 1, OptLevel.NONE)) {
      return s.run(Map.of(s.inputs().get(0).name(), x));
    }
  }

  private static AttributeProto graphAttr(String name) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.GRAPH)
        .setG(GraphProto.newBuilder().setName(name)).build();
  }

  private Path write(GraphProto.Builder g, int opset, String name, Object... domains) throws Exception {
    ModelProto.Builder m = ModelProto.newBuilder().setIrVersion(opset >= 15 ? 8 : 7)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(opset)).setGraph(g);
    for (int i = 0; i < domains.length; i += 2) {
      m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain((String) domains[i])
          .setVersion((Integer) domains[i + 1]));
    }
    Path p = tmp.resolve(name);
    Files.write(p, m.build().toByteArray());
    return p;
  }

  static ValueInfoProto input(String name, long... dims) {
    TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
    for (long d : dims) {
      s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
    }
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
        .setTensorType(TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))).build();
  }

  static ValueInfoProto output(String name) {
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
        .setTensorType(TypeProto.Tensor.newBuilder().setElemType(1))).build();
  }
}
