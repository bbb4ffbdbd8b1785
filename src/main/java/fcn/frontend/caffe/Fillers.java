package fcn.frontend.caffe;

import fcn.ir.Tensor;
import fcn.proto.CaffeProto.FillerParameter;
import java.util.SplittableRandom;

/**
 * Deterministic random weights for nets converted without trained weights. Fillers named in
 * the prototxt are honoured (constant, gaussian, uniform, xavier, msra, bilinear,
 * positive_unitball); a blob without one gets {@code dflt}. Each blob's stream is seeded from
 * the seed, the layer name and the blob index, so values do not depend on layer order.
 */
final class Fillers {
  private Fillers() {}

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
    float[] v = new float[Math.toIntExact(n)];
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
      case "constant" -> java.util.Arrays.fill(v, f.getValue());
      case "gaussian" -> {
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) (f.getMean() + f.getStd() * r.nextGaussian());
        }
      }
      case "uniform" -> {
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) (f.getMin() + (f.getMax() - f.getMin()) * r.nextDouble());
        }
      }
      case "xavier" -> {
        double scale = Math.sqrt(3 / fan);
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) ((2 * r.nextDouble() - 1) * scale);
        }
      }
      case "msra" -> {
        double std = Math.sqrt(2 / fan);
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) (std * r.nextGaussian());
        }
      }
      case "bilinear" -> {
        // Caffe's BilinearFiller: every kh x kw filter is the same bilinear kernel.
        int kw = (int) shape[shape.length - 1];
        int kh = shape.length > 1 ? (int) shape[shape.length - 2] : 1;
        double fct = Math.ceil(kw / 2.0);
        double c = (2 * fct - 1 - fct % 2) / (2 * fct);
        for (int i = 0; i < v.length; i++) {
          double x = i % kw;
          double y = (i / kw) % kh;
          v[i] = (float) ((1 - Math.abs(x / fct - c)) * (1 - Math.abs(y / fct - c)));
        }
      }
      case "positive_unitball" -> {
        int dim = (int) (shape.length > 0 && shape[0] > 0 ? n / shape[0] : n);
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) r.nextDouble();
        }
        for (int s = 0; s + dim <= v.length && dim > 0; s += dim) {
          double sum = 0;
          for (int i = s; i < s + dim; i++) {
            sum += v[i];
          }
          for (int i = s; i < s + dim; i++) {
            v[i] = (float) (v[i] / sum);
          }
        }
      }
      default -> {
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) (0.01 * r.nextGaussian());
        }
      }
    }
    return Tensor.ofFloats(shape, v);
  }
}
