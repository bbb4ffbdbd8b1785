package fcn.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.bench.Bench;
import fcn.core.ExitCode;
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
import fcn.report.BenchReport;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class BenchCommandTest {
  @TempDir Path dir;

  record Run(int code, String out, String err) {}

  static Run fcn(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Main.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int code = cl.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  /** data [1,3,H,W] -> 1x1 conv to 2 channels. */
  private Path model() {
    Graph g = new Graph("tiny");
    Variable x = g.addInput("data", DataType.FLOAT,
        new Shape(List.of(Dim.of(1), Dim.of(3), Dim.symbol("height"), Dim.symbol("width"))));
    var w = g.addConstant("w", Tensor.ofFloats(new long[] {2, 3, 1, 1}, new float[] {1, 2, 3, 4, 5, 6}));
    g.setOutputs(List.of(g.add(Op.CONV, "score", List.of(x, w), "score", Attrs.of("kernel_shape", new long[] {1, 1}))));
    Path p = dir.resolve("tiny.onnx");
    OnnxExporter.write(g, p, OnnxExporter.DEFAULT_OPSET);
    return p;
  }

  @Test
  void benchesAModelAndAppendsAReportRow() {
    Path csv = dir.resolve("reports").resolve("tiny.csv");
    Run r = fcn("bench", model().toString(), "--device", "cpu", "--input-shape", "1,3,8,8", "--warmup", "1",
        "--iterations", "3", "--threads", "1", "--opt-level", "basic", "--report", csv.toString());
    assertEquals(ExitCode.OK, r.code(), r.err());
    assertTrue(r.out().contains("latency (ms)"), r.out());
    assertTrue(r.out().contains("CPUExecutionProvider"), r.out());
    assertTrue(r.out().contains("1x3x8x8"), r.out());
    assertTrue(r.out().contains("GFLOP/image"), r.out());
    assertTrue(!r.err().contains("\r") && !r.err().contains("ETA"), "not a terminal: no progress bar: " + r.err());
    assertEquals(1, BenchReport.read(csv).size());
    assertEquals(1, BenchReport.read(csv).get(0).threads());
  }

  @Test
  void badUsageExitsTwoWithOneLine() {
    Path m = model();
    Run r = fcn("bench", m.toString(), "--iterations", "2", "--duration", "1s");
    assertEquals(ExitCode.BAD_INPUT, r.code());
    assertTrue(r.err().contains("mutually exclusive"), r.err());

    r = fcn("bench", m.toString(), "--device", "cpu", "--iterations", "1");
    assertEquals(ExitCode.BAD_INPUT, r.code());
    assertTrue(r.err().startsWith("fcn: input 'data'") && r.err().contains("--input-shape"), r.err());
    assertEquals(1, r.err().strip().lines().count(), r.err());

    r = fcn("bench", m.toString(), "--device", "cpu", "--input-shape", "1,3,0,8");
    assertEquals(ExitCode.BAD_INPUT, r.code());
    assertTrue(r.err().contains("'1,3,0,8'"), r.err());

    r = fcn("bench", m.toString(), "--device", "cpu", "--input-shape", "1,3,8,8", "--duration", "soon");
    assertEquals(ExitCode.BAD_INPUT, r.code());
    assertTrue(r.err().contains("--duration 'soon'"), r.err());

    r = fcn("bench", m.toString(), "--device", "cpu", "--input-shape", "1,3,8,8", "--mean", "1,2,3");
    assertEquals(ExitCode.BAD_INPUT, r.code());
    assertTrue(r.err().contains("need --dataset"), r.err());

    r = fcn("bench", dir.resolve("missing.onnx").toString());
    assertEquals(ExitCode.BAD_INPUT, r.code());
    assertTrue(r.err().contains("missing.onnx"), r.err());
  }

  /** No MODEL: the embedded default, or one clear line naming where it was looked for. */
  @Test
  void noModelUsesTheEmbeddedDefault() {
    Run r = fcn("bench", "--device", "cpu", "--warmup", "0");
    assertEquals(ExitCode.OK, r.code(), r.err());
    assertTrue(r.out().contains("default model: ") && r.out().contains(Bench.DEFAULT_MODEL.toString()), r.out());
    assertTrue(r.out().contains(Bench.DEFAULT_DATASET.toString()) && r.out().contains("mean IU"), r.out());
    for (String cls : fcn.data.SyntheticShapes.CLASSES) {
      assertTrue(r.out().contains(cls), cls + " missing from the per-class table:\n" + r.out());
    }
  }

  @Test
  void noModelWithIterationsTimesTheDefaultOnRandomInputs() {
    Run r = fcn("bench", "--device", "cpu", "--warmup", "0", "--iterations", "2", "--input-shape", "1,3,500,500");
    assertEquals(ExitCode.OK, r.code(), r.err());
    assertTrue(r.out().contains("default model: ") && r.out().contains("random inputs"), r.out());
    assertTrue(r.out().contains("1x3x500x500") && r.out().contains("latency") && !r.out().contains("mean IU"),
        r.out());
  }

  @Test
  void aMissingDefaultIsNamed(@org.junit.jupiter.api.io.TempDir java.nio.file.Path empty) {
    FcnException e = assertThrows(FcnException.class, () -> Bench.locateDefault(java.util.List.of(empty)));
    assertTrue(e.getMessage().contains(Bench.DEFAULT_MODEL.toString()) && e.getMessage().contains("pass MODEL.onnx"),
        e.getMessage());
  }

  @Test
  void parsesShapesAndSizes() {
    assertArrayEquals(new long[] {1, 3, 500, 500}, InputShapes.dims("1,3,500,500", "1,3,500,500"));
    assertArrayEquals(new long[] {1, 3, 360, 480}, InputShapes.dims("1x3x360x480", "1x3x360x480"));
    assertArrayEquals(new int[] {360, 480}, BenchCommand.parseSize("360x480"));
    assertThrows(FcnException.class, () -> BenchCommand.parseSize("360"));
    assertThrows(FcnException.class, () -> InputShapes.dims("1,3,a,4", "1,3,a,4"));
  }

  @Test
  void helpListsTheOptions() {
    Run r = fcn("bench", "--help");
    assertEquals(ExitCode.OK, r.code());
    for (String opt : List.of("--device", "--threads", "--opt-level", "--input-shape", "--warmup", "--iterations",
        "--duration", "--dataset", "--split", "--ignore-label", "--preprocess", "--mean", "--std", "--scale",
        "--bgr", "--rgb", "--resize", "--save-predictions", "--classes", "--io-threads", "--report")) {
      assertTrue(r.out().contains(opt), opt + " missing from help:\n" + r.out());
    }
    assertTrue(Files.notExists(dir.resolve("reports")));
  }
}
