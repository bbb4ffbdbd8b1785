package fcn.quantize;

import fcn.core.FcnException;
import fcn.ir.Attrs;
import fcn.ir.Constant;
import fcn.ir.DataType;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.runtime.Half;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * float32 to float16: weights and activations in half precision, the graph's inputs and outputs
 * still float32 (a Cast after each input and before each output), so callers feed and read what
 * they did before. Only the tensors of an operator's data type T change: index and shape inputs
 * (Resize's roi/scales/sizes, Slice's bounds, Reshape's shape, Pad's pads) keep their types, and
 * the int64 shape arithmetic of FCN's crops is not touched. Operators outside
 * {@link #FP16_OPS} (ONNX Runtime and onnxconverter-common leave those in float: Upsample,
 * Range, Min/Max, ScatterElements, any operator fcn carries opaquely) stay float32 behind Casts.
 * Deterministic: casts and copies are named after the tensors they convert.
 */
public final class Fp16Pass {
  private Fp16Pass() {}

  /** Operators written in float16; everything else stays float32. */
  public static final Set<Op> FP16_OPS = EnumSet.of(
      Op.ABS, Op.NEG, Op.SQRT, Op.EXP, Op.LOG, Op.FLOOR, Op.CEIL, Op.RECIPROCAL, Op.ERF,
      Op.IDENTITY, Op.RELU, Op.SIGMOID, Op.TANH, Op.LEAKY_RELU, Op.ELU, Op.SELU,
      Op.HARD_SIGMOID, Op.HARD_SWISH, Op.PRELU, Op.SOFTMAX, Op.LOG_SOFTMAX, Op.CLIP,
      Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.POW, Op.EQUAL, Op.GREATER, Op.LESS, Op.WHERE,
      Op.SUM, Op.MEAN, Op.CONV, Op.CONV_TRANSPOSE, Op.MAX_POOL, Op.AVERAGE_POOL,
      Op.GLOBAL_AVERAGE_POOL, Op.GLOBAL_MAX_POOL, Op.GEMM, Op.MAT_MUL, Op.BATCH_NORMALIZATION,
      Op.INSTANCE_NORMALIZATION, Op.LRN, Op.CONCAT, Op.SPLIT, Op.FLATTEN, Op.RESHAPE,
      Op.TRANSPOSE, Op.SQUEEZE, Op.UNSQUEEZE, Op.SLICE, Op.GATHER, Op.EXPAND, Op.TILE, Op.PAD,
      Op.RESIZE, Op.DROPOUT, Op.REDUCE_MEAN, Op.REDUCE_MAX, Op.REDUCE_SUM, Op.ARG_MAX);

  /** What changed. */
  public record Result(Map<String, Integer> fp16Ops, List<String> keptFloat, int casts,
      int constants, int overflowed) {}

  /** Whether input {@code i} of {@code n} has the operator's data type T (the one converted). */
  static boolean dataInput(Node n, int i) {
    return switch (n.op()) {
      case SLICE, RESHAPE, SQUEEZE, UNSQUEEZE, EXPAND, TILE, GATHER, SPLIT, FLATTEN, TRANSPOSE,
          RESIZE, REDUCE_MEAN, REDUCE_MAX, REDUCE_SUM, ARG_MAX, DROPOUT, MAX_POOL,
          AVERAGE_POOL -> i == 0;
      case PAD -> i == 0 || i == 2;
      case WHERE -> i == 1 || i == 2;
      default -> true;
    };
  }

  public static Result apply(Graph g, String source) {
    for (Constant c : g.constants()) {
      if (c.type() == DataType.FLOAT16) {
        throw FcnException.of("%s already has float16 weights ('%s'); expected a float32 model",
            source, c.name());
      }
    }
    for (Node n : g.nodes()) {
      if (n.opType().equals("QuantizeLinear") || n.opType().equals("DequantizeLinear")) {
        throw FcnException.of("%s is quantized (%s node '%s'); fp16 takes a float32 model",
            source, n.opType(), n.name());
      }
    }
    Map<Value, DataType> types = ElementTypes.infer(g);
    Map<Value, Map<DataType, Variable>> casts = new IdentityHashMap<>();
    Map<Constant, Constant> halves = new IdentityHashMap<>();
    Map<String, Integer> fp16Ops = new java.util.TreeMap<>();
    List<String> kept = new ArrayList<>();
    int[] overflow = new int[1];
    int castCount = 0;
    for (Node n : g.topologicalOrder()) {
      if (n.op() == Op.SHAPE) {
        continue; // reads any type
      }
      boolean half = FP16_OPS.contains(n.op()) && halfable(n, types);
      if (!half && hasFloatData(n, types)) {
        kept.add(n.name() + " (" + n.opType() + ")");
      }
      for (int i = 0; i < n.inputs().size(); i++) {
        Value v = n.input(i);
        if (v == null) {
          continue;
        }
        DataType t = types.get(v);
        if (half && dataInput(n, i) && t == DataType.FLOAT) {
          if (v instanceof Constant c) {
            n.setInput(i, halves.computeIfAbsent(c, k -> halfCopy(g, k, overflow)));
          } else {
            int before = casts.containsKey(v) && casts.get(v).containsKey(DataType.FLOAT16) ? 1 : 0;
            n.setInput(i, cast(g, v, DataType.FLOAT16, casts, types));
            castCount += 1 - before;
          }
        } else if (!(half && dataInput(n, i)) && t == DataType.FLOAT16) {
          int before = casts.containsKey(v) && casts.get(v).containsKey(DataType.FLOAT) ? 1 : 0;
          n.setInput(i, cast(g, v, DataType.FLOAT, casts, types));
          castCount += 1 - before;
        }
      }
      if (half) {
        fp16Ops.merge(n.opType(), 1, Integer::sum);
        for (Variable out : n.outputs()) {
          if (types.get(out) == DataType.FLOAT) {
            types.put(out, DataType.FLOAT16);
            out.setType(DataType.FLOAT16);
          }
        }
      }
    }
    // Graph outputs stay float32: the producer writes a new fp16 tensor, a Cast the output.
    List<Value> outs = new ArrayList<>(g.outputs());
    for (int k = 0; k < outs.size(); k++) {
      Value o = outs.get(k);
      if (types.get(o) != DataType.FLOAT16) {
        continue;
      }
      Variable out = (Variable) o;
      Node p = out.producer();
      List<Value> ins = new ArrayList<>(p.inputs());
      Attrs attrs = p.attrs().copy();
      Op op = p.op();
      String name = p.name();
      List<Variable> pouts = new ArrayList<>(p.outputs());
      g.removeNode(p);
      Variable h = g.addVariable(g.uniqueValueName(out.name() + "_fp16"));
      h.setType(DataType.FLOAT16);
      pouts.set(pouts.indexOf(out), h);
      g.addNodeProducing(op, name, ins, pouts, attrs);
      g.replaceAllUses(out, h);
      g.addNodeProducing(Op.CAST, out.name() + "_to_float", List.of(h), List.of(out),
          Attrs.of("to", (long) DataType.FLOAT.onnxCode()));
      out.setType(DataType.FLOAT);
      castCount++;
    }
    g.removeUnused();
    return new Result(fp16Ops, kept, castCount, halves.size(), overflow[0]);
  }

  /** All data inputs have a known float type (no opaque producer of unknown type). */
  private static boolean halfable(Node n, Map<Value, DataType> types) {
    boolean any = false;
    for (int i = 0; i < n.inputs().size(); i++) {
      Value v = n.input(i);
      if (v == null || !dataInput(n, i)) {
        continue;
      }
      DataType t = types.get(v);
      if (t == DataType.FLOAT || t == DataType.FLOAT16) {
        any = true;
      } else if (t == null || n.op() != Op.WHERE) {
        return false;
      }
    }
    return any;
  }

  private static boolean hasFloatData(Node n, Map<Value, DataType> types) {
    for (Value v : n.inputs()) {
      if (v != null && types.get(v) == DataType.FLOAT && !(v instanceof Constant)) {
        return true;
      }
    }
    return false;
  }

  private static Variable cast(Graph g, Value v, DataType to, Map<Value, Map<DataType, Variable>> casts,
      Map<Value, DataType> types) {
    return casts.computeIfAbsent(v, k -> new EnumMap<>(DataType.class)).computeIfAbsent(to, t -> {
      String suffix = t == DataType.FLOAT16 ? "_fp16" : "_fp32";
      Variable out = g.add(Op.CAST, v.name() + "_to" + suffix, List.of(v),
          g.uniqueValueName(v.name() + suffix), Attrs.of("to", (long) t.onnxCode()));
      out.setType(t);
      types.put(out, t);
      return out;
    });
  }

  private static Constant halfCopy(Graph g, Constant c, int[] overflow) {
    FloatBuffer f = c.data().floatView();
    ByteBuffer b = ByteBuffer.allocate(f.remaining() * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < f.limit(); i++) {
      float x = f.get(i);
      if (Math.abs(x) > 65504f && !Float.isInfinite(x)) {
        overflow[0]++;
      }
      b.putShort(Half.fromFloat(x));
    }
    return g.addConstant(g.uniqueValueName(c.name() + "_fp16"),
        new Tensor(DataType.FLOAT16, c.data().dims(), b.array()));
  }
}
