package fcn.frontend.caffe;

import fcn.ir.Attrs;
import fcn.ir.Node;
import fcn.ir.DataType;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.proto.CaffeProto.ConvolutionParameter;
import fcn.proto.CaffeProto.FillerParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.PoolingParameter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Convolution, Deconvolution and Pooling: their registrations (blobs, refused variants, range
 * checks) and converters. Stateless.
 */
final class ConvPoolLayers {
  private ConvPoolLayers() {}

  static final List<LayerConverter> ALL = List.of(
      LayerConverter.of(cx -> convolution(cx, false), "Convolution")
          .withBlobs(ConvPoolLayers::convBlobs).refusing(ConvPoolLayers::refuseConv)
          .checking(LayerChecks::convolution),
      LayerConverter.of(cx -> convolution(cx, true), "Deconvolution")
          .withBlobs(ConvPoolLayers::convBlobs).refusing(ConvPoolLayers::refuseConv)
          .checking(LayerChecks::convolution),
      LayerConverter.multi(ConvPoolLayers::pooling, "Pooling")
          .refusing(ConvPoolLayers::refusePooling).checking(LayerChecks::pooling));

  private static int convBlobs(LayerParameter l) {
    return l.getConvolutionParam().getBiasTerm() ? 2 : 1;
  }

  private static String refuseConv(LayerParameter l) {
    return l.getConvolutionParam().getAxis() != 1
        ? l.getType() + " with axis " + l.getConvolutionParam().getAxis() : null;
  }

  private static String refusePooling(LayerParameter l) {
    if (l.getPoolingParam().getPool() == PoolingParameter.PoolMethod.STOCHASTIC) {
      return "Pooling: STOCHASTIC";
    }
    if (l.getTopCount() > 2) {
      return "Pooling with " + l.getTopCount() + " tops";
    }
    if (l.getTopCount() == 2 && (l.getPoolingParam().getPool() != PoolingParameter.PoolMethod.MAX
        || l.getPoolingParam().getGlobalPooling())) {
      return "Pooling: a mask top with " + (l.getPoolingParam().getGlobalPooling()
          ? "global_pooling" : l.getPoolingParam().getPool() + " pooling");
    }
    return null;
  }

  // Convolution geometry, following BaseConvolutionLayer::LayerSetUp.
  private static long[] convGeom(LayerContext cx, ConvolutionParameter p, int nsp, String what) {
    long[] out = new long[nsp];
    switch (what) {
      case "kernel" -> {
        if (p.hasKernelH() || p.hasKernelW()) {
          if (nsp != 2 || !p.hasKernelH() || !p.hasKernelW() || p.getKernelSizeCount() > 0) {
            throw cx.fail("kernel_h/kernel_w need a 2-D convolution, both set and no kernel_size");
          }
          return new long[] {p.getKernelH(), p.getKernelW()};
        }
        fillRepeated(cx, out, p.getKernelSizeList(), -1, "kernel_size");
        for (long k : out) {
          if (k <= 0) {
            throw cx.fail("kernel size must be > 0, got %s", Arrays.toString(out));
          }
        }
      }
      case "pad" -> {
        if (p.hasPadH() || p.hasPadW()) {
          if (nsp != 2 || p.getPadCount() > 0) {
            throw cx.fail("pad_h/pad_w need a 2-D convolution and no pad");
          }
          return new long[] {p.getPadH(), p.getPadW()};
        }
        fillRepeated(cx, out, p.getPadList(), 0, "pad");
      }
      case "stride" -> {
        if (p.hasStrideH() || p.hasStrideW()) {
          if (nsp != 2 || p.getStrideCount() > 0) {
            throw cx.fail("stride_h/stride_w need a 2-D convolution and no stride");
          }
          return new long[] {p.getStrideH(), p.getStrideW()};
        }
        fillRepeated(cx, out, p.getStrideList(), 1, "stride");
      }
      default -> fillRepeated(cx, out, p.getDilationList(), 1, "dilation");
    }
    return out;
  }

  private static void fillRepeated(LayerContext cx, long[] out, List<Integer> values, long dflt,
      String field) {
    if (values.isEmpty()) {
      if (dflt < 0) {
        throw cx.fail("%s is missing", field);
      }
      Arrays.fill(out, dflt);
    } else if (values.size() == 1) {
      Arrays.fill(out, Integer.toUnsignedLong(values.get(0)));
    } else if (values.size() == out.length) {
      for (int i = 0; i < out.length; i++) {
        out[i] = Integer.toUnsignedLong(values.get(i));
      }
    } else {
      throw cx.fail("%s has %d values, expected 1 or %d (one per spatial axis)", field,
          values.size(), out.length);
    }
  }

  private static Variable convolution(LayerContext cx, boolean deconv) {
    LayerParameter layer = cx.layer();
    String out = cx.out(0);
    Value x = cx.soleBottom();
    long[] in = cx.shape(x);
    ConvolutionParameter p = layer.getConvolutionParam();
    int nsp = in.length - 2;
    if (nsp < 1) {
      throw cx.fail("bottom is %s, expected N x C x spatial", Shape.format(in));
    }
    long[] k = convGeom(cx, p, nsp, "kernel");
    long[] s = convGeom(cx, p, nsp, "stride");
    long[] pad = convGeom(cx, p, nsp, "pad");
    long[] d = convGeom(cx, p, nsp, "dilation");
    long group = p.getGroup();
    long o = p.getNumOutput();
    long c = in[1];
    if (o <= 0) {
      throw cx.fail("num_output must be > 0");
    }
    if (group <= 0 || c % group != 0 || o % group != 0) {
      throw cx.fail("group %d must divide the %d input channels and num_output %d", group, c, o);
    }
    long[] w = new long[2 + nsp];
    w[0] = deconv ? c : o;
    w[1] = deconv ? o / group : c / group;
    System.arraycopy(k, 0, w, 2, nsp);
    boolean bias = p.getBiasTerm();
    long[][] expected = bias ? new long[][] {w, {o}} : new long[][] {w};
    String[] names = bias ? new String[] {"weights", "bias"} : new String[] {"weights"};
    FillerParameter[] fillers = {
        Fillers.orDefault(p.hasWeightFiller(), p.getWeightFiller(), Fillers.WEIGHT_DEFAULT),
        Fillers.orDefault(p.hasBiasFiller(), p.getBiasFiller(), Fillers.BIAS_DEFAULT)};
    long[] os = new long[in.length];
    os[0] = in[0];
    os[1] = o;
    for (int i = 0; i < nsp; i++) {
      // Sizes first, weights after: a misfit must not cost (or overflow) a weight allocation.
      if (in[2 + i] + 2 * pad[i] > LayerChecks.MAX) {
        throw cx.fail("pad %d on spatial axis %d makes the padded bottom %d, over %d (Caffe keeps"
            + " sizes in an int)", pad[i], i, in[2 + i] + 2 * pad[i], LayerChecks.MAX);
      }
      os[2 + i] = deconv ? CaffeShapes.deconvOut(in[2 + i], k[i], s[i], pad[i], d[i])
          : CaffeShapes.convOut(in[2 + i], k[i], s[i], pad[i], d[i]);
      if (os[2 + i] <= 0 || os[2 + i] > LayerChecks.MAX) {
        throw cx.fail("output size %d along spatial axis %d for bottom %s (kernel %s, stride %s,"
            + " pad %s, dilation %s); expected 1 to %d", os[2 + i], i, Shape.format(in),
            Shape.format(k), Shape.format(s), Shape.format(pad), Shape.format(d), LayerChecks.MAX);
      }
    }
    Tensor[] t = cx.params(names, expected, fillers);
    List<Value> ins = new ArrayList<>();
    ins.add(x);
    ins.add(cx.constant("weight", t[0]));
    if (bias) {
      ins.add(cx.constant("bias", t[1]));
    }
    long[] pads = new long[2 * nsp];
    System.arraycopy(pad, 0, pads, 0, nsp);
    System.arraycopy(pad, 0, pads, nsp, nsp);
    Attrs a = Attrs.of("kernel_shape", k, "strides", s, "pads", pads, "dilations", d, "group",
        group);
    return cx.op(deconv ? Op.CONV_TRANSPOSE : Op.CONV, layer.getName(), ins, out, a, os);
  }

  /**
   * Caffe pooling as ONNX pooling in floor mode with asymmetric pads (see
   * {@link CaffeShapes#poolCeilExtraPad}): every runtime agrees on floor mode, and the windows
   * match Caffe's for every input size, not just the import size. AVE pads explicitly with
   * zeros and uses count_include_pad=0, which makes the divisor Caffe's: the window clipped to
   * the input plus its pad, never counting the overflow of the ceil rounding.
   */
  private static List<Variable> pooling(LayerContext cx) {
    LayerParameter layer = cx.layer();
    String out = cx.out(0);
    cx.requireBottoms(1, 1);
    Value x = cx.bottom(0);
    long[] in = cx.shape(x);
    if (in.length != 4) {
      throw cx.fail("bottom is %s, expected 4 axes (N x C x H x W)", Shape.format(in));
    }
    PoolingParameter p = layer.getPoolingParam();
    boolean max = p.getPool() == PoolingParameter.PoolMethod.MAX;
    if (p.getGlobalPooling()) {
      if (p.hasKernelSize() || p.hasKernelH() || p.hasKernelW()) {
        throw cx.fail("global_pooling takes no kernel size");
      }
      long ph = p.hasPadH() ? p.getPadH() : p.getPad();
      long pw = p.hasPadW() ? p.getPadW() : p.getPad();
      long sh = p.hasStrideH() ? p.getStrideH() : p.getStride();
      long sw = p.hasStrideW() ? p.getStrideW() : p.getStride();
      if (ph != 0 || pw != 0 || sh != 1 || sw != 1) {
        throw cx.fail("global_pooling needs pad 0 and stride 1");
      }
      return List.of(cx.op(max ? Op.GLOBAL_MAX_POOL : Op.GLOBAL_AVERAGE_POOL, layer.getName(),
          List.of(x), out, null, new long[] {in[0], in[1], 1, 1}));
    }
    long kh;
    long kw;
    if (p.hasKernelSize()) {
      if (p.hasKernelH() || p.hasKernelW()) {
        throw cx.fail("give kernel_size or kernel_h/kernel_w, not both");
      }
      kh = kw = p.getKernelSize();
    } else if (p.hasKernelH() && p.hasKernelW()) {
      kh = p.getKernelH();
      kw = p.getKernelW();
    } else {
      throw cx.fail("kernel_size (or both kernel_h and kernel_w) is required");
    }
    long ph = p.hasPadH() ? p.getPadH() : p.getPad();
    long pw = p.hasPadW() ? p.getPadW() : p.getPad();
    long sh = p.hasStrideH() ? p.getStrideH() : p.getStride();
    long sw = p.hasStrideW() ? p.getStrideW() : p.getStride();
    if (kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0) {
      throw cx.fail("kernel and stride must be > 0");
    }
    if (ph >= kh || pw >= kw) {
      throw cx.fail("pad %dx%d must be smaller than the kernel %dx%d", ph, pw, kh, kw);
    }
    if (in[2] + 2 * ph > LayerChecks.MAX || in[3] + 2 * pw > LayerChecks.MAX) {
      throw cx.fail("pad %dx%d makes the padded bottom over %d (Caffe keeps sizes in an int)",
          ph, pw,
          LayerChecks.MAX);
    }
    boolean ceil = p.getRoundMode() == PoolingParameter.RoundMode.CEIL;
    long oh = ceil ? CaffeShapes.poolOutCeil(in[2], kh, sh, ph)
        : CaffeShapes.poolOutFloor(in[2], kh, sh, ph);
    long ow = ceil ? CaffeShapes.poolOutCeil(in[3], kw, sw, pw)
        : CaffeShapes.poolOutFloor(in[3], kw, sw, pw);
    if (in[2] + 2 * ph < kh || in[3] + 2 * pw < kw) {
      throw cx.fail("kernel %dx%d is larger than the padded bottom %s", kh, kw, Shape.format(in));
    }
    long eh = ceil ? CaffeShapes.poolCeilExtraPad(kh, sh, ph) : 0;
    long ew = ceil ? CaffeShapes.poolCeilExtraPad(kw, sw, pw) : 0;
    long onnxH = Math.floorDiv(in[2] + 2 * ph + eh - kh, sh) + 1;
    long onnxW = Math.floorDiv(in[3] + 2 * pw + ew - kw, sw) + 1;
    if (onnxH != oh || onnxW != ow) {
      // Only with stride > kernel and no pad: Caffe's ceil rounding then adds windows lying
      // wholly outside the input, whose values are not defined by the input.
      throw cx.fail("with kernel %dx%d, stride %dx%d and no pad, Caffe's ceil rounding makes"
          + " windows outside the %dx%d input; expected an input size where they fit",
          kh, kw, sh, sw, in[2], in[3]);
    }
    long[] os = {in[0], in[1], oh, ow};
    Attrs a = Attrs.of("kernel_shape", new long[] {kh, kw}, "strides", new long[] {sh, sw},
        "ceil_mode", 0L);
    if (max) {
      a.set("pads", new long[] {ph, pw, ph + eh, pw + ew});
      if (layer.getTopCount() == 2) {
        return maxPoolWithMask(cx, x, a, os);
      }
      return List.of(cx.op(Op.MAX_POOL, layer.getName(), List.of(x), out, a, os));
    }
    Value src = x;
    if (ph > 0 || pw > 0) {
      src = cx.aux(Op.PAD, "pad", List.of(x, cx.ints("pads", 0, 0, ph, pw, 0, 0, ph, pw)), null,
          new long[] {in[0], in[1], in[2] + 2 * ph, in[3] + 2 * pw});
    }
    a.set("pads", new long[] {0, 0, eh, ew}).set("count_include_pad", 0L);
    return List.of(cx.op(Op.AVERAGE_POOL, layer.getName(), List.of(src), out, a, os));
  }

  /**
   * The MaxPool node whose mask top {@code mask} is (as {@link #maxPoolWithMask} builds it), or
   * null when {@code mask} is not a pooling mask.
   */
  static Node maskPool(Value mask) {
    Node cast = mask.producer();
    if (cast == null || cast.op() != Op.CAST || cast.input(0).producer() == null) {
      return null;
    }
    Node sub = cast.input(0).producer();
    if (sub.op() != Op.SUB || sub.input(0).producer() == null) {
      return null;
    }
    Node pool = sub.input(0).producer();
    return pool.op() == Op.MAX_POOL && pool.outputs().size() == 2
        && pool.output(1) == sub.input(0) ? pool : null;
  }

  /**
   * MAX pooling with Caffe's second top, the mask (BVLC PoolingLayer::Forward_cpu, which
   * caffe-segnet's Upsample reads): for each pooled value the index h * W + w of its maximum
   * inside the bottom's (n, c) plane, in unpadded bottom coordinates, the first maximum in
   * raster order winning (strict &gt;), stored as a float. ONNX MaxPool's Indices output
   * (storage_order 0) scans the same clipped window in the same order with the same strict
   * comparison, and its index is that one plus (n * C + c) * H * W, flattened over the whole
   * tensor; so the mask is Indices mod H * W, with H * W read from the bottom's Shape so that
   * it stays right when H and W are symbolic. The end pads of the ceil rule only add window
   * positions, never indices: windows are clipped to the bottom before the scan. Floats hold
   * the index exactly up to 2^24 positions per plane, as in Caffe.
   */
  private static List<Variable> maxPoolWithMask(LayerContext cx, Value x, Attrs a, long[] os) {
    LayerParameter layer = cx.layer();
    List<Variable> outs = cx.ops(Op.MAX_POOL, layer.getName(), List.of(x),
        List.of(cx.out(0), layer.getName() + ".indices"), a, new long[][] {os, os},
        new DataType[] {DataType.FLOAT, DataType.INT64});
    Variable idx = outs.get(1);
    Variable h = cx.auxInt(Op.SHAPE, "h", List.of(x), Attrs.of("start", 2L, "end", 3L),
        new long[] {1});
    Variable w = cx.auxInt(Op.SHAPE, "w", List.of(x), Attrs.of("start", 3L, "end", 4L),
        new long[] {1});
    Variable hw = cx.auxInt(Op.MUL, "plane", List.of(h, w), null, new long[] {1});
    Variable planes = cx.auxInt(Op.DIV, "plane_index", List.of(idx, hw), null, os);
    Variable start = cx.auxInt(Op.MUL, "plane_start", List.of(planes, hw), null, os);
    Variable inPlane = cx.auxInt(Op.SUB, "mask_int", List.of(idx, start), null, os);
    Variable mask = cx.op(Op.CAST, layer.getName() + ".mask", List.of(inPlane), cx.out(1),
        Attrs.of("to", (long) DataType.FLOAT.onnxCode()), os);
    return List.of(outs.get(0), mask);
  }
}
