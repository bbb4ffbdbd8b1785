package fcn.testing;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import fcn.export.OnnxExporter;
import fcn.ir.Graph;
import fcn.ir.Value;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.TensorProto;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Test-only bridge from the IR to ONNX Runtime through fcn.export.OnnxExporter: a runner
 * returning float outputs, TensorProto file reading and seeded random data.
 */
public final class TestOnnx {
  private TestOnnx() {}

  /** A float tensor with its shape. */
  public record Array(long[] shape, float[] data) {
    public float maxAbs() {
      float m = 0;
      for (float v : data) {
        m = Math.max(m, Math.abs(v));
      }
      return m;
    }

    /** max |a - b|; shapes must agree. */
    public float maxAbsDiff(Array o) {
      if (!java.util.Arrays.equals(shape, o.shape)) {
        throw new AssertionError("shape " + java.util.Arrays.toString(shape) + " vs "
            + java.util.Arrays.toString(o.shape));
      }
      float m = 0;
      for (int i = 0; i < data.length; i++) {
        m = Math.max(m, Math.abs(data[i] - o.data[i]));
      }
      return m;
    }
  }

  /** The product's exporter at the default opset. */
  public static ModelProto toModel(Graph g) {
    return OnnxExporter.toProto(g, OnnxExporter.DEFAULT_OPSET);
  }

  /** Runs the graph in ONNX Runtime (CPU) and returns every graph output by name. */
  public static Map<String, Array> run(Graph g, Map<String, Array> inputs) {
    return run(toModel(g).toByteArray(), inputs);
  }

  public static Map<String, Array> run(byte[] model, Map<String, Array> inputs) {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
      so.setIntraOpNumThreads(2);
      try (OrtSession s = env.createSession(model, so)) {
        Map<String, OnnxTensor> feed = new LinkedHashMap<>();
        try {
          for (Map.Entry<String, Array> e : inputs.entrySet()) {
            feed.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(e.getValue().data()),
                e.getValue().shape()));
          }
          Map<String, Array> out = new LinkedHashMap<>();
          try (OrtSession.Result r = s.run(feed)) {
            for (Map.Entry<String, OnnxValue> e : r) {
              OnnxTensor t = (OnnxTensor) e.getValue();
              FloatBuffer fb = t.getFloatBuffer();
              float[] d = new float[fb.remaining()];
              fb.get(d);
              out.put(e.getKey(), new Array(t.getInfo().getShape(), d));
            }
          }
          return out;
        } finally {
          feed.values().forEach(OnnxTensor::close);
        }
      }
    } catch (OrtException e) {
      throw new AssertionError("ONNX Runtime: " + e.getMessage(), e);
    }
  }

  /** Reads a TensorProto file (test_data_set_N/input_K.pb) holding floats. */
  public static Array readPb(Path p) throws IOException {
    TensorProto t = TensorProto.parseFrom(Files.readAllBytes(p));
    long[] shape = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
    float[] d;
    if (t.hasRawData()) {
      FloatBuffer fb = t.getRawData().asReadOnlyByteBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN)
          .asFloatBuffer();
      d = new float[fb.remaining()];
      fb.get(d);
    } else {
      d = new float[t.getFloatDataCount()];
      for (int i = 0; i < d.length; i++) {
        d[i] = t.getFloatData(i);
      }
    }
    return new Array(shape, d);
  }

  public static String nameOfPb(Path p) throws IOException {
    return TensorProto.parseFrom(Files.readAllBytes(p)).getName();
  }

  /** Deterministic pseudo-random floats in [-1, 1). */
  public static float[] random(long seed, int n) {
    java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
    float[] f = new float[n];
    for (int i = 0; i < n; i++) {
      f[i] = (float) (r.nextDouble() * 2 - 1);
    }
    return f;
  }

  public static List<String> outputNames(Graph g) {
    return g.outputs().stream().map(Value::name).toList();
  }
}
