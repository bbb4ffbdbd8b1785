package fcn.frontend.caffe;

import fcn.ir.Attrs;
import fcn.ir.Constant;
import fcn.ir.DataType;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.proto.CaffeProto.EltwiseParameter;
import fcn.proto.CaffeProto.FillerParameter;
import fcn.proto.CaffeProto.LayerParameter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Layers that keep their bottom's shape: activations, Dropout (identity in TEST), Power,
 * Exp, Log, PReLU, Eltwise, and the per-slice affine Scale and Bias. Registrations and
 * converters. Stateless.
 */
final class ElementwiseLayers {
  private ElementwiseLayers() {}

  static final List<LayerConverter> ALL = List.of(
      unary("ReLU", (cx, x, s) -> {
        float slope = cx.layer().getReluParam().getNegativeSlope();
        return slope == 0 ? cx.op(Op.RELU, cx.layer().getName(), List.of(x), cx.out(0), null, s)
            : cx.op(Op.LEAKY_RELU, cx.layer().getName(), List.of(x), cx.out(0),
                Attrs.of("alpha", slope), s);
      }),
      // TEST phase: identity; in place it is only an alias of its bottom.
      unary("Dropout", (cx, x, s) -> cx.op(Op.IDENTITY, cx.layer().getName(), List.of(x),
          cx.out(0), null, s)).aliasing(l -> l.getTop(0).equals(l.getBottom(0))),
      simple("Sigmoid", Op.SIGMOID),
      simple("TanH", Op.TANH),
      simple("AbsVal", Op.ABS),
      unary("ELU", (cx, x, s) -> cx.op(Op.ELU, cx.layer().getName(), List.of(x), cx.out(0),
          Attrs.of("alpha", cx.layer().getEluParam().getAlpha()), s)),
      unary("Clip", (cx, x, s) -> cx.op(Op.CLIP, cx.layer().getName(), List.of(x,
          cx.scalar("min", cx.layer().getClipParam().getMin()),
          cx.scalar("max", cx.layer().getClipParam().getMax())), cx.out(0), null, s)),
      unary("Threshold", (cx, x, s) -> {
        Variable gt = cx.aux(Op.GREATER, "greater", List.of(x,
            cx.scalar("threshold", cx.layer().getThresholdParam().getThreshold())), null, s);
        gt.setType(DataType.BOOL);
        return cx.op(Op.CAST, cx.layer().getName(), List.of(gt), cx.out(0),
            Attrs.of("to", DataType.FLOAT.onnxCode()), s);
      }),
      unary("Swish", (cx, x, s) -> {
        float beta = cx.layer().getSwishParam().getBeta();
        Value arg = beta == 1 ? x
            : cx.aux(Op.MUL, "beta_x", List.of(x, cx.scalar("beta", beta)), null, s);
        Variable sig = cx.aux(Op.SIGMOID, "sigmoid", List.of(arg), null, s);
        return cx.op(Op.MUL, cx.layer().getName(), List.of(x, sig), cx.out(0), null, s);
      }),
      LayerConverter.of(ElementwiseLayers::power, "Power"),
      LayerConverter.of(cx -> expLog(cx, true), "Exp"),
      LayerConverter.of(cx -> expLog(cx, false), "Log"),
      LayerConverter.of(ElementwiseLayers::prelu, "PReLU").withBlobs(l -> 1),
      LayerConverter.of(ElementwiseLayers::eltwise, "Eltwise"),
      // A learned blob with one bottom; with two, bottom 1 is the factor (or offset).
      LayerConverter.of(cx -> scaleOrBias(cx, true), "Scale").withBlobs(l ->
          (l.getBottomCount() == 1 ? 1 : 0) + (l.getScaleParam().getBiasTerm() ? 1 : 0)),
      LayerConverter.of(cx -> scaleOrBias(cx, false), "Bias")
          .withBlobs(l -> l.getBottomCount() == 1 ? 1 : 0));

  /** Builds a one-bottom, one-top layer from its bottom and that bottom's shape. */
  @FunctionalInterface
  interface Unary {
    Variable build(LayerContext cx, Value x, long[] shape);
  }

  /** A one-bottom, shape-preserving layer. */
  static LayerConverter unary(String type, Unary build) {
    return LayerConverter.of(cx -> {
      Value x = cx.soleBottom();
      return build.build(cx, x, cx.shape(x));
    }, type);
  }

  /** A one-bottom layer that is one ONNX operator without attributes. */
  private static LayerConverter simple(String type, Op op) {
    return unary(type, (cx, x, s) -> cx.op(op, cx.layer().getName(), List.of(x), cx.out(0), null,
        s));
  }

  private static Variable eltwise(LayerContext cx) {
    LayerParameter layer = cx.layer();
    String out = cx.out(0);
    cx.requireBottoms(2, Integer.MAX_VALUE);
    cx.requireTops(1);
    EltwiseParameter p = layer.getEltwiseParam();
    List<Value> ins = new ArrayList<>();
    long[] s = cx.shape(cx.bottom(0));
    for (int i = 0; i < layer.getBottomCount(); i++) {
      Value b = cx.bottom(i);
      if (!Arrays.equals(cx.shape(b), s)) {
        throw cx.fail("bottom '%s' is %s, expected %s like bottom '%s'", layer.getBottom(i),
            Shape.format(cx.shape(b)), Shape.format(s), layer.getBottom(0));
      }
      ins.add(b);
    }
    String name = layer.getName();
    switch (p.getOperation()) {
      case PROD -> {
        if (p.getCoeffCount() > 0) {
          throw cx.fail("coeff is only for SUM");
        }
        Value acc = ins.get(0);
        for (int i = 1; i < ins.size(); i++) {
          boolean last = i == ins.size() - 1;
          acc = last ? cx.op(Op.MUL, name, List.of(acc, ins.get(i)), out, null, s)
              : cx.aux(Op.MUL, "prod" + i, List.of(acc, ins.get(i)), null, s);
        }
        return (Variable) acc;
      }
      case MAX -> {
        if (p.getCoeffCount() > 0) {
          throw cx.fail("coeff is only for SUM");
        }
        return cx.op(Op.MAX, name, ins, out, null, s);
      }
      default -> {
        if (p.getCoeffCount() > 0 && p.getCoeffCount() != ins.size()) {
          throw cx.fail("%d coeffs for %d bottoms, expected one per bottom", p.getCoeffCount(),
              ins.size());
        }
        List<Value> terms = new ArrayList<>();
        for (int i = 0; i < ins.size(); i++) {
          float c = p.getCoeffCount() > 0 ? p.getCoeff(i) : 1f;
          terms.add(c == 1f ? ins.get(i)
              : cx.aux(Op.MUL, "coeff" + i, List.of(ins.get(i), cx.scalar("coeff" + i, c)), null,
                  s));
        }
        return terms.size() == 2 ? cx.op(Op.ADD, name, terms, out, null, s)
            : cx.op(Op.SUM, name, terms, out, null, s);
      }
    }
  }

  /**
   * Scale and Bias: a per-slice factor/offset over axes [axis, axis + num_axes) of bottom 0,
   * from a learned blob or from bottom 1; broadcast by giving it trailing 1-axes.
   */
  private static Variable scaleOrBias(LayerContext cx, boolean isScale) {
    LayerParameter layer = cx.layer();
    String out = cx.out(0);
    cx.requireBottoms(1, 2);
    cx.requireTops(1);
    Value x = cx.bottom(0);
    long[] in = cx.shape(x);
    int axisParam = isScale ? layer.getScaleParam().getAxis() : layer.getBiasParam().getAxis();
    int numAxes = isScale ? layer.getScaleParam().getNumAxes() : layer.getBiasParam().getNumAxes();
    boolean twoBottoms = layer.getBottomCount() == 2;
    long[] ps;
    int axis;
    if (twoBottoms) {
      ps = cx.shape(cx.bottom(1));
      // Caffe: a scalar second bottom may use axis 0 even when it would be out of range.
      axis = ps.length == 0 ? 0 : cx.canonicalAxis(axisParam, in.length);
    } else {
      axis = cx.canonicalAxis(axisParam, in.length);
      int end = numAxes == -1 ? in.length : axis + numAxes;
      if (numAxes < -1 || end > in.length) {
        throw cx.fail("num_axes %d does not fit a %d-axis bottom from axis %d", numAxes, in.length,
            axis);
      }
      ps = Arrays.copyOfRange(in, axis, end);
    }
    if (axis + ps.length > in.length
        || !Arrays.equals(ps, Arrays.copyOfRange(in, axis, axis + ps.length))) {
      throw cx.fail("parameter shape %s does not match bottom %s from axis %d", Shape.format(ps),
          Shape.format(in), axis);
    }
    int trailing = in.length - axis - ps.length;
    long[] bshape = Arrays.copyOf(ps, ps.length + trailing);
    Arrays.fill(bshape, ps.length, bshape.length, 1);
    boolean bias = isScale && layer.getScaleParam().getBiasTerm();
    List<String> names = new ArrayList<>();
    List<long[]> expected = new ArrayList<>();
    List<FillerParameter> fillers = new ArrayList<>();
    if (!twoBottoms) {
      names.add(isScale ? "scale" : "bias");
      expected.add(ps);
      if (isScale) {
        var sp = layer.getScaleParam();
        fillers.add(Fillers.orDefault(sp.hasFiller(), sp.getFiller(), Fillers.constant(1)));
      } else {
        var bp = layer.getBiasParam();
        fillers.add(Fillers.orDefault(bp.hasFiller(), bp.getFiller(), Fillers.constant(0)));
      }
    }
    if (bias) {
      names.add("bias");
      expected.add(ps);
      var sp = layer.getScaleParam();
      fillers.add(Fillers.orDefault(sp.hasBiasFiller(), sp.getBiasFiller(), Fillers.constant(0)));
    }
    Tensor[] t = expected.isEmpty() ? new Tensor[0]
        : cx.params(names.toArray(new String[0]), expected.toArray(new long[0][]),
            fillers.toArray(new FillerParameter[0]));
    Value factor;
    if (twoBottoms) {
      factor = cx.bottom(1);
      if (trailing > 0) {
        long[] axes = new long[trailing];
        for (int i = 0; i < trailing; i++) {
          axes[i] = ps.length + i;
        }
        factor = cx.aux(Op.UNSQUEEZE, "unsqueeze", List.of(factor, cx.ints("axes", axes)), null,
            bshape);
      }
    } else {
      factor = cx.constant(isScale ? "scale" : "bias", t[0].reshape(bshape));
    }
    String name = layer.getName();
    if (!isScale) {
      return cx.op(Op.ADD, name, List.of(x, factor), out, null, in);
    }
    if (!bias) {
      return cx.op(Op.MUL, name, List.of(x, factor), out, null, in);
    }
    Variable scaled = cx.aux(Op.MUL, "scaled", List.of(x, factor), null, in);
    Constant b = cx.constant("bias", t[t.length - 1].reshape(bshape));
    return cx.op(Op.ADD, name, List.of(scaled, b), out, null, in);
  }

  /** (shift + scale * x) ^ power, skipping the trivial steps like Caffe's PowerLayer. */
  private static Variable power(LayerContext cx) {
    LayerParameter layer = cx.layer();
    String out = cx.out(0);
    Value x = cx.soleBottom();
    long[] s = cx.shape(x);
    var p = layer.getPowerParam();
    List<Object[]> steps = new ArrayList<>();
    if (p.getScale() != 1) {
      steps.add(new Object[] {Op.MUL, "scale", p.getScale()});
    }
    if (p.getShift() != 0) {
      steps.add(new Object[] {Op.ADD, "shift", p.getShift()});
    }
    if (p.getPower() != 1) {
      steps.add(new Object[] {Op.POW, "power", p.getPower()});
    }
    if (steps.isEmpty()) {
      return cx.op(Op.IDENTITY, layer.getName(), List.of(x), out, null, s);
    }
    Value acc = x;
    for (int i = 0; i < steps.size(); i++) {
      Op o = (Op) steps.get(i)[0];
      String what = (String) steps.get(i)[1];
      List<Value> ins = List.of(acc, cx.scalar(what, (Float) steps.get(i)[2]));
      acc = i == steps.size() - 1 ? cx.op(o, layer.getName(), ins, out, null, s)
          : cx.aux(o, what + "d", ins, null, s);
    }
    return (Variable) acc;
  }

  /** Exp: base^(shift + scale x); Log: log_base(shift + scale x); base -1 means e. */
  private static Variable expLog(LayerContext cx, boolean isExp) {
    LayerParameter layer = cx.layer();
    String out = cx.out(0);
    Value x = cx.soleBottom();
    long[] s = cx.shape(x);
    float base = isExp ? layer.getExpParam().getBase() : layer.getLogParam().getBase();
    float scale = isExp ? layer.getExpParam().getScale() : layer.getLogParam().getScale();
    float shift = isExp ? layer.getExpParam().getShift() : layer.getLogParam().getShift();
    if (base != -1 && base <= 0) {
      throw cx.fail("base %s must be -1 (e) or > 0", base);
    }
    double lnBase = base == -1 ? 1 : Math.log(base);
    String name = layer.getName();
    if (isExp) {
      // Caffe: y = base^shift * exp(ln(base) * scale * x).
      float inner = (float) (lnBase * scale);
      float outer = shift == 0 ? 1 : (float) Math.pow(base == -1 ? Math.E : base, shift);
      Value arg = inner == 1 ? x
          : cx.aux(Op.MUL, "inner", List.of(x, cx.scalar("inner_scale", inner)),
          null, s);
      if (outer == 1) {
        return cx.op(Op.EXP, name, List.of(arg), out, null, s);
      }
      Variable e = cx.aux(Op.EXP, "exp", List.of(arg), null, s);
      return cx.op(Op.MUL, name, List.of(e, cx.scalar("outer_scale", outer)), out, null, s);
    }
    Value arg = x;
    if (scale != 1) {
      arg = cx.aux(Op.MUL, "scaled", List.of(arg, cx.scalar("scale", scale)), null, s);
    }
    if (shift != 0) {
      arg = cx.aux(Op.ADD, "shifted", List.of(arg, cx.scalar("shift", shift)), null, s);
    }
    if (base == -1) {
      return cx.op(Op.LOG, name, List.of(arg), out, null, s);
    }
    Variable ln = cx.aux(Op.LOG, "ln", List.of(arg), null, s);
    return cx.op(Op.MUL, name, List.of(ln, cx.scalar("inv_ln_base", (float) (1 / lnBase))), out,
        null,
        s);
  }

  private static Variable prelu(LayerContext cx) {
    LayerParameter layer = cx.layer();
    String out = cx.out(0);
    Value x = cx.soleBottom();
    long[] in = cx.shape(x);
    if (in.length < 2) {
      throw cx.fail("bottom is %s, expected N x C x ...", Shape.format(in));
    }
    var p = layer.getPreluParam();
    long c = p.getChannelShared() ? 1 : in[1];
    Tensor[] t = cx.params(new String[] {"slope"}, new long[][] {{c}},
        new FillerParameter[] {
            Fillers.orDefault(p.hasFiller(), p.getFiller(), Fillers.constant(0.25f))});
    long[] bs = new long[in.length - 1];
    Arrays.fill(bs, 1);
    bs[0] = c;
    return cx.op(Op.PRELU, layer.getName(), List.of(x, cx.constant("slope", t[0].reshape(bs))), out,
        null, in);
  }
}
