package fcn.frontend.caffe;

import static fcn.testing.Python.PYTHON;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.proto.CaffeProto.BlobProto;
import fcn.proto.CaffeProto.BlobShape;
import fcn.proto.CaffeProto.ConvolutionParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.reference.caffe.WidthReducer;
import fcn.runtime.FloatTensor;
import fcn.testing.TestOnnx;
import fcn.testing.TestOnnx.Array;
import fcn.validate.NpyIO;
import fcn.testing.Python;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The forks' layers (Interp, caffe-segnet BN, PSPNet BN) converted and run in ONNX Runtime,
 * against tools/caffe-torch-reference.py: an independent torch interpreter of the prototxt
 * written from the forks' semantics (BVLC Caffe cannot run these layers). Probe nets of one
 * layer each, then the published PSPNet nets at reduced width. Weights, BN statistics
 * included, are seeded random values written into a caffemodel with fcn's own protos.
 * Skips, saying so, without python3-torch (Debian) or ../shared.
 */
class ForkLayersNumericTest {
  static final Path SHARED = Path.of("..", "shared");
  @TempDir Path tmp;

  @BeforeAll
  static void needTorch() {
    Assumptions.assumeTrue(Python.has("import torch, numpy"),
        "python3 with torch and numpy (Debian python3-torch) not found: skipping the fork-layer"
            + " reference checks");
  }

  private static String input(String name, long... dims) {
    StringBuilder sb = new StringBuilder("layer { name: \"" + name + "\" type: \"Input\" top: \""
        + name + "\" input_param { shape {");
    for (long d : dims) {
      sb.append(" dim: ").append(d);
    }
    return sb.append(" } } }\n").toString();
  }

  private static String interpNet(String params, long h, long w) {
    return input("data", 1, 3, h, w) + "layer { name: \"interp\" type: \"Interp\" bottom: \"data\""
        + " top: \"interp\" interp_param { " + params + " } }\n";
  }

  @Test
  void interpByZoom8On7x9() throws Exception {
    assertProbe(interpNet("zoom_factor: 8", 7, 9), "interp", new long[] {1, 3, 49, 65});
  }

  @Test
  void interpByHeightWidth13x17() throws Exception {
    assertProbe(interpNet("height: 13 width: 17", 5, 6), "interp", new long[] {1, 3, 13, 17});
  }

  @Test
  void interpToASingleRowSamplesTheFirstRow() throws Exception {
    // H_out = 1: the forks sample row 0 (their scale is 0 when H_out = 1).
    assertProbe(interpNet("height: 1 width: 5", 4, 9), "interp", new long[] {1, 3, 1, 5});
  }

  @Test
  void interpByShrink2WithCrop() throws Exception {
    // H_eff = 11 - 2 = 9, (9 - 1) / 2 + 1 = 5; W_eff = 11, (11 - 1) / 2 + 1 = 6.
    assertProbe(interpNet("shrink_factor: 2 pad_beg: -1 pad_end: -1", 11, 13), "interp",
        new long[] {1, 3, 5, 6});
  }

  @Test
  void interpZoomAndShrinkTogether() throws Exception {
    // Shrink first: (12 - 1) / 3 + 1 = 4, then zoom 2: 4 + 3 = 7; W: (15 - 1) / 3 + 1 = 5 -> 9.
    assertProbe(interpNet("zoom_factor: 2 shrink_factor: 3", 12, 15), "interp",
        new long[] {1, 3, 7, 9});
  }

  @Test
  void interpBySecondBottom() throws Exception {
    String net = input("data", 1, 3, 6, 7) + input("ref", 1, 2, 11, 10)
        + "layer { name: \"interp\" type: \"Interp\" bottom: \"data\" bottom: \"ref\""
        + " top: \"interp\" }\n";
    assertProbe(net, "interp", new long[] {1, 3, 11, 10});
  }

  @Test
  void interpFollowsSymbolicSizes() throws Exception {
    // Zoom, shrink with a crop, and a second bottom, at odd sizes other than the import size.
    String net = input("data", 1, 3, 7, 9) + input("ref", 1, 2, 8, 8)
        + "layer { name: \"zoom\" type: \"Interp\" bottom: \"data\" top: \"zoom\""
        + " interp_param { zoom_factor: 3 } }\n"
        + "layer { name: \"shrink\" type: \"Interp\" bottom: \"zoom\" top: \"shrink\""
        + " interp_param { shrink_factor: 2 pad_beg: -1 pad_end: -2 } }\n"
        + "layer { name: \"to_ref\" type: \"Interp\" bottom: \"shrink\" bottom: \"ref\""
        + " top: \"to_ref\" }\n";
    Path proto = tmp.resolve("dyn.prototxt");
    Files.writeString(proto, net);
    Map<String, long[]> in = new LinkedHashMap<>();
    in.put("data", new long[] {1, 3, 7, 9});
    in.put("ref", new long[] {1, 2, 8, 8});
    Map<String, long[]> other = Map.of("data", new long[] {1, 3, 13, 11},
        "ref", new long[] {1, 2, 19, 15});
    for (String out : List.of("shrink", "to_ref")) {
      run(proto, in, out, 1e-5, other);
    }
  }

  private static String bnNet(String params) {
    return input("data", 2, 4, 5, 6) + "layer { name: \"bn\" type: \"BN\" bottom: \"data\""
        + " top: \"bn\" " + params + " }\n";
  }

  @Test
  void segnetBnInference() throws Exception {
    assertProbe(bnNet("bn_param { bn_mode: INFERENCE }"), "bn", new long[] {2, 4, 5, 6});
  }

  @Test
  void segnetBnLearnUsesTheBatchStatistics() throws Exception {
    assertProbe(bnNet("bn_param { scale_filler { type: \"constant\" value: 1 } }"), "bn",
        new long[] {2, 4, 5, 6});
  }

  @Test
  void pspnetBn() throws Exception {
    assertProbe(bnNet("bn_param { slope_filler { type: \"constant\" value: 1 } frozen: true"
        + " momentum: 0.95 }"), "bn", new long[] {2, 4, 5, 6});
  }

  @Test
  void pspnetBnWithItsOwnEps() throws Exception {
    assertProbe(bnNet("bn_param { eps: 0.5 }"), "bn", new long[] {2, 4, 5, 6});
  }

  @Test
  void deeplabV1HoleIsDilation() throws Exception {
    String net = input("data", 1, 2, 13, 11) + "layer { name: \"conv\" type: \"Convolution\""
        + " bottom: \"data\" top: \"conv\" convolution_param { num_output: 3 kernel_size: 3"
        + " pad: 2 hole: 2 } }\n";
    Graph g = assertProbe(net, "conv", new long[] {1, 3, 13, 11});
    Node conv = g.nodes().stream().filter(n -> n.op() == Op.CONV).findFirst().orElseThrow();
    assertArrayEquals(new long[] {2, 2}, conv.attrs().getInts("dilations"));
  }

  /**
   * PSPNet at reduced width (widths / 32, at least 2; topology and every layer parameter as
   * published) at the prototxt's own size, against the torch interpreter of the whole net.
   */
  @ParameterizedTest
  @ValueSource(strings = {"pspnet50_ADE20K_473.prototxt", "pspnet101_VOC2012_473.prototxt",
      "pspnet101_cityscapes_713.prototxt"})
  void publishedPspnetMatchesTheReference(String file) throws Exception {
    Path src = SHARED.resolve("caffe/pspnet").resolve(file);
    Assumptions.assumeTrue(Files.isRegularFile(src),
        "../shared not found: skipping the PSPNet reference check of " + file);
    NetParameter net = PrototxtReader.read(src).net();
    net = new WidthReducer(32, 2).reduce(net);
    String text = forkText(net);
    Path proto = tmp.resolve("net.prototxt");
    Files.writeString(proto, text);
    long[] in = {1, 3, net.getInputDim(2), net.getInputDim(3)};
    Graph g = run(proto, Map.of("data", in), "conv6_interp", 1e-4);
    assertEquals(5, g.nodes().stream().filter(n -> n.op() == Op.RESIZE).count());
  }

  /** Converts, runs in ORT and in the torch reference, and compares one output. */
  private Graph assertProbe(String text, String out, long[] outShape) throws Exception {
    Path proto = tmp.resolve("probe.prototxt");
    Files.writeString(proto, text);
    Map<String, long[]> inputs = new LinkedHashMap<>();
    for (LayerParameter l : PrototxtReader.read(proto).net().getLayerList()) {
      if (l.getType().equals("Input")) {
        long[] d = l.getInputParam().getShape(0).getDimList().stream()
            .mapToLong(Long::longValue).toArray();
        inputs.put(l.getTop(0), d);
      }
    }
    Graph g = run(proto, inputs, out, 1e-5);
    assertArrayEquals(outShape, g.value(out).shape().toArray());
    return g;
  }

  private Graph run(Path proto, Map<String, long[]> inputs, String out, double tol)
      throws Exception {
    return run(proto, inputs, out, tol, null);
  }

  /**
   * Converts at the prototxt's size; with {@code other}, makes H/W symbolic and runs both sides
   * at those input sizes instead (the graph must follow the input's size).
   */
  private Graph run(Path proto, Map<String, long[]> inputs, String out, double tol,
      Map<String, long[]> other) throws Exception {
    NetParameter net = PrototxtReader.read(proto).net();
    Path blobs = Files.createDirectories(tmp.resolve("blobs"));
    Path model = writeCaffemodel(net, inputs, blobs, 11);
    CaffeImportOptions o = CaffeImportOptions.defaults().withOutputs(List.of(out));
    Graph g = CaffeImporter.importNet(proto, model,
        model != null ? o : o.withRandomWeightsSeed(1L));
    if (other != null) {
      TestOnnx.makeSpatialDynamic(g);
    }
    Map<String, Array> feeds = new LinkedHashMap<>();
    List<String> args = new ArrayList<>(List.of(PYTHON, "tools/caffe-torch-reference.py",
        proto.toString(), blobs.toString(), tmp.toString(), "--out=" + out));
    long seed = 5;
    for (Map.Entry<String, long[]> e : inputs.entrySet()) {
      Array a = Array.gaussian(seed++, 1f, other != null ? other.get(e.getKey()) : e.getValue());
      feeds.put(e.getKey(), a);
      Path f = tmp.resolve("in_" + e.getKey() + ".npy");
      NpyIO.writeNpy(f, new FloatTensor(a.data(), a.shape()));
      args.add(e.getKey() + "=" + f);
    }
    Process p = new ProcessBuilder(args).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(600, TimeUnit.SECONDS) && p.exitValue() == 0, log);
    var r = NpyIO.readNpy(tmp.resolve(out.replace('/', '_') + ".npy"));
    Array ref = new Array(r.tensor().shape(), r.tensor().data());
    Array got = TestOnnx.run(g, feeds).get(out);
    double err = got.maxAbsDiff(ref);
    System.out.printf("%s %s: max|err| %.3g, max|ref| %.3g, ratio %.3g%n", proto.getFileName(),
        out, err, ref.maxAbs(), err / ref.maxAbs());
    float lo = Float.MAX_VALUE;
    float hi = -Float.MAX_VALUE;
    for (float v : ref.data()) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    assertTrue(hi - lo > 0.01 * ref.maxAbs(), out + " is constant: the check would prove nothing");
    assertTrue(err <= tol * ref.maxAbs(), String.format("%s: ort %s torch %s max|err| %g,"
        + " max|ref| %g", out, got.shapeString(), ref.shapeString(), err, ref.maxAbs()));
    return g;
  }

  /** The prototxt as the forks write it: PSPNet's BN parameters under {@code bn_param}. */
  static String forkText(NetParameter net) {
    return com.google.protobuf.TextFormat.printer().printToString(net)
        .replace("psp_bn_param {", "bn_param {");
  }

  /**
   * A caffemodel with seeded random blobs for every Convolution and BN of {@code net} (conv
   * weights scaled by fan-in, BN scale/slope in [0.5, 1.5), shift/bias and means Gaussian,
   * variances in [0.5, 1.5)), and the same blobs as BLOBDIR/blob_LAYER_I.npy for the reference.
   */
  static Path writeCaffemodel(NetParameter net, Map<String, long[]> inputs, Path blobDir,
      long seed) throws IOException {
    Map<String, Long> channels = new HashMap<>();
    inputs.forEach((k, v) -> channels.put(k, v[1]));
    if (net.getInputCount() > 0) {
      channels.put(net.getInput(0), (long) net.getInputDim(1));
    }
    SplittableRandom r = new SplittableRandom(seed);
    NetParameter.Builder model = NetParameter.newBuilder().setName(net.getName());
    List<LayerParameter> layers = net.getLayerList();
    for (int i = 0; i < layers.size(); i++) {
      LayerParameter l = layers.get(i);
      long c = l.getBottomCount() > 0 ? channels.getOrDefault(l.getBottom(0), 0L) : 0;
      List<float[]> data = new ArrayList<>();
      List<long[]> shapes = new ArrayList<>();
      if (l.getType().equals("Input")) {
        continue;
      }
      long outC = c;
      switch (l.getType()) {
        case "Convolution" -> {
          ConvolutionParameter p = l.getConvolutionParam();
          long o = p.getNumOutput();
          long kh = p.hasKernelH() ? p.getKernelH() : p.getKernelSize(0);
          long kw = p.hasKernelW() ? p.getKernelW() : p.getKernelSize(p.getKernelSizeCount() - 1);
          long[] w = {o, c / p.getGroup(), kh, kw};
          double std = Math.sqrt(2.0 / (w[1] * kh * kw));
          shapes.add(w);
          data.add(gaussian(r, w[0] * w[1] * kh * kw, std, 0));
          if (p.getBiasTerm()) {
            shapes.add(new long[] {o});
            data.add(gaussian(r, o, 0.1, 0));
          }
          outC = o;
        }
        case "BN" -> {
          long[] bs = {1, c, 1, 1};
          boolean psp = l.hasPspBnParam();
          for (int j = 0; j < (psp ? 4 : 2); j++) {
            shapes.add(bs);
            data.add(j == 0 || j == 3 ? uniform(r, c, 0.5, 1.5) : gaussian(r, c, 0.3, 0));
          }
        }
        case "Concat" -> {
          outC = 0;
          for (String b : l.getBottomList()) {
            outC += channels.get(b);
          }
        }
        default -> { }
      }
      for (String t : l.getTopList()) {
        channels.put(t, outC);
      }
      if (data.isEmpty()) {
        continue;
      }
      LayerParameter.Builder lb = model.addLayerBuilder().setName(l.getName()).setType(l.getType());
      for (int j = 0; j < data.size(); j++) {
        BlobProto.Builder b = lb.addBlobsBuilder();
        BlobShape.Builder s = b.getShapeBuilder();
        for (long d : shapes.get(j)) {
          s.addDim(d);
        }
        for (float v : data.get(j)) {
          b.addData(v);
        }
        NpyIO.writeNpy(blobDir.resolve("blob_" + i + "_" + j + ".npy"),
            new FloatTensor(data.get(j), shapes.get(j)));
      }
    }
    if (model.getLayerCount() == 0) {
      return null; // nothing learned: converted with --random-weights, which draws nothing
    }
    Path out = blobDir.getParent().resolve("net.caffemodel");
    Files.write(out, model.build().toByteArray());
    return out;
  }

  private static float[] gaussian(SplittableRandom r, long n, double std, double mean) {
    float[] f = new float[Math.toIntExact(n)];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) (mean + std * r.nextGaussian());
    }
    return f;
  }

  private static float[] uniform(SplittableRandom r, long n, double lo, double hi) {
    float[] f = new float[Math.toIntExact(n)];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) (lo + (hi - lo) * r.nextDouble());
    }
    return f;
  }
}
