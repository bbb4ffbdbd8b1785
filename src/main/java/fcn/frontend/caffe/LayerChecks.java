package fcn.frontend.caffe;

import fcn.core.FcnException;
import fcn.proto.CaffeProto.ConvolutionParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.proto.CaffeProto.PoolingParameter;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Range checks on the numbers of an upgraded (V2, TEST-phase) net that need no shapes: every
 * Convolution, Deconvolution, Pooling and InnerProduct field that Caffe divides by, multiplies
 * or stores in an int, and unique layer names (Caffe copies trained weights by layer name).
 * Caffe's CHECKs abort the whole process and ONNX Runtime traps on a zero stride, so these
 * values are refused here, before either sees them, with a one-line {@link FcnException}
 * naming the file, the layer and the field. The proto's uint32 fields are read unsigned, so
 * 4294967295 is that number, not -1. Each layer type's checks are named in its
 * {@link LayerConverter} registration; the range helpers live here. Stateless.
 */
final class LayerChecks {
  /** Caffe keeps every size and count in an int. */
  static final long MAX = Integer.MAX_VALUE;

  private LayerChecks() {}

  static void check(NetParameter net, String source) {
    Map<String, Integer> seen = new HashMap<>();
    List<LayerParameter> layers = net.getLayerList();
    for (int i = 0; i < layers.size(); i++) {
      LayerParameter l = layers.get(i);
      Integer first = seen.putIfAbsent(l.getName(), i);
      if (first != null) {
        throw FcnException.of("%s: layers %d and %d are both named '%s'; expected unique layer"
            + " names (Caffe matches trained weights to layers by name)", source, first + 1, i + 1,
            l.getName());
      }
      LayerConverter c = LayerRegistry.get(l.getType());
      if (c != null) {
        c.check().accept(l, source);
      }
    }
  }

  static void innerProduct(LayerParameter l, String source) {
    if (l.hasInnerProductParam()) {
      range(l, source, "num_output", l.getInnerProductParam().getNumOutput(), 1, MAX);
    }
  }

  static void convolution(LayerParameter l, String source) {
    ConvolutionParameter p = l.getConvolutionParam();
    long o = u(p.getNumOutput());
    range(l, source, "num_output", p.getNumOutput(), 1, MAX);
    range(l, source, "group", p.getGroup(), 1, MAX);
    if (o % u(p.getGroup()) != 0) {
      throw fail(l, source, "group %d does not divide num_output %d", u(p.getGroup()), o);
    }
    long kernel = 1;
    for (int k : p.getKernelSizeList()) {
      range(l, source, "kernel_size", k, 1, MAX);
      kernel = Math.max(kernel, u(k));
    }
    if (p.hasKernelH()) {
      range(l, source, "kernel_h", p.getKernelH(), 1, MAX);
    }
    if (p.hasKernelW()) {
      range(l, source, "kernel_w", p.getKernelW(), 1, MAX);
    }
    for (int s : p.getStrideList()) {
      range(l, source, "stride", s, 1, MAX);
    }
    if (p.hasStrideH()) {
      range(l, source, "stride_h", p.getStrideH(), 1, MAX);
    }
    if (p.hasStrideW()) {
      range(l, source, "stride_w", p.getStrideW(), 1, MAX);
    }
    for (int d : p.getDilationList()) {
      range(l, source, "dilation", d, 1, MAX);
    }
    for (int pad : p.getPadList()) {
      range(l, source, "pad", pad, 0, MAX);
    }
    range(l, source, "pad_h", p.getPadH(), 0, MAX);
    range(l, source, "pad_w", p.getPadW(), 0, MAX);
    // The weight blob holds at least num_output x kernel elements (channels / group >= 1).
    long area = p.hasKernelH() && p.hasKernelW() ? u(p.getKernelH()) * u(p.getKernelW())
        : p.getKernelSizeCount() <= 1 ? kernel * kernel : product(p.getKernelSizeList());
    if (area > MAX || o * area > MAX) {
      throw fail(l, source, "num_output %d with kernel %s needs a weight blob of over %d"
          + " elements, Caffe's limit for one blob", o, kernelText(p), MAX);
    }
  }

  static void pooling(LayerParameter l, String source) {
    PoolingParameter p = l.getPoolingParam();
    if (p.hasKernelSize()) {
      range(l, source, "kernel_size", p.getKernelSize(), 1, MAX);
    }
    if (p.hasKernelH()) {
      range(l, source, "kernel_h", p.getKernelH(), 1, MAX);
    }
    if (p.hasKernelW()) {
      range(l, source, "kernel_w", p.getKernelW(), 1, MAX);
    }
    range(l, source, "stride", p.getStride(), 1, MAX);
    if (p.hasStrideH()) {
      range(l, source, "stride_h", p.getStrideH(), 1, MAX);
    }
    if (p.hasStrideW()) {
      range(l, source, "stride_w", p.getStrideW(), 1, MAX);
    }
    range(l, source, "pad", p.getPad(), 0, MAX);
    range(l, source, "pad_h", p.getPadH(), 0, MAX);
    range(l, source, "pad_w", p.getPadW(), 0, MAX);
  }

  private static long product(List<Integer> values) {
    long n = 1;
    for (int v : values) {
      n *= u(v); // each value <= 2^31 - 1 and at most 3 of them before the check: no overflow
      if (n > MAX) {
        return n;
      }
    }
    return n;
  }

  private static String kernelText(ConvolutionParameter p) {
    if (p.hasKernelH() && p.hasKernelW()) {
      return u(p.getKernelH()) + "x" + u(p.getKernelW());
    }
    return p.getKernelSizeList().stream().map(k -> String.valueOf(u(k)))
        .reduce((a, b) -> a + "x" + b).orElse("?");
  }

  /** A uint32 proto field as the number it is. */
  private static long u(int v) {
    return Integer.toUnsignedLong(v);
  }

  private static void range(LayerParameter l, String source, String field, int raw, long min,
      long max) {
    long v = u(raw);
    if (v < min || v > max) {
      throw fail(l, source, "%s is %d; expected %d to %d", field, v, min, max);
    }
  }

  private static FcnException fail(LayerParameter l, String source, String fmt, Object... args) {
    return new FcnException(source + ": layer '" + l.getName() + "' (" + l.getType() + "): "
        + String.format(java.util.Locale.ROOT, fmt, args));
  }
}
