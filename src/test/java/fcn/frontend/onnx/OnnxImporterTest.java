package fcn.frontend.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import fcn.core.FcnException;
import fcn.ir.Constant;
import fcn.ir.DataType;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.Value;
import fcn.proto.OnnxProto.AttributeProto;
import fcn.proto.OnnxProto.GraphProto;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.NodeProto;
import fcn.proto.OnnxProto.OperatorSetIdProto;
import fcn.proto.OnnxProto.StringStringEntryProto;
import fcn.proto.OnnxProto.TensorProto;
import fcn.proto.OnnxProto.TensorShapeProto;
import fcn.proto.OnnxProto.TypeProto;
import fcn.proto.OnnxProto.ValueInfoProto;
import fcn.testing.TestOnnx;
import fcn.testing.TestOnnx.Array;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class OnnxImporterTest {
  static final Path TORCH = Path.of("src/test/resources/torch");

  @TempDir Path tmp;

  /** Imports a PyTorch export, runs it through ORT and compares with PyTorch's outputs. */
  @ParameterizedTest
  @CsvSource({"vgg16n/model_opset11.onnx, test_data_set_0", "vgg16n/model_opset17.onnx, test_data_set_0",
      "fcn_resnet50n/model_opset12.onnx, test_data_set_0", "deeplabv3n/model_opset11.onnx, test_data_set_0"})
  void importedTorchExportsMatchPyTorch(String model, String set) throws IOException {
    Path m = TORCH.resolve(model);
    Graph g = OnnxImporter.importModel(m);
    Path d = m.getParent().resolve(set);
    Array in = TestOnnx.readPb(d.resolve("input_0.pb"));
    Map<String, Array> out = TestOnnx.run(g, Map.of(g.inputs().get(0).name(), in));
    for (int k = 0; Files.exists(d.resolve("output_" + k + ".pb")); k++) {
      Path p = d.resolve("output_" + k + ".pb");
      Array ref = TestOnnx.readPb(p);
      Array got = out.get(TestOnnx.nameOfPb(p));
      assertNotNull(got, "output " + TestOnnx.nameOfPb(p));
      double err = got.maxAbsDiff(ref);
      assertTrue(err <= 1e-4f * ref.maxAbs(), model + " " + p.getFileName() + ": max|err| " + err
          + " vs max|ref| " + ref.maxAbs());
    }
  }

  @Test
  void keepsNamesAndInitializerBytes() throws IOException {
    Path m = TORCH.resolve("vgg16n/model_opset17.onnx");
    ModelProto proto = ModelProto.parseFrom(Files.readAllBytes(m));
    Graph g = OnnxImporter.importModel(m);
    for (TensorProto t : proto.getGraph().getInitializerList()) {
      Value v = g.value(t.getName());
      assertTrue(v instanceof Constant, t.getName());
      assertEquals(DataType.fromOnnx(t.getDataType()), v.type());
      assertArrayEquals(t.getRawData().toByteArray(), ((Constant) v).data().rawBytes(), t.getName());
    }
    for (NodeProto n : proto.getGraph().getNodeList()) {
      for (String o : n.getOutputList()) {
        assertNotNull(g.value(o), o);
      }
    }
    assertEquals(List.of("logits"), TestOnnx.outputNames(g));
    assertEquals("17", g.metadata().get("source.opset"));
  }

  // ---- Opset normalisation -----------------------------------------------------------------

  @Test
  void opset11AttributesBecomeInputs() {
    GraphProto.Builder gp = GraphProto.newBuilder()
        .addInput(input("x", 1, 2, 3, 4))
        .addNode(node("Unsqueeze", "u", List.of("x"), List.of("u"), ints("axes", 0)))
        .addNode(node("Squeeze", "s", List.of("u"), List.of("s"), ints("axes", 0)))
        .addNode(node("Split", "sp", List.of("s"), List.of("a", "b"), ints("axis", 1), ints("split", 1, 1)))
        .addNode(node("Pad", "p", List.of("a"), List.of("p"), ints("pads", 0, 0, 1, 1, 0, 0, 1, 1),
            floatAttr("value", 2f)))
        .addNode(node("Clip", "c", List.of("p"), List.of("c"), floatAttr("min", -0.5f), floatAttr("max", 0.5f)))
        .addNode(node("Dropout", "d", List.of("c"), List.of("d"), floatAttr("ratio", 0.3f)))
        .addNode(node("Softmax", "sm", List.of("d"), List.of("y")))
        .addOutput(output("y")).addOutput(output("b"));
    // opset 10: Pad/Clip attributes changed at 11, but Slice is fine; build at 10 for Pad/Clip.
    Graph g = importProto(gp, 10);
    Node u = g.value("u").producer();
    assertEquals(2, u.inputs().size());
    assertArrayEquals(new long[] {0}, ((Constant) u.input(1)).data().longs());
    assertFalse(u.attrs().has("axes"));
    assertArrayEquals(new long[] {1, 1}, ((Constant) g.value("a").producer().input(1)).data().longs());
    Node p = g.value("p").producer();
    assertEquals(3, p.inputs().size());
    assertArrayEquals(new float[] {2f}, ((Constant) p.input(2)).data().floats());
    Node c = g.value("c").producer();
    assertEquals(3, c.inputs().size());
    assertFalse(g.value("d").producer().attrs().has("ratio"));
    // Softmax-10 over a 4-D tensor at axis 1 flattens: spelled out for opset 17.
    assertEquals(Op.RESHAPE, g.value("y").producer().op());

    float[] x = TestOnnx.random(7, 24);
    Map<String, Array> out = TestOnnx.run(g, Map.of("x", new Array(new long[] {1, 2, 3, 4}, x)));
    // Reference computed independently: pad the first channel, clip, then a softmax over all
    // 1*5*6 = 30 values (Softmax-10 coerces [1,1,5,6] to [1,30]).
    float[] padded = new float[30];
    for (int h = 0; h < 5; h++) {
      for (int w = 0; w < 6; w++) {
        float v = (h >= 1 && h <= 3 && w >= 1 && w <= 4) ? x[(h - 1) * 4 + (w - 1)] : 2f;
        padded[h * 6 + w] = Math.max(-0.5f, Math.min(0.5f, v));
      }
    }
    double sum = 0;
    for (float v : padded) {
      sum += Math.exp(v);
    }
    float[] ref = new float[30];
    for (int i = 0; i < 30; i++) {
      ref[i] = (float) (Math.exp(padded[i]) / sum);
    }
    assertEquals(0f, out.get("y").maxAbsDiff(new Array(new long[] {1, 1, 5, 6}, ref)), 1e-6f);
  }

  @Test
  void upsampleBecomesResizeAndSliceAttributesBecomeInputs() {
    GraphProto.Builder gp = GraphProto.newBuilder()
        .addInput(input("x", 1, 1, 2, 3))
        .addInitializer(floats("scales", new long[] {4}, 1f, 1f, 2f, 2f))
        .addNode(node("Upsample", "up", List.of("x", "scales"), List.of("u"), str("mode", "nearest")))
        .addOutput(output("u"));
    Graph g = importProto(gp, 9);
    Node r = g.value("u").producer();
    assertEquals(Op.RESIZE, r.op());
    assertEquals("asymmetric", r.attrs().getString("coordinate_transformation_mode", null));
    float[] x = {1, 2, 3, 4, 5, 6};
    Array y = TestOnnx.run(g, Map.of("x", new Array(new long[] {1, 1, 2, 3}, x))).get("u");
    assertArrayEquals(new long[] {1, 1, 4, 6}, y.shape());
    assertArrayEquals(new float[] {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6},
        y.data());

    GraphProto.Builder sl = GraphProto.newBuilder()
        .addInput(input("x", 1, 1, 2, 3))
        .addNode(node("Slice", "s", List.of("x"), List.of("y"), ints("starts", 1), ints("ends", 3),
            ints("axes", 3)))
        .addOutput(output("y"));
    Graph g2 = importProto(sl, 9);
    assertEquals(3 + 1, g2.value("y").producer().inputs().size());
    Array s = TestOnnx.run(g2, Map.of("x", new Array(new long[] {1, 1, 2, 3}, x))).get("y");
    assertArrayEquals(new float[] {2, 3, 5, 6}, s.data());
  }

  @Test
  void graphInputThatIsAnInitializerIsAConstant() {
    GraphProto.Builder gp = GraphProto.newBuilder()
        .addInput(input("x", 2))
        .addInput(input("w", 2))
        .addInitializer(floats("w", new long[] {2}, 3f, 4f))
        .addNode(node("Mul", "m", List.of("x", "w"), List.of("y")))
        .addOutput(output("y"));
    Graph g = importProto(gp, 11);
    assertEquals(1, g.inputs().size());
    assertTrue(g.value("w") instanceof Constant);
  }

  @Test
  void typedInitializerFieldsKeepTheirType() {
    TensorProto half = TensorProto.newBuilder().setName("h").setDataType(10).addDims(2)
        .addInt32Data(0x3c00).addInt32Data(0xc000).build();
    GraphProto.Builder gp = GraphProto.newBuilder()
        .addInput(input("x", 2)).addInitializer(half)
        .addNode(node("Identity", "i", List.of("x"), List.of("y")))
        .addOutput(output("y"));
    Graph g = importProto(gp, 17);
    Constant h = (Constant) g.value("h");
    assertEquals(DataType.FLOAT16, h.type());
    assertArrayEquals(new byte[] {0x00, 0x3c, 0x00, (byte) 0xc0}, h.data().rawBytes());
  }

  // ---- Bad input ---------------------------------------------------------------------------

  @Test
  void unknownOperatorsAreCarriedAsOpaqueNodes() throws IOException {
    AttributeProto strength = AttributeProto.newBuilder().setName("strength").setF(2f)
        .setType(AttributeProto.AttributeType.FLOAT).setDocString("kept verbatim").build();
    GraphProto.Builder gp = GraphProto.newBuilder()
        .addInput(input("x", 2))
        .addNode(node("Frobnicate", "f1", List.of("x", ""), List.of("a"), strength))
        .addNode(node("Relu", "r", List.of("a"), List.of("b")))
        .addNode(NodeProto.newBuilder().setName("f2").setOpType("Relu").setDomain("com.example")
            .addInput("b").addOutput("y"))
        .addOutput(output("y"));
    Graph g = importProto(gp, 17);
    Node f1 = g.value("a").producer();
    assertEquals(Op.OPAQUE, f1.op());
    assertEquals("Frobnicate", f1.opType());
    assertEquals("", f1.domain());
    assertEquals(null, f1.input(1), "an empty input name is an absent optional input");
    assertEquals(2f, f1.attrs().getFloat("strength", 0f), "decoded for shape rules");
    Node f2 = g.value("y").producer();
    assertEquals(Op.OPAQUE, f2.op());
    assertEquals("com.example", f2.domain());
    assertEquals(Op.RELU, g.value("b").producer().op());
    // Written back at the source's opset: attributes, domain and inputs byte for byte.
    ModelProto m = fcn.export.OnnxExporter.toProto(g, 17);
    assertEquals(strength, m.getGraph().getNode(0).getAttribute(0));
    assertEquals("com.example", m.getGraph().getNode(2).getDomain());
    assertEquals(List.of("x", ""), m.getGraph().getNode(0).getInputList());
    // Written from the IR (the source form is for the source's opset only) when the opaque node
    // is touched: still its own op type, domain and attribute bytes.
    g.value("y").producer().setInput(0, g.value("a"));
    ModelProto touched = fcn.export.OnnxExporter.toProto(g, 17);
    assertEquals("com.example", touched.getGraph().getNode(2).getDomain());
    assertEquals(List.of("a"), touched.getGraph().getNode(2).getInputList());
    // An opaque ai.onnx operator is not written at another opset: fcn cannot tell what it means there.
    FcnException e = assertThrows(FcnException.class, () -> fcn.export.OnnxExporter.toProto(g, 18));
    assertTrue(e.getMessage().contains("Frobnicate x1 (f1)"), e.getMessage());
  }

  @Test
  void aKnownOperatorWithAnAttributeFcnDoesNotKnowIsCarriedOpaquely() {
    AttributeProto hint = str("vendor_hint", "fast");
    GraphProto.Builder gp = GraphProto.newBuilder().addInput(input("x", 2))
        .addNode(node("Relu", "r", List.of("x"), List.of("y"), hint)).addOutput(output("y"));
    Graph g = importProto(gp, 17);
    Node r = g.value("y").producer();
    assertEquals(Op.OPAQUE, r.op());
    assertEquals("Relu", r.opType());
    assertEquals(hint, fcn.export.OnnxExporter.toProto(g, 17).getGraph().getNode(0).getAttribute(0));
  }

  @Test
  void manyNodesStayOneShortLineWhateverTheirNumber() {
    Map<String, List<String>> byOp = new java.util.LinkedHashMap<>();
    for (int t = 0; t < 40; t++) {
      List<String> names = new java.util.ArrayList<>();
      for (int i = 0; i <= t; i++) {
        names.add("a_rather_long_node_name_from_an_exporter_" + t + "_" + i);
      }
      byOp.put("com.vendor.ops:SomeLongOperatorName" + t, names);
    }
    FcnException e = OnnxImporter.manyNodes("model.onnx", byOp, "use subgraphs");
    assertOneLine(e);
    assertTrue(e.getMessage().length() <= 200, e.getMessage().length() + ": " + e.getMessage());
    assertTrue(e.getMessage().startsWith("model.onnx: 820 nodes use subgraphs: "), e.getMessage());
    assertTrue(e.getMessage().contains("more op types"), e.getMessage());
    assertTrue(e.detail().contains("a_rather_long_node_name_from_an_exporter_39_39"), "the detail names all");
    FcnException one = OnnxImporter.manyNodes("m.onnx", Map.of("Loop", List.of("l")), "use subgraphs");
    assertEquals("m.onnx: 1 node uses subgraphs: Loop x1 (l)", one.getMessage());
  }

  @Test
  void truncatedAndGarbageFilesFailOnOneLine() throws IOException {
    byte[] good = Files.readAllBytes(TORCH.resolve("vgg16n/model_opset17.onnx"));
    Path trunc = tmp.resolve("trunc.onnx");
    Files.write(trunc, Arrays.copyOf(good, good.length / 3));
    FcnException e = assertThrows(FcnException.class, () -> OnnxImporter.importModel(trunc));
    assertOneLine(e);
    assertTrue(e.getMessage().startsWith(trunc + ": "), e.getMessage());

    Path garbage = tmp.resolve("garbage.onnx");
    byte[] junk = new byte[4096];
    new java.util.Random(3).nextBytes(junk);
    Files.write(garbage, junk);
    e = assertThrows(FcnException.class, () -> OnnxImporter.importModel(garbage));
    assertOneLine(e);
    assertTrue(e.getMessage().startsWith(garbage + ": "), e.getMessage());

    Path text = tmp.resolve("text.onnx");
    Files.writeString(text, "name: \"not a model\"\n");
    e = assertThrows(FcnException.class, () -> OnnxImporter.importModel(text));
    assertOneLine(e);
    assertTrue(e.getMessage().startsWith(text + ": "), e.getMessage());

    e = assertThrows(FcnException.class, () -> OnnxImporter.importModel(tmp.resolve("none.onnx")));
    assertTrue(e.getMessage().contains("none.onnx"), e.getMessage());
  }

  @Test
  void unsupportedOpsetIsRefused() throws IOException {
    Path p = write(GraphProto.newBuilder().addInput(input("x", 1))
        .addNode(node("Relu", "r", List.of("x"), List.of("y"))).addOutput(output("y")), 8, "old.onnx");
    FcnException e = assertThrows(FcnException.class, () -> OnnxImporter.importModel(p));
    assertEquals(p + ": ONNX opset 8 is not supported, expected 9 to 21 (convert it with"
        + " onnx.version_converter first)", e.getMessage());
  }

  @Test
  void externalDataInsideTheFolderIsRead() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("ext"));
    ByteBuffer b = ByteBuffer.allocate(16 + 8).order(ByteOrder.LITTLE_ENDIAN);
    b.position(16);
    b.putFloat(3f).putFloat(4f);
    Files.write(dir.resolve("weights.bin"), b.array());
    Path m = write(dir, externalModel("weights.bin", 16, 8), "m.onnx");
    Graph g = OnnxImporter.importModel(m);
    assertArrayEquals(new float[] {3f, 4f}, ((Constant) g.value("w")).data().floats());
  }

  /** What fcn.export.OnnxExporter writes past 2 GB (external data beside the model) reads back. */
  @Test
  void exporterExternalDataRoundTrips() throws IOException {
    Graph g = OnnxImporter.importModel(TORCH.resolve("vgg16n/model_opset17.onnx"));
    Path out = tmp.resolve("rt/vgg.onnx");
    fcn.export.OnnxExporter.Written w = fcn.export.OnnxExporter.write(g, out, 17, 1000);
    assertNotNull(w.externalData());
    Graph back = OnnxImporter.importModel(out);
    for (Constant c : g.constants()) {
      assertArrayEquals(c.data().rawBytes(), ((Constant) back.value(c.name())).data().rawBytes(), c.name());
    }
    Path d = TORCH.resolve("vgg16n/test_data_set_0");
    Array in = TestOnnx.readPb(d.resolve("input_0.pb"));
    assertEquals(0f, TestOnnx.run(back, Map.of("input", in)).get("logits")
        .maxAbsDiff(TestOnnx.run(g, Map.of("input", in)).get("logits")));
  }

  @Test
  void externalDataOutsideTheFolderIsRefused() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("models"));
    Path secret = tmp.resolve("secret.bin");
    Files.write(secret, new byte[8]);
    Files.createSymbolicLink(dir.resolve("link.bin"), secret);
    for (String loc : List.of("../secret.bin", secret.toString(), "link.bin", "sub/../../secret.bin")) {
      Path m = write(dir, externalModel(loc, 0, 8), "m.onnx");
      FcnException e = assertThrows(FcnException.class, () -> OnnxImporter.importModel(m), loc);
      assertOneLine(e);
      assertTrue(e.getMessage().startsWith(m + ": initializer 'w': external data location '"
          + loc + "'"), e.getMessage());
      assertTrue(e.getMessage().contains("refusing to read outside"), e.getMessage());
    }
  }

  @Test
  void outputsOptionDropsTheRest() {
    Graph g = OnnxImporter.importModel(TORCH.resolve("fcn_resnet50n/model_opset12.onnx"),
        OnnxImportOptions.defaults().withOutputs(List.of("out")));
    assertEquals(List.of("out"), TestOnnx.outputNames(g));
    for (Value v : g.values()) {
      assertFalse(v.name().contains("aux_classifier"), v.name());
    }
    FcnException e = assertThrows(FcnException.class, () -> OnnxImporter.importModel(
        TORCH.resolve("fcn_resnet50n/model_opset12.onnx"),
        OnnxImportOptions.defaults().withOutputs(List.of("score"))));
    assertEquals(TORCH.resolve("fcn_resnet50n/model_opset12.onnx") + ": --outputs names 'score', but the model's outputs are [out, aux]",
        e.getMessage());
  }

  // ---- Helpers -----------------------------------------------------------------------------

  static void assertOneLine(FcnException e) {
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }

  private GraphProto.Builder externalModel(String location, long offset, long length) {
    TensorProto w = TensorProto.newBuilder().setName("w").setDataType(1).addDims(2)
        .setDataLocation(TensorProto.DataLocation.EXTERNAL)
        .addExternalData(kv("location", location)).addExternalData(kv("offset", "" + offset))
        .addExternalData(kv("length", "" + length)).build();
    return GraphProto.newBuilder().addInput(input("x", 2)).addInitializer(w)
        .addNode(node("Mul", "m", List.of("x", "w"), List.of("y"))).addOutput(output("y"));
  }

  private static StringStringEntryProto kv(String k, String v) {
    return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
  }

  private Graph importProto(GraphProto.Builder gp, int opset) {
    try {
      return OnnxImporter.importModel(write(gp, opset, "m.onnx"));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private Path write(GraphProto.Builder gp, int opset, String name) throws IOException {
    return write(tmp, gp, opset, name);
  }

  private Path write(Path dir, GraphProto.Builder gp, String name) throws IOException {
    return write(dir, gp, 17, name);
  }

  private static Path write(Path dir, GraphProto.Builder gp, int opset, String name) throws IOException {
    ModelProto m = ModelProto.newBuilder().setIrVersion(opset >= 15 ? 8 : 6)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(opset)).setGraph(gp.setName("t")).build();
    Path p = dir.resolve(name);
    Files.write(p, m.toByteArray());
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

  static NodeProto node(String op, String name, List<String> in, List<String> out, AttributeProto... attrs) {
    return NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(in).addAllOutput(out)
        .addAllAttribute(List.of(attrs)).build();
  }

  static AttributeProto ints(String name, long... v) {
    AttributeProto.Builder b = AttributeProto.newBuilder().setName(name);
    if (name.equals("axis")) {
      return b.setType(AttributeProto.AttributeType.INT).setI(v[0]).build();
    }
    b.setType(AttributeProto.AttributeType.INTS);
    for (long l : v) {
      b.addInts(l);
    }
    return b.build();
  }

  static AttributeProto floatAttr(String name, float f) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(f).build();
  }

  static AttributeProto str(String name, String s) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING)
        .setS(ByteString.copyFromUtf8(s)).build();
  }

  static TensorProto floats(String name, long[] dims, float... v) {
    TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(1);
    for (long d : dims) {
      b.addDims(d);
    }
    for (float f : v) {
      b.addFloatData(f);
    }
    return b.build();
  }
}
