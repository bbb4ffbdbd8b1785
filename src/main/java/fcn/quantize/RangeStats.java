package fcn.quantize;

/**
 * The running statistics of one calibrated tensor, collected image by image (nothing of the
 * tensor is kept): its minimum and maximum, and, for the outlier-robust method, a histogram of
 * {@link #BINS} equal bins over [min, max] filled in a second pass once min and max are known.
 * Bin k holds [edge(k), edge(k + 1)), the last bin also holds max. Not thread-safe.
 */
public final class RangeStats {
  /** Histogram bins per tensor (ONNX Runtime's percentile calibrator uses 2048 too). */
  public static final int BINS = 2048;

  private double min = Double.POSITIVE_INFINITY;
  private double max = Double.NEGATIVE_INFINITY;
  private long count;
  private long[] hist;

  /** Pass 1: widens [min, max] to cover {@code data}; NaNs are ignored. */
  public void observe(float[] data) {
    double lo = min;
    double hi = max;
    for (float v : data) {
      if (v < lo) {
        lo = v;
      }
      if (v > hi) {
        hi = v;
      }
    }
    min = lo;
    max = hi;
    count += data.length;
  }

  /** Pass 2: counts {@code data} into the histogram over the [min, max] of pass 1. */
  public void histogram(float[] data) {
    if (hist == null) {
      hist = new long[BINS];
    }
    if (!(max > min)) {
      hist[0] += data.length;
      return;
    }
    double width = (max - min) / BINS;
    for (float v : data) {
      if (Float.isNaN(v)) {
        continue;
      }
      int k = (int) ((v - min) / width);
      hist[Math.max(0, Math.min(BINS - 1, k))]++;
    }
  }

  public boolean seen() {
    return count > 0 && min <= max;
  }

  public double min() {
    return min;
  }

  public double max() {
    return max;
  }

  /** Left edge of bin k (k = BINS is the right edge of the last bin, i.e. max). */
  public double edge(int k) {
    return k == BINS ? max : min + k * ((max - min) / BINS);
  }

  /** [min, max] as seen. */
  public double[] minMax() {
    return new double[] {min, max};
  }

  /**
   * The range that keeps {@code percentile}% of the values at each end: the upper bound is the
   * right edge of the first bin at which the count from the left reaches percentile% of all
   * values, the lower bound the left edge of the first bin (from the right) at which the count
   * from the right does. With 99.99 a few outliers in 10^4 values no longer stretch the scale.
   */
  public double[] percentile(double percentile) {
    if (hist == null) {
      throw new IllegalStateException("percentile needs the histogram pass");
    }
    long total = 0;
    for (long h : hist) {
      total += h;
    }
    if (total == 0 || !(max > min)) {
      return minMax();
    }
    double need = percentile / 100 * total;
    double hi = max;
    long cum = 0;
    for (int k = 0; k < BINS; k++) {
      cum += hist[k];
      if (cum >= need) {
        hi = edge(k + 1);
        break;
      }
    }
    double lo = min;
    cum = 0;
    for (int k = BINS - 1; k >= 0; k--) {
      cum += hist[k];
      if (cum >= need) {
        lo = edge(k);
        break;
      }
    }
    return new double[] {lo, hi};
  }
}
