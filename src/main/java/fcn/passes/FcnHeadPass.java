package fcn.passes;

import fcn.core.FcnException;
import fcn.ir.Attrs;
import fcn.ir.Constant;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns a fully-convolutional classifier (after {@code --fully-conv}, Caffe or ONNX alike)
 * into an FCN-32s, -16s or -8s segmentation net, as FCN's net.py and surgery.py do:
 *
 * <ul>
 *   <li>the final classifier convolution (fc8) is dropped and score_fr, a 1×1 convolution to
 *       N classes, reads what fed it; like FCN's score_fr (Caffe's default constant filler) it
 *       starts at zero. With {@code keepClassifier} the classifier itself is the score layer.
 *   <li>upsampling is ConvTranspose with FCN's surgery.upsample_filt bilinear kernel on each
 *       class's own channel (weights N×N×k×k, zeros off the diagonal, no bias): upscore
 *       (k64 s32) for 32s; upscore2 (k4 s2) + score_pool4 + upscore16 (k32 s16) for 16s;
 *       upscore2, score_pool4, upscore_pool4 (k4 s2), score_pool3, upscore8 (k16 s8) for 8s.
 *   <li>the skip scores score_pool4/score_pool3 are zero-initialised 1×1 convolutions, so an
 *       untrained 16s/8s head adds nothing to the coarse prediction.
 *   <li>crops follow Caffe's coord_map.py: every value's pixel grid is mapped to the input's
 *       (x_in = a·x + b per axis, composed through Conv, Pool and ConvTranspose) and a crop
 *       offset is (b_ref − b_from)/a, which must be a non-negative integer. For VGG16 with
 *       conv1_1's 100-pixel pad that gives FCN's published 19 (32s), 5 and 27 (16s), 5, 9
 *       and 31 (8s). Crops are Slice nodes whose ends come from Shape(reference), so the net
 *       works at any H/W.
 * </ul>
 *
 * The single graph output becomes {@code score}: N×classes×H×W, cropped to the input size.
 */
public final class FcnHeadPass {
  /** Channel- and grid-preserving ops walked through when looking for the classifier. */
  private static final Set<Op> TAIL = EnumSet.of(Op.SOFTMAX, Op.LOG_SOFTMAX, Op.IDENTITY,
      Op.DROPOUT, Op.SIGMOID);
  private static final Set<Op> SAME_GRID = EnumSet.of(Op.RELU, Op.DROPOUT, Op.IDENTITY,
      Op.LEAKY_RELU, Op.ELU, Op.SELU, Op.SIGMOID, Op.TANH, Op.HARD_SIGMOID, Op.HARD_SWISH, Op.PRELU,
      Op.CLIP, Op.BATCH_NORMALIZATION, Op.INSTANCE_NORMALIZATION, Op.LRN, Op.SOFTMAX,
      Op.LOG_SOFTMAX, Op.ABS, Op.NEG, Op.SQRT, Op.EXP, Op.LOG, Op.CAST, Op.ADD, Op.SUB, Op.MUL,
      Op.DIV, Op.MAX, Op.MIN, Op.SUM, Op.MEAN, Op.CONCAT);

  /** What the pass did: crop offsets by crop name ([H, W]) and the skip sources used. */
  public record Result(Map<String, long[]> cropOffsets, String pool4, String pool3,
      String classifier) {}

  private final Graph g;
  private final HeadOptions o;
  private final Map<Value, double[]> maps = new HashMap<>();
  private final Map<String, long[]> offsets = new LinkedHashMap<>();
  private Variable data;

  private FcnHeadPass(Graph g, HeadOptions o) {
    this.g = g;
    this.o = o;
  }

  /**
   * Adds the FCN head.
   *
   * @throws FcnException when the net is not fully convolutional, lacks pool3/pool4 for the
   *     chosen head, or has geometry that cannot be cropped (scale mismatch, negative or
   *     fractional offset)
   */
  public static Result apply(Graph g, HeadOptions options) {
    return new FcnHeadPass(g, options).run();
  }

  private Result run() {
    data = imageInput();
    Node classifier = findClassifier();
    int classes = o.classes();
    Value fc8w = classifier.input(1);
    long clsOut = fc8w.shape().dim(0).value();
    if (o.keepClassifier() && classes != 0 && classes != clsOut) {
      throw FcnException.of("--keep-classifier: classifier %s has %d outputs but --classes is %d;"
          + " drop --classes or --keep-classifier", classifier, clsOut, classes);
    }
    if (o.keepClassifier()) {
      classes = (int) clsOut;
    }
    Value pool4 = null;
    Value pool3 = null;
    if (o.head() != HeadOptions.Head.FCN32S) {
      pool4 = findPool(o.pool4(), "pool4", 4);
    }
    if (o.head() == HeadOptions.Head.FCN8S) {
      pool3 = findPool(o.pool3(), "pool3", 3);
    }

    // Decapitate: keep what feeds the classifier (and the classifier itself if asked).
    Value feature = o.keepClassifier() ? classifier.output(0) : classifier.input(0);
    String clsName = classifier.name();
    g.setOutputs(List.of(feature));
    g.removeUnused();
    if (g.hasValue("score")) {
      throw new FcnException("the graph already has a value named 'score' before the classifier;"
          + " the FCN head's output must be named 'score'");
    }
    computeMaps();

    Value score;
    if (o.keepClassifier()) {
      score = feature;
    } else {
      score = conv1x1(feature, classes, "score_fr");
    }
    Value top;
    switch (o.head()) {
      case FCN32S -> top = upsample(score, classes, 64, 32, "upscore");
      case FCN16S -> {
        Value up2 = upsample(score, classes, 4, 2, "upscore2");
        Value fuse = skip(pool4, up2, classes, "score_pool4", "fuse_pool4");
        top = upsample(fuse, classes, 32, 16, "upscore16");
      }
      default -> {
        Value up2 = upsample(score, classes, 4, 2, "upscore2");
        Value fuse4 = skip(pool4, up2, classes, "score_pool4", "fuse_pool4");
        Value up4 = upsample(fuse4, classes, 4, 2, "upscore_pool4");
        Value fuse3 = skip(pool3, up4, classes, "score_pool3", "fuse_pool3");
        top = upsample(fuse3, classes, 16, 8, "upscore8");
      }
    }
    Value out = crop(top, data, "score");
    if (!out.name().equals("score")) {
      throw new IllegalStateException("output named " + out.name());
    }
    g.setOutputs(List.of(out));
    g.removeUnused();
    g.metadata().put("fcn.head", o.head().toString());
    return new Result(offsets, pool4 == null ? null : pool4.name(),
        pool3 == null ? null : pool3.name(), clsName);
  }

  // ---- Finding things ----------------------------------------------------------------------

  private Variable imageInput() {
    Variable found = null;
    for (Variable v : g.inputs()) {
      if (v.shape() != null && v.shape().rank() == 4 && !v.consumers().isEmpty()) {
        if (found != null) {
          throw new FcnException("--head: the graph has several 4-D inputs ('" + found.name()
              + "', '" + v.name() + "'), expected one image input");
        }
        found = v;
      }
    }
    if (found == null) {
      throw new FcnException("--head: the graph has no 4-D (N×C×H×W) image input");
    }
    return found;
  }

  private Node findClassifier() {
    if (g.outputs().isEmpty()) {
      throw new FcnException("--head: the graph has no outputs");
    }
    Value out = g.outputs().get(0);
    Node p = out.producer();
    while (p != null && TAIL.contains(p.op())) {
      p = p.input(0).producer();
    }
    if (p == null || p.op() != Op.CONV) {
      throw new FcnException("--head needs a fully convolutional classifier: output '" + out.name()
          + "' comes from " + (p == null ? "no node" : p.toString()) + ", expected a Conv"
          + " (e.g. fc8); convert dense layers first with --fully-conv");
    }
    if (!(p.input(1) instanceof Constant) || p.input(1).shape().rank() != 4) {
      throw new FcnException("--head: classifier " + p + " has no constant 4-D weights");
    }
    return p;
  }

  private Value findPool(String given, String role, int ordinal) {
    if (given != null) {
      Value v = g.value(given);
      if (v == null) {
        throw new FcnException("--" + role + " '" + given + "' is not a value of the graph");
      }
      return v;
    }
    Value named = g.value(role);
    if (named != null) {
      return named;
    }
    List<Node> pools = new ArrayList<>();
    for (Node n : g.topologicalOrder()) {
      if (n.op() == Op.MAX_POOL && stride(n) > 1) {
        pools.add(n);
      }
    }
    if (pools.size() < Math.max(ordinal, 4)) {
      throw FcnException.of("--head %s needs %s: the graph has no value named '%s' and %d strided"
          + " MaxPool node(s) (expected at least 4, as in VGG16); name it with --%s NAME",
          o.head(), role, role, pools.size(), role);
    }
    return pools.get(ordinal - 1).output(0);
  }

  private static long stride(Node n) {
    long[] s = n.attrs().getInts("strides");
    return s == null ? 1 : s[0];
  }

  // ---- Geometry (Caffe's coord_map.py) -----------------------------------------------------

  /** x_data = a·x + b for H and W: {aH, bH, aW, bW}, for every value reachable from data. */
  private void computeMaps() {
    maps.put(data, new double[] {1, 0, 1, 0});
    for (Node n : g.topologicalOrder()) {
      double[] m = n.inputs().isEmpty() || n.input(0) == null ? null : maps.get(n.input(0));
      if (m == null) {
        continue;
      }
      double[] r = map(n, m);
      if (r != null) {
        for (Variable out : n.outputs()) {
          maps.put(out, r);
        }
      }
    }
  }

  private static double[] map(Node n, double[] m) {
    Attrs a = n.attrs();
    switch (n.op()) {
      case CONV, MAX_POOL, AVERAGE_POOL, CONV_TRANSPOSE -> {
        String autoPad = a.getString("auto_pad", "NOTSET");
        if (!autoPad.equals("NOTSET") && !autoPad.equals("VALID")) {
          return null;
        }
        long[] k = a.getInts("kernel_shape");
        if (k == null && n.input(1) != null && n.input(1).shape() != null) {
          k = new long[] {n.input(1).shape().dim(2).value(), n.input(1).shape().dim(3).value()};
        }
        if (k == null || k.length != 2) {
          return null;
        }
        long[] s = orDefault(a.getInts("strides"), 1);
        long[] d = orDefault(a.getInts("dilations"), 1);
        long[] p = a.getInts("pads");
        if (p == null) {
          p = new long[4];
        }
        double[] r = new double[4];
        for (int ax = 0; ax < 2; ax++) {
          double ks = (k[ax] - 1) * d[ax] + 1;
          double aa = m[2 * ax];
          double bb = m[2 * ax + 1];
          if (n.op() == Op.CONV_TRANSPOSE) {
            r[2 * ax] = aa / s[ax];
            r[2 * ax + 1] = bb + aa * (p[ax] - (ks - 1) / 2) / s[ax];
          } else {
            r[2 * ax] = aa * s[ax];
            r[2 * ax + 1] = bb + aa * ((ks - 1) / 2 - p[ax]);
          }
        }
        return r;
      }
      default -> {
        return SAME_GRID.contains(n.op()) ? m : null;
      }
    }
  }

  private static long[] orDefault(long[] v, long dflt) {
    return v == null ? new long[] {dflt, dflt} : v;
  }

  /** Crops {@code from} to {@code ref}'s grid and size: a Slice with Shape-based ends. */
  private Value crop(Value from, Value ref, String name) {
    double[] mf = maps.get(from);
    double[] mr = maps.get(ref);
    if (mf == null || mr == null) {
      throw new FcnException("cannot crop '" + from.name() + "' to '" + ref.name() + "': "
          + (mf == null ? from.name() : ref.name()) + " is not connected to input '" + data.name()
          + "' through Conv/Pool/ConvTranspose layers (coord_map is undefined)");
    }
    long[] off = new long[2];
    for (int ax = 0; ax < 2; ax++) {
      double af = mf[2 * ax];
      double ar = mr[2 * ax];
      if (Math.abs(af - ar) > 1e-9 * Math.max(af, ar)) {
        throw FcnException.of("cannot crop '%s' to '%s': scale mismatch (%s vs %s input pixels"
            + " per pixel)", from.name(), ref.name(), fmt(af), fmt(ar));
      }
      double b = (mr[2 * ax + 1] - mf[2 * ax + 1]) / af;
      if (b < -1e-9 || Math.abs(b - Math.rint(b)) > 1e-9) {
        throw FcnException.of("cannot crop '%s' to '%s': offset %s is %s", from.name(), ref.name(),
            fmt(b), b < 0 ? "negative (the reference extends past it)" : "not an integer");
      }
      off[ax] = Math.round(b);
    }
    offsets.put(name, off);
    String base = name;
    Variable shape = g.add(Op.SHAPE, base + "_ref_shape", List.of(ref), g.uniqueValueName(base + "_ref_shape"), null);
    Variable hw = g.add(Op.SLICE, base + "_ref_hw", List.of(shape, ints(base + "_hw_start", 2),
        ints(base + "_hw_end", 4), ints(base + "_hw_axis", 0)), g.uniqueValueName(base + "_ref_hw"), null);
    Variable ends = g.add(Op.ADD, base + "_ends", List.of(hw, ints(base + "_offset", off[0], off[1])),
        g.uniqueValueName(base + "_ends"), null);
    Variable out = g.add(Op.SLICE, name, List.of(from, ints(base + "_starts", off[0], off[1]), ends,
        ints(base + "_axes", 2, 3)), name, null);
    maps.put(out, new double[] {mf[0], mr[1], mf[2], mr[3]});
    return out;
  }

  private static String fmt(double d) {
    return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
  }

  // ---- Building ----------------------------------------------------------------------------

  private Constant ints(String name, long... v) {
    return g.addConstant(g.uniqueValueName(name), Tensor.vector(v));
  }

  /** A zero-initialised 1×1 convolution (score_fr, score_poolN), with bias. */
  private Value conv1x1(Value in, int classes, String name) {
    long c = channels(in);
    Constant w = g.addConstant(g.uniqueValueName(name + "_W"),
        Tensor.ofFloats(new long[] {classes, c, 1, 1}, new float[Math.toIntExact(classes * c)]));
    Constant b = g.addConstant(g.uniqueValueName(name + "_b"),
        Tensor.ofFloats(new long[] {classes}, new float[classes]));
    Variable out = g.add(Op.CONV, name, List.of(in, w, b), name,
        Attrs.of("kernel_shape", new long[] {1, 1}));
    double[] m = maps.get(in);
    if (m != null) {
      maps.put(out, m);
    }
    return out;
  }

  /** Skip branch: a zero score on {@code pool}, cropped to {@code up}, added to it. */
  private Value skip(Value pool, Value up, int classes, String scoreName, String fuseName) {
    Value s = conv1x1(pool, classes, scoreName);
    Value c = crop(s, up, scoreName + "c");
    Variable fuse = g.add(Op.ADD, fuseName, List.of(up, c), fuseName, null);
    maps.put(fuse, maps.get(up));
    return fuse;
  }

  /** FCN's fixed bilinear upsampling: ConvTranspose, no bias. */
  private Value upsample(Value in, int classes, int k, int s, String name) {
    Constant w = g.addConstant(g.uniqueValueName(name + "_W"), bilinearWeights(classes, k));
    Variable out = g.add(Op.CONV_TRANSPOSE, name, List.of(in, w), name,
        Attrs.of("kernel_shape", new long[] {k, k}, "strides", new long[] {s, s}));
    Node n = out.producer();
    double[] m = maps.get(in);
    if (m != null) {
      maps.put(out, map(n, m));
    }
    return out;
  }

  /**
   * FCN's surgery.upsample_filt(size): (1 - |i - c|/f)(1 - |j - c|/f) with f = ceil(size/2)
   * and c = f - 1 (odd size) or f - 0.5 (even), computed in double like numpy, stored as float.
   */
  public static float[] upsampleFilt(int size) {
    int factor = (size + 1) / 2;
    double center = size % 2 == 1 ? factor - 1 : factor - 0.5;
    float[] f = new float[size * size];
    for (int i = 0; i < size; i++) {
      for (int j = 0; j < size; j++) {
        f[i * size + j] = (float) ((1 - Math.abs(i - center) / factor)
            * (1 - Math.abs(j - center) / factor));
      }
    }
    return f;
  }

  /** surgery.interp: weights N×N×k×k, upsample_filt on [i, i], zeros elsewhere. */
  public static Tensor bilinearWeights(int classes, int k) {
    float[] filt = upsampleFilt(k);
    float[] w = new float[Math.toIntExact((long) classes * classes * k * k)];
    for (int i = 0; i < classes; i++) {
      System.arraycopy(filt, 0, w, ((i * classes) + i) * k * k, k * k);
    }
    return Tensor.ofFloats(new long[] {classes, classes, k, k}, w);
  }

  /** Output channels of a value, from the weights of the convolution that made it. */
  private static long channels(Value v) {
    Value cur = v;
    while (true) {
      Node p = cur.producer();
      if (p == null) {
        if (cur.shape() != null && cur.shape().rank() == 4 && cur.shape().dim(1).isStatic()) {
          return cur.shape().dim(1).value();
        }
        break;
      }
      if (p.op() == Op.CONV && p.input(1).shape() != null) {
        return p.input(1).shape().dim(0).value();
      }
      if (p.op() == Op.CONV_TRANSPOSE && p.input(1).shape() != null) {
        return p.input(1).shape().dim(1).value() * p.attrs().getInt("group", 1);
      }
      if (p.op() == Op.CONCAT) {
        break;
      }
      cur = p.input(0);
    }
    throw new FcnException("cannot tell the channel count of '" + v.name() + "': it is not made by"
        + " a convolution through channel-preserving layers");
  }
}
