package fcn.passes;

import fcn.core.FcnException;
import fcn.ir.Attrs;
import fcn.ir.Constant;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * FCN's "net surgery": makes a classifier fully convolutional by turning its dense layers into
 * convolutions, so it slides over images of any size. The first dense layer reading a spatial
 * map N x C x H x W (VGG16's fc6 reads 512 x 7 x 7) becomes a Conv with an H x W kernel; the
 * dense layers after it become 1 x 1 Convs; weights keep their memory order (an O x (C*H*W)
 * matrix is the O x C x H x W kernel). Shape-preserving ops between dense layers (Relu,
 * Dropout, Identity, ...) follow along, and a Softmax over the classes then runs over
 * channels (axis 1).
 *
 * <p>Dense layers are found as {@link Op#GEMM} nodes and rewritten by the first {@link Rule}
 * that matches; {@link #DEFAULT_RULES} knows Flatten(axis=1)+Gemm (Caffe's InnerProduct and
 * the usual exported form) and a Gemm reading an already rewritten layer. Other patterns
 * (MatMul+Add, Reshape, adaptive pooling) are added as further rules. A Gemm that no rule
 * rewrites is an error naming the node. Graph outputs keep their names (the rewritten nodes
 * produce the same values); the pass also drops nodes left without use.
 */
public final class FullyConvPass {

  /** One dense-layer pattern. */
  public interface Rule {
    /** Rewrites the dense node {@code n} and returns true, or returns false when it does not match. */
    boolean rewrite(Graph g, Node n, Context ctx);

    /** For the error when no rule matches: the pattern this rule expects, in words. */
    String expects();

    /** The ops this rule rewrites; every node of these ops must be rewritten by some rule. */
    default Set<Op> ops() {
      return Set.of(Op.GEMM);
    }
  }

  /**
   * State shared by the rules: which values were 2-D (N x K) and are now spatial maps
   * (N x K x h x w) because the dense layer computing them became a convolution.
   */
  public static final class Context {
    private final Set<Value> spatial = Collections.newSetFromMap(new IdentityHashMap<>());

    public boolean isSpatial(Value v) {
      return spatial.contains(v);
    }

    /** Records that {@code v} is now a spatial map of the given shape. */
    public void markSpatial(Value v, Shape shape) {
      spatial.add(v);
      if (v instanceof Variable var) {
        var.setShape(shape);
      }
    }

    /**
     * Replaces dense node {@code dense} by a Conv reading {@code input}, producing the dense
     * node's output value (same name), with the O x K weight matrix {@code w} (already in
     * O x K order, alpha applied) viewed as O x C x kh x kw, and optional bias {@code b} of O
     * values. Returns the new node; the output is marked spatial with {@code outShape}.
     */
    public Node replaceWithConv(Graph g, Node dense, Value input, Tensor w, Tensor b,
        long[] kernel, long[] outShape, String weightName, String biasName) {
      Variable out = dense.output(0);
      String name = dense.name();
      long[] wd = {w.dims()[0], w.numel() / w.dims()[0] / (kernel[0] * kernel[1]), kernel[0],
          kernel[1]};
      Tensor kw = w.reshape(wd);
      Tensor kb = b == null ? null : b.reshape(wd[0]);
      g.removeNode(dense);
      // Built on placeholder constants first: once the Conv produces the output again,
      // removeUnused can drop the Flatten and the dense weights, freeing their names for the
      // Conv's weights (the placeholders go in the pass's final clean-up).
      List<Value> ins = new ArrayList<>();
      ins.add(input);
      ins.add(g.addConstant(g.uniqueValueName(weightName + ".conv"), kw));
      if (kb != null) {
        ins.add(g.addConstant(g.uniqueValueName(biasName + ".conv"), kb));
      }
      Node conv = g.addNodeProducing(Op.CONV, name, ins, List.of(out), Attrs.of(
          "kernel_shape", kernel, "strides", new long[] {1, 1}, "pads", new long[] {0, 0, 0, 0},
          "dilations", new long[] {1, 1}, "group", 1L));
      g.removeUnused();
      if (!g.hasValue(weightName)) {
        conv.setInput(1, g.addConstant(weightName, kw));
      }
      if (kb != null && !g.hasValue(biasName)) {
        conv.setInput(2, g.addConstant(biasName, kb));
      }
      markSpatial(out, Shape.of(outShape));
      return conv;
    }
  }

  /** Flatten(axis=1)+Gemm over a spatial map, or a Gemm after a rewritten dense layer. */
  public static final Rule FLATTEN_GEMM = new Rule() {
    @Override
    public boolean rewrite(Graph g, Node n, Context ctx) {
      if (n.op() != Op.GEMM || n.attrs().getInt("transA", 0) != 0
          || !(n.input(1) instanceof Constant wc)
          || (n.input(2) != null && !(n.input(2) instanceof Constant))) {
        return false;
      }
      Value a = n.input(0);
      Node flat = a.producer() != null && a.producer().op() == Op.FLATTEN ? a.producer() : null;
      if (flat != null && flat.attrs().getInt("axis", 1) != 1) {
        return false;
      }
      Value src = flat != null ? flat.input(0) : a;
      Tensor w = denseWeights(n, wc.data());
      long o = w.dims()[0];
      long k = w.dims()[1];
      Tensor b = n.input(2) == null ? null : denseBias(n, ((Constant) n.input(2)).data(), o);
      Shape s = src.shape();
      if (s == null || s.rank() != 4 || !s.dim(1).isStatic()) {
        return false;
      }
      long[] kernel;
      long[] out;
      if (ctx.isSpatial(src)) {
        if (s.dim(1).value() != k) {
          throw FcnException.of("%s: reads %d channels but its weights expect %d", n,
              s.dim(1).value(), k);
        }
        kernel = new long[] {1, 1};
        out = dims(s, o, 0, 0);
      } else {
        if (flat == null || !s.isStatic()) {
          return false;
        }
        long[] d = s.toArray();
        if (d[1] * d[2] * d[3] != k) {
          throw FcnException.of("%s: reads %s (%d values per item) but its weights expect %d",
              n, s, d[1] * d[2] * d[3], k);
        }
        kernel = new long[] {d[2], d[3]};
        out = new long[] {d[0], o, 1, 1};
      }
      ctx.replaceWithConv(g, n, src, w, b, kernel, out, wc.name(),
          n.input(2) == null ? null : n.input(2).name());
      return true;
    }

    @Override
    public String expects() {
      return "Flatten(axis=1) of an N x C x H x W map with static C, H and W, or the output of"
          + " a dense layer already made convolutional (through Relu, Dropout, Identity ...)";
    }
  };

  public static final List<Rule> DEFAULT_RULES = List.of(FLATTEN_GEMM);

  /** Ops that keep a spatial map a spatial map of the same shape. */
  private static final Set<Op> ELEMENTWISE = Set.of(Op.RELU, Op.LEAKY_RELU, Op.IDENTITY,
      Op.DROPOUT, Op.SIGMOID, Op.TANH, Op.ELU, Op.SELU, Op.ABS, Op.NEG, Op.EXP, Op.LOG, Op.SQRT,
      Op.CLIP, Op.HARD_SIGMOID, Op.HARD_SWISH, Op.ERF, Op.RECIPROCAL);

  private FullyConvPass() {}

  public static Graph apply(Graph g) {
    return apply(g, DEFAULT_RULES);
  }

  /** Rewrites every dense layer of {@code g} in place with {@code rules}; returns {@code g}. */
  public static Graph apply(Graph g, List<Rule> rules) {
    Context ctx = new Context();
    Set<Op> dense = new java.util.HashSet<>();
    rules.forEach(r -> dense.addAll(r.ops()));
    for (Node n : g.topologicalOrder()) {
      if (!g.nodes().contains(n)) {
        continue; // removed by an earlier rewrite
      }
      if (dense.contains(n.op())) {
        boolean done = false;
        for (Rule r : rules) {
          if (r.rewrite(g, n, ctx)) {
            done = true;
            break;
          }
        }
        if (!done) {
          throw FcnException.of("%s: cannot make it a convolution: expected %s; got input '%s'"
              + " of shape %s%s", n, expectations(rules), n.input(0).name(),
              n.input(0).shape(), n.input(0).producer() == null ? ""
                  : " from " + n.input(0).producer());
        }
        continue;
      }
      follow(g, n, ctx);
    }
    g.removeUnused();
    return g;
  }

  private static String expectations(List<Rule> rules) {
    List<String> parts = new ArrayList<>();
    for (Rule r : rules) {
      parts.add(r.expects());
    }
    return String.join("; or ", parts);
  }

  /** Carries spatial maps through the ops that may sit between and after dense layers. */
  private static void follow(Graph g, Node n, Context ctx) {
    Value spatialIn = n.inputs().stream().filter(v -> v != null && ctx.isSpatial(v))
        .findFirst().orElse(null);
    if (spatialIn == null) {
      return;
    }
    Op op = n.op();
    Shape s = spatialIn.shape();
    if (ELEMENTWISE.contains(op) && n.input(0) == spatialIn) {
      ctx.markSpatial(n.output(0), s);
      return;
    }
    if (op == Op.SOFTMAX || op == Op.LOG_SOFTMAX) {
      long axis = n.attrs().getInt("axis", -1);
      if (axis == 1 || axis == -1) {
        // Over the classes, which are now channels.
        n.attrs().set("axis", 1L);
        ctx.markSpatial(n.output(0), s);
        return;
      }
    }
    if ((op == Op.ADD || op == Op.SUB || op == Op.MUL || op == Op.DIV || op == Op.POW)
        && n.inputs().stream().allMatch(v -> v == spatialIn
            || (v instanceof Constant c && c.data().numel() == 1))) {
      ctx.markSpatial(n.output(0), s);
      return;
    }
    if (op == Op.FLATTEN && n.attrs().getInt("axis", 1) == 1
        && n.output(0).consumers().stream().allMatch(c -> c.op() == Op.GEMM)) {
      return; // the Gemm rule looks through it
    }
    throw FcnException.of("%s reads '%s', the output of a dense layer made convolutional, and"
        + " FullyConvPass cannot carry a spatial map through it (expected elementwise ops,"
        + " Softmax over the classes, or Flatten+Gemm)", n, spatialIn.name());
  }

  private static long[] dims(Shape s, long channels, int dh, int dw) {
    long[] d = new long[4];
    d[0] = s.dim(0).isStatic() ? s.dim(0).value() : 1;
    d[1] = channels;
    d[2] = s.dim(2).isStatic() ? s.dim(2).value() - dh : 1;
    d[3] = s.dim(3).isStatic() ? s.dim(3).value() - dw : 1;
    return d;
  }

  /** The Gemm's B as an O x K matrix (transposed if transB=0), scaled by alpha. */
  private static Tensor denseWeights(Node n, Tensor b) {
    if (b.rank() != 2) {
      throw FcnException.of("%s: weights are %s, expected a matrix", n, b.shape());
    }
    long[] d = b.dims();
    boolean transB = n.attrs().getInt("transB", 0) != 0;
    float alpha = n.attrs().getFloat("alpha", 1f);
    if (transB && alpha == 1f) {
      return b;
    }
    long o = transB ? d[0] : d[1];
    long k = transB ? d[1] : d[0];
    float[] src = b.floats();
    float[] dst = new float[src.length];
    for (long i = 0; i < o; i++) {
      for (long j = 0; j < k; j++) {
        float v = transB ? src[(int) (i * k + j)] : src[(int) (j * o + i)];
        dst[(int) (i * k + j)] = v * alpha;
      }
    }
    return Tensor.ofFloats(new long[] {o, k}, dst);
  }

  /** The Gemm's C as O values, scaled by beta (a single value is broadcast). */
  private static Tensor denseBias(Node n, Tensor c, long o) {
    float beta = n.attrs().getFloat("beta", 1f);
    if (c.numel() == o && beta == 1f) {
      return c.reshape(o);
    }
    if (c.numel() != o && c.numel() != 1) {
      throw FcnException.of("%s: bias is %s, expected %d values", n, c.shape(), o);
    }
    float[] v = c.floats();
    float[] out = new float[(int) o];
    for (int i = 0; i < o; i++) {
      out[i] = beta * v[v.length == 1 ? 0 : i];
    }
    return Tensor.ofFloats(new long[] {o}, out);
  }
}
