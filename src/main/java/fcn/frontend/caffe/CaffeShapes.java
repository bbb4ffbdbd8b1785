package fcn.frontend.caffe;

/**
 * Caffe's own size arithmetic, shared by the layer converters for static shapes and checks.
 * Stateless.
 */
final class CaffeShapes {
  private CaffeShapes() {}

  /** Convolution: floor((in + 2p - (d(k-1)+1)) / s) + 1. */
  static long convOut(long in, long k, long s, long p, long d) {
    long ext = d * (k - 1) + 1;
    return (in + 2 * p - ext) / s + 1;
  }

  /** Deconvolution: s(in-1) + d(k-1) + 1 - 2p. */
  static long deconvOut(long in, long k, long s, long p, long d) {
    return s * (in - 1) + d * (k - 1) + 1 - 2 * p;
  }

  /**
   * Pooling (PoolingLayer::Reshape): ceil((in + 2p - k) / s) + 1, minus one when padding makes
   * the last window start at or past in + p (it must start inside the image or left pad).
   */
  static long poolOutCeil(long in, long k, long s, long p) {
    long pooled = ceilDiv(in + 2 * p - k, s) + 1;
    if (p > 0 && (pooled - 1) * s >= in + p) {
      pooled--;
    }
    return pooled;
  }

  /** Pooling with round_mode FLOOR (BVLC master). */
  static long poolOutFloor(long in, long k, long s, long p) {
    return Math.floorDiv(in + 2 * p - k, s) + 1;
  }

  /**
   * The extra end padding e that makes a floor-mode ONNX pooling (begin pad p, end pad p + e)
   * produce Caffe's ceil-mode windows for every input size: Caffe's windows are those
   * starting at t*s (padded coordinates) with t*s < in + 2p - k + min(s, k - p), and a
   * floor-mode pool over in + 2p + e has those with t*s < in + 2p + e - k + 1.
   */
  static long poolCeilExtraPad(long k, long s, long p) {
    return Math.min(s, k - p) - 1;
  }

  static long ceilDiv(long a, long b) {
    return -Math.floorDiv(-a, b);
  }

  /** The product of {@code dims[from..to)} (1 when empty). */
  static long product(long[] dims, int from, int to) {
    long n = 1;
    for (int i = from; i < to; i++) {
      n *= dims[i];
    }
    return n;
  }

  /** a x b for sizes, capped just above Caffe's limit so that it cannot overflow. */
  static long saturatedProduct(long a, long b) {
    return a == 0 || b == 0 ? 0 : Math.min(Math.min(a, LayerChecks.MAX + 1)
        * Math.min(b, LayerChecks.MAX + 1), LayerChecks.MAX + 1);
  }
}
