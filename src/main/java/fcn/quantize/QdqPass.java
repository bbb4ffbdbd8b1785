package fcn.quantize;

import fcn.core.FcnException;
import fcn.ir.Attrs;
import fcn.ir.Constant;
import fcn.ir.DataType;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.OpaqueAttr;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.proto.OnnxProto.AttributeProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Static QDQ quantization of a float graph, in ONNX Runtime's QDQ format: a
 * QuantizeLinear/DequantizeLinear pair on every activation that a quantized operator reads or
 * writes, and int8 weights behind a DequantizeLinear, so that ONNX Runtime's QDQ transformer
 * fuses each DQ -> op -> Q group into its int8 kernel (QLinearConv, QGemm, QLinearMatMul,
 * QLinearAdd, QLinearConcat...) and runs the rest in float.
 *
 * <p>Which operators, and why (ONNX Runtime 1.23's CPU selectors): Conv, Gemm, MatMul with an
 * initializer weight (weights int8, symmetric, per output channel; biases int32 with scale
 * s_x x s_w, which QLinearConv needs: a float bias keeps the DQ group from fusing); Add, Mul,
 * Concat, AveragePool, GlobalAveragePool, LeakyRelu, Sigmoid, Softmax (int8 kernels of their
 * own); MaxPool, Slice, Reshape, Transpose, Squeeze, Unsqueeze, Flatten, Resize, Gather,
 * Expand, Tile, which move data without computing on it: their output gets the input's own
 * scale and zero point, which lets ONNX Runtime drop the pair around them. A Relu right after a
 * quantized operator is removed and its output's range quantizes the operator's output (as
 * ONNX Runtime's quantizer does): with that range's minimum at 0 the zero point is 0 and the
 * QuantizeLinear's saturation is the ReLU. Everything else stays float: ConvTranspose (ONNX
 * Runtime has no int8 CPU kernel for it) and operators without int8 kernels, with DQ in front
 * where a quantized tensor reaches them.
 *
 * <p>Activations are uint8 (asymmetric, the range stretched to include 0): on x86 ONNX Runtime's
 * int8 Conv and MatMul kernels take u8 activations with s8 weights, and int8 activations are
 * rewritten to uint8 anyway. Two steps: {@link #plan} says which tensors need a calibrated
 * range; {@link #apply} rewrites the graph once the ranges are known. Output is deterministic:
 * new names derive from the tensors' names, nodes are added in execution order.
 */
public final class QdqPass {
  private QdqPass() {}

  /** Where a node ended up, and why. */
  public enum Status {
    /** Runs on int8 (its activations and weights carry QDQ pairs). */
    QUANTIZED,
    /** A ReLU removed into the preceding quantized operator's QuantizeLinear. */
    FUSED,
    /** Runs in float. */
    FLOAT
  }

  /** One node's outcome, in execution order. */
  public record Decision(String node, String opType, Status status, String reason) {}

  /** How the weights are quantized. */
  public record WeightOptions(boolean perChannel, boolean reduceRange) {
    /** 127, or 63 for 7-bit weights (reduce_range): no u8 x s8 pair sum can saturate int16. */
    public int qmax() {
      return reduceRange ? 63 : 127;
    }
  }

  private enum Role { COMPUTE, ACTIVATION, MOVE, RELU, FLOAT }

  /** A tensor to be quantized: Q reads {@code source}; consumers of {@code replaced} read DQ. */
  private record Spec(Value source, Value replaced, Value sameAs) {}

  /** What {@link #apply} needs and what the report says. */
  public static final class Plan {
    private final List<Decision> decisions = new ArrayList<>();
    private final Map<Node, Role> roles = new IdentityHashMap<>();
    private final Map<Value, Spec> specs = new LinkedHashMap<>();
    private final Map<Node, Node> fusedRelu = new IdentityHashMap<>();

    public List<Decision> decisions() {
      return List.copyOf(decisions);
    }

    /** Names of the tensors whose range calibration must measure, in a fixed order. */
    public List<String> calibrated() {
      List<String> out = new ArrayList<>();
      for (Map.Entry<Value, Spec> e : specs.entrySet()) {
        if (e.getValue().sameAs() == null) {
          out.add(e.getKey().name());
        }
      }
      return out;
    }

    public int quantizedNodes() {
      return (int) decisions.stream().filter(d -> d.status() == Status.QUANTIZED).count();
    }
  }

  /**
   * Decides, in execution order, which nodes run on int8 and which tensors need a range.
   *
   * @param keepFloat node names to leave in float (each must exist)
   * @throws FcnException when the model is already quantized, is not float, or names a node
   *     it does not have
   */
  public static Plan plan(Graph g, Set<String> keepFloat, String source) {
    refuseQuantized(g, source);
    Set<String> names = new java.util.HashSet<>();
    for (Node n : g.nodes()) {
      names.add(n.name());
    }
    for (String k : keepFloat) {
      if (!names.contains(k)) {
        throw FcnException.of("%s: --keep-float %s: no node of that name (nodes are named as the"
            + " Caffe layers / ONNX nodes, e.g. %s)", source, k, examples(g));
      }
    }
    Map<Value, DataType> types = ElementTypes.infer(g);
    Plan p = new Plan();
    for (Node n : g.topologicalOrder()) {
      String why = keepFloat.contains(n.name()) ? "--keep-float" : null;
      Role role = why != null ? Role.FLOAT
          : p.roles.get(n) == Role.RELU ? Role.RELU : role(n, g, types, p);
      if (role == Role.FLOAT && why == null) {
        why = floatReason(n, types);
      }
      p.roles.put(n, role);
      switch (role) {
        case COMPUTE -> {
          spec(p, n.input(0), null);
          p.decisions.add(new Decision(n.name(), n.opType(), Status.QUANTIZED,
              "int8 weights, uint8 activations, int32 bias"));
          outputSpec(p, n, g, types, keepFloat);
        }
        case ACTIVATION -> {
          for (Value in : n.inputs()) {
            spec(p, in, null);
          }
          p.decisions.add(new Decision(n.name(), n.opType(), Status.QUANTIZED, "int8 kernel"));
          outputSpec(p, n, g, types, keepFloat);
        }
        case MOVE -> {
          Variable out = n.output(0);
          if (!g.outputs().contains(out)) {
            p.specs.put(out, new Spec(out, out, n.input(0)));
          }
          p.decisions.add(new Decision(n.name(), n.opType(), Status.QUANTIZED,
              "moves int8 data (input's scale)"));
        }
        case RELU -> { } // decided with its producer in outputSpec
        default -> p.decisions.add(new Decision(n.name(), n.opType(), Status.FLOAT, why));
      }
    }
    // A fused ReLU's decision goes right after its producer's.
    List<Decision> ordered = new ArrayList<>();
    Map<String, Node> byName = new LinkedHashMap<>();
    for (Node n : g.nodes()) {
      byName.put(n.name(), n);
    }
    for (Decision d : p.decisions) {
      ordered.add(d);
      Node relu = p.fusedRelu.get(byName.get(d.node()));
      if (relu != null) {
        ordered.add(new Decision(relu.name(), relu.opType(), Status.FUSED,
            "into " + d.node() + "'s QuantizeLinear (zero point 0 clips at 0)"));
      }
    }
    p.decisions.clear();
    p.decisions.addAll(ordered);
    return p;
  }

  private static String examples(Graph g) {
    List<String> first = new ArrayList<>();
    for (Node n : g.nodes()) {
      if (first.size() < 3) {
        first.add(n.name());
      }
    }
    return String.join(", ", first);
  }

  private static void spec(Plan p, Value v, Value sameAs) {
    if (!p.specs.containsKey(v)) {
      p.specs.put(v, new Spec(v, v, sameAs));
    }
  }

  /** The output's pair, or a following ReLU's output (the ReLU removed) when it can be fused. */
  private static void outputSpec(Plan p, Node n, Graph g, Map<Value, DataType> types,
      Set<String> keepFloat) {
    Variable out = n.output(0);
    if (out.consumers().size() == 1 && !g.outputs().contains(out)) {
      Node relu = out.consumers().get(0);
      if (relu.op() == Op.RELU && !keepFloat.contains(relu.name())
          && !g.outputs().contains(relu.output(0))) {
        p.roles.put(relu, Role.RELU);
        p.fusedRelu.put(n, relu);
        p.specs.put(relu.output(0), new Spec(out, relu.output(0), null));
        return;
      }
    }
    if (!g.outputs().contains(out) && types.get(out) == DataType.FLOAT) {
      spec(p, out, null);
    }
  }

  private static boolean floatActivation(Value v, Map<Value, DataType> types) {
    return v instanceof Variable && types.get(v) == DataType.FLOAT;
  }

  private static boolean floatConstant(Value v) {
    return v instanceof Constant c && c.type() == DataType.FLOAT;
  }

  private static Role role(Node n, Graph g, Map<Value, DataType> types, Plan p) {
    switch (n.op()) {
      case CONV:
        return floatActivation(n.input(0), types) && floatConstant(n.input(1))
            && (n.input(2) == null || floatConstant(n.input(2))) ? Role.COMPUTE : Role.FLOAT;
      case MAT_MUL:
        return floatActivation(n.input(0), types) && floatConstant(n.input(1))
            && n.input(1).shape().rank() == 2 ? Role.COMPUTE : Role.FLOAT;
      case GEMM: {
        if (!floatActivation(n.input(0), types) || !floatConstant(n.input(1))
            || n.attrs().getInt("transA", 0) != 0) {
          return Role.FLOAT;
        }
        Value c = n.input(2);
        long outDim = weightAxisLength(n);
        return c == null || (floatConstant(c) && c.shape().rank() == 1
            && c.shape().dim(0).value() == outDim) ? Role.COMPUTE : Role.FLOAT;
      }
      case ADD, MUL, CONCAT:
        for (Value in : n.inputs()) {
          if (!floatActivation(in, types)) {
            return Role.FLOAT;
          }
        }
        return Role.ACTIVATION;
      case AVERAGE_POOL, GLOBAL_AVERAGE_POOL, LEAKY_RELU, SIGMOID, SOFTMAX:
        return floatActivation(n.input(0), types) ? Role.ACTIVATION : Role.FLOAT;
      case MAX_POOL, SLICE, RESHAPE, TRANSPOSE, SQUEEZE, UNSQUEEZE, FLATTEN, RESIZE, GATHER,
          EXPAND, TILE: {
        if (n.outputs().size() != 1 || !floatActivation(n.input(0), types)) {
          return Role.FLOAT;
        }
        // Only worth it (and only dropped by ORT) when int8 data arrives: a quantized producer.
        Spec in = p.specs.get(n.input(0));
        return in != null ? Role.MOVE : Role.FLOAT;
      }
      default:
        return Role.FLOAT;
    }
  }

  private static String floatReason(Node n, Map<Value, DataType> types) {
    switch (n.op()) {
      case CONV_TRANSPOSE:
        return "ConvTranspose: ONNX Runtime has no int8 CPU kernel";
      case CONV, MAT_MUL, GEMM:
        return "weights or bias not a float initializer (or transA)";
      case ADD, MUL, CONCAT:
        return types.get(n.input(0)) == DataType.INT64 ? "shape arithmetic (int64)"
            : types.get(n.input(0)) != DataType.FLOAT ? "not float data" : "a constant operand";
      case MAX_POOL, SLICE, RESHAPE, TRANSPOSE, SQUEEZE, UNSQUEEZE, FLATTEN, RESIZE, GATHER,
          EXPAND, TILE:
        return types.get(n.input(0)) != DataType.FLOAT ? "not float data"
            : "its input is not int8 (float producer)";
      case RELU:
        return "not right after a quantized operator";
      case SHAPE:
        return "shape arithmetic (int64)";
      default:
        return n.op() == Op.OPAQUE || types.get(n.input(0)) == DataType.FLOAT
            ? "no int8 kernel for " + n.opType() + " in ONNX Runtime's QDQ fusions" : "not float data";
    }
  }

  /** Output channels of a Conv/Gemm/MatMul weight. */
  private static long weightAxisLength(Node n) {
    long[] dims = ((Constant) n.input(1)).data().dims();
    return dims[weightAxis(n)];
  }

  private static int weightAxis(Node n) {
    if (n.op() == Op.CONV) {
      return 0;
    }
    if (n.op() == Op.GEMM) {
      return n.attrs().getInt("transB", 0) != 0 ? 0 : 1;
    }
    return 1; // MatMul [K, N]
  }

  /** Already quantized or reduced: fcn quantizes float32 models only. */
  private static void refuseQuantized(Graph g, String source) {
    for (Node n : g.nodes()) {
      String t = n.opType();
      if (t.equals("QuantizeLinear") || t.equals("DequantizeLinear") || t.equals("DynamicQuantizeLinear")
          || t.startsWith("QLinear") || t.endsWith("Integer") || t.equals("QGemm")
          || t.equals("MatMulIntegerToFloat")) {
        throw FcnException.of("%s is already quantized (%s node '%s'); fcn quantize takes a float32"
            + " model", source, t, n.name());
      }
    }
    for (Constant c : g.constants()) {
      if (c.type() == DataType.FLOAT16 || c.type() == DataType.BFLOAT16) {
        throw FcnException.of("%s has %s weights ('%s'); fcn quantize takes a float32 model",
            source, c.type() == DataType.FLOAT16 ? "float16" : "bfloat16", c.name());
      }
    }
    for (Variable in : g.inputs()) {
      if (in.type() != DataType.FLOAT) {
        throw FcnException.of("%s: input '%s' is %s; fcn quantize calibrates float32 image inputs",
            source, in.name(), in.type());
      }
    }
  }

  // ---- Rewriting ---------------------------------------------------------------------------

  /**
   * Rewrites {@code g} by the plan, with the calibrated ranges by tensor name ({lo, hi}).
   *
   * @return the parameters each quantized tensor got, by tensor name, in plan order
   */
  public static Map<String, QuantParams> apply(Graph g, Plan p, Map<String, double[]> ranges,
      WeightOptions w) {
    Map<Value, QuantParams> params = new IdentityHashMap<>();
    Map<String, QuantParams> byName = new LinkedHashMap<>();
    for (Map.Entry<Value, Spec> e : p.specs.entrySet()) {
      Spec s = e.getValue();
      QuantParams q;
      if (s.sameAs() != null) {
        q = params.get(s.sameAs());
      } else {
        double[] r = ranges.get(e.getKey().name());
        if (r == null) {
          throw new IllegalStateException("no calibrated range for " + e.getKey().name());
        }
        q = QuantParams.uint8(r[0], r[1]);
      }
      params.put(e.getKey(), q);
      byName.put(e.getKey().name(), q);
    }
    // Weights first (they need the input's scale for the bias), then the activation pairs.
    for (Node n : g.topologicalOrder()) {
      if (p.roles.get(n) == Role.COMPUTE) {
        quantizeWeights(g, n, params.get(n.input(0)), w);
      }
    }
    for (Node relu : p.fusedRelu.values()) {
      g.removeNode(relu);
    }
    for (Map.Entry<Value, Spec> e : p.specs.entrySet()) {
      insertPair(g, e.getValue(), params.get(e.getKey()));
    }
    g.removeUnused();
    return byName;
  }

  private static void insertPair(Graph g, Spec s, QuantParams q) {
    Value replaced = s.replaced();
    List<Node> readers = new ArrayList<>(replaced.consumers());
    String base = replaced.name();
    Constant scale = g.addConstant(g.uniqueValueName(base + "_scale"), Tensor.scalar(q.scale()));
    Constant zp = g.addConstant(g.uniqueValueName(base + "_zero_point"),
        new Tensor(DataType.UINT8, new long[0], new byte[] {(byte) q.zeroPoint()}));
    Variable quantized = g.addOpaqueNode("QuantizeLinear", "", base + "_QuantizeLinear",
        List.of(s.source(), scale, zp), List.of(base + "_quantized"), new Attrs()).output(0);
    Variable dq = g.addOpaqueNode("DequantizeLinear", "", base + "_DequantizeLinear",
        List.of(quantized, scale, zp), List.of(base + "_dequantized"), new Attrs()).output(0);
    for (Node r : readers) {
      for (int i = 0; i < r.inputs().size(); i++) {
        if (r.input(i) == replaced) {
          r.setInput(i, dq);
        }
      }
    }
  }

  private static void quantizeWeights(Graph g, Node n, QuantParams x, WeightOptions w) {
    Constant weight = (Constant) n.input(1);
    int axis = weightAxis(n);
    long[] dims = weight.data().dims();
    float[] v = weight.data().floats();
    int channels = w.perChannel() ? (int) dims[axis] : 1;
    long inner = 1;
    for (int i = axis + 1; i < dims.length; i++) {
      inner *= dims[i];
    }
    long outerStride = inner * dims[axis];
    double[] maxAbs = new double[channels];
    for (int i = 0; i < v.length; i++) {
      int c = w.perChannel() ? (int) ((i % outerStride) / inner) : 0;
      maxAbs[c] = Math.max(maxAbs[c], Math.abs((double) v[i]));
    }
    QuantParams[] ch = new QuantParams[channels];
    float[] scales = new float[channels];
    for (int c = 0; c < channels; c++) {
      ch[c] = QuantParams.symmetric(maxAbs[c], w.qmax());
      scales[c] = ch[c].scale();
    }
    byte[] q = new byte[v.length];
    for (int i = 0; i < v.length; i++) {
      int c = w.perChannel() ? (int) ((i % outerStride) / inner) : 0;
      q[i] = (byte) ch[c].quantize(v[i]);
    }
    String base = weight.name();
    long[] scaleDims = w.perChannel() ? new long[] {channels} : new long[0];
    Constant wq = g.addConstant(g.uniqueValueName(base + "_quantized"), new Tensor(DataType.INT8, dims, q));
    Constant ws = g.addConstant(g.uniqueValueName(base + "_scale"), Tensor.ofFloats(scaleDims, scales));
    Constant wz = g.addConstant(g.uniqueValueName(base + "_zero_point"),
        new Tensor(DataType.INT8, scaleDims, new byte[channels]));
    n.setInput(1, dequantize(g, base, wq, ws, wz, w.perChannel() ? axis : null));
    Value bias = n.input(2);
    if (bias != null) {
      Constant b = (Constant) bias;
      float[] bv = b.data().floats();
      int[] bq = new int[bv.length];
      float[] bs = new float[w.perChannel() ? bv.length : 1];
      for (int c = 0; c < bs.length; c++) {
        // QLinearConv's bias: int32 at the accumulator's scale s_x * s_w.
        bs[c] = x.scale() * scales[c];
      }
      for (int i = 0; i < bv.length; i++) {
        double r = Math.rint(bv[i] / bs[w.perChannel() ? i : 0]);
        bq[i] = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, r));
      }
      ByteBuffer buf = ByteBuffer.allocate(bq.length * 4).order(ByteOrder.LITTLE_ENDIAN);
      buf.asIntBuffer().put(bq);
      String bb = b.name();
      long[] bsDims = w.perChannel() ? new long[] {bs.length} : new long[0];
      Constant biasQ = g.addConstant(g.uniqueValueName(bb + "_quantized"),
          new Tensor(DataType.INT32, b.data().dims(), buf.array()));
      Constant biasS = g.addConstant(g.uniqueValueName(bb + "_scale"), Tensor.ofFloats(bsDims, bs));
      Constant biasZ = g.addConstant(g.uniqueValueName(bb + "_zero_point"),
          new Tensor(DataType.INT32, bsDims, new byte[4 * bs.length]));
      n.setInput(2, dequantize(g, bb, biasQ, biasS, biasZ, w.perChannel() ? 0 : null));
    }
  }

  private static Variable dequantize(Graph g, String base, Constant q, Constant s, Constant z,
      Integer axis) {
    Attrs a = new Attrs();
    if (axis != null) {
      a.set("axis", intAttr("axis", axis));
    }
    return g.addOpaqueNode("DequantizeLinear", "", base + "_DequantizeLinear", List.of(q, s, z),
        List.of(base + "_dequantized"), a).output(0);
  }

  /** An ONNX INT attribute in the opaque form the exporter writes back as it is. */
  static OpaqueAttr intAttr(String name, long value) {
    return new OpaqueAttr(AttributeProto.newBuilder().setName(name)
        .setType(AttributeProto.AttributeType.INT).setI(value).build().toByteArray(), value);
  }
}
