package fcn.cli;

import static fcn.cli.CliRun.fcn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.proto.OnnxProto.TensorProto;
import fcn.runtime.FloatTensor;
import fcn.runtime.Session;
import fcn.runtime.TinyModels;
import fcn.validate.CompareResult;
import fcn.validate.Comparator;
import fcn.validate.LoadedTensor;
import fcn.validate.NpyIO;
import fcn.validate.TensorProtoIO;
import fcn.validate.Tolerances;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * fcn validate end to end: fixtures made by `fcn fixtures` with ONNX Runtime from a tiny
 * Conv+Relu model, then validated as they are and in corrupted copies made here.
 */
class ValidateCommandTest {
  @TempDir Path tmp;
  Path model;
  Path fixtures;

  @BeforeEach
  void makeFixtures() throws IOException {
    model = TinyModels.write(TinyModels.convRelu(11, 3, 5), tmp.resolve("cr.onnx"));
    fixtures = tmp.resolve("fixtures");
    CliRun r = fcn("fixtures", model.toString(), "-o", fixtures.toString(), "--input-shape", "data=1,3,6,7",
        "--seed", "7", "--sets", "2", "--device", "cpu");
    assertEquals(0, r.code(), r.all());
    assertTrue(Files.isRegularFile(fixtures.resolve("test_data_set_1/output_0.pb")));
  }

  private Path copyFixtures(String name) throws IOException {
    Path dst = tmp.resolve(name);
    try (Stream<Path> s = Files.walk(fixtures)) {
      for (Path p : s.sorted().toList()) {
        Path q = dst.resolve(fixtures.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(q);
        } else {
          Files.copy(p, q);
        }
      }
    }
    return dst;
  }

  @Test
  void passingFixturesExitZero() throws IOException {
    CliRun r = fcn("validate", model.toString(), "--fixtures", fixtures.toString(), "--device", "cpu",
        "--min-label-agreement", "100");
    assertEquals(0, r.code(), r.all());
    assertTrue(r.out().contains("test_data_set_0") && r.out().contains("test_data_set_1"), r.out());
    assertTrue(r.out().contains("PASS: 2 set(s), 2 output comparison(s)"), r.out());
    assertTrue(r.out().contains("100.000%"), r.out());
  }

  @Test
  void shiftedValueExitsOneNamingOutputAndWorstIndex() throws IOException {
    Path bad = copyFixtures("shifted");
    Path out0 = bad.resolve("test_data_set_0/output_0.pb");
    LoadedTensor t = TensorProtoIO.read(out0);
    float[] v = t.tensor().data().clone();
    float max = 0;
    for (float x : v) {
      max = Math.max(max, Math.abs(x));
    }
    int k = v.length / 2 + 3;
    v[k] += 1e-2f * max;
    TensorProtoIO.write(out0, t.name(), new FloatTensor(v, t.tensor().shape()));
    String idx = FloatTensor.formatIndex(FloatTensor.unravel(k, t.tensor().shape()));

    CliRun r = fcn("validate", model.toString(), "--fixtures", bad.toString(), "--device", "cpu");
    assertEquals(1, r.code(), r.all());
    assertTrue(r.err().contains("test_data_set_0: output 'score' MISMATCH: 1 of 210 elements"), r.err());
    assertTrue(r.err().contains("worst at " + idx), "expected worst index " + idx + " in: " + r.err());
    assertTrue(r.out().contains("FAIL"), r.out());
    assertFalse(r.err().contains("test_data_set_1"), "set 1 is untouched: " + r.err());

    // A per-output override loose enough makes the same fixtures pass.
    CliRun loose = fcn("validate", model.toString(), "--fixtures", bad.toString(), "--device", "cpu",
        "--atol", "score=" + (0.02 * max));
    assertEquals(0, loose.code(), loose.all());
  }

  @Test
  void defaultRuleIsStatedAndAtolSwitchesToPolygraphy() {
    CliRun d = fcn("validate", model.toString(), "--fixtures", fixtures.toString(), "--device", "cpu");
    assertEquals(0, d.code(), d.all());
    assertTrue(d.out().startsWith("rule: max|err| <= 0.0001 x max|ref| per output; labels >= 99.9% for score maps"), d.out());
    CliRun p = fcn("validate", model.toString(), "--fixtures", fixtures.toString(), "--device", "cpu", "--rtol", "1e-2");
    assertEquals(0, p.code(), p.all());
    assertTrue(p.out().startsWith("rule: per element |err| <= atol 1e-05 or <= rtol 0.01 x |ref| (Polygraphy's rule)\n"), p.out());
    CliRun s = fcn("validate", model.toString(), "--fixtures", fixtures.toString(), "--device", "cpu",
        "--atol", "1e-3", "--atol-scale", "1e-6", "--min-label-agreement", "score=50");
    assertEquals(0, s.code(), s.all());
    assertTrue(s.out().startsWith("rule: per element |err| <= atol max(0.001, 1e-06 x max|ref|) or <= rtol 0.001 x |ref| "
        + "(Polygraphy's rule); output 'score': "), s.out());
  }

  /**
   * No tolerance flags, outputs of any scale (inputs in [-r, r) for r = 1e-3, 1, 1e4 make a
   * Conv+Relu's outputs follow r): the fixtures pass; one element moved by 1% of max|ref| fails.
   */
  @Test
  void oneElementMovedByOnePercentOfMaxRefFailsAtAnyScale() throws IOException {
    for (String r : List.of("1e-3", "1", "1e4")) {
      Path dir = tmp.resolve("range-" + r);
      CliRun f = fcn("fixtures", model.toString(), "-o", dir.toString(), "--input-shape", "data=1,3,6,7",
          "--range", "-" + r + "," + r, "--seed", "3", "--device", "cpu");
      assertEquals(0, f.code(), f.all());
      CliRun ok = fcn("validate", model.toString(), "--fixtures", dir.toString(), "--device", "cpu");
      assertEquals(0, ok.code(), r + ": " + ok.all());

      Path out0 = dir.resolve("test_data_set_0/output_0.pb");
      LoadedTensor t = TensorProtoIO.read(out0);
      float[] v = t.tensor().data().clone();
      float max = 0;
      int k = 0;
      for (int i = 0; i < v.length; i++) {
        if (Math.abs(v[i]) > max) {
          max = Math.abs(v[i]);
        }
        if (v[i] == 0) {
          k = i; // a ReLU zero: moving it cannot change max|ref|
        }
      }
      assertTrue(max > 0, r);
      v[k] += 0.01f * max;
      TensorProtoIO.write(out0, t.name(), new FloatTensor(v, t.tensor().shape()));
      CliRun bad = fcn("validate", model.toString(), "--fixtures", dir.toString(), "--device", "cpu");
      assertEquals(1, bad.code(), r + ": " + bad.all());
      assertTrue(bad.err().contains("test_data_set_0: output 'score' MISMATCH: 1 of 210 elements"), bad.err());
    }
  }

  /** Fixture element types the model does not take are bad input (exit 2), not a numeric mismatch. */
  @Test
  void integerFixturesForAFloatModelExitTwoNamingTheType() throws IOException {
    for (String file : List.of("input_0.pb", "output_0.pb")) {
      Path bad = copyFixtures("int64-" + file);
      Path p = bad.resolve("test_data_set_0").resolve(file);
      LoadedTensor t = TensorProtoIO.read(p);
      TensorProto.Builder b = TensorProto.newBuilder().setName(t.name()).setDataType(TensorProto.DataType.INT64_VALUE);
      for (long d : t.tensor().shape()) {
        b.addDims(d);
      }
      for (float x : t.tensor().data()) {
        b.addInt64Data(Math.round(x));
      }
      Files.write(p, b.build().toByteArray());
      CliRun r = fcn("validate", model.toString(), "--fixtures", bad.toString(), "--device", "cpu");
      assertEquals(2, r.code(), r.all());
      String kind = file.startsWith("input") ? "input 'data'" : "output 'score'";
      assertTrue(r.err().contains(file) && r.err().contains(kind + " holds int64 values but")
          && r.err().contains("expects float"), r.err());
      assertFalse(r.err().contains("MISMATCH") || r.err().contains("internal error"), r.err());
      assertEquals(1, r.err().strip().lines().count(), r.err());
    }
  }

  /**
   * The torchvision FCN export the tests make (tools/make-torch-fixtures.py: narrow, committed;
   * full width with --full, in work-tmp/) and the narrow DeepLabV3, converted with --dynamic,
   * pass validate with no tolerance flags against PyTorch's outputs at two sizes.
   */
  @Test
  void torchvisionFcnResnet50PassesTheDefaultRule() {
    for (Path src : List.of(Path.of("src/test/resources/torch/fcn_resnet50n/model_opset12.onnx"),
        Path.of("src/test/resources/torch/deeplabv3n/model_opset11.onnx"),
        Path.of("work-tmp/torch/fcn_resnet50/model_opset12.onnx"))) {
      Path dir = src.getParent();
      if (!Files.isRegularFile(src)) {
        System.out.println("skipping " + src + ": not found (tools/make-torch-fixtures.sh --full makes it)");
        continue;
      }
      Path onnx = tmp.resolve(dir.getFileName() + ".onnx");
      CliRun c = fcn("convert", src.toString(), "--dynamic", "-o", onnx.toString());
      assertEquals(0, c.code(), c.all());
      CliRun v = fcn("validate", onnx.toString(), "--fixtures", dir.toString(), "--device", "cpu");
      System.out.println("validate " + dir + " (default rule):\n" + v.out());
      assertEquals(0, v.code(), v.all());
      assertTrue(v.out().contains("PASS: 2 set(s), 4 output comparison(s)"), v.out());
    }
  }

  @Test
  void wrongInputNameExitsTwoListingExpectedNames() throws IOException {
    Path bad = copyFixtures("renamed");
    Path in0 = bad.resolve("test_data_set_0/input_0.pb");
    LoadedTensor t = TensorProtoIO.read(in0);
    TensorProtoIO.write(in0, "image", t.tensor());
    CliRun r = fcn("validate", model.toString(), "--fixtures", bad.toString(), "--device", "cpu");
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("input 'image'") && r.err().contains("its inputs are: data: float 1x3xHxW"), r.err());
    assertFalse(r.err().contains("internal error"), r.err());
  }

  @Test
  void shapeChangesExitTwo() throws IOException {
    Path bad = copyFixtures("reshaped-input");
    Path in0 = bad.resolve("test_data_set_0/input_0.pb");
    TensorProtoIO.write(in0, "data", new FloatTensor(new float[4 * 6 * 7], 1, 4, 6, 7));
    CliRun r = fcn("validate", model.toString(), "--fixtures", bad.toString(), "--device", "cpu");
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("has shape 1x4x6x7") && r.err().contains("expects 1x3xHxW"), r.err());

    Path bad2 = copyFixtures("reshaped-output");
    Path out0 = bad2.resolve("test_data_set_1/output_0.pb");
    LoadedTensor t = TensorProtoIO.read(out0);
    TensorProtoIO.write(out0, "score", new FloatTensor(t.tensor().data(), 1, 5, 42, 1));
    r = fcn("validate", model.toString(), "--fixtures", bad2.toString(), "--device", "cpu");
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("output 'score'") && r.err().contains("1x5x6x7") && r.err().contains("1x5x42x1"), r.err());
  }

  @Test
  void unknownOutputInFixtureOrToleranceExitsTwo() throws IOException {
    CliRun r = fcn("validate", model.toString(), "--fixtures", fixtures.toString(), "--device", "cpu",
        "--rtol", "prob=0.1");
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("'prob'") && r.err().contains("its outputs are: score: float 1x5xHxW"), r.err());
    r = fcn("validate", model.toString(), "--fixtures", fixtures.toString(), "--atol", "x");
    assertEquals(2, r.code(), r.all());
    r = fcn("validate", model.toString(), "--fixtures", tmp.resolve("nope").toString());
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("nope"), r.err());
  }

  @Test
  void csvAndJsonCarryTheSameNumbers() throws IOException {
    Path csv = tmp.resolve("out/report.csv");
    Path json = tmp.resolve("out/report.json");
    CliRun r = fcn("validate", model.toString(), "--fixtures", fixtures.toString(), "--device", "cpu",
        "--report", csv.toString(), "--json", json.toString());
    assertEquals(0, r.code(), r.all());
    List<CSVRecord> rows;
    try (CSVParser p = CSVParser.parse(csv, java.nio.charset.StandardCharsets.UTF_8,
        CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).build())) {
      rows = p.getRecords();
    }
    assertEquals(2, rows.size());
    assertEquals("score", rows.get(0).get("output"));
    assertEquals("1x5x6x7", rows.get(0).get("shape"));
    assertEquals("true", rows.get(0).get("passed"));
    String text = Files.readString(json);
    assertTrue(text.contains("\"passed\": true"), text);
    for (String col : List.of("max_abs_error", "cosine_similarity", "label_agreement_pct", "worst_actual")) {
      assertTrue(text.contains("\"" + col + "\": " + rows.get(0).get(col)), col + " " + rows.get(0).get(col) + " in " + text);
    }
    assertTrue(text.contains("\"shape\": [1, 5, 6, 7]"), text);
    try (Stream<Path> s = Files.list(csv.getParent())) {
      assertEquals(2, s.count(), "no temp files left behind");
    }
  }

  @Test
  void npzFixturesValidateToo() throws IOException {
    Path npz = tmp.resolve("npz/test_data_set_0");
    Files.createDirectories(npz);
    LoadedTensor in = TensorProtoIO.read(fixtures.resolve("test_data_set_0/input_0.pb"));
    LoadedTensor out = TensorProtoIO.read(fixtures.resolve("test_data_set_0/output_0.pb"));
    writeNpz(npz.resolve("inputs.npz"), "data", in.tensor());
    writeNpz(npz.resolve("outputs.npz"), "score", out.tensor());
    CliRun r = fcn("validate", model.toString(), "--fixtures", npz.getParent().toString(), "--device", "cpu");
    assertEquals(0, r.code(), r.all());
  }

  private static void writeNpz(Path file, String key, FloatTensor t) throws IOException {
    try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
      zip.putNextEntry(new ZipEntry(key + ".npy"));
      zip.write(NpyIO.toNpy(t));
      zip.closeEntry();
    }
  }

  @Test
  void cudaOnTheCpuBuildExitsTwoNamingTheFix() {
    Assumptions.assumeFalse(Session.cudaInBuild(), "GPU ONNX Runtime on the class path");
    CliRun r = fcn("validate", model.toString(), "--fixtures", fixtures.toString(), "--device", "cuda");
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("rebuild with -Pgpu (onnxruntime_gpu, needs CUDA 12 + cuDNN 9)"), r.err());
    CliRun auto = fcn("validate", model.toString(), "--fixtures", fixtures.toString());
    assertEquals(0, auto.code(), auto.all());
    assertTrue(auto.err().contains("fcn: warning: --device auto") && auto.err().contains("running on CPU"), auto.err());
    CliRun bad = fcn("validate", model.toString(), "--fixtures", fixtures.toString(), "--device", "tpu");
    assertEquals(2, bad.code(), bad.all());
  }

  @Test
  void fixturesAreDeterministicAndNeverPartial() throws IOException {
    Path again = tmp.resolve("again");
    CliRun r = fcn("fixtures", model.toString(), "-o", again.toString(), "--input-shape", "1,3,6,7",
        "--seed", "7", "--sets", "2", "--device", "cpu");
    assertEquals(0, r.code(), r.all());
    // The inputs are fcn's seeded numbers and its own writer: bytes. The outputs are ONNX Runtime's:
    // the same values under the default rule (ORT's sums may depend on its thread count).
    for (String f : List.of("test_data_set_0/input_0.pb", "test_data_set_1/input_0.pb")) {
      assertArrayEquals(Files.readAllBytes(fixtures.resolve(f)), Files.readAllBytes(again.resolve(f)), f);
    }
    LoadedTensor want = TensorProtoIO.read(fixtures.resolve("test_data_set_1/output_0.pb"));
    LoadedTensor got = TensorProtoIO.read(again.resolve("test_data_set_1/output_0.pb"));
    CompareResult same = Comparator.compare(want.name(), got.tensor(), want.tensor(),
        Tolerances.defaults().forOutput(want.name(), want.tensor()));
    assertTrue(same.passed(), same.summary());
    LoadedTensor in = TensorProtoIO.read(again.resolve("test_data_set_0/input_0.pb"));
    assertEquals("data", in.name());

    CliRun exists = fcn("fixtures", model.toString(), "-o", again.toString(), "--input-shape", "data=1,3,6,7", "--device", "cpu");
    assertEquals(2, exists.code(), exists.all());
    assertTrue(exists.err().contains("--force"), exists.err());
    CliRun forced = fcn("fixtures", model.toString(), "-o", again.toString(), "--input-shape", "data=1,3,4,4",
        "--device", "cpu", "--force");
    assertEquals(0, forced.code(), forced.all());
    assertFalse(Files.exists(again.resolve("test_data_set_1")), "replaced, not merged");

    Path none = tmp.resolve("none");
    CliRun symbolic = fcn("fixtures", model.toString(), "-o", none.toString(), "--device", "cpu");
    assertEquals(2, symbolic.code(), symbolic.all());
    assertTrue(symbolic.err().contains("give --input-shape data=1,3,H,W"), symbolic.err());
    CliRun wrongName = fcn("fixtures", model.toString(), "-o", none.toString(), "--input-shape", "img=1,3,4,4", "--device", "cpu");
    assertEquals(2, wrongName.code(), wrongName.all());
    assertTrue(wrongName.err().contains("its inputs are: data: float 1x3xHxW"), wrongName.err());
    assertFalse(Files.exists(none), "nothing written on failure");
    try (Stream<Path> s = Files.list(tmp)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".")), "no temp folders left");
    }

    CliRun caffe = fcn("fixtures", tmp.resolve("net.prototxt").toString(), tmp.resolve("w.caffemodel").toString(), "-o", none.toString());
    assertEquals(2, caffe.code(), caffe.all());
    assertTrue(caffe.err().contains("net.prototxt: no such prototxt file"), caffe.err());
  }

  @Test
  void mainListsTheSubcommands() {
    CliRun r = fcn("--help");
    assertTrue(r.out().contains("validate") && r.out().contains("fixtures"), r.out());
    CliRun v = fcn("validate", "--help");
    for (String opt : List.of("--fixtures", "--device", "--threads", "--opt-level", "--atol", "--rtol",
        "--min-label-agreement", "--report", "--json")) {
      assertTrue(v.out().contains(opt), opt + " in " + v.out());
    }
  }

}
