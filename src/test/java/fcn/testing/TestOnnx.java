package fcn.testing;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import fcn.ir.AttrType;
import fcn.ir.Constant;
import fcn.ir.Dim;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.proto.OnnxProto.AttributeProto;
import fcn.proto.OnnxProto.GraphProto;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.NodeProto;
import fcn.proto.OnnxProto.OperatorSetIdProto;
import fcn.proto.OnnxProto.TensorProto;
import fcn.proto.OnnxProto.TensorShapeProto;
import fcn.proto.OnnxProto.TypeProto;
import fcn.proto.OnnxProto.ValueInfoProto;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Test-only bridge from the IR to ONNX Runtime: a minimal opset-17 writer (the product's
 * writer is fcn.export.OnnxExporter) and a runner returning float outputs.
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

  public static ModelProto toModel(Graph g) {
    GraphProto.Builder gp = GraphProto.newBuilder().setName(g.name());
    for (Variable v : g.inputs()) {
      gp.addInput(info(v));
    }
    for (Value v : g.outputs()) {
      gp.addOutput(ValueInfoProto.newBuilder().setName(v.name()).setType(TypeProto.newBuilder()
          .setTensorType(TypeProto.Tensor.newBuilder().setElemType(v.type().onnxCode()))));
    }
    for (Constant c : g.constants()) {
      gp.addInitializer(tensor(c.name(), c.data()));
    }
    for (Node n : g.topologicalOrder()) {
      NodeProto.Builder nb = NodeProto.newBuilder().setName(n.name()).setOpType(n.op().onnxName());
      for (Value v : n.inputs()) {
        nb.addInput(v == null ? "" : v.name());
      }
      for (Value v : n.outputs()) {
        nb.addOutput(v.name());
      }
      n.attrs().asMap().forEach((k, v) -> nb.addAttribute(attr(k, v)));
      gp.addNode(nb);
    }
    return ModelProto.newBuilder().setIrVersion(8).setProducerName("fcn-test")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
        .setGraph(gp).build();
  }

  private static ValueInfoProto info(Value v) {
    TypeProto.Tensor.Builder t = TypeProto.Tensor.newBuilder().setElemType(v.type().onnxCode());
    if (v.shape() != null) {
      TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
      for (Dim d : v.shape().dims()) {
        s.addDim(d.isStatic() ? TensorShapeProto.Dimension.newBuilder().setDimValue(d.value())
            : TensorShapeProto.Dimension.newBuilder().setDimParam(d.param()));
      }
      t.setShape(s);
    }
    return ValueInfoProto.newBuilder().setName(v.name())
        .setType(TypeProto.newBuilder().setTensorType(t)).build();
  }

  public static TensorProto tensor(String name, Tensor t) {
    TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(t.type().onnxCode())
        .setRawData(ByteString.copyFrom(t.rawBytes()));
    for (long d : t.dims()) {
      b.addDims(d);
    }
    return b.build();
  }

  private static AttributeProto attr(String name, Object v) {
    AttributeProto.Builder b = AttributeProto.newBuilder().setName(name);
    switch (AttrType.of(v)) {
      case INT -> b.setType(AttributeProto.AttributeType.INT).setI((Long) v);
      case FLOAT -> b.setType(AttributeProto.AttributeType.FLOAT).setF((Float) v);
      case STRING -> b.setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8((String) v));
      case INTS -> {
        b.setType(AttributeProto.AttributeType.INTS);
        for (long l : (long[]) v) {
          b.addInts(l);
        }
      }
      case FLOATS -> {
        b.setType(AttributeProto.AttributeType.FLOATS);
        for (float f : (float[]) v) {
          b.addFloats(f);
        }
      }
      case STRINGS -> {
        b.setType(AttributeProto.AttributeType.STRINGS);
        for (String s : (String[]) v) {
          b.addStrings(ByteString.copyFromUtf8(s));
        }
      }
      case TENSOR -> b.setType(AttributeProto.AttributeType.TENSOR).setT(tensor("", (Tensor) v));
    }
    return b.build();
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
