package fcn.cli;

import static fcn.cli.CliRun.fcn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import fcn.data.Images;
import fcn.data.Preprocess;
import fcn.data.RgbImage;
import fcn.models.Prototxt;
import fcn.proto.CaffeProto.BlobShape;
import fcn.proto.CaffeProto.InputParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.NodeProto;
import fcn.proto.OnnxProto.TensorProto;
import fcn.reference.caffe.CaffeNet;
import fcn.reference.caffe.WidthReducer;
import fcn.validate.CompareResult;
import fcn.validate.Comparator;
import fcn.validate.LoadedTensor;
import fcn.validate.Tolerances;
import fcn.validate.TensorProtoIO;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Caffe-reference commands end to end through fcn.cli.Main with real Caffe (on the test class
 * path): every checked-in Caffe fixture validates after `fcn convert`; `validate --against-caffe`
 * passes on FCN's published voc-fcn8s (widths reduced, weights made by Caffe here) and fails on a
 * conversion whose crop is shifted by one pixel; `convert --verify`; `fixtures` from Caffe and
 * from a photo.
 */
class AgainstCaffeCommandTest {
  static final Path FIXTURES = Path.of("fixtures", "caffe");
  static final Path SHARED = Path.of("..", "shared");
  @TempDir Path tmp;

  private Path convert(String name) {
    Path dir = FIXTURES.resolve(name);
    Path onnx = tmp.resolve(name + ".onnx");
    CliRun c = fcn("convert", dir.resolve("deploy.prototxt").toString(), dir.resolve("weights.caffemodel").toString(),
        "-o", onnx.toString());
    assertEquals(0, c.code(), c.all());
    return onnx;
  }

  /** CI converts and validates every checked-in Caffe fixture on every run: this test. */
  @ParameterizedTest
  @ValueSource(strings = {"vgg16", "fcn32s", "fcn16s", "fcn8s"})
  void everyCaffeFixtureValidatesAfterConvert(String name) {
    Path onnx = convert(name);
    // No tolerance flags: the default rule passes a faithful conversion whatever the scores' scale.
    CliRun v = fcn("validate", onnx.toString(), "--fixtures", FIXTURES.resolve(name).toString(), "--device", "cpu");
    System.out.println("validate " + name + " (default rule):\n" + v.out());
    assertEquals(0, v.code(), v.all());
    assertTrue(v.out().startsWith(DEFAULT_RULE_LINE), v.out());
    assertTrue(v.out().contains("PASS: 1 set(s)"), v.out());
  }

  /** The header line of the default rule, as validate prints it. */
  static final String DEFAULT_RULE_LINE = "rule: max|err| <= 0.0001 x max|ref| per output; labels >= 99.9% for score maps";

  /**
   * The published voc-fcn8s VAL net (Python data layer, SoftmaxWithLoss), widths / 8, converted as
   * it is; fixtures by real Caffe at 187x253 on its deploy form. No tolerance flags: a faithful
   * conversion passes, the one with score_pool4c's crop at 4 instead of 5 fails.
   */
  @Test
  void publishedVocFcn8sValNetPassesTheDefaultRuleAndAShiftedCropFails() throws Exception {
    Path val = SHARED.resolve("caffe/fcn-berkeley/voc-fcn8s/val.prototxt");
    Assumptions.assumeTrue(Files.isRegularFile(val),
        "../shared not found: skipping validate's default rule on the published voc-fcn8s val net");
    NetParameter reduced = new WidthReducer(8, 4).reduce(Prototxt.read(val));
    Path proto = tmp.resolve("val.prototxt");
    Prototxt.write(reduced, proto);
    Path caffeProto = tmp.resolve("val-for-caffe.prototxt");
    Prototxt.write(forCaffe(reduced, 187, 253), caffeProto);
    Path weights = tmp.resolve("val.caffemodel");
    try (CaffeNet net = CaffeNet.open(caffeProto, null, 23)) {
      net.save(weights);
    }
    Path onnx = tmp.resolve("val.onnx");
    CliRun c = fcn("convert", proto.toString(), weights.toString(), "-o", onnx.toString());
    assertEquals(0, c.code(), c.all());
    Path fx = tmp.resolve("val-fx");
    CliRun f = fcn("fixtures", caffeProto.toString(), weights.toString(), "-o", fx.toString(), "--seed", "5");
    assertEquals(0, f.code(), f.all());
    assertArrayEquals(new long[] {1, 21, 187, 253}, TensorProtoIO.read(fx.resolve("test_data_set_0/output_0.pb")).tensor().shape());

    CliRun good = fcn("validate", onnx.toString(), "--fixtures", fx.toString(), "--device", "cpu");
    System.out.println("validate voc-fcn8s val widths/8 at 187x253 (default rule):\n" + good.out());
    assertEquals(0, good.code(), good.all());
    assertTrue(good.out().startsWith(DEFAULT_RULE_LINE), good.out());

    Path broken = tmp.resolve("val-broken.onnx");
    shiftCrop(onnx, broken, "score_pool4c", -1);
    CliRun bad = fcn("validate", broken.toString(), "--fixtures", fx.toString(), "--device", "cpu");
    System.out.println("validate voc-fcn8s val, score_pool4c crop at 4 (default rule):\n" + bad.all());
    assertEquals(1, bad.code(), bad.all());
    assertTrue(bad.err().contains("output 'score' MISMATCH"), bad.err());
    List<Double> labels = labelAgreements(bad.out());
    assertEquals(1, labels.size(), bad.out());
    assertTrue(labels.get(0) < Tolerances.DEFAULT_MIN_LABEL_AGREEMENT, "labels fail too: " + labels);
  }

  /**
   * The val net as JavaCPP's Caffe can run it (no Python layers): an Input layer for its data
   * top at 1x3xHxW instead of the Python data layer, and without the loss (the label is not fed).
   */
  static NetParameter forCaffe(NetParameter val, int h, int w) {
    NetParameter.Builder b = val.toBuilder().clearLayer();
    for (LayerParameter l : val.getLayerList()) {
      switch (l.getType()) {
        case "Python" -> b.addLayer(LayerParameter.newBuilder().setName(l.getName()).setType("Input").addTop("data")
            .setInputParam(InputParameter.newBuilder().addShape(BlobShape.newBuilder().addDim(1).addDim(3).addDim(h).addDim(w))));
        case "SoftmaxWithLoss", "Accuracy" -> { }
        default -> b.addLayer(l);
      }
    }
    return b.build();
  }

  @Test
  void againstCaffeOnPublishedVocFcn8sPassesAndCatchesAShiftedCrop() throws Exception {
    Path published = SHARED.resolve("caffe/fcn-berkeley/voc-fcn8s/deploy.prototxt");
    Assumptions.assumeTrue(Files.isDirectory(SHARED),
        "../shared not found: skipping validate --against-caffe on the published voc-fcn8s");
    // Widths / 16 keep every crop, offset, pad and the topology; weights come from real Caffe's fillers.
    NetParameter reduced = new WidthReducer(16, 4).reduce(Prototxt.read(published));
    Path proto = tmp.resolve("deploy.prototxt");
    Prototxt.write(reduced, proto);
    Path weights = tmp.resolve("fcn8s-reduced.caffemodel");
    try (CaffeNet net = CaffeNet.open(proto, null, 17)) {
      net.save(weights);
    }
    Path onnx = tmp.resolve("voc-fcn8s.onnx");
    CliRun c = fcn("convert", proto.toString(), weights.toString(), "-o", onnx.toString());
    assertEquals(0, c.code(), c.all());

    Path json = tmp.resolve("good.json");
    CliRun good = fcn("validate", onnx.toString(), "--against-caffe", proto.toString(), weights.toString(),
        "--device", "cpu", "--json", json.toString());
    System.out.println("validate --against-caffe, voc-fcn8s widths/16:\n" + good.out());
    assertEquals(0, good.code(), good.all());
    assertTrue(good.out().contains("500x500/test_data_set_0") && good.out().contains("187x253/test_data_set_0"),
        "checked at the prototxt's size and at 187x253: " + good.out());
    assertTrue(good.out().contains("PASS: 2 set(s)"), good.out());
    for (double ratio : ratios(good.out())) {
      assertTrue(ratio <= 1e-4, "max|err| / max|ref| = " + ratio);
    }
    assertTrue(Files.readString(json).contains("\"passed\": true"));

    // The converted score_pool4c crop starts one pixel up-left of Caffe's offset 5.
    Path broken = tmp.resolve("voc-fcn8s-broken.onnx");
    shiftCrop(onnx, broken, "score_pool4c", -1);
    Path badJson = tmp.resolve("bad.json");
    CliRun bad = fcn("validate", broken.toString(), "--against-caffe", weights.toString(), proto.toString(),
        "--device", "cpu", "--json", badJson.toString());
    System.out.println("validate --against-caffe, score_pool4c crop shifted by one:\n" + bad.all());
    assertEquals(1, bad.code(), bad.all());
    assertTrue(bad.out().contains("FAIL"), bad.out());
    assertTrue(bad.err().contains("output 'score' MISMATCH"), bad.err());
    List<Double> labels = labelAgreements(bad.out());
    assertEquals(2, labels.size(), bad.out());
    for (double pct : labels) {
      assertTrue(pct < 100, "label agreement shows the damage: " + pct);
    }
  }

  @Test
  void aClassifierIsCheckedAtItsOwnSizeOnly() {
    Path onnx = convert("vgg16");
    Path dir = FIXTURES.resolve("vgg16");
    CliRun v = fcn("validate", onnx.toString(), "--against-caffe", dir.resolve("deploy.prototxt").toString(),
        dir.resolve("weights.caffemodel").toString(), "--device", "cpu", "--sets", "2", "--seed", "5");
    assertEquals(0, v.code(), v.all());
    assertTrue(v.out().contains("224x224/test_data_set_1") && v.out().contains("PASS: 2 set(s)"), v.out());
    assertTrue(v.out().contains("not checked at 187x253: input 'data' of " + dir.resolve("deploy.prototxt")
        + " has shape 1x3x224x224, got 1x3x187x253 (the net has InnerProduct layers"), v.out());
  }

  @Test
  void convertVerifyPassesOnAFixtureAndFailsWhenTheToleranceIsZero() {
    Path dir = FIXTURES.resolve("fcn8s");
    String proto = dir.resolve("deploy.prototxt").toString();
    String weights = dir.resolve("weights.caffemodel").toString();
    Path onnx = tmp.resolve("v.onnx");
    CliRun ok = fcn("convert", proto, weights, "-o", onnx.toString(), "--verify");
    assertEquals(0, ok.code(), ok.all());
    assertTrue(ok.out().contains("verify against Caffe:") && ok.out().contains("PASS: 2 set(s)"), ok.out());

    // ONNX Runtime and Caffe sum in different orders: no float tolerance at all must fail, exit 1,
    // with the table, and the file kept.
    CliRun strict = fcn("convert", proto, weights, "-o", onnx.toString(), "--verify", "--verify-tolerance", "0");
    assertEquals(1, strict.code(), strict.all());
    assertTrue(strict.out().contains("FAIL:") && strict.err().contains("MISMATCH"), strict.all());
    assertTrue(Files.isRegularFile(onnx));

    CliRun head = fcn("convert", proto, weights, "-o", tmp.resolve("h.onnx").toString(), "--verify", "--head", "fcn8s");
    assertEquals(2, head.code(), head.all());
    assertTrue(head.err().contains("--verify compares with the Caffe net as it is"), head.err());
    assertFalse(Files.exists(tmp.resolve("h.onnx")), "refused before converting");
    CliRun onnxSource = fcn("convert", onnx.toString(), "-o", tmp.resolve("o.onnx").toString(), "--verify");
    assertEquals(2, onnxSource.code(), onnxSource.all());
    assertTrue(onnxSource.err().contains("give NET.prototxt WEIGHTS.caffemodel"), onnxSource.err());
  }

  @Test
  void fixturesFromCaffeReproduceTheCheckedInOnes() throws Exception {
    // tools/make-fixtures.sh made them with seed 1337 and inputs in [-128, 128), the Caffe default here.
    Path dir = FIXTURES.resolve("fcn8s");
    Path out = tmp.resolve("again");
    CliRun f = fcn("fixtures", dir.resolve("weights.caffemodel").toString(), dir.resolve("deploy.prototxt").toString(),
        "-o", out.toString(), "--seed", "1337");
    assertEquals(0, f.code(), f.all());
    // The inputs are fcn's own seeded random numbers: byte for byte.
    assertArrayEquals(Files.readAllBytes(dir.resolve("test_data_set_0/input_0.pb")),
        Files.readAllBytes(out.resolve("test_data_set_0/input_0.pb")), "input_0.pb");
    // The outputs are Caffe's, whose sums depend on the CPU's OpenBLAS kernel and thread count:
    // the rule of --against-caffe, not bytes.
    LoadedTensor committed = TensorProtoIO.read(dir.resolve("test_data_set_0/output_0.pb"));
    LoadedTensor again = TensorProtoIO.read(out.resolve("test_data_set_0/output_0.pb"));
    assertEquals(committed.name(), again.name());
    CompareResult r = Comparator.compare(committed.name(), again.tensor(), committed.tensor(),
        Tolerances.defaults().forOutput(committed.name(), committed.tensor()));
    assertTrue(r.passed(), r.summary());
  }

  @Test
  void fixturesFromCaffeValidateTheConversion() throws Exception {
    Path dir = FIXTURES.resolve("fcn16s");
    Path out = tmp.resolve("fx");
    CliRun f = fcn("fixtures", dir.resolve("deploy.prototxt").toString(), dir.resolve("weights.caffemodel").toString(),
        "-o", out.toString(), "--input-shape", "1,3,40,56", "--seed", "3", "--sets", "2");
    assertEquals(0, f.code(), f.all());
    assertTrue(f.out().contains("wrote 2 set(s)") && f.out().contains("BVLC Caffe"), f.out());
    LoadedTensor in = TensorProtoIO.read(out.resolve("test_data_set_1/input_0.pb"));
    assertEquals("data", in.name());
    assertArrayEquals(new long[] {1, 3, 40, 56}, in.tensor().shape());
    float max = 0;
    for (float v : in.tensor().data()) {
      max = Math.max(max, Math.abs(v));
    }
    assertTrue(max > 100 && max <= 128, "Caffe inputs default to [-128, 128): " + max);

    Path onnx = convert("fcn16s");
    CliRun v = fcn("validate", onnx.toString(), "--fixtures", out.toString(), "--device", "cpu");
    assertEquals(0, v.code(), v.all());
    assertTrue(v.out().contains("PASS: 2 set(s)"), v.out());

    // Without conv1_1's pad of 100 a small input leaves fc6's 7x7 window nothing to cover: refused
    // before Caffe could abort the process.
    Path unpadded = tmp.resolve("unpadded.prototxt");
    Files.writeString(unpadded, Files.readString(dir.resolve("deploy.prototxt")).replace("pad: 100", "pad: 0"));
    CliRun tiny = fcn("fixtures", unpadded.toString(), dir.resolve("weights.caffemodel").toString(),
        "-o", tmp.resolve("tiny").toString(), "--input-shape", "data=1,3,40,56");
    assertEquals(2, tiny.code(), tiny.all());
    assertTrue(tiny.err().contains("input shape data=1,3,40,56 does not fit " + unpadded), tiny.err());
    assertFalse(Files.exists(tmp.resolve("tiny")));
  }

  @Test
  void fixturesFromAPhoto() throws Exception {
    int w = 61;
    int h = 45;
    byte[] rgb = new byte[3 * w * h];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        rgb[3 * (y * w + x)] = (byte) (4 * x);
        rgb[3 * (y * w + x) + 1] = (byte) (5 * y);
        rgb[3 * (y * w + x) + 2] = (byte) ((x * y) & 0xff);
      }
    }
    Path photo = tmp.resolve("photo.png");
    Images.writePng(photo, new RgbImage(w, h, rgb));
    Path dir = FIXTURES.resolve("fcn8s");
    Path out = tmp.resolve("photo-fx");
    CliRun f = fcn("fixtures", dir.resolve("deploy.prototxt").toString(), dir.resolve("weights.caffemodel").toString(),
        "-o", out.toString(), "--image", photo.toString(), "--preprocess", "caffe");
    assertEquals(0, f.code(), f.all());
    LoadedTensor in = TensorProtoIO.read(out.resolve("test_data_set_0/input_0.pb"));
    assertArrayEquals(new long[] {1, 3, h, w}, in.tensor().shape(), "a fully convolutional net takes the photo's size");
    assertArrayEquals(Preprocess.caffe().toChw(Images.readRgb(photo)), in.tensor().data());

    Path resized = tmp.resolve("resized-fx");
    CliRun r = fcn("fixtures", dir.resolve("deploy.prototxt").toString(), dir.resolve("weights.caffemodel").toString(),
        "-o", resized.toString(), "--image", photo.toString(), "--preprocess", "torchvision", "--input-shape", "1,3,32,48");
    assertEquals(0, r.code(), r.all());
    LoadedTensor rin = TensorProtoIO.read(resized.resolve("test_data_set_0/input_0.pb"));
    assertArrayEquals(new long[] {1, 3, 32, 48}, rin.tensor().shape());
    assertArrayEquals(Preprocess.torchvision().withResize(48, 32).toChw(Images.readRgb(photo)), rin.tensor().data());

    CliRun noPre = fcn("fixtures", dir.resolve("deploy.prototxt").toString(), dir.resolve("weights.caffemodel").toString(),
        "-o", tmp.resolve("x").toString(), "--image", photo.toString());
    assertEquals(2, noPre.code(), noPre.all());
    assertTrue(noPre.err().contains("--preprocess caffe|torchvision"), noPre.err());
  }

  @Test
  void validateNeedsExactlyOneReference() {
    CliRun neither = fcn("validate", "m.onnx");
    assertEquals(2, neither.code(), neither.all());
    assertTrue(neither.err().contains("either --fixtures DIR or --against-caffe"), neither.err());
    CliRun one = fcn("validate", "m.onnx", "--against-caffe", "a.prototxt", "b.prototxt");
    assertEquals(2, one.code(), one.all());
    assertTrue(one.err().contains("--against-caffe needs NET.prototxt WEIGHTS.caffemodel"), one.err());
    String help = fcn("validate", "--help").out().replaceAll("\\s+", " ");
    assertTrue(help.contains("--against-caffe") && help.contains("max|err| <= 1e-4 x max|expected|")
        && help.contains("99.9% of pixels"), help);
    String convertHelp = fcn("convert", "--help").out().replaceAll("\\s+", " ");
    assertTrue(convertHelp.contains("--verify") && convertHelp.contains("max|err| <= 1e-4 x max|Caffe output|"), convertHelp);
  }

  /** "max|err| X = R x max|Caffe output|" lines printed by CaffeCheck. */
  private static List<Double> ratios(String out) {
    List<Double> r = new ArrayList<>();
    Matcher m = Pattern.compile("= (\\S+) x max\\|Caffe output\\|").matcher(out);
    while (m.find()) {
      r.add(Double.parseDouble(m.group(1)));
    }
    assertFalse(r.isEmpty(), out);
    return r;
  }

  /** The "labels" column (NN.NNN%) of each table row. */
  private static List<Double> labelAgreements(String out) {
    List<Double> r = new ArrayList<>();
    Matcher m = Pattern.compile(" (\\d+\\.\\d{3})% ").matcher(out);
    while (m.find()) {
      r.add(Double.parseDouble(m.group(1)));
    }
    return r;
  }

  /** Copies {@code in} with the start offsets of Slice {@code node} moved by {@code delta} on every axis. */
  static void shiftCrop(Path in, Path out, String node, long delta) throws Exception {
    ModelProto m = ModelProto.parseFrom(Files.readAllBytes(in));
    NodeProto slice = m.getGraph().getNodeList().stream()
        .filter(n -> n.getOpType().equals("Slice") && n.getName().equals(node)).findFirst().orElseThrow();
    String starts = slice.getInput(1);
    ModelProto.Builder b = m.toBuilder();
    boolean found = false;
    for (int i = 0; i < b.getGraph().getInitializerCount(); i++) {
      TensorProto t = b.getGraph().getInitializer(i);
      if (!t.getName().equals(starts)) {
        continue;
      }
      assertEquals(TensorProto.DataType.INT64_VALUE, t.getDataType());
      ByteBuffer raw = ByteBuffer.wrap(t.getRawData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
      ByteBuffer shifted = ByteBuffer.allocate(raw.capacity()).order(ByteOrder.LITTLE_ENDIAN);
      while (raw.hasRemaining()) {
        shifted.putLong(raw.getLong() + delta);
      }
      b.getGraphBuilder().setInitializer(i, t.toBuilder().setRawData(ByteString.copyFrom(shifted.array())));
      found = true;
    }
    assertTrue(found, "initializer " + starts + " of Slice " + node);
    Files.write(out, b.build().toByteArray());
  }

  @Test
  void withoutCaffeOnTheClassPathTheCaffeFeaturesSayThatFcnFetchesIt() throws Exception {
    Path dir = FIXTURES.resolve("fcn8s");
    String proto = dir.resolve("deploy.prototxt").toString();
    String weights = dir.resolve("weights.caffemodel").toString();
    List<java.net.URL> urls = new ArrayList<>();
    for (Class<?> c : List.of(Main.class, picocli.CommandLine.class, com.google.protobuf.Message.class,
        ai.onnxruntime.OrtEnvironment.class, org.apache.commons.csv.CSVFormat.class)) {
      urls.add(c.getProtectionDomain().getCodeSource().getLocation());
    }
    try (var noCaffe = new java.net.URLClassLoader(urls.toArray(java.net.URL[]::new), ClassLoader.getPlatformClassLoader())) {
      Class<?> main = Class.forName(Main.class.getName(), true, noCaffe);
      for (String[] args : List.of(
          new String[] {"fixtures", proto, weights, "-o", tmp.resolve("f").toString()},
          new String[] {"validate", tmp.resolve("m.onnx").toString(), "--against-caffe", proto, weights},
          new String[] {"convert", proto, weights, "-o", tmp.resolve("c.onnx").toString(), "--verify"})) {
        Object cl = main.getMethod("commandLine").invoke(null);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.getClass().getMethod("setOut", PrintWriter.class).invoke(cl, new PrintWriter(out));
        cl.getClass().getMethod("setErr", PrintWriter.class).invoke(cl, new PrintWriter(err));
        int code = (Integer) cl.getClass().getMethod("execute", String[].class).invoke(cl, (Object) args);
        assertEquals(2, code, args[0] + ": " + out + err);
        assertTrue(err.toString().startsWith("fcn: the Caffe reference backend is not on the class path")
            && err.toString().contains("./fcn"), err.toString());
      }
    }
    try (Stream<Path> s = Files.list(tmp)) {
      assertTrue(s.findAny().isEmpty(), "nothing written");
    }
  }
}
