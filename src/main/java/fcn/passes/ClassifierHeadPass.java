package fcn.passes;

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
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code --fully-conv} for classifiers exported to ONNX (PyTorch, Keras, Caffe2...): FCN's
 * net surgery, the first fully-connected layer becoming a convolution whose kernel covers the
 * feature map it was trained on (VGG16: 7×7) and the following ones 1×1 convolutions, with
 * the same weights (reshaped) so that the net computes a class heatmap on larger inputs.
 *
 * <p>{@link #normalize} first rewrites the exporters' head forms to one canonical form,
 * {@code Flatten(axis=1) -> Gemm(transB=1, alpha=1, beta=1, W[out,in], B[out])} with
 * elementwise layers (Relu, Dropout...) between fully-connected layers, which is also what
 * the Caffe frontend makes of InnerProduct: Reshape to [N, C*H*W] becomes Flatten, Gemm with
 * transB=0, alpha or beta becomes canonical, MatMul (+ Add) becomes Gemm, and PyTorch's
 * AdaptiveAvgPool2d((7,7)) export at 7×7 (an AveragePool or MaxPool with 1×1 kernel and stride)
 * is dropped as the identity it is. {@link #apply} then rewrites the canonical form into
 * convolutions, keeping every graph output's name; a trailing Softmax/LogSoftmax moves to
 * the channel axis. Shapes come from {@link ShapeInference} at the inputs' declared sizes.
 */
public final class ClassifierHeadPass {
  /** Ops that may sit between fully-connected layers: elementwise, so valid on 4-D maps. */
  private static final Set<Op> BETWEEN = EnumSet.of(Op.RELU, Op.DROPOUT, Op.IDENTITY, Op.LEAKY_RELU,
      Op.SIGMOID, Op.TANH, Op.ELU, Op.SELU, Op.HARD_SIGMOID, Op.HARD_SWISH, Op.CLIP);

  private static final String EXPECTED = "expected Flatten(axis=1) or Reshape to [N, C*H*W] of a"
      + " 4-D feature map, or a previous fully-connected layer through Relu/Dropout";

  private ClassifierHeadPass() {}

  /**
   * Rewrites every fully-connected head into convolutions.
   *
   * @return the number of fully-connected layers converted
   * @throws FcnException when the graph has no fully-connected layer, or one that reads
   *     something other than the expected pattern (naming the node and the pattern)
   */
  public static int apply(Graph g) {
    normalize(g);
    Map<String, long[]> shapes = ShapeInference.infer(g, Map.of());
    List<Node> gemms = new ArrayList<>();
    for (Node n : g.topologicalOrder()) {
      if (n.op() == Op.GEMM) {
        gemms.add(n);
      }
    }
    if (gemms.isEmpty()) {
      throw new FcnException("--fully-conv: graph '" + g.name() + "' has no fully-connected layer"
          + " (Gemm or MatMul), expected a classifier head such as Flatten -> Gemm");
    }
    int converted = 0;
    Set<Variable> fcOuts = new HashSet<>();
    for (Node gemm : gemms) {
      Value x = gemm.input(0);
      Node p = x.producer();
      Constant w = (Constant) gemm.input(1);
      long[] wd = w.data().dims();
      long[] kernel;
      Value convIn;
      if (p != null && p.op() == Op.FLATTEN && fromFullyConnected(p.input(0), fcOuts)) {
        // Caffe's InnerProduct flattens its bottom even when it is already [N, K].
        kernel = new long[] {wd[0], wd[1], 1, 1};
        convIn = p.input(0);
      } else if (p != null && p.op() == Op.FLATTEN) {
        long[] fs = shapes.get(p.input(0).name());
        if (fs == null) {
          throw new FcnException("--fully-conv needs the shape that " + p + " flattens for " + gemm
              + ", but cannot infer it: " + ShapeInference.whyUnknown(g, shapes, p.input(0)));
        }
        if (fs.length != 4) {
          throw new FcnException(gemm + " reads " + p + " of a " + fs.length + "-D tensor, " + EXPECTED);
        }
        if (fs[1] * fs[2] * fs[3] != wd[1]) {
          throw FcnException.of("%s expects %d inputs but %s gives %dx%dx%d", gemm, wd[1], p,
              fs[1], fs[2], fs[3]);
        }
        kernel = new long[] {wd[0], fs[1], fs[2], fs[3]};
        convIn = p.input(0);
      } else if (fromFullyConnected(x, fcOuts)) {
        kernel = new long[] {wd[0], wd[1], 1, 1};
        convIn = x;
      } else {
        throw new FcnException(gemm + " reads '" + x.name() + "'"
            + (p == null ? "" : " from " + p) + ", " + EXPECTED);
      }
      Variable out = gemm.output(0);
      String name = gemm.name();
      Value bias = gemm.input(2);
      g.removeNode(gemm);
      Constant kw = g.addConstant(g.uniqueValueName(w.name() + "_conv"), w.data().reshape(kernel));
      List<Value> in = new ArrayList<>(List.of(convIn, kw));
      if (bias != null) {
        in.add(bias);
      }
      g.addNodeProducing(Op.CONV, name, in, List.of(out),
          Attrs.of("kernel_shape", new long[] {kernel[2], kernel[3]}));
      fcOuts.add(out);
      converted++;
    }
    for (Node n : new ArrayList<>(g.nodes())) {
      if ((n.op() == Op.SOFTMAX || n.op() == Op.LOG_SOFTMAX) && fromFullyConnected(n.input(0), fcOuts)) {
        n.attrs().set("axis", 1L);
      }
      if (n.op() == Op.FLATTEN && n.output(0).consumers().isEmpty()
          && !g.outputs().contains(n.output(0))) {
        g.removeNode(n);
      }
    }
    for (Value v : g.values()) {
      if (v instanceof Variable var && !g.inputs().contains(var)) {
        var.setShape(null);
      }
    }
    g.removeUnused();
    return converted;
  }

  /** True when v comes from a fully-connected layer, possibly through elementwise layers. */
  private static boolean fromFullyConnected(Value v, Set<Variable> fcOuts) {
    Node p = v.producer();
    while (p != null && BETWEEN.contains(p.op())) {
      p = p.input(0).producer();
    }
    return p != null && (p.op() == Op.GEMM || fcOuts.contains(p.output(0)));
  }

  /**
   * Rewrites head forms to Flatten(axis=1) -> Gemm(transB=1, alpha=1, beta=1) and drops
   * identity pools. Leaves everything else alone.
   */
  public static void normalize(Graph g) {
    Map<String, long[]> shapes = ShapeInference.infer(g, Map.of());
    for (Node n : g.topologicalOrder()) {
      if (!g.nodes().contains(n)) {
        continue; // removed while rewriting an earlier node
      }
      switch (n.op()) {
        case AVERAGE_POOL, MAX_POOL -> dropIdentityPool(g, n);
        case RESHAPE -> reshapeToFlatten(g, n, shapes);
        case MAT_MUL -> matMulToGemm(g, n, shapes);
        case GEMM -> canonicalGemm(g, n);
        default -> { }
      }
    }
  }

  private static void dropIdentityPool(Graph g, Node n) {
    Attrs a = n.attrs();
    if (n.outputs().size() != 1 || g.outputs().contains(n.output(0))) {
      return;
    }
    if (!allEqual(a.getInts("kernel_shape"), 1) || !allEqual(a.getInts("strides"), 1)
        || !allEqual(a.getInts("pads"), 0) || !a.getString("auto_pad", "NOTSET").equals("NOTSET")
        && !a.getString("auto_pad", "NOTSET").equals("VALID")) {
      return;
    }
    g.replaceAllUses(n.output(0), n.input(0));
    g.removeNode(n);
  }

  private static boolean allEqual(long[] v, long x) {
    if (v == null) {
      return true;
    }
    for (long l : v) {
      if (l != x) {
        return false;
      }
    }
    return true;
  }

  private static void reshapeToFlatten(Graph g, Node n, Map<String, long[]> shapes) {
    long[] in = shapes.get(n.input(0).name());
    long[] out = shapes.get(n.output(0).name());
    if (in == null || out == null || in.length != 4 || out.length != 2 || out[0] != in[0]) {
      return;
    }
    boolean feedsDense = n.output(0).consumers().stream()
        .anyMatch(c -> c.op() == Op.GEMM || c.op() == Op.MAT_MUL);
    if (!feedsDense) {
      return;
    }
    Variable o = n.output(0);
    Value x = n.input(0);
    String name = n.name();
    g.removeNode(n);
    g.addNodeProducing(Op.FLATTEN, name, List.of(x), List.of(o), Attrs.of("axis", 1L));
  }

  private static void matMulToGemm(Graph g, Node mm, Map<String, long[]> shapes) {
    long[] xs = shapes.get(mm.input(0).name());
    Tensor w = constantData(mm.input(1));
    if (xs == null || xs.length != 2 || w == null || w.rank() != 2) {
      return; // not a dense layer on [N, K]; FCN rewriting will report it if it matters
    }
    Node add = null;
    Tensor b = null;
    List<Node> users = mm.output(0).consumers();
    if (users.size() == 1 && users.get(0).op() == Op.ADD && !g.outputs().contains(mm.output(0))) {
      Node cand = users.get(0);
      Value other = cand.input(0) == mm.output(0) ? cand.input(1) : cand.input(0);
      Tensor bt = constantData(other);
      if (bt != null && bt.numel() == w.dims()[1]) {
        add = cand;
        b = bt;
      }
    }
    Value x = mm.input(0);
    String name = mm.name();
    Variable out = add != null ? add.output(0) : mm.output(0);
    String wName = mm.input(1).name();
    g.removeNode(mm);
    if (add != null) {
      g.removeNode(add);
    }
    List<Value> in = new ArrayList<>();
    in.add(x);
    in.add(g.addConstant(g.uniqueValueName(wName + "_t"), transpose(w)));
    if (b != null) {
      in.add(g.addConstant(g.uniqueValueName(wName + "_bias"), b.reshape(b.numel())));
    }
    g.addNodeProducing(Op.GEMM, name, in, List.of(out), Attrs.of("transB", 1L));
  }

  private static void canonicalGemm(Graph g, Node n) {
    Attrs a = n.attrs();
    if (a.getInt("transA", 0) != 0) {
      throw new FcnException(n + " has transA=1, expected a fully-connected layer on [N, K]"
          + " activations (transA=0)");
    }
    Tensor w = constantData(n.input(1));
    if (w == null || w.rank() != 2) {
      throw new FcnException(n + " has non-constant or non-2-D weights '" + n.input(1).name()
          + "', expected a constant [out, in] or [in, out] matrix");
    }
    boolean transB = a.getInt("transB", 0) == 1;
    float alpha = a.getFloat("alpha", 1f);
    float beta = a.getFloat("beta", 1f);
    Tensor b = n.input(2) == null ? null : constantData(n.input(2));
    if (n.input(2) != null && b == null) {
      throw new FcnException(n + " has non-constant bias '" + n.input(2).name()
          + "', expected a constant vector");
    }
    long outs = transB ? w.dims()[0] : w.dims()[1];
    boolean canonicalBias = b == null || b.rank() == 1 && b.numel() == outs;
    if (transB && alpha == 1f && beta == 1f && canonicalBias && n.input(1) instanceof Constant
        && (n.input(2) == null || n.input(2) instanceof Constant)) {
      return;
    }
    Tensor w2 = transB ? w : transpose(w);
    if (alpha != 1f) {
      w2 = scale(w2, alpha, n);
    }
    Value x = n.input(0);
    Variable out = n.output(0);
    String name = n.name();
    String wName = n.input(1).name();
    String bName = n.input(2) == null ? null : n.input(2).name();
    g.removeNode(n);
    List<Value> in = new ArrayList<>();
    in.add(x);
    in.add(w2 == w && n.input(1) instanceof Constant c ? c
        : g.addConstant(g.uniqueValueName(wName + "_gemm"), w2));
    if (b != null) {
      Tensor b2 = broadcastBias(b, outs, n);
      if (beta != 1f) {
        b2 = scale(b2, beta, n);
      }
      in.add(g.addConstant(g.uniqueValueName(bName + "_gemm"), b2));
    }
    g.addNodeProducing(Op.GEMM, name, in, List.of(out), Attrs.of("transB", 1L));
  }

  private static Tensor broadcastBias(Tensor b, long outs, Node n) {
    if (b.numel() == outs) {
      return b.reshape(outs);
    }
    if (b.numel() == 1) {
      if (b.type() != DataType.FLOAT) {
        throw new FcnException(n + ": bias of type " + b.type() + " is not supported, expected FLOAT");
      }
      float[] f = new float[(int) outs];
      java.util.Arrays.fill(f, b.floats()[0]);
      return Tensor.ofFloats(new long[] {outs}, f);
    }
    throw FcnException.of("%s has a bias of shape %s, expected [%d] or a scalar (a per-sample bias"
        + " cannot become a convolution bias)", n, b.shape(), outs);
  }

  private static Tensor scale(Tensor t, float s, Node n) {
    if (t.type() != DataType.FLOAT) {
      throw new FcnException(n + ": alpha/beta scaling of " + t.type() + " weights is not supported,"
          + " expected FLOAT");
    }
    float[] f = t.floats();
    for (int i = 0; i < f.length; i++) {
      f[i] *= s;
    }
    return Tensor.ofFloats(t.dims(), f);
  }

  /** A 2-D tensor transposed, element bytes moved as they are (no precision change). */
  static Tensor transpose(Tensor t) {
    long[] d = t.dims();
    int rows = (int) d[0];
    int cols = (int) d[1];
    int es = t.type().size();
    byte[] src = t.rawBytes();
    byte[] dst = new byte[src.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        System.arraycopy(src, (r * cols + c) * es, dst, (c * rows + r) * es, es);
      }
    }
    return new Tensor(t.type(), new long[] {cols, rows}, dst);
  }

  /** The data of an initializer or of a Constant node's output, else null. */
  static Tensor constantData(Value v) {
    if (v instanceof Constant c) {
      return c.data();
    }
    Node p = v == null ? null : v.producer();
    return p != null && p.op() == Op.CONSTANT ? p.attrs().getTensor("value") : null;
  }
}
