package fcn.frontend.caffe;

import fcn.ir.Attrs;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.UpsampleParameter;
import java.util.List;

/**
 * Unpooling: caffe-segnet's {@code Upsample} (alexgkendall/caffe-segnet,
 * src/caffe/layers/upsample_layer.cpp), which puts each value of its first bottom back where
 * its second bottom, a MAX Pooling mask, says it came from. Stateless.
 *
 * <p>The fork's rules: the output is upsample_h x upsample_w when both are set, else
 * H * scale_h - pad_out_h by W * scale_w - pad_out_w (scale_h, scale_w default to scale, which
 * defaults to 2; each must be over 1, and pad_out only goes with a scale of 2). Forward: zeros,
 * then for each (n, c) plane and each bottom position i in raster order
 * top[n, c].flat[mask[n, c, i]] = bottom[n, c, i], so a later write wins on a repeated index
 * (overlapping pooling windows), and an index of H_out * W_out or more is fatal.
 *
 * <p>ONNX: the planes flattened to N x C x (H * W), ScatterElements on axis 2 into
 * ConstantOfShape zeros of N x C x (H_out * W_out), reshaped to N x C x H_out x W_out.
 * ScatterElements takes the fork's per-plane index as it is (MaxUnpool would need it offset
 * over the whole tensor, and would write an out-of-plane index into the next plane instead of
 * failing). ONNX Runtime's CPU kernel scatters in raster order, so the later write wins as in
 * the fork, and refuses an index past the plane at run time ("indices element out of data
 * bounds"); another runtime may resolve repeated indices in another order. With a scale the
 * sizes come from the bottom's Shape, so the graph stays right when H and W are symbolic; with
 * upsample_h/upsample_w the output fits one pooling input only, so the bottom is reshaped to
 * its import-time size, which keeps the graph's H and W static.
 */
final class ResizeLayers {
  private ResizeLayers() {}

  static final List<LayerConverter> ALL = List.of(
      LayerConverter.of(ResizeLayers::upsample, "Upsample"));

  /**
   * The layer's UpsampleParameter: from the prototxt's upsample_param, or, in a fork's binary
   * caffemodel, from field 137, which fcn's schema reads as BVLC's embed_param.
   */
  static UpsampleParameter param(LayerParameter l) {
    return CaffeForks.param(l.hasUpsampleParam(), l.getUpsampleParam(), l.hasEmbedParam(),
        l.getEmbedParam(), UpsampleParameter.parser());
  }

  private static Variable upsample(LayerContext cx) {
    LayerParameter layer = cx.layer();
    cx.requireBottoms(2, 2);
    cx.requireTops(1);
    Value x = cx.bottom(0);
    Value mask = cx.bottom(1);
    Node pool = ConvPoolLayers.maskPool(mask);
    if (pool == null) {
      throw cx.fail("bottom '%s' is not a pooling mask; expected the second top of a MAX"
          + " Pooling layer", layer.getBottom(1));
    }
    long[] in = cx.shape(x);
    long[] ms = cx.shape(mask);
    if (in.length != 4 || !java.util.Arrays.equals(in, ms)) {
      throw cx.fail("bottoms are %s and %s; expected two N x C x H x W blobs of one shape",
          Shape.format(in), Shape.format(ms));
    }
    UpsampleParameter p = param(layer);
    boolean fixed = p.hasUpsampleH() && p.hasUpsampleW();
    // UpsampleLayer::LayerSetUp's CHECK, in the fork's words.
    if (!fixed && !(!p.hasScale() && p.hasScaleH() && p.hasScaleW())
        && !(!p.hasScaleH() && !p.hasScaleW())) {
      throw cx.fail("upsample_h & upsample_w are required, else scale OR scale_h & scale_w");
    }
    long oh;
    long ow;
    long sh = 0;
    long sw = 0;
    long padH = 0;
    long padW = 0;
    if (fixed) {
      oh = Integer.toUnsignedLong(p.getUpsampleH());
      ow = Integer.toUnsignedLong(p.getUpsampleW());
      if (oh <= 1 || ow <= 1 || oh > LayerChecks.MAX || ow > LayerChecks.MAX) {
        throw cx.fail("upsample_h %d and upsample_w %d must be 2 to %d", oh, ow, LayerChecks.MAX);
      }
    } else {
      sh = Integer.toUnsignedLong(p.hasScaleH() ? p.getScaleH() : p.getScale());
      sw = Integer.toUnsignedLong(p.hasScaleW() ? p.getScaleW() : p.getScale());
      if (sh <= 1 || sw <= 1 || sh > LayerChecks.MAX || sw > LayerChecks.MAX) {
        throw cx.fail("scale %dx%d must be 2 to %d", sh, sw, LayerChecks.MAX);
      }
      if (p.getPadOutH() && sh != 2 || p.getPadOutW() && sw != 2) {
        throw cx.fail("pad_out_h/pad_out_w need a scale of 2 on that axis, got %dx%d", sh, sw);
      }
      padH = p.getPadOutH() ? 1 : 0;
      padW = p.getPadOutW() ? 1 : 0;
      oh = in[2] * sh - padH;
      ow = in[3] * sw - padW;
    }
    long reach = maxMaskIndex(pool, cx.shape(pool.input(0)), in);
    if (reach >= oh * ow) {
      long[] ps = cx.shape(pool.input(0));
      throw cx.fail("mask indices reach %d (pooling bottom %dx%d) but the output %dx%d has %d"
          + " positions per plane; expected upsample_h/upsample_w or scale to fit the pooling"
          + " layer's bottom", reach, ps[2], ps[3], oh, ow, oh * ow);
    }
    long[] flatIn = {in[0], in[1], in[2] * in[3]};
    long[] flatOut = {in[0], in[1], oh * ow};
    long[] os = {in[0], in[1], oh, ow};
    Value flatShape;
    Value zerosShape;
    Value outShape;
    if (fixed) {
      flatShape = cx.ints("flat_shape", flatIn);
      zerosShape = cx.ints("plane_shape", flatOut);
      outShape = cx.ints("shape", os);
    } else {
      flatShape = cx.ints("flat_shape", 0, 0, -1);
      Variable nc = cx.auxInt(Op.SHAPE, "nc", List.of(x), Attrs.of("start", 0L, "end", 2L),
          new long[] {2});
      Variable h = cx.auxInt(Op.SHAPE, "h", List.of(x), Attrs.of("start", 2L, "end", 3L),
          new long[] {1});
      Variable w = cx.auxInt(Op.SHAPE, "w", List.of(x), Attrs.of("start", 3L, "end", 4L),
          new long[] {1});
      Value hOut = outSize(cx, h, sh, padH, "h_out");
      Value wOut = outSize(cx, w, sw, padW, "w_out");
      Variable hw = cx.auxInt(Op.MUL, "plane", List.of(hOut, wOut), null, new long[] {1});
      zerosShape = cx.auxInt(Op.CONCAT, "plane_shape", List.of(nc, hw), Attrs.of("axis", 0L),
          new long[] {3});
      outShape = cx.auxInt(Op.CONCAT, "shape", List.of(nc, hOut, wOut), Attrs.of("axis", 0L),
          new long[] {4});
    }
    Variable data = cx.aux(Op.RESHAPE, "flat", List.of(x, flatShape), null, flatIn);
    Variable idxInt = cx.auxInt(Op.CAST, "index", List.of(mask),
        Attrs.of("to", (long) fcn.ir.DataType.INT64.onnxCode()), in);
    Variable idx = cx.auxInt(Op.RESHAPE, "flat_index", List.of(idxInt, flatShape), null, flatIn);
    Variable zeros = cx.aux(Op.CONSTANT_OF_SHAPE, "zeros", List.of(zerosShape), null, flatOut);
    Variable scattered = cx.aux(Op.SCATTER_ELEMENTS, "scatter", List.of(zeros, idx, data),
        Attrs.of("axis", 2L), flatOut);
    return cx.op(Op.RESHAPE, layer.getName(), List.of(scattered, outShape), cx.out(0), null, os);
  }

  private static Value outSize(LayerContext cx, Value in, long scale, long pad, String what) {
    Variable scaled = cx.auxInt(Op.MUL, what + "_scaled", List.of(in, cx.ints("scale", scale)),
        null, new long[] {1});
    return pad == 0 ? scaled
        : cx.auxInt(Op.SUB, what, List.of(scaled, cx.ints("pad_out", pad)), null, new long[] {1});
  }

  /**
   * The largest index a mask of {@code pool} can hold at the import size: the last row and
   * column its last window reaches, clipped to the pooling bottom. An Upsample whose output is
   * smaller would make the fork abort on some input, so it is refused at conversion.
   */
  private static long maxMaskIndex(Node pool, long[] bottom, long[] pooled) {
    long[] k = pool.attrs().getInts("kernel_shape");
    long[] s = pool.attrs().getInts("strides");
    long[] pads = pool.attrs().getInts("pads");
    long row = Math.min(bottom[2] - 1, (pooled[2] - 1) * s[0] - pads[0] + k[0] - 1);
    long col = Math.min(bottom[3] - 1, (pooled[3] - 1) * s[1] - pads[1] + k[1] - 1);
    return row * bottom[3] + col;
  }
}
