package fcn.passes;

import fcn.core.FcnException;
import fcn.ir.Attrs;
import fcn.ir.Constant;
import fcn.ir.DataType;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Static shape inference with ONNX (canonical opset 17) semantics at concrete input sizes. It
 * also folds small integer tensors (Shape -> Slice -> Add chains) so that shape-computing
 * subgraphs such as dynamic crops resolve. {@link #infer} is side-effect free; {@link #apply}
 * stores the shapes on the graph's variables. A value whose shape cannot be known is left out
 * of the result rather than guessed.
 */
public final class ShapeInference {
  private final Map<Value, long[]> shapes = new HashMap<>();
  private final Map<Value, long[]> known = new HashMap<>();

  /** The model's file name (graph metadata "source"), for messages; null when unknown. */
  private String source;

  private ShapeInference() {}

  /** "FILE: " for messages of the per-op rules, or "" when the graph does not say. */
  private String where() {
    return source == null ? "" : source + ": ";
  }

  /**
   * Infers shapes for every value at the given input sizes.
   *
   * @param inputShapes sizes by input name; inputs not named use their declared static shape
   * @return shapes by value name
   */
  public static Map<String, long[]> infer(Graph g, Map<String, long[]> inputShapes) {
    ShapeInference si = new ShapeInference();
    si.run(g, inputShapes);
    Map<String, long[]> out = new HashMap<>();
    si.shapes.forEach((v, s) -> out.put(v.name(), s));
    return out;
  }

  /** Infers at the inputs' declared static shapes and records the results on the variables. */
  public static void apply(Graph g) {
    Map<String, long[]> s = infer(g, Map.of());
    for (Value v : g.values()) {
      long[] dims = s.get(v.name());
      if (v instanceof Variable var && dims != null && !g.inputs().contains(var)) {
        var.setShape(Shape.of(dims));
      }
    }
  }

  private void run(Graph g, Map<String, long[]> inputShapes) {
    source = g.metadata().get("source");
    for (Variable in : g.inputs()) {
      long[] dims = inputShapes.get(in.name());
      if (dims == null && in.shape() != null && in.shape().isStatic()) {
        dims = in.shape().toArray();
      }
      if (dims == null) {
        throw new FcnException("input '" + in.name() + "' has shape "
            + (in.shape() == null ? "unknown" : in.shape()) + "; give its size with --input-shape "
            + in.name() + "=N,C,H,W");
      }
      shapes.put(in, dims);
    }
    for (Constant c : g.constants()) {
      shapes.put(c, c.data().dims());
      if ((c.type() == DataType.INT64 || c.type() == DataType.INT32) && c.data().numel() <= 64) {
        known.put(c, c.data().longs());
      }
    }
    for (Node n : g.topologicalOrder()) {
      try {
        infer(n);
      } catch (RuntimeException e) {
        if (e instanceof FcnException) {
          throw e;
        }
        throw new FcnException("cannot infer shapes at " + n + ": " + e.getMessage(), e);
      }
    }
  }

  private long[] s(Node n, int i) {
    Value v = n.input(i);
    return v == null ? null : shapes.get(v);
  }

  private long[] k(Node n, int i) {
    Value v = n.input(i);
    return v == null ? null : known.get(v);
  }

  private void set(Node n, int i, long[] dims) {
    if (dims != null) {
      shapes.put(n.output(i), dims);
    }
  }

  private void setKnown(Node n, long[] value) {
    if (value != null) {
      known.put(n.output(0), value);
      shapes.put(n.output(0), new long[] {value.length});
    }
  }

  private void infer(Node n) {
    Attrs a = n.attrs();
    long[] x = s(n, 0);
    switch (n.op()) {
      case ABS, NEG, SQRT, EXP, LOG, FLOOR, CEIL, RECIPROCAL, ERF, NOT, IDENTITY, RELU, SIGMOID,
          TANH, LEAKY_RELU, ELU, SELU, HARD_SIGMOID, HARD_SWISH, PRELU, SOFTMAX, LOG_SOFTMAX,
          CLIP, LRN, INSTANCE_NORMALIZATION, BATCH_NORMALIZATION -> {
        set(n, 0, x);
        if (n.op() == Op.IDENTITY || n.op() == Op.NEG) {
          long[] kv = k(n, 0);
          if (kv != null) {
            setKnown(n, n.op() == Op.NEG ? Arrays.stream(kv).map(v -> -v).toArray() : kv);
            shapes.put(n.output(0), x);
          }
        }
      }
      case CAST -> {
        set(n, 0, x);
        if (k(n, 0) != null) {
          known.put(n.output(0), k(n, 0));
        }
      }
      case DROPOUT -> {
        for (int i = 0; i < n.outputs().size(); i++) {
          set(n, i, x);
        }
      }
      case ADD, SUB, MUL, DIV, POW, EQUAL, GREATER, LESS, WHERE, MAX, MIN, SUM, MEAN -> {
        long[] out = x;
        for (int i = 1; i < n.inputs().size() && out != null; i++) {
          long[] o = s(n, i);
          out = o == null ? null : broadcast(out, o, n);
        }
        set(n, 0, out);
        foldArithmetic(n, out);
      }
      case CONV -> set(n, 0, conv(n, x, s(n, 1), false));
      case CONV_TRANSPOSE -> set(n, 0, conv(n, x, s(n, 1), true));
      case MAX_POOL, AVERAGE_POOL -> {
        long[] out = pool(n, x);
        set(n, 0, out);
        if (n.outputs().size() > 1) {
          set(n, 1, out);
        }
      }
      case GLOBAL_AVERAGE_POOL, GLOBAL_MAX_POOL -> {
        if (x != null) {
          long[] out = x.clone();
          for (int i = 2; i < out.length; i++) {
            out[i] = 1;
          }
          set(n, 0, out);
        }
      }
      case GEMM -> {
        long[] b = s(n, 1);
        if (x != null && b != null) {
          boolean ta = a.getInt("transA", 0) == 1;
          boolean tb = a.getInt("transB", 0) == 1;
          long ka = ta ? x[0] : x[1];
          long kb = tb ? b[1] : b[0];
          if (ka != kb) {
            throw new FcnException(where() + n + ": input has " + ka + " features but the weights expect " + kb);
          }
          set(n, 0, new long[] {ta ? x[1] : x[0], tb ? b[0] : b[1]});
        }
      }
      case MAT_MUL -> set(n, 0, matmul(x, s(n, 1), n));
      case CONCAT -> {
        long[] out = x == null ? null : x.clone();
        int axis = out == null ? 0 : axis(a.getInt("axis", 0), out.length);
        boolean allKnown = true;
        long[] values = new long[0];
        for (int i = 0; i < n.inputs().size(); i++) {
          long[] si = s(n, i);
          if (si == null || out == null) {
            out = null;
            break;
          }
          if (i > 0) {
            out[axis] += si[axis];
            // A concat whose other dims disagree (e.g. a fixed-size resize beside a branch
            // that follows the input) does not exist at this size.
            for (int d = 0; d < out.length; d++) {
              if (d != axis && (si.length != out.length || si[d] != out[d])) {
                throw new FcnException(where() + n + ": input " + i + " is "
                    + java.util.Arrays.toString(si) + ", input 0 " + java.util.Arrays.toString(x)
                    + " off axis " + axis);
              }
            }
          }
          long[] kv = k(n, i);
          if (kv == null) {
            allKnown = false;
          } else {
            values = concat(values, kv);
          }
        }
        set(n, 0, out);
        if (allKnown && out != null && out.length == 1) {
          setKnown(n, values);
        }
      }
      case SPLIT -> {
        if (x != null) {
          int axis = axis(a.getInt("axis", 0), x.length);
          long[] sizes = k(n, 1);
          int parts = n.outputs().size();
          for (int i = 0; i < parts; i++) {
            long[] o = x.clone();
            o[axis] = sizes != null ? sizes[i] : x[axis] / parts;
            set(n, i, o);
          }
        }
      }
      case FLATTEN -> {
        if (x != null) {
          int axis = axis(a.getInt("axis", 1), x.length);
          long outer = 1;
          long inner = 1;
          for (int i = 0; i < x.length; i++) {
            if (i < axis) {
              outer *= x[i];
            } else {
              inner *= x[i];
            }
          }
          set(n, 0, new long[] {outer, inner});
        }
      }
      case RESHAPE -> {
        long[] target = k(n, 1);
        if (x != null && target != null) {
          set(n, 0, reshape(x, target, a.getInt("allowzero", 0) == 1, n));
          if (k(n, 0) != null) {
            known.put(n.output(0), k(n, 0));
          }
        }
      }
      case TRANSPOSE -> {
        if (x != null) {
          long[] perm = a.getInts("perm");
          long[] out = new long[x.length];
          for (int i = 0; i < x.length; i++) {
            out[i] = x[perm == null ? x.length - 1 - i : (int) perm[i]];
          }
          set(n, 0, out);
        }
      }
      case SQUEEZE -> {
        if (x != null) {
          long[] axes = k(n, 1);
          java.util.List<Long> out = new java.util.ArrayList<>();
          for (int i = 0; i < x.length; i++) {
            boolean drop = axes == null ? x[i] == 1 : contains(axes, i, x.length);
            if (!drop) {
              out.add(x[i]);
            }
          }
          set(n, 0, out.stream().mapToLong(Long::longValue).toArray());
          if (k(n, 0) != null) {
            known.put(n.output(0), k(n, 0));
          }
        }
      }
      case UNSQUEEZE -> {
        long[] axes = k(n, 1);
        if (x != null && axes != null) {
          int rank = x.length + axes.length;
          long[] out = new long[rank];
          int j = 0;
          for (int i = 0; i < rank; i++) {
            out[i] = contains(axes, i, rank) ? 1 : x[j++];
          }
          set(n, 0, out);
          if (k(n, 0) != null) {
            known.put(n.output(0), k(n, 0));
          }
        }
      }
      case SLICE -> slice(n, x);
      case SHAPE -> {
        if (x != null) {
          int rank = x.length;
          int start = (int) clampAxis(a.getInt("start", 0), rank);
          int end = (int) clampAxis(a.getInt("end", rank), rank);
          setKnown(n, Arrays.copyOfRange(x, start, Math.max(start, end)));
        }
      }
      case GATHER -> {
        long[] idx = s(n, 1);
        if (x != null && idx != null) {
          int axis = axis(a.getInt("axis", 0), x.length);
          long[] out = new long[x.length - 1 + idx.length];
          int j = 0;
          for (int i = 0; i < axis; i++) {
            out[j++] = x[i];
          }
          for (long d : idx) {
            out[j++] = d;
          }
          for (int i = axis + 1; i < x.length; i++) {
            out[j++] = x[i];
          }
          set(n, 0, out);
          long[] data = k(n, 0);
          long[] ind = k(n, 1);
          if (data != null && ind != null && x.length == 1) {
            long[] v = new long[ind.length];
            for (int i = 0; i < ind.length; i++) {
              v[i] = data[(int) (ind[i] < 0 ? ind[i] + data.length : ind[i])];
            }
            known.put(n.output(0), v);
          }
        }
      }
      case EXPAND -> {
        long[] target = k(n, 1);
        if (x != null && target != null) {
          set(n, 0, broadcast(x, target, n));
        }
      }
      case TILE -> {
        long[] reps = k(n, 1);
        if (x != null && reps != null) {
          long[] out = x.clone();
          for (int i = 0; i < out.length; i++) {
            out[i] *= reps[i];
          }
          set(n, 0, out);
        }
      }
      case PAD -> {
        long[] pads = k(n, 1);
        if (x != null && pads != null) {
          long[] axes = k(n, 3);
          long[] out = x.clone();
          int m = pads.length / 2;
          for (int i = 0; i < m; i++) {
            int ax = axes == null ? i : axis(axes[i], x.length);
            out[ax] += pads[i] + pads[i + m];
          }
          set(n, 0, out);
        }
      }
      case RESIZE, UPSAMPLE -> {
        if (x != null) {
          long[] sizes = n.op() == Op.RESIZE ? k(n, 3) : null;
          Value scalesV = n.op() == Op.RESIZE ? n.input(2) : n.input(1);
          if (sizes != null) {
            set(n, 0, sizes.length == x.length ? sizes : null);
          } else if (scalesV instanceof Constant c && c.data().numel() == x.length) {
            float[] sc = c.data().floats();
            long[] out = new long[x.length];
            for (int i = 0; i < x.length; i++) {
              out[i] = (long) Math.floor(x[i] * (double) sc[i]);
            }
            set(n, 0, out);
          }
        }
      }
      case CONSTANT -> {
        Tensor t = a.getTensor("value");
        if (t != null) {
          set(n, 0, t.dims());
          if ((t.type() == DataType.INT64 || t.type() == DataType.INT32) && t.numel() <= 64) {
            known.put(n.output(0), t.longs());
          }
        } else if (a.has("value_ints")) {
          setKnown(n, a.getInts("value_ints"));
        } else if (a.has("value_int")) {
          set(n, 0, new long[0]);
          known.put(n.output(0), new long[] {a.getInt("value_int", 0)});
        } else if (a.has("value_floats")) {
          set(n, 0, new long[] {a.getFloats("value_floats").length});
        } else if (a.has("value_float")) {
          set(n, 0, new long[0]);
        }
      }
      case CONSTANT_OF_SHAPE -> set(n, 0, k(n, 0));
      case SCATTER_ELEMENTS -> set(n, 0, x);
      case RANGE -> {
        long[] st = k(n, 0);
        long[] lim = k(n, 1);
        long[] d = k(n, 2);
        if (st != null && lim != null && d != null) {
          set(n, 0, new long[] {Math.max(0, (long) Math.ceil((lim[0] - st[0]) / (double) d[0]))});
        }
      }
      case REDUCE_MEAN, REDUCE_MAX, REDUCE_SUM -> {
        if (x != null) {
          long[] axes = n.op() == Op.REDUCE_SUM ? k(n, 1) : a.getInts("axes");
          if (axes == null && n.op() != Op.REDUCE_SUM) {
            axes = k(n, 1);
          }
          boolean keep = a.getInt("keepdims", 1) == 1;
          java.util.List<Long> out = new java.util.ArrayList<>();
          for (int i = 0; i < x.length; i++) {
            boolean reduced = axes == null || axes.length == 0 ? a.getInt("noop_with_empty_axes", 0) == 0
                : contains(axes, i, x.length);
            if (!reduced) {
              out.add(x[i]);
            } else if (keep) {
              out.add(1L);
            }
          }
          set(n, 0, out.stream().mapToLong(Long::longValue).toArray());
        }
      }
      case ARG_MAX -> {
        if (x != null) {
          int axis = axis(a.getInt("axis", 0), x.length);
          long[] out = x.clone();
          if (a.getInt("keepdims", 1) == 1) {
            out[axis] = 1;
            set(n, 0, out);
          } else {
            long[] o = new long[x.length - 1];
            for (int i = 0, j = 0; i < x.length; i++) {
              if (i != axis) {
                o[j++] = x[i];
              }
            }
            set(n, 0, o);
          }
        }
      }
      case OPAQUE -> opaque(n, x);
      default -> {
        // An op without a rule leaves its outputs unknown; callers decide whether that matters.
      }
    }
  }

  /**
   * Rules for operators the IR carries opaquely (by op type; the ai.onnx quantization ops and
   * the com.microsoft ops ONNX Runtime's tools write). Anything else, or a rule that cannot
   * read its attributes, leaves the outputs unknown.
   */
  private void opaque(Node n, long[] x) {
    try {
      switch (n.opType()) {
        case "QuantizeLinear", "DequantizeLinear", "ScatterND", "ScatterElements", "Gelu",
            "FastGelu", "QuickGelu", "BiasGelu", "IsNaN", "IsInf", "Sign", "Round", "Mish",
            "Softplus", "Softsign", "Celu", "ThresholdedRelu", "Shrink", "Sin", "Cos" -> set(n, 0, x);
        case "DynamicQuantizeLinear" -> {
          set(n, 0, x);
          if (n.outputs().size() > 2) {
            set(n, 1, new long[0]);
            set(n, 2, new long[0]);
          }
        }
        case "ConvInteger", "FusedConv", "NhwcConv" -> {
          if (!n.opType().equals("NhwcConv")) {
            set(n, 0, conv(n, x, s(n, 1), false));
          }
        }
        case "QLinearConv" -> set(n, 0, conv(n, x, s(n, 3), false));
        case "MatMulInteger" -> set(n, 0, matmul(x, s(n, 1), n));
        case "QLinearMatMul" -> set(n, 0, matmul(x, s(n, 3), n));
        case "And", "Or", "Xor", "Mod", "GreaterOrEqual", "LessOrEqual", "BitShift" -> {
          long[] y = s(n, 1);
          set(n, 0, x == null || y == null ? null : broadcast(x, y, n));
        }
        default -> { }
      }
    } catch (ClassCastException | ArrayIndexOutOfBoundsException | NullPointerException e) {
      // An attribute of an unexpected kind: the shape stays unknown, as for an op without a rule.
    }
  }

  /**
   * Why {@code v} has no shape in {@code shapes}: the first node on its path whose inputs
   * are all known but whose output is not ("QLinearFoo 'n' (no shape rule)"), or the input
   * that has no size.
   */
  public static String whyUnknown(Graph g, Map<String, long[]> shapes, Value v) {
    java.util.Set<Value> seen = new java.util.HashSet<>();
    Value cur = v;
    while (cur != null && seen.add(cur)) {
      Node p = cur.producer();
      if (p == null) {
        return "'" + cur.name() + "' has no size";
      }
      Value next = null;
      for (Value in : p.inputs()) {
        if (in != null && !shapes.containsKey(in.name())) {
          next = in;
          break;
        }
      }
      if (next == null) {
        return p + (p.op() == Op.OPAQUE ? " (fcn has no shape rule for " + p.opType() + ")"
            : " (its output shape could not be inferred)");
      }
      cur = next;
    }
    return "'" + v.name() + "'";
  }

  private void foldArithmetic(Node n, long[] outShape) {
    if (n.inputs().size() != 2 || outShape == null || outShape.length > 1) {
      return;
    }
    long[] p = k(n, 0);
    long[] q = k(n, 1);
    if (p == null || q == null) {
      return;
    }
    int len = Math.max(p.length, q.length);
    long[] out = new long[len];
    for (int i = 0; i < len; i++) {
      long u = p[p.length == 1 ? 0 : i];
      long v = q[q.length == 1 ? 0 : i];
      switch (n.op()) {
        case ADD -> out[i] = u + v;
        case SUB -> out[i] = u - v;
        case MUL -> out[i] = u * v;
        case DIV -> out[i] = Math.floorDiv(u, v);
        case MAX -> out[i] = Math.max(u, v);
        case MIN -> out[i] = Math.min(u, v);
        default -> {
          return;
        }
      }
    }
    known.put(n.output(0), out);
  }

  private void slice(Node n, long[] x) {
    long[] starts = k(n, 1);
    long[] ends = k(n, 2);
    if (x == null || starts == null || ends == null) {
      return;
    }
    long[] axes = k(n, 3);
    long[] steps = k(n, 4);
    long[] out = x.clone();
    long[] begin = new long[x.length];
    long[] step = new long[x.length];
    Arrays.fill(step, 1);
    for (int i = 0; i < starts.length; i++) {
      int ax = axes == null ? i : axis(axes[i], x.length);
      long st = steps == null ? 1 : steps[i];
      long dim = x[ax];
      long s0 = starts[i] < 0 ? starts[i] + dim : starts[i];
      long e0 = ends[i] < 0 ? ends[i] + dim : ends[i];
      if (st > 0) {
        s0 = Math.max(0, Math.min(s0, dim));
        e0 = Math.max(0, Math.min(e0, dim));
        out[ax] = Math.max(0, (e0 - s0 + st - 1) / st);
      } else {
        s0 = Math.max(-1, Math.min(s0, dim - 1));
        e0 = Math.max(-1, Math.min(e0, dim - 1));
        out[ax] = Math.max(0, (s0 - e0 - st - 1) / -st);
      }
      begin[ax] = s0;
      step[ax] = st;
    }
    set(n, 0, out);
    long[] data = k(n, 0);
    if (data != null && x.length == 1) {
      long[] v = new long[(int) out[0]];
      for (int i = 0; i < v.length; i++) {
        v[i] = data[(int) (begin[0] + i * step[0])];
      }
      known.put(n.output(0), v);
    }
  }

  private long[] conv(Node n, long[] x, long[] w, boolean transpose) {
    if (x == null || w == null) {
      return null;
    }
    Attrs a = n.attrs();
    int sp = x.length - 2;
    long group = a.getInt("group", 1);
    long[] k = a.has("kernel_shape") ? a.getInts("kernel_shape") : Arrays.copyOfRange(w, 2, w.length);
    long[] strides = ints(a, "strides", sp, 1);
    long[] dil = ints(a, "dilations", sp, 1);
    long[] pads = ints(a, "pads", 2 * sp, 0);
    String autoPad = a.getString("auto_pad", "NOTSET");
    // ONNX Runtime would report a misfit only when run; convert refuses it here, naming the node.
    if (w.length != x.length) {
      throw new FcnException(where() + n + ": input is " + Shape.format(x) + " but the weight '"
          + n.input(1).name() + "' is " + Shape.format(w) + "; expected the same rank");
    }
    long wantC = transpose ? w[0] : w[1] * group;
    if (group < 1 || (x[1] > 0 && x[1] != wantC)) {
      throw new FcnException(where() + n + ": input has " + x[1] + " channels but the weight '"
          + n.input(1).name() + "' " + Shape.format(w) + " (group " + group + ") expects " + wantC);
    }
    long[] out = new long[x.length];
    out[0] = x[0];
    out[1] = transpose ? w[1] * group : w[0];
    long[] outputShape = a.getInts("output_shape");
    long[] outPad = ints(a, "output_padding", sp, 0);
    for (int i = 0; i < sp; i++) {
      long in = x[i + 2];
      long ek = dil[i] * (k[i] - 1) + 1;
      if (transpose) {
        if (outputShape != null) {
          out[i + 2] = outputShape[outputShape.length - sp + i];
        } else if (autoPad.startsWith("SAME")) {
          out[i + 2] = in * strides[i];
        } else {
          out[i + 2] = strides[i] * (in - 1) + outPad[i] + ek - pads[i] - pads[i + sp];
        }
      } else if (autoPad.startsWith("SAME")) {
        out[i + 2] = ceilDiv(in, strides[i]);
      } else if (autoPad.equals("VALID")) {
        out[i + 2] = ceilDiv(in - ek + 1, strides[i]);
      } else {
        out[i + 2] = Math.floorDiv(in + pads[i] + pads[i + sp] - ek, strides[i]) + 1;
      }
    }
    return out;
  }

  private long[] pool(Node n, long[] x) {
    if (x == null) {
      return null;
    }
    Attrs a = n.attrs();
    int sp = x.length - 2;
    long[] k = a.getInts("kernel_shape");
    long[] strides = ints(a, "strides", sp, 1);
    long[] dil = ints(a, "dilations", sp, 1);
    long[] pads = ints(a, "pads", 2 * sp, 0);
    boolean ceil = a.getInt("ceil_mode", 0) == 1;
    String autoPad = a.getString("auto_pad", "NOTSET");
    long[] out = x.clone();
    for (int i = 0; i < sp; i++) {
      long in = x[i + 2];
      long ek = dil[i] * (k[i] - 1) + 1;
      if (autoPad.startsWith("SAME")) {
        out[i + 2] = ceilDiv(in, strides[i]);
      } else if (autoPad.equals("VALID")) {
        out[i + 2] = ceilDiv(in - ek + 1, strides[i]);
      } else {
        long span = in + pads[i] + pads[i + sp] - ek;
        long o = (ceil ? ceilDiv(span, strides[i]) : Math.floorDiv(span, strides[i])) + 1;
        // ONNX (like Caffe) drops a last window that would start in the end padding.
        if (ceil && (o - 1) * strides[i] >= in + pads[i]) {
          o--;
        }
        out[i + 2] = o;
      }
    }
    return out;
  }

  private static long[] matmul(long[] p, long[] q, Node n) {
    if (p == null || q == null) {
      return null;
    }
    long kp = p[p.length - 1];
    long kq = q.length == 1 ? q[0] : q[q.length - 2];
    if (kp != kq) {
      throw new FcnException(n + ": cannot multiply " + Shape.format(p) + " by " + Shape.format(q));
    }
    if (p.length == 1 || q.length == 1) {
      if (q.length == 1) {
        return Arrays.copyOf(p, p.length - 1);
      }
      // A vector times a (batched) matrix: numpy drops the matrix's second-to-last dim.
      long[] out = Arrays.copyOf(q, q.length - 1);
      out[out.length - 1] = q[q.length - 1];
      return out;
    }
    long[] batchP = Arrays.copyOf(p, p.length - 2);
    long[] batchQ = Arrays.copyOf(q, q.length - 2);
    long[] batch = broadcast(batchP, batchQ, n);
    long[] out = Arrays.copyOf(batch, batch.length + 2);
    out[batch.length] = p[p.length - 2];
    out[batch.length + 1] = q[q.length - 1];
    return out;
  }

  static long[] broadcast(long[] p, long[] q, Node n) {
    int rank = Math.max(p.length, q.length);
    long[] out = new long[rank];
    for (int i = 0; i < rank; i++) {
      long u = i - (rank - p.length) >= 0 ? p[i - (rank - p.length)] : 1;
      long v = i - (rank - q.length) >= 0 ? q[i - (rank - q.length)] : 1;
      if (u != v && u != 1 && v != 1) {
        throw new FcnException(n + ": cannot broadcast " + Shape.format(p) + " with " + Shape.format(q));
      }
      out[i] = u == 1 ? v : u;
    }
    return out;
  }

  private static long[] reshape(long[] x, long[] target, boolean allowZero, Node n) {
    long[] out = target.clone();
    long total = 1;
    for (long d : x) {
      total *= d;
    }
    int infer = -1;
    long known = 1;
    for (int i = 0; i < out.length; i++) {
      if (out[i] == 0 && !allowZero) {
        out[i] = x[i];
      }
      if (out[i] == -1) {
        infer = i;
      } else {
        known *= out[i];
      }
    }
    if (infer >= 0) {
      out[infer] = known == 0 ? 0 : total / known;
    }
    long check = 1;
    for (long d : out) {
      check *= d;
    }
    if (check != total) {
      throw new FcnException(n + ": cannot reshape " + Shape.format(x) + " to " + Arrays.toString(target));
    }
    return out;
  }

  private static long[] ints(Attrs a, String name, int len, long dflt) {
    long[] v = a.getInts(name);
    if (v == null) {
      v = new long[len];
      Arrays.fill(v, dflt);
    }
    return v;
  }

  private static long ceilDiv(long p, long q) {
    return -Math.floorDiv(-p, q);
  }

  private static int axis(long axis, int rank) {
    return (int) (axis < 0 ? axis + rank : axis);
  }

  private static long clampAxis(long axis, int rank) {
    long a = axis < 0 ? axis + rank : axis;
    return Math.max(0, Math.min(a, rank));
  }

  private static boolean contains(long[] axes, int i, int rank) {
    for (long ax : axes) {
      if (axis(ax, rank) == i) {
        return true;
      }
    }
    return false;
  }

  private static long[] concat(long[] p, long[] q) {
    long[] out = Arrays.copyOf(p, p.length + q.length);
    System.arraycopy(q, 0, out, p.length, q.length);
    return out;
  }
}
