package fcn.quantize;

/**
 * One tensor's linear quantization, q = saturate(round_half_even(x / scale) + zeroPoint), and
 * its inverse x' = (q - zeroPoint) x scale: the arithmetic of ONNX QuantizeLinear and
 * DequantizeLinear, done here in float as ONNX Runtime does, so that fcn's own view of a
 * quantized tensor is the runtime's.
 *
 * @param scale the step, > 0
 * @param zeroPoint the integer that stands for 0.0
 * @param qmin the smallest integer (0 for uint8, -128 or the reduced range's bound for int8)
 * @param qmax the largest integer
 */
public record QuantParams(float scale, int zeroPoint, int qmin, int qmax) {
  /** uint8's range, the activation type fcn writes (ONNX Runtime's x86 int8 kernels are u8 x s8). */
  public static final int U8_MIN = 0;
  public static final int U8_MAX = 255;

  public QuantParams {
    if (!(scale > 0) || Float.isInfinite(scale)) {
      throw new IllegalArgumentException("quantization scale must be finite and > 0, got " + scale);
    }
    if (qmin >= qmax || zeroPoint < qmin || zeroPoint > qmax) {
      throw new IllegalArgumentException("zero point " + zeroPoint + " outside " + qmin + ".." + qmax);
    }
  }

  /**
   * Asymmetric uint8 parameters for values in [lo, hi], the range stretched to include 0 so
   * that 0 (padding, ReLU's floor) is exact, as ONNX Runtime's quantizer does. A range of one
   * point gets scale 1.
   */
  public static QuantParams uint8(double lo, double hi) {
    double rmin = Math.min(0, lo);
    double rmax = Math.max(0, hi);
    float scale = (float) ((rmax - rmin) / (U8_MAX - U8_MIN));
    if (!(scale > 0) || Float.isInfinite(scale)) {
      return new QuantParams(1f, 0, U8_MIN, U8_MAX);
    }
    long zp = Math.round(U8_MIN - rmin / scale);
    return new QuantParams(scale, (int) Math.max(U8_MIN, Math.min(U8_MAX, zp)), U8_MIN, U8_MAX);
  }

  /**
   * Symmetric int8 parameters (zero point 0) for values within +-maxAbs: scale maxAbs / qmax,
   * integers in [-qmax, qmax]. qmax is 127, or 63 for 7-bit ("reduce range") weights. An
   * all-zero tensor gets scale 1.
   */
  public static QuantParams symmetric(double maxAbs, int qmax) {
    float scale = (float) (maxAbs / qmax);
    if (!(scale > 0) || Float.isInfinite(scale)) {
      scale = 1f;
    }
    return new QuantParams(scale, 0, -qmax, qmax);
  }

  /** QuantizeLinear of one value. */
  public int quantize(float x) {
    float r = (float) Math.rint(x / scale);
    if (Float.isNaN(r)) {
      return zeroPoint;
    }
    double q = (double) r + zeroPoint;
    return (int) Math.max(qmin, Math.min(qmax, q));
  }

  /** DequantizeLinear of one integer. */
  public float dequantize(int q) {
    return (q - zeroPoint) * scale;
  }

  /** The smallest and largest values this quantization represents. */
  public float low() {
    return dequantize(qmin);
  }

  public float high() {
    return dequantize(qmax);
  }
}
