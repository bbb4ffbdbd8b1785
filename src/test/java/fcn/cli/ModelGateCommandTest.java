package fcn.cli;

import static fcn.cli.CliRun.fcn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * fcn.frontend.onnx.ModelGate through every command that loads an ONNX model: external data
 * that leads out of the model's folder (or is too short) and invalid graphs are exit 2 with one
 * line naming the file and the tensor, input or node, before ONNX Runtime sees the file, and
 * leave no output behind.
 *
 * <p>Proof that nothing outside the folder is read: the outside target is a regular file of the
 * right size whose floats (1000, 2000) ONNX Runtime happily uses as the weights when it is
 * given the model (without the gate, bench exits 0 and fixtures writes x * 1000): the
 * commands must exit 2 with the gate's own message and write nothing.
 */
class ModelGateCommandTest {
  @TempDir Path tmp;
  Path models;
  Path outside;
  Path secret;

  @BeforeEach
  void setUp() throws Exception {
    models = Files.createDirectories(tmp.resolve("models"));
    outside = Files.createDirectories(tmp.resolve("elsewhere"));
    secret = outside.resolve("secret.bin");
    Files.write(secret, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1000f).putFloat(2000f).array());
  }

  // ---- External data -------------------------------------------------------------------------

  /** Each location that must be refused, with the words the message must contain. */
  private List<String[]> badLocations() throws IOException {
    Files.createSymbolicLink(models.resolve("link.bin"), secret);
    // A file in the folder that holds 4 of the 8 bytes the tensor needs.
    Files.write(models.resolve("short.bin"), new byte[4]);
    return List.of(
        new String[] {"../elsewhere/secret.bin", "contains '..'"},
        new String[] {secret.toString(), "is an absolute path"},
        new String[] {"link.bin", "is a link that leads out of the model's folder"},
        new String[] {"short.bin", "has offset 0 and length 8, but the file has 4 bytes"});
  }

  @Test
  void benchRefusesExternalDataOutsideTheFolderOrTooShort() throws Exception {
    for (String[] bad : badLocations()) {
      Path m = write(externalModel(bad[0]), "m.onnx");
      Path report = tmp.resolve("bench.csv");
      CliRun r = fcn("bench", m.toString(), "--device", "cpu", "--iterations", "1", "--warmup", "0",
          "--report", report.toString());
      assertRefused(r, m, "initializer 'w'", bad[1]);
      assertFalse(Files.exists(report), "no report for a refused model");
    }
  }

  @Test
  void validateRefusesExternalDataOutsideTheFolderOrTooShort() throws Exception {
    // Fixtures from the same model with inline weights, so that only the gate can refuse.
    Path good = write(inlineModel(), "good.onnx");
    Path fx = tmp.resolve("fx");
    CliRun f = fcn("fixtures", good.toString(), "-o", fx.toString(), "--device", "cpu");
    assertEquals(0, f.code(), f.all());
    for (String[] bad : badLocations()) {
      Path m = write(externalModel(bad[0]), "m.onnx");
      Path report = tmp.resolve("validate.csv");
      CliRun r = fcn("validate", m.toString(), "--fixtures", fx.toString(), "--device", "cpu",
          "--report", report.toString());
      assertRefused(r, m, "initializer 'w'", bad[1]);
      assertFalse(Files.exists(report), "no report for a refused model");
    }
  }

  @Test
  void fixturesRefusesExternalDataOutsideTheFolderOrTooShort() throws Exception {
    for (String[] bad : badLocations()) {
      Path m = write(externalModel(bad[0]), "m.onnx");
      Path out = tmp.resolve("fx-out");
      CliRun r = fcn("fixtures", m.toString(), "-o", out.toString(), "--device", "cpu");
      assertRefused(r, m, "initializer 'w'", bad[1]);
      assertNothingWritten(out);
    }
  }

  @Test
  void convertRefusesExternalDataOutsideTheFolderOrTooShort() throws Exception {
    for (String[] bad : badLocations()) {
      Path m = write(externalModel(bad[0]), "m.onnx");
      Path out = tmp.resolve("out.onnx");
      CliRun r = fcn("convert", m.toString(), "-o", out.toString());
      assertEquals(2, r.code(), r.all());
      assertTrue(r.err().contains("initializer 'w'") && r.err().contains(bad[1]), r.err());
      assertOneLine(r);
      assertNothingWritten(out);
    }
  }

  /** A Constant node's tensor is data too: the gate looks inside node attributes. */
  @Test
  void constantNodeWithExternalDataOutsideTheFolderIsRefused() throws IOException {
    TensorProto w = TensorProto.newBuilder().setName("w").setDataType(1).addDims(2)
        .setDataLocation(TensorProto.DataLocation.EXTERNAL)
        .addExternalData(kv("location", "../elsewhere/secret.bin")).build();
    GraphProto.Builder g = GraphProto.newBuilder().addInput(input("x", 2))
        .addNode(node("Constant", "c", List.of(), List.of("w"), AttributeProto.newBuilder().setName("value")
            .setType(AttributeProto.AttributeType.TENSOR).setT(w).build()))
        .addNode(node("Mul", "m", List.of("x", "w"), List.of("y"))).addOutput(output("y"));
    Path m = write(g, "const.onnx");
    Path out = tmp.resolve("fx-const");
    assertRefused(fcn("fixtures", m.toString(), "-o", out.toString(), "--device", "cpu"), m,
        "attribute 'value' of node 'c'", "contains '..'");
    assertNothingWritten(out);
  }

  @Test
  void externalDataInsideTheFolderStillRuns() throws Exception {
    ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(3f).putFloat(4f);
    Files.write(models.resolve("w.bin"), b.array());
    Path m = write(externalModel("w.bin"), "m.onnx");
    Path fx = tmp.resolve("fx-in");
    CliRun r = fcn("fixtures", m.toString(), "-o", fx.toString(), "--device", "cpu");
    assertEquals(0, r.code(), r.all());
    var in = fcn.validate.TensorProtoIO.read(fx.resolve("test_data_set_0/input_0.pb"));
    var out = fcn.validate.TensorProtoIO.read(fx.resolve("test_data_set_0/output_0.pb"));
    float[] x = in.tensor().data();
    float[] y = out.tensor().data();
    // y = x * w with w read from w.bin: ORT really read the file inside the folder.
    assertEquals(x[0] * 3f, y[0]);
    assertEquals(x[1] * 4f, y[1]);
  }

  @Test
  void convertRefusesToWriteOverTheModelsExternalDataFile() throws Exception {
    byte[] weights = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(3f).putFloat(4f).array();
    Path data = Files.write(models.resolve("w.bin"), weights);
    Path m = write(externalModel("w.bin"), "m.onnx");
    CliRun r = fcn("convert", m.toString(), "-o", data.toString());
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("w.bin") && r.err().contains("input"), r.err());
    assertOneLine(r);
    assertArrayEquals(weights, Files.readAllBytes(data), "the weights file must be left as it was");
  }

  // ---- Invalid graphs ------------------------------------------------------------------------

  @Test
  void modelWithoutInputsIsRefusedByBenchAndConvert() throws IOException {
    GraphProto.Builder g = GraphProto.newBuilder().addInitializer(floats("c", new long[] {2}, 1, 2))
        .addNode(node("Relu", "r", List.of("c"), List.of("y"))).addOutput(output("y"));
    Path m = write(g, "noin.onnx");
    assertRefused(fcn("bench", m.toString(), "--device", "cpu", "--iterations", "1", "--warmup", "0"), m,
        "the graph has no inputs");
    assertConvertRefused(m, "the graph has no inputs");
  }

  @Test
  void modelWithoutOutputsIsRefused() throws IOException {
    GraphProto.Builder g = GraphProto.newBuilder().addInput(input("x", 1, 2))
        .addNode(node("Relu", "r", List.of("x"), List.of("y")));
    Path m = write(g, "noout.onnx");
    assertRefused(fcn("bench", m.toString(), "--device", "cpu", "--iterations", "1", "--warmup", "0"), m,
        "the graph has no outputs");
    assertConvertRefused(m, "the graph has no outputs");
  }

  @Test
  void stringInputIsRefused() throws IOException {
    ValueInfoProto s = ValueInfoProto.newBuilder().setName("text").setType(TypeProto.newBuilder()
        .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.STRING_VALUE))).build();
    GraphProto.Builder g = GraphProto.newBuilder().addInput(s)
        .addNode(node("Identity", "id", List.of("text"), List.of("y"))).addOutput(output("y"));
    Path m = write(g, "str.onnx");
    assertConvertRefused(m, "input 'text' has element type string");
    assertRefused(fcn("fixtures", m.toString(), "-o", tmp.resolve("fx").toString(), "--device", "cpu"), m,
        "input 'text' has element type string");
  }

  @Test
  void zeroSizedInputDimIsRefused() throws IOException {
    GraphProto.Builder g = GraphProto.newBuilder().addInput(input("x", 1, 0, 4))
        .addNode(node("Relu", "r", List.of("x"), List.of("y"))).addOutput(output("y"));
    Path m = write(g, "zero.onnx");
    assertConvertRefused(m, "input 'x' has size 0 on axis 1");
    assertRefused(fcn("bench", m.toString(), "--device", "cpu", "--iterations", "1", "--warmup", "0"), m,
        "input 'x' has size 0 on axis 1");
  }

  @Test
  void convWeightWithFiveChannelsForAThreeChannelInputIsRefusedByConvert() throws IOException {
    GraphProto.Builder g = GraphProto.newBuilder().addInput(input("x", 1, 3, 8, 8))
        .addInitializer(floats("w", new long[] {2, 5, 1, 1}, new float[10]))
        .addNode(node("Conv", "conv1", List.of("x", "w"), List.of("y"), ints("kernel_shape", 1, 1)))
        .addOutput(output("y"));
    Path m = write(g, "conv5.onnx");
    CliRun r = fcn("convert", m.toString(), "-o", tmp.resolve("out.onnx").toString());
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("conv5.onnx") && r.err().contains("Conv 'conv1'")
        && r.err().contains("input has 3 channels") && r.err().contains("expects 5"), r.err());
    assertOneLine(r);
    assertNothingWritten(tmp.resolve("out.onnx"));
  }

  @Test
  void convTransposeWeightForOtherChannelsIsRefusedByConvert() throws IOException {
    // ConvTranspose weights are [C_in, C_out / group, k, k]: 3 input channels for a 2-channel input.
    GraphProto.Builder g = GraphProto.newBuilder().addInput(input("x", 1, 2, 4, 4))
        .addInitializer(floats("w", new long[] {3, 2, 2, 2}, new float[24]))
        .addNode(node("ConvTranspose", "up", List.of("x", "w"), List.of("y"), ints("kernel_shape", 2, 2),
            ints("strides", 2, 2)))
        .addOutput(output("y"));
    Path m = write(g, "deconv3.onnx");
    assertConvertRefused(m, "ConvTranspose 'up': input has 2 channels but the weight 'w' 3x2x2x2 (group 1) expects 3");
  }

  @Test
  void convTransposeWithStrideZeroIsRefusedBeforeOnnxRuntime() throws IOException {
    GraphProto.Builder g = GraphProto.newBuilder().addInput(input("x", 1, 2, 4, 4))
        .addInitializer(floats("w", new long[] {2, 2, 2, 2}, new float[16]))
        .addNode(node("ConvTranspose", "up", List.of("x", "w"), List.of("y"), ints("kernel_shape", 2, 2),
            ints("strides", 0, 2)))
        .addOutput(output("y"));
    Path m = write(g, "deconv0.onnx");
    // ONNX Runtime takes SIGFPE on this one: reaching it would kill the test JVM.
    assertRefused(fcn("bench", m.toString(), "--device", "cpu", "--iterations", "1", "--warmup", "0"), m,
        "ConvTranspose node 'up': strides [0, 2] has 0; expected 1 to");
    Path out = tmp.resolve("fx-deconv");
    assertRefused(fcn("fixtures", m.toString(), "-o", out.toString(), "--device", "cpu"), m,
        "ConvTranspose node 'up': strides");
    assertNothingWritten(out);
    assertConvertRefused(m, "ConvTranspose node 'up': strides");
  }

  @Test
  void poolingAndConvAttributesOutOfRangeAreRefused() throws IOException {
    String[][] cases = {
        {"MaxPool", "kernel_shape", "0"}, {"AveragePool", "strides", "0"}, {"MaxPool", "pads", "-1"},
        {"Conv", "dilations", "0"}, {"Conv", "group", "0"}, {"Conv", "pads", "3000000000"}};
    for (String[] c : cases) {
      List<AttributeProto> attrs = new ArrayList<>();
      long v = Long.parseLong(c[2]);
      if (!c[1].equals("kernel_shape")) {
        attrs.add(ints("kernel_shape", 1, 1));
      }
      attrs.add(c[1].equals("group") ? AttributeProto.newBuilder().setName("group")
          .setType(AttributeProto.AttributeType.INT).setI(v).build()
          : c[1].equals("pads") ? ints("pads", v, v, v, v) : ints(c[1], v, v));
      List<String> in = c[0].equals("Conv") ? List.of("x", "w") : List.of("x");
      GraphProto.Builder g = GraphProto.newBuilder().addInput(input("x", 1, 2, 4, 4))
          .addInitializer(floats("w", new long[] {2, 2, 1, 1}, new float[4]))
          .addNode(NodeProto.newBuilder().setOpType(c[0]).setName("n").addAllInput(in).addOutput("y")
              .addAllAttribute(attrs))
          .addOutput(output("y"));
      Path m = write(g, "attr.onnx");
      CliRun r = fcn("bench", m.toString(), "--device", "cpu", "--iterations", "1", "--warmup", "0");
      assertRefused(r, m, c[0] + " node 'n': " + c[1]);
    }
  }

  // ---- Helpers -------------------------------------------------------------------------------

  private static void assertRefused(CliRun r, Path model, String... words) {
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().startsWith("fcn: " + model + ": "), "names the file as given: " + r.err());
    for (String w : words) {
      assertTrue(r.err().contains(w), "expected '" + w + "' in: " + r.err());
    }
    assertOneLine(r);
  }

  private void assertConvertRefused(Path m, String words) {
    Path out = tmp.resolve("out.onnx");
    CliRun r = fcn("convert", m.toString(), "-o", out.toString());
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains(m.getFileName().toString()) && r.err().contains(words), r.err());
    assertOneLine(r);
    assertNothingWritten(out);
  }

  private static void assertOneLine(CliRun r) {
    assertEquals(1, r.err().strip().lines().count(), "one line, no stack trace: " + r.err());
  }

  /** Neither the output nor a temp file beside it (AtomicFile's and FixtureGenerator's). */
  private static void assertNothingWritten(Path out) {
    assertFalse(Files.exists(out), out + " must not be written");
    try (Stream<Path> s = Files.list(out.getParent())) {
      List<String> left = s.map(p -> p.getFileName().toString())
          .filter(n -> n.startsWith("." + out.getFileName())).toList();
      assertTrue(left.isEmpty(), "temp files left: " + left);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private GraphProto.Builder externalModel(String location) {
    TensorProto w = TensorProto.newBuilder().setName("w").setDataType(1).addDims(2)
        .setDataLocation(TensorProto.DataLocation.EXTERNAL)
        .addExternalData(kv("location", location)).addExternalData(kv("offset", "0"))
        .addExternalData(kv("length", "8")).build();
    return GraphProto.newBuilder().addInput(input("x", 2)).addInitializer(w)
        .addNode(node("Mul", "m", List.of("x", "w"), List.of("y"))).addOutput(output("y"));
  }

  private GraphProto.Builder inlineModel() {
    return GraphProto.newBuilder().addInput(input("x", 2)).addInitializer(floats("w", new long[] {2}, 3, 4))
        .addNode(node("Mul", "m", List.of("x", "w"), List.of("y"))).addOutput(output("y"));
  }

  private Path write(GraphProto.Builder gp, String name) throws IOException {
    ModelProto m = ModelProto.newBuilder().setIrVersion(8)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(17)).setGraph(gp.setName("t")).build();
    Path p = models.resolve(name);
    Files.write(p, m.toByteArray());
    return p;
  }

  private static StringStringEntryProto kv(String k, String v) {
    return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
  }

  private static ValueInfoProto input(String name, long... dims) {
    TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
    for (long d : dims) {
      s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
    }
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
        .setTensorType(TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))).build();
  }

  private static ValueInfoProto output(String name) {
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
        .setTensorType(TypeProto.Tensor.newBuilder().setElemType(1))).build();
  }

  private static NodeProto node(String op, String name, List<String> in, List<String> out, AttributeProto... attrs) {
    return NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(in).addAllOutput(out)
        .addAllAttribute(List.of(attrs)).build();
  }

  private static AttributeProto ints(String name, long... v) {
    AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
    for (long l : v) {
      b.addInts(l);
    }
    return b.build();
  }

  private static TensorProto floats(String name, long[] dims, float... v) {
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
