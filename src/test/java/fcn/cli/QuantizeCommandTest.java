package fcn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.ExitCode;
import fcn.data.SyntheticShapes;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code fcn quantize} end to end: the report, and one-line refusals of bad input. */
class QuantizeCommandTest {
  static final String MODEL = Path.of("fixtures", "default", "model.onnx").toString();

  @TempDir static Path tmp;
  static Path calib;
  static Path int8;
  static CliRun ok;

  @BeforeAll
  static void quantize() {
    calib = tmp.resolve("calib");
    SyntheticShapes.generate(calib, SyntheticShapes.Config.defaults().withSize(128, 128).withSeed(2).withCounts(3, 0));
    int8 = tmp.resolve("int8.onnx");
    ok = CliRun.fcn("quantize", MODEL, "--calibrate", calib.toString(), "--split", "train", "--images", "2",
        "-o", int8.toString());
  }

  static void refused(CliRun r, Path out, String... words) {
    assertEquals(ExitCode.BAD_INPUT, r.code(), r.all());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    for (String w : words) {
      assertTrue(r.err().contains(w), "'" + w + "' in: " + r.err());
    }
    assertTrue(out == null || Files.notExists(out), "no partial output");
  }

  @Test
  void reportsWhatWasQuantizedAndWhatStayedFloat() {
    assertEquals(ExitCode.OK, ok.code(), ok.all());
    assertTrue(ok.out().contains("int8   : Add 2, Conv 18, MaxPool 5, Slice 2"), ok.out());
    assertTrue(ok.out().contains("upscore8 (ConvTranspose)") && ok.out().contains("no int8 CPU kernel"), ok.out());
    assertTrue(ok.out().contains("15 Relu"), ok.out());
    assertTrue(Files.isRegularFile(int8));
  }

  @Test
  void notAnOnnxModel() throws Exception {
    Path bad = tmp.resolve("bad.onnx");
    Files.writeString(bad, "this is not protobuf\n");
    Path out = tmp.resolve("o1.onnx");
    refused(CliRun.fcn("quantize", bad.toString(), "--calibrate", calib.toString(), "--split", "train",
        "-o", out.toString()), out, "bad.onnx");
    Path txt = tmp.resolve("model.txt");
    Files.writeString(txt, "x");
    refused(CliRun.fcn("quantize", txt.toString(), "--calibrate", calib.toString(), "-o", out.toString()),
        out, "model.txt", ".onnx");
  }

  @Test
  void unknownKeepFloatName() {
    Path out = tmp.resolve("o2.onnx");
    refused(CliRun.fcn("quantize", MODEL, "--calibrate", calib.toString(), "--split", "train",
        "--keep-float", "score_fr,no_such_layer", "-o", out.toString()), out, "--keep-float", "no_such_layer");
  }

  @Test
  void emptyDataset() throws Exception {
    Path list = tmp.resolve("empty.txt");
    Files.writeString(list, "");
    Path out = tmp.resolve("o3.onnx");
    refused(CliRun.fcn("quantize", MODEL, "--calibrate", list.toString(), "-o", out.toString()), out, "empty.txt");
  }

  @Test
  void alreadyQuantized() {
    Path out = tmp.resolve("o4.onnx");
    assertEquals(ExitCode.OK, ok.code(), ok.all());
    refused(CliRun.fcn("quantize", int8.toString(), "--calibrate", calib.toString(), "--split", "train",
        "-o", out.toString()), out, "already quantized");
    refused(CliRun.fcn("quantize", int8.toString(), "--fp16", "-o", out.toString()), out, "quantized");
  }

  @Test
  void badOptions() {
    Path out = tmp.resolve("o5.onnx");
    refused(CliRun.fcn("quantize", MODEL, "-o", out.toString()), out, "--calibrate");
    refused(CliRun.fcn("quantize", MODEL, "--calibrate", calib.toString(), "--method", "kl", "-o", out.toString()),
        out, "--method kl");
    refused(CliRun.fcn("quantize", MODEL, "--calibrate", calib.toString(), "--percentile", "20", "-o",
        out.toString()), out, "--percentile");
    refused(CliRun.fcn("quantize", MODEL, "--calibrate", calib.toString(), "--images", "0", "-o", out.toString()),
        out, "--images");
    refused(CliRun.fcn("quantize", MODEL, "--fp16", "--calibrate", calib.toString(), "-o", out.toString()),
        out, "--fp16");
  }

  @Test
  void convertWritesFloat16() {
    Path out = tmp.resolve("fp16.onnx");
    CliRun r = CliRun.fcn("convert", MODEL, "--precision", "fp16", "-o", out.toString());
    assertEquals(ExitCode.OK, r.code(), r.all());
    assertTrue(r.out().contains("float16: ") && r.out().contains("Conv 18"), r.out());
    Path o2 = tmp.resolve("o6.onnx");
    refused(CliRun.fcn("convert", MODEL, "--precision", "int8", "-o", o2.toString()), o2, "--precision int8");
  }
}
