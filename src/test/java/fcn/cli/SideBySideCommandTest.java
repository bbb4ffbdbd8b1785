package fcn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.ExitCode;
import fcn.export.OnnxExporter;
import fcn.ir.Attrs;
import fcn.ir.DataType;
import fcn.ir.Dim;
import fcn.ir.Graph;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Variable;
import fcn.proto.OnnxProto.GraphProto;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.NodeProto;
import fcn.proto.OnnxProto.OperatorSetIdProto;
import fcn.proto.OnnxProto.TensorProto;
import fcn.proto.OnnxProto.TensorShapeProto;
import fcn.proto.OnnxProto.TypeProto;
import fcn.proto.OnnxProto.ValueInfoProto;
import fcn.report.BenchRecord;
import fcn.report.BenchReport;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code fcn bench A.onnx B.onnx --dataset D}: one table, one report row per model. */
class SideBySideCommandTest {
  @TempDir Path dir;

  /** data [1,3,H,W] -> 1x1 conv to 3 classes. */
  private Path model(String name) {
    Graph g = new Graph("tiny");
    Variable x = g.addInput("data", DataType.FLOAT,
        new Shape(List.of(Dim.of(1), Dim.of(3), Dim.symbol("height"), Dim.symbol("width"))));
    var w = g.addConstant("w", Tensor.ofFloats(new long[] {3, 3, 1, 1}, new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1}));
    g.setOutputs(List.of(g.add(Op.CONV, "score", List.of(x, w), "score", Attrs.of("kernel_shape", new long[] {1, 1}))));
    Path p = dir.resolve(name);
    OnnxExporter.write(g, p, OnnxExporter.DEFAULT_OPSET);
    return p;
  }

  /** images/ and labels/ with random pixels and labels 0..2. */
  private Path dataset() throws Exception {
    Random rnd = new Random(3);
    Path root = dir.resolve("shapes");
    Files.createDirectories(root.resolve("images"));
    Files.createDirectories(root.resolve("labels"));
    for (int n = 0; n < 4; n++) {
      BufferedImage img = new BufferedImage(7, 5, BufferedImage.TYPE_3BYTE_BGR);
      BufferedImage lab = new BufferedImage(7, 5, BufferedImage.TYPE_BYTE_GRAY);
      for (int y = 0; y < 5; y++) {
        for (int x = 0; x < 7; x++) {
          img.setRGB(x, y, rnd.nextInt(1 << 24));
          lab.getRaster().setSample(x, y, 0, rnd.nextInt(3));
        }
      }
      ImageIO.write(img, "png", root.resolve("images/i" + n + ".png").toFile());
      ImageIO.write(lab, "png", root.resolve("labels/i" + n + ".png").toFile());
    }
    return root;
  }

  @Test
  void twoModelsOneTableTwoRows() throws Exception {
    Path a = model("a.onnx");
    Path b = Files.copy(a, dir.resolve("b.onnx"));
    Path csv = dir.resolve("reports/side.csv");
    CliRun r = CliRun.fcn("bench", a.toString(), b.toString(), "--dataset", dataset().toString(), "--device", "cpu",
        "--threads", "1", "--warmup", "1", "--report", csv.toString());
    assertEquals(ExitCode.OK, r.code(), r.all());
    List<String> lines = r.out().lines().toList();
    assertEquals(1, lines.stream().filter(l -> l.startsWith("model ")).count(), "one table: " + r.out());
    assertFalse(r.out().contains("latency (ms)"), "no per-model summaries: " + r.out());
    assertTrue(lines.get(0).startsWith("side by side: 2 models on shapes, 4 images"), r.out());
    assertEquals(List.of("model", "precision", "load", "ms", "median", "ms", "speed-up", "mean", "IU", "d", "points",
        "pixel", "acc", "agreement"), Arrays.asList(lines.get(1).split("\\s+")));

    List<BenchRecord> rows = BenchReport.read(csv);
    assertEquals(2, rows.size());
    assertEquals(List.of("a", "b"), rows.stream().map(BenchRecord::modelName).toList());
    assertEquals(List.of("fp32", "fp32"), rows.stream().map(BenchRecord::precision).toList());

    String[] first = lines.get(2).split("\\s+");
    String[] second = lines.get(3).split("\\s+");
    assertEquals("a", first[0]);
    assertEquals("b", second[0]);
    assertEquals("fp32", second[1]);
    assertEquals(String.format(Locale.ROOT, "%.1f", rows.get(1).loadMs()), second[2]);
    assertEquals(String.format(Locale.ROOT, "%.2f", rows.get(1).medianMs()), second[3]);
    assertEquals(String.format(Locale.ROOT, "%.2fx", rows.get(0).medianMs() / rows.get(1).medianMs()), second[4]);
    assertEquals("1.00x", first[4]);
    assertEquals(String.format(Locale.ROOT, "%.2f", 100 * rows.get(1).meanIu()), second[5]);
    assertEquals("+0.00", second[6], "the same model: no mean-IU change");
    // Each model's kernel time by op, from ORT's profile of its first run: the model is Conv-only.
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("kernel time, a fp32: ") && l.contains("%")), r.out());
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("kernel time, b fp32: ") && l.contains("%")), r.out());
    assertEquals(String.format(Locale.ROOT, "%.2f", 100 * rows.get(1).pixelAcc()), second[7]);
    assertEquals("100.00%", second[8], "the same model agrees on every pixel");
  }

  @Test
  void sideBySideBadUsageIsExit2() throws Exception {
    Path a = model("a.onnx");
    Path csv = dir.resolve("side.csv");
    CliRun r = CliRun.fcn("bench", a.toString(), dir.resolve("none.onnx").toString(), "--device", "cpu",
        "--input-shape", "1,3,4,4", "--iterations", "1", "--warmup", "0", "--report", csv.toString());
    assertEquals(ExitCode.BAD_INPUT, r.code(), r.all());
    assertTrue(r.err().contains("none.onnx"), r.err());
    assertFalse(Files.exists(csv), "no row of the first model alone");
    r = CliRun.fcn("bench", a.toString(), a.toString(), "--dataset", dataset().toString(), "--device", "cpu",
        "--save-predictions", dir.resolve("preds").toString());
    assertEquals(ExitCode.BAD_INPUT, r.code(), r.all());
    assertTrue(r.err().contains("--save-predictions takes one model"), r.err());
  }

  private static ValueInfoProto image(String name) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder()
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(1))
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(3))
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("height"))
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("width"));
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
        .setTensorType(TypeProto.Tensor.newBuilder().setElemType(1).setShape(shape))).build();
  }

  /**
   * The same 1x1 identity conv behind a QuantizeLinear/DequantizeLinear pair (scale 1, zero
   * point 0, uint8): ONNX Runtime runs it, and on 0..255 integer pixels it predicts exactly as the
   * float model does.
   */
  private Path qdqModel(String name) throws Exception {
    GraphProto g = GraphProto.newBuilder().setName("qdq").addInput(image("data"))
        .addOutput(ValueInfoProto.newBuilder().setName("score").setType(TypeProto.newBuilder()
            .setTensorType(TypeProto.Tensor.newBuilder().setElemType(1))))
        .addInitializer(TensorProto.newBuilder().setName("s").setDataType(1).addFloatData(1f))
        .addInitializer(TensorProto.newBuilder().setName("z").setDataType(2).addInt32Data(0))
        .addInitializer(TensorProto.newBuilder().setName("w").setDataType(1).addAllDims(List.of(3L, 3L, 1L, 1L))
            .addAllFloatData(List.of(1f, 0f, 0f, 0f, 1f, 0f, 0f, 0f, 1f)))
        .addNode(NodeProto.newBuilder().setOpType("QuantizeLinear").addInput("data").addInput("s").addInput("z")
            .addOutput("q").setName("q"))
        .addNode(NodeProto.newBuilder().setOpType("DequantizeLinear").addInput("q").addInput("s").addInput("z")
            .addOutput("dq").setName("dq"))
        .addNode(NodeProto.newBuilder().setOpType("Conv").addInput("dq").addInput("w").addOutput("score")
            .setName("score"))
        .build();
    Path p = dir.resolve(name);
    Files.write(p, ModelProto.newBuilder().setIrVersion(8).setProducerName("test")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(17)).setGraph(g).build().toByteArray());
    return p;
  }

  /** The flow the issue asks for: fp32 and int8 copies side by side, then the int8 row gated against fp32. */
  @Test
  void int8CopyIsDetectedKeyedAsItsModelAndGatedAgainstTheFp32Row() throws Exception {
    Path fp32 = model("shapes-net.onnx");
    Path int8 = qdqModel("shapes-net-int8.onnx");
    Path csv = dir.resolve("side.csv");
    CliRun r = CliRun.fcn("bench", fp32.toString(), int8.toString(), "--dataset", dataset().toString(), "--device",
        "cpu", "--threads", "1", "--warmup", "0", "--rgb", "--mean", "0,0,0", "--report", csv.toString());
    assertEquals(ExitCode.OK, r.code(), r.all());
    String[] second = r.out().lines().toList().get(3).split("\\s+");
    assertEquals(List.of("shapes-net", "int8"), List.of(second[0], second[1]), r.out());
    assertEquals("+0.00", second[6], r.out());
    assertEquals("100.00%", second[8], "exact quantization of integer pixels: " + r.out());
    List<BenchRecord> rows = BenchReport.read(csv);
    assertEquals(List.of("fp32", "int8"), rows.stream().map(BenchRecord::precision).toList());
    assertEquals(List.of("shapes-net", "shapes-net"), rows.stream().map(BenchRecord::modelName).toList());

    // A baseline holding only the fp32 row: the int8 row is held against it.
    Path base = dir.resolve("base.csv");
    BenchReport.append(base, rows.get(0));
    Path cur = dir.resolve("cur.csv");
    BenchReport.append(cur, rows.get(1));
    CliRun g = CliRun.fcn("gate", cur.toString(), "--baseline", base.toString(), "--max-miou-drop", "0.5");
    assertEquals(ExitCode.OK, g.code(), g.all());
    assertTrue(g.out().contains("shapes-net int8 vs fp32") && g.out().contains("1 compared"), g.out());

    // A single run names a reduced precision in its summary.
    r = CliRun.fcn("bench", int8.toString(), "--device", "cpu", "--input-shape", "1,3,4,4", "--iterations", "1",
        "--warmup", "0");
    assertEquals(ExitCode.OK, r.code(), r.all());
    assertTrue(r.out().contains(int8 + " (shapes-net, int8)"), r.out());

    // --model-name sets the key of every model.
    Path named = dir.resolve("named.csv");
    r = CliRun.fcn("bench", fp32.toString(), int8.toString(), "--device", "cpu", "--input-shape", "1,3,4,4",
        "--iterations", "1", "--warmup", "0", "--model-name", "net", "--report", named.toString());
    assertEquals(ExitCode.OK, r.code(), r.all());
    assertEquals(List.of("net", "net"), BenchReport.read(named).stream().map(BenchRecord::modelName).toList());
  }
}
