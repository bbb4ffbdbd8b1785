package fcn.runtime;

import com.google.protobuf.ByteString;
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
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/** Tiny ONNX models built from OnnxProto messages, for tests that run ONNX Runtime. */
public final class TinyModels {
  private TinyModels() {}

  /** C = A + B, all float of {@code dims} (Long = fixed, String = symbolic). */
  public static ModelProto add(Object... dims) {
    GraphProto g = GraphProto.newBuilder()
        .setName("add")
        .addNode(NodeProto.newBuilder().setOpType("Add").setName("add").addInput("A").addInput("B").addOutput("C"))
        .addInput(valueInfo("A", dims))
        .addInput(valueInfo("B", dims))
        .addOutput(valueInfo("C", dims))
        .build();
    return model(g);
  }

  /**
   * score = Relu(Conv(data, W, b)): data N×inC×H×W (H, W symbolic), W outC×inC×3×3 with pads 1,
   * seeded uniform weights in [-1, 1). Output "score" is an N×outC×H×W score map.
   */
  public static ModelProto convRelu(long seed, int inC, int outC) {
    SplittableRandom rng = new SplittableRandom(seed);
    float[] w = new float[outC * inC * 9];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) (rng.nextDouble() * 2 - 1);
    }
    float[] b = new float[outC];
    for (int i = 0; i < b.length; i++) {
      b[i] = (float) (rng.nextDouble() * 0.2 - 0.1);
    }
    NodeProto conv = NodeProto.newBuilder().setOpType("Conv").setName("conv").addInput("data")
        .addInput("W").addInput("b").addOutput("conv_out")
        .addAttribute(ints("kernel_shape", 3, 3))
        .addAttribute(ints("pads", 1, 1, 1, 1))
        .build();
    NodeProto relu = NodeProto.newBuilder().setOpType("Relu").setName("relu").addInput("conv_out")
        .addOutput("score").build();
    GraphProto g = GraphProto.newBuilder()
        .setName("conv_relu")
        .addNode(conv)
        .addNode(relu)
        .addInitializer(floats("W", w, outC, inC, 3, 3))
        .addInitializer(floats("b", b, outC))
        .addInput(valueInfo("data", 1L, (long) inC, "H", "W"))
        .addOutput(valueInfo("score", 1L, (long) outC, "H", "W"))
        .build();
    return model(g);
  }

  public static Path write(ModelProto m, Path file) throws IOException {
    Files.write(file, m.toByteArray());
    return file;
  }

  static ModelProto model(GraphProto g) {
    return ModelProto.newBuilder()
        .setIrVersion(8)
        .setProducerName("fcn-tests")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
        .setGraph(g)
        .build();
  }

  static AttributeProto ints(String name, long... v) {
    AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
    for (long x : v) {
      a.addInts(x);
    }
    return a.build();
  }

  static TensorProto floats(String name, float[] v, long... dims) {
    ByteBuffer bb = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    bb.asFloatBuffer().put(v);
    TensorProto.Builder t = TensorProto.newBuilder().setName(name)
        .setDataType(TensorProto.DataType.FLOAT_VALUE).setRawData(ByteString.copyFrom(bb.array()));
    for (long d : dims) {
      t.addDims(d);
    }
    return t.build();
  }

  static ValueInfoProto valueInfo(String name, Object... dims) {
    TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
    for (Object d : dims) {
      TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
      if (d instanceof String p) {
        dim.setDimParam(p);
      } else {
        dim.setDimValue(((Number) d).longValue());
      }
      s.addDim(dim);
    }
    return ValueInfoProto.newBuilder().setName(name)
        .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
            .setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(s)))
        .build();
  }
}
