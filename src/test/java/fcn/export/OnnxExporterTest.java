package fcn.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import fcn.core.FcnException;
import fcn.ir.Attrs;
import fcn.ir.Constant;
import fcn.ir.DataType;
import fcn.ir.Dim;
import fcn.ir.Graph;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Variable;
import fcn.passes.ShapeInference;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxExporterTest {
  @TempDir Path dir;

  /** conv(1x1, identity-ish weights w) -> +1 -> ReduceMean over H,W; small enough to check by hand. */
  static Graph smallNet(long channels) {
    Graph g = new Graph("small");
    Variable x = g.addInput("data", DataType.FLOAT,
        new Shape(List.of(Dim.of(1), Dim.of(channels), Dim.symbol("height"), Dim.symbol("width"))));
    float[] w = new float[(int) (channels * channels)];
    for (int i = 0; i < channels; i++) {
      w[(int) (i * channels + i)] = 2f;
    }
    Constant wc = g.addConstant("conv_W", Tensor.ofFloats(new long[] {channels, channels, 1, 1}, w));
    Variable conv = g.add(Op.CONV, "conv", List.of(x, wc), "conv",
        Attrs.of("kernel_shape", new long[] {1, 1}));
    Constant one = g.addConstant("one", Tensor.scalar(1f));
    Variable plus = g.add(Op.ADD, "plus", List.of(conv, one), "plus", null);
    Variable mean = g.add(Op.REDUCE_MEAN, "mean", List.of(plus), "mean",
        Attrs.of("axes", new long[] {2, 3}, "keepdims", 0L));
    g.setOutputs(List.of(plus, mean));
    return g;
  }

  static Map<String, float[]> run(Path model, float[] input, long[] shape) throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession s = env.createSession(model.toString(), new OrtSession.SessionOptions());
        OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(input), shape);
        OrtSession.Result r = s.run(Map.of("data", t))) {
      java.util.HashMap<String, float[]> out = new java.util.HashMap<>();
      for (var e : r) {
        FloatBuffer fb = ((OnnxTensor) e.getValue()).getFloatBuffer();
        float[] a = new float[fb.remaining()];
        fb.get(a);
        out.put(e.getKey(), a);
      }
      return out;
    }
  }

  @Test
  void writesARunnableModelAtEveryOpset() throws Exception {
    float[] in = new float[3 * 5 * 7];
    Random rnd = new Random(1);
    for (int i = 0; i < in.length; i++) {
      in[i] = rnd.nextFloat();
    }
    for (int opset : new int[] {13, 17, 18, 21}) {
      Path p = dir.resolve("m" + opset + ".onnx");
      OnnxExporter.write(smallNet(3), p, opset);
      Map<String, float[]> out = run(p, in, new long[] {1, 3, 5, 7});
      float[] plus = out.get("plus");
      for (int i = 0; i < in.length; i++) {
        assertEquals(2 * in[i] + 1, plus[i], 1e-6, "opset " + opset);
      }
      for (int c = 0; c < 3; c++) {
        double sum = 0;
        for (int i = 0; i < 35; i++) {
          sum += plus[c * 35 + i];
        }
        assertEquals(sum / 35, out.get("mean")[c], 1e-5, "opset " + opset);
      }
    }
  }

  @Test
  void isDeterministic() throws Exception {
    Path a = dir.resolve("a.onnx");
    Path b = dir.resolve("b.onnx");
    OnnxExporter.write(smallNet(4), a, 17);
    OnnxExporter.write(smallNet(4), b, 17);
    assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
  }

  @Test
  void externalDataGivesTheSameResults() throws Exception {
    float[] in = new float[64 * 2 * 3];
    java.util.Arrays.fill(in, 0.5f);
    Path inline = dir.resolve("inline.onnx");
    Path ext = dir.resolve("ext.onnx");
    OnnxExporter.write(smallNet(64), inline, 17);
    OnnxExporter.Written w = OnnxExporter.write(smallNet(64), ext, 17, 0);
    assertNotNull(w.externalData());
    assertTrue(Files.size(ext.resolveSibling("ext.onnx.data")) >= 64 * 64 * 4);
    assertTrue(Files.size(ext) < 2048, "weights must not be inline");
    long[] shape = {1, 64, 2, 3};
    assertArrayEquals(run(inline, in, shape).get("plus"), run(ext, in, shape).get("plus"));
  }

  @Test
  void refusesUnsupportedOpsetsAndLeavesNoFile() {
    Path p = dir.resolve("x.onnx");
    FcnException e = assertThrows(FcnException.class, () -> OnnxExporter.write(smallNet(2), p, 12));
    assertTrue(e.getMessage().contains("expected 13 to 21"), e.getMessage());
    assertTrue(!Files.exists(p));
  }

  @Test
  void shapeInferenceFollowsOnnxArithmetic() {
    Graph g = smallNet(3);
    Map<String, long[]> s = ShapeInference.infer(g, Map.of("data", new long[] {1, 3, 11, 13}));
    assertArrayEquals(new long[] {1, 3, 11, 13}, s.get("plus"));
    assertArrayEquals(new long[] {1, 3}, s.get("mean"));
  }
}
