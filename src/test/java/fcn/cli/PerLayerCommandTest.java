package fcn.cli;

import static fcn.cli.CliRun.fcn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import fcn.models.Prototxt;
import fcn.proto.CaffeProto.NetParameter;
import fcn.proto.OnnxProto.AttributeProto;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.NodeProto;
import fcn.proto.OnnxProto.TensorProto;
import fcn.reference.caffe.CaffeNet;
import fcn.reference.caffe.WidthReducer;
import fcn.runtime.FloatTensor;
import fcn.validate.BlobFixtures;
import fcn.validate.LoadedTensor;
import fcn.validate.TensorProtoIO;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code validate --per-layer} end to end: the published voc-fcn8s with widths / 16 (every crop,
 * offset, pad and the topology kept; weights from Caffe's fillers), converted, passes against real
 * Caffe; broken in one place at a time (a convolution's pad, score_pool4c's crop offset, a
 * pooling's rounding, a transposed convolution's weights, one bias) the per-layer comparison
 * names exactly that layer as the first divergence and every tensor before it passes. One Caffe
 * run (fixtures --all-blobs) serves all the broken variants; the first test goes through
 * --against-caffe. ONNX against ONNX: one initializer scaled by 1.01 is named.
 */
class PerLayerCommandTest {
  static final Path SHARED = Path.of("..", "shared");
  static final Path FCN8S = Path.of("fixtures", "caffe", "fcn8s");
  @TempDir static Path shared;
  @TempDir Path tmp;

  private static Path proto;
  private static Path weights;
  private static Path onnx;
  private static Path allBlobs;

  /** The reduced voc-fcn8s, its Caffe weights and conversion, made once for the class. */
  private static synchronized void reducedVocFcn8s() throws Exception {
    Path published = SHARED.resolve("caffe/fcn-berkeley/voc-fcn8s/deploy.prototxt");
    Assumptions.assumeTrue(Files.isRegularFile(published),
        "../shared not found: skipping validate --per-layer on the published voc-fcn8s");
    if (onnx != null) {
      return;
    }
    NetParameter reduced = new WidthReducer(16, 4).reduce(Prototxt.read(published));
    proto = shared.resolve("deploy.prototxt");
    Prototxt.write(reduced, proto);
    weights = shared.resolve("fcn8s-reduced.caffemodel");
    try (CaffeNet net = CaffeNet.open(proto, null, 17)) {
      net.save(weights);
    }
    Path out = shared.resolve("voc-fcn8s.onnx");
    CliRun c = fcn("convert", proto.toString(), weights.toString(), "-o", out.toString());
    assertEquals(0, c.code(), c.all());
    onnx = out;
  }

  /** Every blob of one Caffe run at 187x253 (odd: pooling rounding shows), shared by the broken variants. */
  private static synchronized Path allBlobs() throws Exception {
    reducedVocFcn8s();
    if (allBlobs == null) {
      Path dir = shared.resolve("all-blobs");
      CliRun f = fcn("fixtures", proto.toString(), weights.toString(), "--all-blobs", "-o", dir.toString(),
          "--input-shape", "data=1,3,187,253", "--seed", "4");
      assertEquals(0, f.code(), f.all());
      assertTrue(f.out().contains("every blob"), f.out());
      allBlobs = dir;
    }
    return allBlobs;
  }

  @Test
  void againstCaffeAFaithfulConversionHasNoDivergenceAndAShiftedCropIsNamed() throws Exception {
    reducedVocFcn8s();
    Path json = tmp.resolve("good.json");
    Path csv = tmp.resolve("good.csv");
    CliRun good = fcn("validate", onnx.toString(), "--against-caffe", proto.toString(), weights.toString(),
        "--per-layer", "--device", "cpu", "--json", json.toString(), "--report", csv.toString());
    System.out.println("validate --against-caffe --per-layer, voc-fcn8s widths/16:\n" + good.all());
    assertEquals(0, good.code(), good.all());
    assertTrue(good.out().contains("500x500/test_data_set_0: first divergence: none")
        && good.out().contains("187x253/test_data_set_0: first divergence: none"), good.out());
    // Caffe keeps the in-place ReLU's result under the convolution's blob: compared as one layer.
    assertTrue(good.out().contains("conv1_1+relu1_1  Convolution+ReLU  conv1_1"), good.out());
    assertTrue(good.out().contains("score_pool4c     Crop"), good.out());
    assertTrue(good.out().contains("not compared: data: input"), good.out());
    assertTrue(good.out().contains("Caffe's automatic Split copy of pool4"), good.out());
    String j = Files.readString(json);
    assertTrue(j.contains("\"per_layer\": true") && j.contains("\"passed\": true")
        && j.contains("\"first_divergence\": null") && j.contains("\"blob\": \"score_pool4c\""), j);
    List<String> lines = Files.readAllLines(csv);
    assertEquals(String.join(",", fcn.validate.PerLayerReport.COLUMNS), lines.get(0));
    long okRows = lines.stream().filter(l -> l.contains(",ok,")).count();
    assertTrue(okRows >= 2 * 30, "every compared blob of both sets is a row: " + okRows);

    Path broken = tmp.resolve("crop.onnx");
    AgainstCaffeCommandTest.shiftCrop(onnx, broken, "score_pool4c", -1);
    Path badJson = tmp.resolve("bad.json");
    CliRun bad = fcn("validate", broken.toString(), "--against-caffe", proto.toString(), weights.toString(),
        "--per-layer", "--device", "cpu", "--json", badJson.toString());
    System.out.println("validate --against-caffe --per-layer, score_pool4c crop at 4:\n" + bad.all());
    assertFirstDivergence(bad, "score_pool4c", "score_pool4c (Crop)");
    assertTrue(bad.err().contains("first divergence: score_pool4c (Crop): inputs match"), bad.err());
    assertTrue(Files.readString(badJson).contains("\"first_divergence\": \"score_pool4c\""));
  }

  @Test
  void aConvolutionPadIsNamed() throws Exception {
    Path m = edit("pad", n -> n.getName().equals("conv3_1") ? withInts(n, "pads", 2, 2, 0, 0) : n, t -> t);
    assertFirstDivergence(perLayer(m), "conv3_1", "conv3_1+relu3_1 (Convolution+ReLU)");
  }

  @Test
  void aCropOffsetIsNamed() throws Exception {
    allBlobs();
    Path m = tmp.resolve("crop.onnx");
    AgainstCaffeCommandTest.shiftCrop(onnx, m, "score_pool4c", -1);
    assertFirstDivergence(perLayer(m), "score_pool4c", "score_pool4c (Crop)");
  }

  @Test
  void aPoolingRoundingIsNamed() throws Exception {
    // Caffe rounds pool2's output size up; without the end pad that encodes it, ONNX rounds down.
    Path m = edit("pool", n -> n.getName().equals("pool2") ? withInts(n, "pads", 0, 0, 0, 0) : n, t -> t);
    CliRun r = perLayer(m);
    assertFirstDivergence(r, "pool2", "pool2 (Pooling)");
    assertTrue(r.out().matches("(?s).*output shape 1x\\d+x96x113 in the model, 1x\\d+x97x113 in the reference.*"), r.out());
  }

  @Test
  void aTransposedConvolutionsWeightsAreNamed() throws Exception {
    // The kernel flipped in H and W: the classic ConvTranspose layout mistake.
    Path m = edit("deconv", n -> n, t -> t.getName().equals("upscore_pool4.weight") ? flipHw(t) : t);
    assertFirstDivergence(perLayer(m), "upscore_pool4", "upscore_pool4 (Deconvolution)");
  }

  @Test
  void oneBiasIsNamed() throws Exception {
    // 1% of conv4_2's own largest activation added to one channel's bias.
    double max = maxAbs(blob(allBlobs(), "conv4_2"));
    Path m = edit("bias", n -> n, t -> t.getName().equals("conv4_2.bias") ? addToFirst(t, (float) (0.01 * max)) : t);
    assertFirstDivergence(perLayer(m), "conv4_2", "conv4_2+relu4_2 (Convolution+ReLU)");
  }

  @Test
  void allBlobFixturesRoundTrip() throws Exception {
    // From Caffe: every blob but the input and Caffe's Split copies is a file; the index names the layers.
    Path dir = tmp.resolve("fx");
    String p = FCN8S.resolve("deploy.prototxt").toString();
    String w = FCN8S.resolve("weights.caffemodel").toString();
    CliRun f = fcn("fixtures", p, w, "--all-blobs", "-o", dir.toString(), "--seed", "2", "--sets", "2");
    assertEquals(0, f.code(), f.all());
    List<String> names = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir.resolve("test_data_set_1"))) {
      for (Path file : s.filter(x -> x.getFileName().toString().startsWith("output_")).sorted().toList()) {
        names.add(TensorProtoIO.read(file).name());
      }
    }
    assertTrue(names.contains("conv1_1") && names.contains("score_pool4c") && names.contains("score"), names.toString());
    assertFalse(names.stream().anyMatch(n -> n.contains("_split_")), names.toString());
    var meta = BlobFixtures.meta(dir);
    assertEquals("conv1_1+relu1_1", meta.get("conv1_1").layers());
    assertEquals("Convolution+ReLU", meta.get("conv1_1").types());
    assertEquals("input", meta.get("data").note());
    assertEquals("pool4", meta.get("pool4_pool4_0_split_0").splitOf());
    // The last blob is the net's output, as plain fixtures hold it.
    assertEquals(names.size(), meta.values().stream().filter(b -> !b.isInput() && b.splitOf() == null).count());

    Path model = FCN8S.resolve("model.onnx");
    CliRun v = fcn("validate", model.toString(), "--fixtures", dir.toString(), "--per-layer", "--device", "cpu");
    assertEquals(0, v.code(), v.all());
    assertTrue(v.out().contains("test_data_set_1: first divergence: none (31 tensors compared, all match)"), v.out());
    CliRun plain = fcn("validate", model.toString(), "--fixtures", dir.toString(), "--device", "cpu");
    assertEquals(2, plain.code(), plain.all());
    assertTrue(plain.err().contains("add --per-layer"), plain.err());

    // From ONNX Runtime: every float tensor (shape helpers left out), a group at a time.
    Path odir = tmp.resolve("ofx");
    CliRun o = fcn("fixtures", model.toString(), "--all-blobs", "-o", odir.toString(), "--device", "cpu", "--range", "-128,128",
        "--input-shape", "data=1,3,64,80");
    assertEquals(0, o.code(), o.all());
    List<String> onames = new ArrayList<>();
    for (int k = 0; Files.exists(odir.resolve("test_data_set_0/output_" + k + ".pb")); k++) {
      onames.add(TensorProtoIO.read(odir.resolve("test_data_set_0/output_" + k + ".pb")).name());
    }
    assertTrue(onames.contains("conv1_1/conv1_1") && onames.contains("conv1_1") && onames.contains("score"), onames.toString());
    assertFalse(onames.contains("score_pool4c.ref_shape"), "integer shape arithmetic is not a layer: " + onames);
    CliRun ov = fcn("validate", model.toString(), "--fixtures", odir.toString(), "--per-layer", "--device", "cpu",
        "--group-mb", "1");
    assertEquals(0, ov.code(), ov.all());
    assertTrue(ov.out().contains("first divergence: none"), ov.out());
  }

  @Test
  void onnxAgainstOnnxNamesTheNodeWhoseWeightsWereScaled() throws Exception {
    Path ref = FCN8S.resolve("model.onnx");
    ModelProto m = ModelProto.parseFrom(Files.readAllBytes(ref));
    ModelProto.Builder b = m.toBuilder();
    for (int i = 0; i < b.getGraph().getInitializerCount(); i++) {
      TensorProto t = b.getGraph().getInitializer(i);
      if (t.getName().equals("conv3_2.weight")) {
        b.getGraphBuilder().setInitializer(i, scale(t, 1.01f));
      }
    }
    Path scaled = tmp.resolve("scaled.onnx");
    Files.write(scaled, b.build().toByteArray());

    // The same model: groups of at most 1 MiB (many ONNX Runtime runs) change nothing.
    CliRun same = fcn("validate", ref.toString(), "--against", ref.toString(), "--per-layer", "--device", "cpu",
        "--group-mb", "1", "--range", "-128,128", "--input-shape", "data=1,3,64,80");
    assertEquals(0, same.code(), same.all());
    assertTrue(same.out().contains("first divergence: none"), same.out());
    java.util.regex.Matcher groups = java.util.regex.Pattern.compile("in (\\d+) group\\(s\\)").matcher(same.out());
    assertTrue(groups.find() && Integer.parseInt(groups.group(1)) > 1, same.out());

    CliRun r = fcn("validate", scaled.toString(), "--against", ref.toString(), "--per-layer", "--device", "cpu",
        "--range", "-128,128", "--input-shape", "data=1,3,64,80");
    System.out.println("validate --against --per-layer, conv3_2.weight x 1.01:\n" + r.all());
    assertFirstDivergence(r, "conv3_2/conv3_2", "conv3_2 (Conv)");
    CliRun outputs = fcn("validate", scaled.toString(), "--against", ref.toString(), "--device", "cpu",
        "--range", "-128,128", "--input-shape", "data=1,3,64,80");
    assertEquals(1, outputs.code(), outputs.all());
    assertTrue(outputs.err().contains("output 'score' MISMATCH"), outputs.err());
  }

  @Test
  void perLayerOptionsAreChecked() {
    CliRun both = fcn("validate", "m.onnx", "--fixtures", "d", "--against", "r.onnx");
    assertEquals(2, both.code(), both.all());
    assertTrue(both.err().contains("give one reference"), both.err());
    CliRun group = fcn("validate", FCN8S.resolve("model.onnx").toString(), "--fixtures", FCN8S.toString(), "--group-mb", "4");
    assertEquals(2, group.code(), group.all());
    assertTrue(group.err().contains("--group-mb goes with --per-layer"), group.err());
    String help = fcn("validate", "--help").out().replaceAll("\\s+", " ");
    assertTrue(help.contains("--per-layer") && help.contains("Memory is bounded") && help.contains("--group-mb"), help);
  }

  // ---------------------------------------------------------------- helpers

  private CliRun perLayer(Path model) throws Exception {
    CliRun r = fcn("validate", model.toString(), "--fixtures", allBlobs().toString(), "--per-layer", "--device", "cpu");
    System.out.println("validate --per-layer " + model.getFileName() + ":\n" + r.all());
    return r;
  }

  /**
   * Exit 1; the first diverging row is {@code blob} and the closing line names {@code label};
   * every row above it passes.
   */
  static void assertFirstDivergence(CliRun r, String blob, String label) {
    assertEquals(1, r.code(), r.all());
    assertTrue(r.out().contains("first divergence: " + label), "expected " + label + ":\n" + r.out());
    String[] lines = r.out().split("\n");
    int header = -1;
    boolean found = false;
    for (int i = 0; i < lines.length && !found; i++) {
      if (lines[i].startsWith("layer ")) {
        header = i;
        continue;
      }
      if (header < 0 || lines[i].startsWith("not compared") || lines[i].contains("first divergence")) {
        continue;
      }
      String[] cells = lines[i].trim().split("\\s{2,}");
      if (lines[i].contains("FAIL <- first")) {
        assertEquals(blob, cells[2], lines[i]);
        found = true;
      } else {
        assertTrue(lines[i].endsWith("  ok"), "every tensor before the first divergence passes: " + lines[i]);
      }
    }
    assertTrue(found, r.out());
  }

  private Path edit(String name, UnaryOperator<NodeProto> nodes, UnaryOperator<TensorProto> inits) throws Exception {
    allBlobs();
    ModelProto m = ModelProto.parseFrom(Files.readAllBytes(onnx));
    ModelProto.Builder b = m.toBuilder();
    boolean changed = false;
    for (int i = 0; i < b.getGraph().getNodeCount(); i++) {
      NodeProto n = b.getGraph().getNode(i);
      NodeProto e = nodes.apply(n);
      changed |= !e.equals(n);
      b.getGraphBuilder().setNode(i, e);
    }
    for (int i = 0; i < b.getGraph().getInitializerCount(); i++) {
      TensorProto t = b.getGraph().getInitializer(i);
      TensorProto e = inits.apply(t);
      changed |= !e.equals(t);
      b.getGraphBuilder().setInitializer(i, e);
    }
    assertTrue(changed, "the edit " + name + " found its node or initializer");
    Path out = tmp.resolve(name + ".onnx");
    Files.write(out, b.build().toByteArray());
    return out;
  }

  private static NodeProto withInts(NodeProto n, String attr, long... values) {
    NodeProto.Builder b = n.toBuilder();
    for (int i = 0; i < b.getAttributeCount(); i++) {
      if (b.getAttribute(i).getName().equals(attr)) {
        AttributeProto.Builder a = b.getAttribute(i).toBuilder().clearInts();
        for (long v : values) {
          a.addInts(v);
        }
        b.setAttribute(i, a);
      }
    }
    return b.build();
  }

  private static float[] floats(TensorProto t) {
    ByteBuffer raw = ByteBuffer.wrap(t.getRawData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
    float[] f = new float[raw.capacity() / 4];
    raw.asFloatBuffer().get(f);
    return f;
  }

  private static TensorProto withFloats(TensorProto t, float[] f) {
    ByteBuffer out = ByteBuffer.allocate(4 * f.length).order(ByteOrder.LITTLE_ENDIAN);
    out.asFloatBuffer().put(f);
    return t.toBuilder().setRawData(ByteString.copyFrom(out.array())).build();
  }

  private static TensorProto scale(TensorProto t, float by) {
    float[] f = floats(t);
    for (int i = 0; i < f.length; i++) {
      f[i] *= by;
    }
    return withFloats(t, f);
  }

  private static TensorProto addToFirst(TensorProto t, float delta) {
    float[] f = floats(t);
    f[0] += delta;
    return withFloats(t, f);
  }

  /** Reverses the last two axes of a 4-D weight. */
  private static TensorProto flipHw(TensorProto t) {
    float[] f = floats(t);
    int kh = (int) t.getDims(2);
    int kw = (int) t.getDims(3);
    float[] g = new float[f.length];
    for (int base = 0; base < f.length; base += kh * kw) {
      for (int y = 0; y < kh; y++) {
        for (int x = 0; x < kw; x++) {
          g[base + y * kw + x] = f[base + (kh - 1 - y) * kw + (kw - 1 - x)];
        }
      }
    }
    return withFloats(t, g);
  }

  private static FloatTensor blob(Path dir, String name) throws Exception {
    try (Stream<Path> s = Files.list(dir.resolve("test_data_set_0"))) {
      for (Path p : s.toList()) {
        LoadedTensor t = TensorProtoIO.read(p);
        if (t.name().equals(name)) {
          return t.tensor();
        }
      }
    }
    throw new AssertionError("no blob " + name + " in " + dir);
  }

  private static double maxAbs(FloatTensor t) {
    double m = 0;
    for (float v : t.data()) {
      m = Math.max(m, Math.abs(v));
    }
    assertNotNull(t);
    return m;
  }
}
