package fcn.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.data.Images;
import fcn.data.Preprocess;
import fcn.data.RgbImage;
import fcn.data.SyntheticShapes;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.NodeProto;
import fcn.proto.OnnxProto.TensorProto;
import fcn.testing.TestOnnx;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded default (fixtures/default, a trained FCN-8s) quantized with calibration on a few
 * images from its training seed: every claim of the QDQ format checked on the written file.
 */
class QuantizeDefaultTest {
  static final Path MODEL = Path.of("fixtures", "default", "model.onnx");
  static final Path VAL = Path.of("fixtures", "default", "dataset");

  @TempDir static Path tmp;
  static Path calib;
  static Quantizer.Result result;
  static ModelProto fp32;
  static ModelProto int8;

  static Path calibration(Path root) {
    Path d = root.resolve("calib");
    if (!Files.isDirectory(d)) {
      SyntheticShapes.generate(d, SyntheticShapes.Config.defaults().withSize(128, 128).withObjects(2, 6)
          .withDistractors(3).withSeed(2).withCounts(6, 0));
    }
    return d;
  }

  static Quantizer.Options options(Path out, Calibration.Method m, List<String> keep) {
    return new Quantizer.Options(MODEL, out, calib, "train", Preprocess.caffe(), 6, m,
        Quantizer.DEFAULT_PERCENTILE, keep, false, false, 2);
  }

  @BeforeAll
  static void quantize() throws Exception {
    calib = calibration(tmp);
    Path out = tmp.resolve("int8.onnx");
    result = Quantizer.quantize(options(out, Calibration.Method.PERCENTILE, List.of()), null);
    fp32 = ModelProto.parseFrom(Files.readAllBytes(MODEL));
    int8 = ModelProto.parseFrom(Files.readAllBytes(out));
  }

  static Map<String, TensorProto> initializers(ModelProto m) {
    Map<String, TensorProto> out = new HashMap<>();
    for (TensorProto t : m.getGraph().getInitializerList()) {
      out.put(t.getName(), t);
    }
    return out;
  }

  static float[] floats(TensorProto t) {
    if (t.getFloatDataCount() > 0) {
      float[] f = new float[t.getFloatDataCount()];
      for (int i = 0; i < f.length; i++) {
        f[i] = t.getFloatData(i);
      }
      return f;
    }
    java.nio.FloatBuffer b = ByteBuffer.wrap(t.getRawData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    float[] f = new float[b.remaining()];
    b.get(f);
    return f;
  }

  static NodeProto producer(ModelProto m, String tensor) {
    for (NodeProto n : m.getGraph().getNodeList()) {
      if (n.getOutputList().contains(tensor)) {
        return n;
      }
    }
    return null;
  }

  @Test
  void perChannelWeightScalesAreMaxAbsOver127() {
    Map<String, TensorProto> f = initializers(fp32);
    Map<String, TensorProto> q = initializers(int8);
    int convs = 0;
    for (NodeProto conv : int8.getGraph().getNodeList()) {
      if (!conv.getOpType().equals("Conv")) {
        continue;
      }
      convs++;
      NodeProto dq = producer(int8, conv.getInput(1));
      assertEquals("DequantizeLinear", dq.getOpType(), conv.getName());
      assertEquals(0, dq.getAttribute(0).getI(), "axis of " + dq.getName());
      TensorProto wq = q.get(dq.getInput(0));
      assertEquals(TensorProto.DataType.INT8_VALUE, wq.getDataType());
      float[] scale = floats(q.get(dq.getInput(1)));
      // The float weights, straight from the fp32 file.
      TensorProto w = f.get(fp32Weight(conv.getName()));
      float[] wf = floats(w);
      int out = (int) w.getDims(0);
      int per = wf.length / out;
      assertEquals(out, scale.length, conv.getName());
      byte[] ints = wq.getRawData().toByteArray();
      for (int c = 0; c < out; c++) {
        double max = 0;
        for (int i = c * per; i < (c + 1) * per; i++) {
          max = Math.max(max, Math.abs(wf[i]));
        }
        float expected = (float) (max / 127);
        assertEquals(expected, scale[c], Math.ulp(expected), conv.getName() + " channel " + c);
        for (int i = c * per; i < (c + 1) * per; i++) {
          assertTrue(Math.abs(ints[i]) <= 127);
          assertTrue(Math.abs(ints[i] * scale[c] - wf[i]) <= scale[c] / 2 * 1.0001f,
              conv.getName() + " weight " + i);
        }
      }
    }
    assertEquals(18, convs);
  }

  private static String fp32Weight(String conv) {
    for (NodeProto n : fp32.getGraph().getNodeList()) {
      if (n.getName().equals(conv)) {
        return n.getInput(1);
      }
    }
    throw new AssertionError("no " + conv + " in the fp32 model");
  }

  @Test
  void everyQdqPairRoundTripsInOnnxRuntime() {
    Map<String, TensorProto> q = initializers(int8);
    int pairs = 0;
    for (NodeProto n : int8.getGraph().getNodeList()) {
      if (!n.getOpType().equals("QuantizeLinear")) {
        continue;
      }
      pairs++;
      String tensor = n.getName().substring(0, n.getName().length() - "_QuantizeLinear".length());
      float s = floats(q.get(n.getInput(1)))[0];
      int zp = q.get(n.getInput(2)).getRawData().byteAt(0) & 0xff;
      double[] range = result.ranges().get(tensor);
      QuantParams p = result.params().get(tensor);
      assertNotNull(p, tensor);
      // MaxPool/Slice outputs reuse their input's parameters; their own range is the input's.
      double lo = range != null ? Math.min(0, range[0]) : p.low();
      double hi = range != null ? Math.max(0, range[1]) : p.high();
      int k = 1001;
      float[] x = new float[k];
      for (int i = 0; i < k; i++) {
        x[i] = (float) (lo + (hi - lo) * i / (k - 1));
      }
      float[] y = qdq(x, s, zp);
      for (int i = 0; i < k; i++) {
        assertTrue(Math.abs(y[i] - x[i]) <= s / 2 * 1.001f + 1e-6f,
            tensor + ": x=" + x[i] + " -> " + y[i] + " (step " + s + ")");
        // fcn's own arithmetic is the runtime's.
        assertEquals(p.dequantize(p.quantize(x[i])), y[i], 0f, tensor + " at " + x[i]);
      }
    }
    assertTrue(pairs >= 20, "pairs: " + pairs);
  }

  /** dequantize(quantize(x)) by ONNX Runtime's own QuantizeLinear/DequantizeLinear. */
  static float[] qdq(float[] x, float scale, int zp) {
    fcn.ir.Graph g = new fcn.ir.Graph("qdq");
    g.opsetImports().put("", 17L); // Q/DQ are carried opaque nodes: written at their own opset
    fcn.ir.Variable in = g.addInput("x", fcn.ir.DataType.FLOAT, fcn.ir.Shape.of(new long[] {x.length}));
    fcn.ir.Constant sc = g.addConstant("s", fcn.ir.Tensor.scalar(scale));
    fcn.ir.Constant z = g.addConstant("z", new fcn.ir.Tensor(fcn.ir.DataType.UINT8, new long[0],
        new byte[] {(byte) zp}));
    fcn.ir.Variable xq = g.addOpaqueNode("QuantizeLinear", "", "q", List.of(in, sc, z), List.of("xq"),
        new fcn.ir.Attrs()).output(0);
    fcn.ir.Variable y = g.addOpaqueNode("DequantizeLinear", "", "dq", List.of(xq, sc, z), List.of("y"),
        new fcn.ir.Attrs()).output(0);
    g.setOutputs(List.of(y));
    return TestOnnx.run(g, Map.of("x", new TestOnnx.Array(new long[] {x.length}, x))).get("y").data();
  }

  /** The point of the format: ORT's QDQ transformer turns every DQ -> Conv -> Q group into QLinearConv. */
  @Test
  void onnxRuntimeFusesEveryConvAndAdd() throws Exception {
    Path optimized = tmp.resolve("optimized.onnx");
    fcn.runtime.OrtNatives.prepare();
    ai.onnxruntime.OrtEnvironment env = ai.onnxruntime.OrtEnvironment.getEnvironment();
    try (ai.onnxruntime.OrtSession.SessionOptions o = new ai.onnxruntime.OrtSession.SessionOptions()) {
      o.setOptimizationLevel(ai.onnxruntime.OrtSession.SessionOptions.OptLevel.EXTENDED_OPT);
      o.setOptimizedModelFilePath(optimized.toString());
      env.createSession(tmp.resolve("int8.onnx").toString(), o).close();
    }
    Map<String, Integer> ops = new java.util.TreeMap<>();
    for (NodeProto n : ModelProto.parseFrom(Files.readAllBytes(optimized)).getGraph().getNodeList()) {
      ops.merge(n.getOpType(), 1, Integer::sum);
    }
    assertEquals(18, ops.getOrDefault("QLinearConv", 0), ops.toString());
    assertEquals(2, ops.getOrDefault("QLinearAdd", 0), ops.toString());
    assertFalse(ops.containsKey("Conv"), ops.toString());
  }

  @Test
  void convTransposeStaysFloat() {
    Map<String, TensorProto> q = initializers(int8);
    int n = 0;
    for (NodeProto node : int8.getGraph().getNodeList()) {
      if (node.getOpType().equals("ConvTranspose")) {
        n++;
        TensorProto w = q.get(node.getInput(1));
        assertNotNull(w, node.getName() + " reads its weights from an initializer, not a DequantizeLinear");
        assertEquals(TensorProto.DataType.FLOAT_VALUE, w.getDataType());
      }
    }
    assertEquals(3, n);
    assertTrue(result.decisions().stream().anyMatch(d -> d.node().equals("upscore8")
        && d.status() == QdqPass.Status.FLOAT && d.reason().contains("no int8")), result.decisions().toString());
  }

  @Test
  void quantizedModelAgreesWithFloatOnValImages() throws Exception {
    Path out = tmp.resolve("int8.onnx");
    int agree = 0;
    int total = 0;
    for (String id : List.of("shapes_000000", "shapes_000001")) {
      RgbImage img = Images.readRgb(VAL.resolve("JPEGImages").resolve(id + ".jpg"));
      float[] chw = Preprocess.caffe().toChw(img);
      Map<String, TestOnnx.Array> in = Map.of("data",
          new TestOnnx.Array(new long[] {1, 3, img.height(), img.width()}, chw));
      float[] a = TestOnnx.run(Files.readAllBytes(MODEL), in).get("score").data();
      float[] b = TestOnnx.run(Files.readAllBytes(out), in).get("score").data();
      int plane = img.height() * img.width();
      for (int i = 0; i < plane; i++) {
        agree += argmax(a, i, plane) == argmax(b, i, plane) ? 1 : 0;
        total++;
      }
    }
    assertTrue(agree >= 0.95 * total, "label agreement " + agree + "/" + total);
  }

  static int argmax(float[] s, int i, int plane) {
    int best = 0;
    for (int c = 1; c < s.length / plane; c++) {
      if (s[c * plane + i] > s[best * plane + i]) {
        best = c;
      }
    }
    return best;
  }

  @Test
  void sameInputsSameBytes() throws Exception {
    Path again = tmp.resolve("again.onnx");
    Quantizer.quantize(options(again, Calibration.Method.PERCENTILE, List.of()), null);
    assertArrayEquals(Files.readAllBytes(tmp.resolve("int8.onnx")), Files.readAllBytes(again));
  }

  @Test
  void keepFloatLeavesNamedNodesInFloat() throws Exception {
    Path out = tmp.resolve("keep.onnx");
    Quantizer.Result r = Quantizer.quantize(options(out, Calibration.Method.MINMAX, List.of("score_fr", "conv1_1")), null);
    ModelProto m = ModelProto.parseFrom(Files.readAllBytes(out));
    Map<String, TensorProto> q = initializers(m);
    for (NodeProto n : m.getGraph().getNodeList()) {
      if (n.getName().equals("score_fr") || n.getName().equals("conv1_1")) {
        assertEquals(TensorProto.DataType.FLOAT_VALUE, q.get(n.getInput(1)).getDataType(), n.getName());
      } else if (n.getName().equals("fc7")) {
        assertFalse(q.containsKey(n.getInput(1)), "fc7 stays quantized");
      }
    }
    assertTrue(r.decisions().stream().anyMatch(d -> d.node().equals("score_fr") && d.reason().equals("--keep-float")));
    // relu1_1 follows a float conv1_1: it cannot be fused and stays.
    assertTrue(r.decisions().stream().anyMatch(d -> d.node().equals("relu1_1") && d.status() == QdqPass.Status.FLOAT));
  }
}
