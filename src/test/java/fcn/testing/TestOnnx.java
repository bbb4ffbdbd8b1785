package fcn.testing;

import fcn.export.OnnxExporter;
import fcn.ir.Dim;
import fcn.ir.Graph;
import fcn.ir.Shape;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.proto.OnnxProto.ModelProto;
import fcn.runtime.Device;
import fcn.runtime.FloatTensor;
import fcn.runtime.OptLevel;
import fcn.runtime.Session;
import fcn.validate.TensorProtoIO;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Test-only bridge from the IR to ONNX Runtime: graphs go through the product's exporter and
 * run in the product's {@link Session} (CPU, 2 threads), so tests exercise the same path as
 * {@code fcn validate}. Also TensorProto file reading and seeded random data.
 */
public final class TestOnnx {
  private TestOnnx() {}

  /** A float tensor with its shape (row-major). */
  public record Array(long[] shape, float[] data) {
    /** Gaussian values (mean 0, standard deviation {@code scale}) from a seeded generator. */
    public static Array gaussian(long seed, float scale, long... shape) {
      int n = Math.toIntExact(FloatTensor.numel(shape));
      float[] d = new float[n];
      SplittableRandom r = new SplittableRandom(seed);
      for (int i = 0; i < n; i++) {
        d[i] = (float) (scale * r.nextGaussian());
      }
      return new Array(shape, d);
    }

    public float maxAbs() {
      float m = 0;
      for (float v : data) {
        m = Math.max(m, Math.abs(v));
      }
      return m;
    }

    /**
     * max |this - o|, computed in double; NaN if any difference is NaN and +infinity when the
     * shapes differ, so that a caller can list every mismatch before failing.
     */
    public double maxAbsDiff(Array o) {
      if (!Arrays.equals(shape, o.shape)) {
        return Double.POSITIVE_INFINITY;
      }
      double m = 0;
      for (int i = 0; i < data.length; i++) {
        double d = Math.abs((double) data[i] - o.data[i]);
        if (Double.isNaN(d)) {
          return Double.NaN;
        }
        m = Math.max(m, d);
      }
      return m;
    }

    public String shapeString() {
      return Arrays.toString(shape);
    }

    FloatTensor tensor() {
      return new FloatTensor(data, shape);
    }

    static Array of(FloatTensor t) {
      return new Array(t.shape(), t.data());
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

  /** Runs a serialized ONNX model in ONNX Runtime (CPU) and returns every output by name. */
  public static Map<String, Array> run(byte[] model, Map<String, Array> inputs) {
    Map<String, FloatTensor> feeds = new LinkedHashMap<>();
    inputs.forEach((k, v) -> feeds.put(k, v.tensor()));
    Map<String, Array> out = new LinkedHashMap<>();
    Path file = null;
    try {
      file = Files.createTempFile("fcn-test-", ".onnx");
      Files.write(file, model);
      try (Session s = Session.open(file, Device.CPU, 2, OptLevel.ALL)) {
        s.run(feeds).forEach((k, v) -> out.put(k, Array.of(v)));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      if (file != null) {
        try {
          Files.deleteIfExists(file);
        } catch (IOException ignored) {
          // A leftover temp file does not affect the result.
        }
      }
    }
    return out;
  }

  /**
   * Makes dims 2.. of every 4-D input symbolic and forgets output shapes, so that the model
   * is run at sizes other than the import size (what a dynamic-size export relies on).
   */
  public static void makeSpatialDynamic(Graph g) {
    for (Variable in : g.inputs()) {
      if (in.shape().rank() == 4) {
        List<Dim> d = new ArrayList<>(in.shape().dims());
        d.set(2, Dim.symbol(in.name() + "_h"));
        d.set(3, Dim.symbol(in.name() + "_w"));
        in.setShape(new Shape(d));
      }
    }
    for (Value out : g.outputs()) {
      if (out instanceof Variable v) {
        v.setShape(null);
      }
    }
  }

  /** Reads a TensorProto file (test_data_set_N/input_K.pb) as floats. */
  public static Array readPb(Path p) {
    return Array.of(TensorProtoIO.read(p).tensor());
  }

  /** The tensor name stored in a TensorProto file. */
  public static String nameOfPb(Path p) {
    return TensorProtoIO.read(p).name();
  }

  /** Deterministic pseudo-random floats in [-1, 1). */
  public static float[] random(long seed, int n) {
    SplittableRandom r = new SplittableRandom(seed);
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
