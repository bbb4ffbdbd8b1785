package fcn.frontend.caffe;

import fcn.ir.DataType;
import fcn.ir.Tensor;
import fcn.proto.CaffeProto.FillerParameter;
import java.util.SplittableRandom;

/**
 * Deterministic random weights for nets converted without trained weights. Fillers named in
 * the prototxt are honoured (constant, gaussian, uniform, xavier, msra, bilinear,
 * positive_unitball); a blob without one gets {@code dflt}. Each blob's stream is seeded from
 * the seed, the layer name and the blob index, so values do not depend on layer order.
 * Gaussians are the sum of four uniforms (Irwin-Hall, rescaled to unit variance, tails cut
 * at 3.46 sigma): random weights only need the right scale, and this keeps a VGG-sized net
 * (134M values) to about a second.
 */
final class Fillers {
  private Fillers() {}

  /** fcn's filler for convolution and InnerProduct blobs the prototxt gives no filler. */
  static final FillerParameter WEIGHT_DEFAULT = gaussian(0.01f);
  static final FillerParameter BIAS_DEFAULT = gaussian(0.01f);

  /** {@code f} when the prototxt sets it ({@code has}), else {@code dflt}. */
  static FillerParameter orDefault(boolean has, FillerParameter f, FillerParameter dflt) {
    return has ? f : dflt;
  }

  static FillerParameter gaussian(float std) {
    return FillerParameter.newBuilder().setType("gaussian").setStd(std).build();
  }

  static FillerParameter constant(float v) {
    return FillerParameter.newBuilder().setType("constant").setValue(v).build();
  }

  static FillerParameter uniform(float min, float max) {
    return FillerParameter.newBuilder().setType("uniform").setMin(min).setMax(max).build();
  }

  static Tensor fill(long[] shape, FillerParameter f, long seed, String layer, int index) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    int count = Math.toIntExact(n);
    byte[] raw = new byte[Math.multiplyExact(count, 4)];
    java.nio.FloatBuffer v = java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN)
        .asFloatBuffer();
    SplittableRandom r = new SplittableRandom(
        seed * 0x9E3779B97F4A7C15L + layer.hashCode() * 1_000_003L + index);
    // Caffe's fan-in/fan-out: count / shape[0] and count / shape[1].
    double fanIn = shape.length > 0 && shape[0] > 0 ? (double) n / shape[0] : 1;
    double fanOut = shape.length > 1 && shape[1] > 0 ? (double) n / shape[1] : 1;
    double fan = switch (f.getVarianceNorm()) {
      case FAN_OUT -> fanOut;
      case AVERAGE -> (fanIn + fanOut) / 2;
      default -> fanIn;
    };
    switch (f.getType()) {
      case "constant" -> {
        for (int i = 0; i < count; i++) {
          v.put(i, f.getValue());
        }
      }
      case "gaussian" -> gaussian(v, count, r, f.getMean(), f.getStd());
      case "uniform" -> uniform(v, count, r, f.getMin(), f.getMax());
      case "xavier" -> {
        double scale = Math.sqrt(3 / fan);
        uniform(v, count, r, -scale, scale);
      }
      case "msra" -> gaussian(v, count, r, 0, Math.sqrt(2 / fan));
      case "bilinear" -> {
        // Caffe's BilinearFiller: every kh x kw filter is the same bilinear kernel.
        int kw = (int) shape[shape.length - 1];
        int kh = shape.length > 1 ? (int) shape[shape.length - 2] : 1;
        double fct = Math.ceil(kw / 2.0);
        double c = (2 * fct - 1 - fct % 2) / (2 * fct);
        for (int i = 0; i < count; i++) {
          double x = i % kw;
          double y = (i / kw) % kh;
          v.put(i, (float) ((1 - Math.abs(x / fct - c)) * (1 - Math.abs(y / fct - c))));
        }
      }
      case "positive_unitball" -> {
        int dim = (int) (shape.length > 0 && shape[0] > 0 ? n / shape[0] : n);
        uniform(v, count, r, 0, 1);
        for (int s = 0; s + dim <= count && dim > 0; s += dim) {
          double sum = 0;
          for (int i = s; i < s + dim; i++) {
            sum += v.get(i);
          }
          for (int i = s; i < s + dim; i++) {
            v.put(i, (float) (v.get(i) / sum));
          }
        }
      }
      default -> gaussian(v, count, r, 0, 0.01);
    }
    return new Tensor(DataType.FLOAT, shape, raw);
  }

  private static final double IRWIN_HALL_SCALE = Math.sqrt(3.0) / 65536.0;

  private static void gaussian(java.nio.FloatBuffer v, int count, SplittableRandom r,
      double mean, double std) {
    for (int i = 0; i < count; i++) {
      long bits = r.nextLong();
      long sum = (bits & 0xffff) + ((bits >>> 16) & 0xffff) + ((bits >>> 32) & 0xffff)
          + (bits >>> 48);
      v.put(i, (float) (mean + std * (sum - 131070) * IRWIN_HALL_SCALE));
    }
  }

  private static void uniform(java.nio.FloatBuffer v, int count, SplittableRandom r, double lo,
      double hi) {
    double scale = (hi - lo) / (1L << 32);
    for (int i = 0; i < count; i += 2) {
      long bits = r.nextLong();
      v.put(i, (float) (lo + (bits & 0xffffffffL) * scale));
      if (i + 1 < count) {
        v.put(i + 1, (float) (lo + (bits >>> 32) * scale));
      }
    }
  }
}
