package fcn.frontend.caffe;

import fcn.ir.Attrs;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.proto.CaffeProto.FillerParameter;
import fcn.proto.CaffeProto.LRNParameter;
import fcn.proto.CaffeProto.LayerParameter;
import java.util.Arrays;
import java.util.List;

/** Normalisation layers: BatchNorm, LRN and Softmax. Registrations and converters. Stateless. */
final class NormLayers {
  private NormLayers() {}

  static final List<LayerConverter> ALL = List.of(
      // Caffe's BatchNorm always has its three blobs, even when it uses the batch's statistics.
      LayerConverter.of(NormLayers::batchNorm, "BatchNorm").withBlobs(l -> 3),
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
