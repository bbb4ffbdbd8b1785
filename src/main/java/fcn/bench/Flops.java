package fcn.bench;

import fcn.ir.Attrs;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.Value;
import fcn.passes.ShapeInference;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Floating-point operations of a graph at given input sizes, counted from the IR with
 * {@link ShapeInference}. Only the multiply-accumulate ops are counted (Conv, ConvTranspose,
 * Gemm, MatMul), at 2 FLOPs per multiply-accumulate; biases, activations, pooling and
 * element-wise ops are left out, as in the usual "GFLOPs" figure quoted for a network.
 *
 * <p>Conv: MACs = N·Cout·prod(out spatial)·(Cin/group)·prod(kernel).
 * ConvTranspose: MACs = N·Cin·prod(in spatial)·(Cout/group)·prod(kernel) (each input pixel is
 * scattered through the whole kernel, so the count does not depend on padding or cropping).
 * A node of a counted op whose shapes cannot be inferred is listed in {@link Count#unknown()}
 * rather than guessed.
 */
public final class Flops {
  private Flops() {}

  /** One counted node: its multiply-accumulates. */
  public record NodeCount(String node, Op op, long macs) {
    public long flops() {
      return 2 * macs;
    }
  }

  /**
   * The count: per node (in execution order), and the names of counted-op nodes whose shapes
   * were unknown (so {@link #flops()} is then a lower bound).
   */
  public record Count(List<NodeCount> nodes, List<String> unknown) {
    public Count {
      nodes = List.copyOf(nodes);
      unknown = List.copyOf(unknown);
    }

    public long macs() {
      long m = 0;
      for (NodeCount n : nodes) {
        m = Math.addExact(m, n.macs());
      }
      return m;
    }

    public long flops() {
      return Math.multiplyExact(2, macs());
    }

    public double gflops() {
      return flops() / 1e9;
    }

    /** True when every Conv/ConvTranspose/Gemm/MatMul node was counted. */
    public boolean complete() {
      return unknown.isEmpty();
    }
  }

  /**
   * Counts the FLOPs of {@code g} at the given input sizes.
   *
   * @param inputShapes sizes by input name; inputs not named use their declared static shape
   * @throws fcn.core.FcnException when an input has no size (see {@link ShapeInference#infer})
   */
  public static Count count(Graph g, Map<String, long[]> inputShapes) {
    Map<String, long[]> shapes = ShapeInference.infer(g, inputShapes);
    List<NodeCount> counted = new ArrayList<>();
    List<String> unknown = new ArrayList<>();
    for (Node n : g.topologicalOrder()) {
      if (!isCounted(n.op())) {
        continue;
      }
      long[] x = shape(shapes, n.input(0));
      long[] w = shape(shapes, n.input(1));
      long[] y = shape(shapes, n.output(0));
      Long macs = x == null || w == null || y == null ? null : macs(n, x, w, y);
      if (macs == null) {
        unknown.add(n.name());
      } else {
        counted.add(new NodeCount(n.name(), n.op(), macs));
      }
    }
    return new Count(counted, Collections.unmodifiableList(unknown));
  }

  static boolean isCounted(Op op) {
    return op == Op.CONV || op == Op.CONV_TRANSPOSE || op == Op.GEMM || op == Op.MAT_MUL;
  }

  private static long[] shape(Map<String, long[]> shapes, Value v) {
    return v == null ? null : shapes.get(v.name());
  }

  /** MACs of one node from its first input, second input and output shapes. */
  static Long macs(Node n, long[] x, long[] w, long[] y) {
    Attrs a = n.attrs();
    switch (n.op()) {
      case CONV: {
        // w = [Cout, Cin/group, k...]; every output element is a dot product of Cin/group·k terms.
        return Math.multiplyExact(product(y, 0, y.length), product(w, 1, w.length));
      }
      case CONV_TRANSPOSE: {
        // w = [Cin, Cout/group, k...]; every input element is multiplied into Cout/group·k outputs.
        return Math.multiplyExact(product(x, 0, x.length), product(w, 1, w.length));
      }
      case GEMM: {
        long k = a.getInt("transA", 0) == 1 ? x[0] : x[1];
        return Math.multiplyExact(product(y, 0, y.length), k);
      }
      case MAT_MUL: {
        // From the inputs (numpy matmul rules: a 1-D side counts as one row/column), so the
        // count does not depend on how the output shape was inferred.
        long k = x[x.length - 1];
        long m = x.length >= 2 ? x[x.length - 2] : 1;
        long cols = w.length >= 2 ? w[w.length - 1] : 1;
        long batch = 1;
        int rank = Math.max(x.length, w.length) - 2;
        for (int i = 0; i < rank; i++) {
          long p = i - (rank - (x.length - 2)) >= 0 ? x[i - (rank - (x.length - 2))] : 1;
          long q = i - (rank - (w.length - 2)) >= 0 ? w[i - (rank - (w.length - 2))] : 1;
          batch = Math.multiplyExact(batch, Math.max(p, q));
        }
        return Math.multiplyExact(Math.multiplyExact(batch, m), Math.multiplyExact(cols, k));
      }
      default:
        return null;
    }
  }

  private static long product(long[] dims, int from, int to) {
    long p = 1;
    for (int i = from; i < to; i++) {
      p = Math.multiplyExact(p, dims[i]);
    }
    return p;
  }

  /** "361.8 GFLOPs" / "1.20 MFLOPs": a human-readable count. */
  public static String format(long flops) {
    double f = flops;
    if (f >= 1e12) {
      return String.format(java.util.Locale.ROOT, "%.2f TFLOPs", f / 1e12);
    }
    if (f >= 1e9) {
      return String.format(java.util.Locale.ROOT, "%.2f GFLOPs", f / 1e9);
    }
    if (f >= 1e6) {
      return String.format(java.util.Locale.ROOT, "%.2f MFLOPs", f / 1e6);
    }
    if (f >= 1e3) {
      return String.format(java.util.Locale.ROOT, "%.2f kFLOPs", f / 1e3);
    }
    return flops + " FLOPs";
  }
}
