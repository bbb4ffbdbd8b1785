package fcn.frontend.caffe;

import fcn.ir.Attrs;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.proto.CaffeProto.InterpParameter;
import fcn.proto.CaffeProto.LayerParameter;
import java.util.Arrays;
import java.util.List;

/**
 * Interp (DeepLab v2 / PSPNet, {@code interp_layer.cpp} of deeplab-public-ver2 and
 * hszhao/PSPNet): align-corners bilinear resizing after an optional crop. Registration and
 * converter. Stateless.
 */
final class InterpLayers {
  private InterpLayers() {}

  static final List<LayerConverter> ALL = List.of(
      LayerConverter.of(InterpLayers::interp, "Interp").refusing(InterpLayers::refuse));

  /**
   * The layer's InterpParameter. Text prototxts carry it in {@code interp_param} (see
   * caffe.proto); a binary layer from the forks has it at field 143, which BVLC's schema reads
   * as {@code input_param}: the InterpParameter's varint fields then sit in that message's
   * unknown fields, whose bytes are the fork's message unchanged.
   */
  static InterpParameter param(LayerParameter l) {
    return CaffeForks.param(l.hasInterpParam(), l.getInterpParam(), l.hasInputParam(),
        l.getInputParam(), InterpParameter.parser());
  }

  private static String refuse(LayerParameter l) {
    InterpParameter p = param(l);
    // The forks CHECK_LE(pad_beg, 0) and CHECK_LE(pad_end, 0): only cropping is implemented.
    if (p.getPadBeg() > 0 || p.getPadEnd() > 0) {
      return "Interp with pad_beg " + p.getPadBeg() + ", pad_end " + p.getPadEnd()
          + ": the forks only crop, expected pads <= 0";
    }
    return null;
  }

  /**
   * interp_layer.cpp Reshape: the crop gives H_eff = H + pad_beg + pad_end from row -pad_beg;
   * the output is, in the forks' order of precedence, shrink then zoom (zoom:
   * H_eff + (H_eff - 1)(zoom - 1), shrink: (H_eff - 1) / shrink + 1), else height/width, else
   * the second bottom's H and W. Forward is caffe_cpu_interp2 with align-corners sampling
   * (h1r = h2 * (H_eff - 1) / (H_out - 1), the next row clamped), which is ONNX Resize linear
   * align_corners; equal sizes copy in both. The sizes are computed from Shape at run time so
   * the graph follows the input's size.
   */
  private static Variable interp(LayerContext cx) {
    LayerParameter layer = cx.layer();
    cx.requireBottoms(1, 2);
    cx.requireTops(1);
    Value x = cx.bottom(0);
    long[] in = cx.shape(x);
    if (in.length != 4) {
      throw cx.fail("bottom is %s, expected 4 axes (N x C x H x W)", Shape.format(in));
    }
    InterpParameter p = param(layer);
    long beg = p.getPadBeg();
    long end = p.getPadEnd();
    long he = in[2] + beg + end;
    long we = in[3] + beg + end;
    if (he < 1 || we < 1) {
      throw cx.fail("pad_beg %d and pad_end %d crop the %dx%d bottom to nothing", beg, end,
          in[2], in[3]);
    }
    Value src = x;
    if (beg < 0 || end < 0) {
      // Negative Slice ends count from the axis' end, so the crop holds at any input size.
      long e = end < 0 ? end : Long.MAX_VALUE;
      src = cx.aux(Op.SLICE, "crop", List.of(x, cx.ints("crop_starts", -beg, -beg),
          cx.ints("crop_ends", e, e), cx.ints("crop_axes", 2, 3)), null,
          new long[] {in[0], in[1], he, we});
    }
    boolean zoom = p.hasZoomFactor();
    boolean shrink = p.hasShrinkFactor();
    long ho;
    long wo;
    Value hw; // the output H, W as an INT64 [2] value
    if (zoom || shrink) {
      long z = p.getZoomFactor();
      long s = p.getShrinkFactor();
      if (z < 1 || s < 1) {
        throw cx.fail("zoom_factor %d and shrink_factor %d must be >= 1", z, s);
      }
      ho = (he - 1) / s * z + 1;
      wo = (we - 1) / s * z + 1;
      Variable sh = cx.auxInt(Op.SHAPE, "in_hw", List.of(src), Attrs.of("start", 2L),
          new long[] {2});
      Variable m1 = cx.auxInt(Op.SUB, "hw_minus_1", List.of(sh, cx.ints("one", 1)), null,
          new long[] {2});
      Value v = m1;
      if (s != 1) {
        v = cx.auxInt(Op.DIV, "shrunk", List.of(v, cx.ints("shrink", s)), null, new long[] {2});
      }
      if (z != 1) {
        v = cx.auxInt(Op.MUL, "zoomed", List.of(v, cx.ints("zoom", z)), null, new long[] {2});
      }
      hw = cx.auxInt(Op.ADD, "out_hw", List.of(v, cx.ints("one_back", 1)), null, new long[] {2});
    } else if (p.hasHeight() || p.hasWidth()) {
      ho = p.getHeight();
      wo = p.getWidth();
      if (ho < 1 || wo < 1) {
        throw cx.fail("height %d and width %d must both be given and >= 1", ho, wo);
      }
      hw = cx.ints("out_hw", ho, wo);
    } else if (layer.getBottomCount() == 2) {
      long[] rs = cx.shape(cx.bottom(1));
      if (rs.length != 4) {
        throw cx.fail("second bottom '%s' is %s, expected N x C x H x W", layer.getBottom(1),
            Shape.format(rs));
      }
      ho = rs[2];
      wo = rs[3];
      hw = cx.auxInt(Op.SHAPE, "ref_hw", List.of(cx.bottom(1)), Attrs.of("start", 2L),
          new long[] {2});
    } else {
      throw cx.fail("interp_param needs zoom_factor, shrink_factor, height and width, or a"
          + " second bottom giving the size");
    }
    if (ho < 1 || wo < 1 || ho > LayerChecks.MAX || wo > LayerChecks.MAX) {
      throw cx.fail("output size %dx%d for bottom %s; expected 1 to %d", ho, wo,
          Shape.format(in), LayerChecks.MAX);
    }
    long[] os = {in[0], in[1], ho, wo};
    Variable nc = cx.auxInt(Op.SHAPE, "in_nc", List.of(x), Attrs.of("end", 2L), new long[] {2});
    Variable sizes = cx.auxInt(Op.CONCAT, "sizes", List.of(nc, hw), Attrs.of("axis", 0L),
        new long[] {4});
    Attrs a = Attrs.of("mode", "linear", "coordinate_transformation_mode", "align_corners");
    return cx.op(Op.RESIZE, layer.getName(), Arrays.asList(src, null, null, sizes), cx.out(0), a,
        os);
  }
}
