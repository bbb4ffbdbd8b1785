package fcn.frontend.caffe;

import fcn.ir.Attrs;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.proto.CaffeProto.BNParameter;
import fcn.proto.CaffeProto.FillerParameter;
import fcn.proto.CaffeProto.LRNParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.PSPNetBNParameter;
import java.util.Arrays;
import java.util.List;

/**
 * Normalisation layers: BatchNorm, the forks' BN (caffe-segnet and PSPNet), LRN and Softmax.
 * Registrations and converters. Stateless.
 */
final class NormLayers {
  private NormLayers() {}

  static final List<LayerConverter> ALL = List.of(
      // Caffe's BatchNorm always has its three blobs, even when it uses the batch's statistics.
      LayerConverter.of(NormLayers::batchNorm, "BatchNorm").withBlobs(l -> 3),
      // Two forks name their layer BN: PSPNet's has 4 blobs, caffe-segnet's 2 (see bn below).
      LayerConverter.of(NormLayers::bn, "BN").withBlobs(l -> l.hasPspBnParam() ? 4 : 2),
      LayerConverter.of(NormLayers::lrn, "LRN"),
      ElementwiseLayers.unary("Softmax", (cx, x, s) -> cx.op(Op.SOFTMAX, cx.layer().getName(),
          List.of(x), cx.out(0),
          Attrs.of("axis", cx.canonicalAxis(cx.layer().getSoftmaxParam().getAxis(), s.length)),
          s)));

  /**
   * Caffe BatchNorm (no affine): y = (x - mean/f) / sqrt(var/f + eps), where f is the third
   * blob (a moving-average normaliser; 0 means the statistics are zero). Without
   * use_global_stats (explicitly false in TEST), Caffe normalises with the batch's own mean
   * and variance over N and the spatial axes.
   */
  private static Variable batchNorm(LayerContext cx) {
    LayerParameter layer = cx.layer();
    String out = cx.out(0);
    Value x = cx.soleBottom();
    long[] in = cx.shape(x);
    if (in.length < 2) {
      throw cx.fail("bottom is %s, expected N x C x ...", Shape.format(in));
    }
    long c = in[1];
    var p = layer.getBatchNormParam();
    float eps = p.getEps();
    boolean global = !p.hasUseGlobalStats() || p.getUseGlobalStats(); // TEST-phase default
    String name = layer.getName();
    if (!global) {
      long[] axes = new long[in.length - 1];
      axes[0] = 0;
      for (int i = 2; i < in.length; i++) {
        axes[i - 1] = i;
      }
      long[] rs = new long[in.length];
      Arrays.fill(rs, 1);
      rs[1] = c;
      Attrs r = Attrs.of("axes", axes, "keepdims", 1L);
      Variable mean = cx.aux(Op.REDUCE_MEAN, "batch_mean", List.of(x), r, rs);
      Variable centered = cx.aux(Op.SUB, "centered", List.of(x, mean), null, in);
      Variable sq = cx.aux(Op.MUL, "squared", List.of(centered, centered), null, in);
      Variable var = cx.aux(Op.REDUCE_MEAN, "batch_var", List.of(sq), r.copy(), rs);
      Variable ve = cx.aux(Op.ADD, "var_eps", List.of(var, cx.scalar("eps", eps)), null, rs);
      Variable sd = cx.aux(Op.SQRT, "std", List.of(ve), null, rs);
      return cx.op(Op.DIV, name, List.of(centered, sd), out, null, in);
    }
    Tensor[] t = cx.params(new String[] {"mean", "variance", "scale factor"},
        new long[][] {{c}, {c}, {1}},
        new FillerParameter[] {Fillers.gaussian(0.1f), Fillers.uniform(0.5f, 1.5f),
            Fillers.constant(1)});
    float f = t[2].floats()[0];
    float inv = f == 0 ? 0 : 1 / f;
    float[] mean = t[0].floats();
    float[] var = t[1].floats();
    for (int i = 0; i < c; i++) {
      mean[i] *= inv;
      var[i] *= inv;
    }
    float[] ones = new float[(int) c];
    Arrays.fill(ones, 1f);
    long[] cs = {c};
    return cx.op(Op.BATCH_NORMALIZATION, name, List.of(x,
        cx.constant("gamma", Tensor.ofFloats(cs, ones)),
        cx.constant("beta", Tensor.ofFloats(cs, new float[(int) c])),
        cx.constant("mean", Tensor.ofFloats(cs, mean)),
        cx.constant("var", Tensor.ofFloats(cs, var))),
        out, Attrs.of("epsilon", eps), in);
  }

  /** Whether {@code l} is a caffe-segnet BN in LEARN mode, whose output depends on the batch. */
  static boolean usesBatchStatistics(LayerParameter l) {
    return l.getType().equals("BN") && !l.hasPspBnParam()
        && l.getBnParam().getBnMode() == BNParameter.BNMode.LEARN;
  }

  /**
   * The forks' BN, told apart by their parameters (PrototxtReader renames PSPNet's text
   * {@code bn_param} to {@code psp_bn_param}; binary layers carry 45 or 152):
   * <ul>
   *   <li>hszhao/PSPNet bn_layer.cpp, TEST phase or frozen: blobs slope, bias, mean, variance
   *       (each 1 x C x 1 x 1), y = slope * (x - mean) / sqrt(var + eps) + bias, eps default
   *       1e-5: ONNX BatchNormalization.
   *   <li>caffe-segnet bn_layer.cpp: blobs scale and shift (1 x C x 1 x 1). INFERENCE:
   *       y = scale * x + shift (the published weights have the statistics folded in). LEARN,
   *       the default, normalises with the mean and variance of the bottom itself over N, H, W
   *       even at test time (eps 1e-9): y = scale * (x - mean) / sqrt(var + 1e-9) + shift.
   * </ul>
   */
  private static Variable bn(LayerContext cx) {
    LayerParameter layer = cx.layer();
    String out = cx.out(0);
    Value x = cx.soleBottom();
    long[] in = cx.shape(x);
    if (in.length != 4) {
      throw cx.fail("bottom is %s, expected N x C x H x W", Shape.format(in));
    }
    long c = in[1];
    long[] bs = {1, c, 1, 1};
    String name = layer.getName();
    if (layer.hasPspBnParam()) {
      PSPNetBNParameter p = layer.getPspBnParam();
      Tensor[] t = cx.params(new String[] {"slope", "bias", "mean", "variance"},
          new long[][] {bs, bs, bs, bs},
          new FillerParameter[] {
              Fillers.orDefault(p.hasSlopeFiller(), p.getSlopeFiller(), Fillers.constant(1)),
              Fillers.orDefault(p.hasBiasFiller(), p.getBiasFiller(), Fillers.constant(0)),
              Fillers.gaussian(0.1f), Fillers.uniform(0.5f, 1.5f)});
      long[] cs = {c};
      return cx.op(Op.BATCH_NORMALIZATION, name, List.of(x,
          cx.constant("slope", t[0].reshape(cs)), cx.constant("bias", t[1].reshape(cs)),
          cx.constant("mean", t[2].reshape(cs)), cx.constant("var", t[3].reshape(cs))),
          out, Attrs.of("epsilon", p.getEps()), in);
    }
    BNParameter p = layer.getBnParam();
    Tensor[] t = cx.params(new String[] {"scale", "shift"}, new long[][] {bs, bs},
        new FillerParameter[] {
            Fillers.orDefault(p.hasScaleFiller(), p.getScaleFiller(), Fillers.constant(1)),
            Fillers.orDefault(p.hasShiftFiller(), p.getShiftFiller(), Fillers.constant(0))});
    Value v = x;
    if (p.getBnMode() == BNParameter.BNMode.LEARN) {
      Attrs r = Attrs.of("axes", new long[] {0, 2, 3}, "keepdims", 1L);
      Variable mean = cx.aux(Op.REDUCE_MEAN, "batch_mean", List.of(x), r, bs);
      Variable centered = cx.aux(Op.SUB, "centered", List.of(x, mean), null, in);
      Variable sq = cx.aux(Op.MUL, "squared", List.of(centered, centered), null, in);
      Variable var = cx.aux(Op.REDUCE_MEAN, "batch_var", List.of(sq), r.copy(), bs);
      Variable ve = cx.aux(Op.ADD, "var_eps", List.of(var, cx.scalar("eps", 1e-9f)), null, bs);
      Variable sd = cx.aux(Op.SQRT, "std", List.of(ve), null, bs);
      v = cx.aux(Op.DIV, "normalised", List.of(centered, sd), null, in);
    }
    Variable scaled = cx.aux(Op.MUL, "scaled", List.of(v, cx.constant("scale", t[0])), null, in);
    return cx.op(Op.ADD, name, List.of(scaled, cx.constant("shift", t[1])), out, null, in);
  }

  /**
   * ACROSS_CHANNELS is ONNX LRN (same formula; Caffe requires an odd size, where the windows
   * agree). WITHIN_CHANNEL is Caffe's own composition: x * (1 + alpha * avgpool(x^2))^-beta,
   * the average over a size x size window with zero padding counted (k is not used).
   */
  private static Variable lrn(LayerContext cx) {
    LayerParameter layer = cx.layer();
    String out = cx.out(0);
    Value x = cx.soleBottom();
    long[] in = cx.shape(x);
    if (in.length != 4) {
      throw cx.fail("bottom is %s, expected 4 axes", Shape.format(in));
    }
    LRNParameter p = layer.getLrnParam();
    long size = p.getLocalSize();
    if (size % 2 != 1) {
      throw cx.fail("local_size %d must be odd", size);
    }
    if (p.getNormRegion() == LRNParameter.NormRegion.ACROSS_CHANNELS) {
      return cx.op(Op.LRN, layer.getName(), List.of(x), out, Attrs.of("size", size, "alpha",
          p.getAlpha(), "beta", p.getBeta(), "bias", p.getK()), in);
    }
    long pad = (size - 1) / 2;
    Variable sq = cx.aux(Op.MUL, "square", List.of(x, x), null, in);
    Variable avg = cx.aux(Op.AVERAGE_POOL, "window_mean", List.of(sq), Attrs.of(
        "kernel_shape", new long[] {size, size}, "strides", new long[] {1, 1},
        "pads", new long[] {pad, pad, pad, pad}, "count_include_pad", 1L), in);
    Variable scaled = cx.aux(Op.MUL, "scaled", List.of(avg, cx.scalar("alpha", p.getAlpha())),
        null, in);
    Variable shifted = cx.aux(Op.ADD, "shifted", List.of(scaled, cx.scalar("one", 1f)), null, in);
    Variable pw = cx.aux(Op.POW, "power", List.of(shifted, cx.scalar("neg_beta", -p.getBeta())),
        null,
        in);
    return cx.op(Op.MUL, layer.getName(), List.of(x, pw), out, null, in);
  }
}
