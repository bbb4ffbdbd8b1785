package fcn.metrics;

/**
 * The segmentation metrics of FCN's reference {@code score.py}, as small pure functions over a
 * confusion matrix ("hist": rows = ground-truth label, columns = prediction).
 *
 * <p>Semantics follow score.py exactly, including numpy's NaN behaviour: a per-class ratio whose
 * denominator is 0 is NaN, and the means are {@link #nanmean} (NaN entries skipped). So a class
 * absent from both labels and predictions does not pull the mean IU down, while a class that is
 * predicted but absent from the labels counts with IU 0 (but is skipped by mean accuracy, whose
 * denominator is the label count). Stateless and thread-safe.
 */
public final class Metrics {
  private Metrics() {}

  /**
   * score.py's {@code fast_hist(label, pred, n)}: a fresh n x n confusion matrix. Pixels whose
   * label lies outside [0, n) (the ignore label) are left out; predictions at counted pixels must
   * lie in [0, n).
   */
  public static long[][] hist(int[] label, int[] pred, int numClasses) {
    if (numClasses <= 0) {
      throw new IllegalArgumentException("numClasses must be positive, got " + numClasses);
    }
    long[][] h = new long[numClasses][numClasses];
    fastHist(h, label, pred);
    return h;
  }

  /**
   * Adds the pixels of one image to {@code hist} ({@code hist += fast_hist(...)} in score.py).
   *
   * @return the number of pixels counted (those with a label in [0, n))
   * @throws IllegalArgumentException if the arrays differ in length, or a counted pixel's
   *     prediction is outside [0, n) (score.py would silently corrupt its bincount there)
   */
  public static long fastHist(long[][] hist, int[] label, int[] pred) {
    int n = hist.length;
    if (label.length != pred.length) {
      throw new IllegalArgumentException(
          "label has " + label.length + " pixels but prediction has " + pred.length);
    }
    long counted = 0;
    for (int i = 0; i < label.length; i++) {
      int a = label[i];
      if (a < 0 || a >= n) {
        continue;
      }
      int b = pred[i];
      if (b < 0 || b >= n) {
        throw new IllegalArgumentException(
            "prediction " + b + " at pixel " + i + " is not a class index in [0, " + n + ")");
      }
      hist[a][b]++;
      counted++;
    }
    return counted;
  }

  /** {@code diag.sum() / hist.sum()}; NaN for an empty hist. */
  public static double overallAccuracy(long[][] hist) {
    long diag = 0;
    long total = 0;
    for (int i = 0; i < hist.length; i++) {
      diag += hist[i][i];
      total += rowSum(hist, i);
    }
    return (double) diag / (double) total;
  }

  /** Per-class accuracy (recall) {@code diag / hist.sum(1)}; NaN where a class has no label pixels. */
  public static double[] classAccuracy(long[][] hist) {
    double[] acc = new double[hist.length];
    for (int i = 0; i < hist.length; i++) {
      acc[i] = (double) hist[i][i] / (double) rowSum(hist, i);
    }
    return acc;
  }

  /** {@code nanmean(diag / hist.sum(1))}. */
  public static double meanAccuracy(long[][] hist) {
    return nanmean(classAccuracy(hist));
  }

  /**
   * Per-class intersection over union {@code diag / (hist.sum(1) + hist.sum(0) - diag)}; NaN where a
   * class is absent from both labels and predictions.
   */
  public static double[] iu(long[][] hist) {
    double[] iu = new double[hist.length];
    for (int i = 0; i < hist.length; i++) {
      long d = hist[i][i];
      iu[i] = (double) d / (double) (rowSum(hist, i) + colSum(hist, i) - d);
    }
    return iu;
  }

  /** {@code nanmean(iu(hist))}. */
  public static double meanIu(long[][] hist) {
    return nanmean(iu(hist));
  }

  /**
   * Frequency-weighted IU: with {@code freq = hist.sum(1) / hist.sum()}, the sum of
   * {@code freq * iu} over classes with {@code freq > 0}. NaN for an empty hist.
   */
  public static double fwavacc(long[][] hist) {
    long total = total(hist);
    double[] iu = iu(hist);
    double sum = 0;
    for (int i = 0; i < hist.length; i++) {
      double freq = (double) rowSum(hist, i) / (double) total;
      if (freq > 0) {
        sum += freq * iu[i];
      }
    }
    return total == 0 ? Double.NaN : sum;
  }

  /** numpy's nanmean: the mean of the non-NaN entries; NaN when there are none. */
  public static double nanmean(double[] values) {
    double sum = 0;
    int count = 0;
    for (double v : values) {
      if (!Double.isNaN(v)) {
        sum += v;
        count++;
      }
    }
    return count == 0 ? Double.NaN : sum / count;
  }

  /** The number of pixels counted in {@code hist}. */
  public static long total(long[][] hist) {
    long t = 0;
    for (long[] row : hist) {
      for (long v : row) {
        t += v;
      }
    }
    return t;
  }

  /** Label pixels of class {@code i} ({@code hist.sum(1)[i]}). */
  public static long rowSum(long[][] hist, int i) {
    long s = 0;
    for (long v : hist[i]) {
      s += v;
    }
    return s;
  }

  /** Pixels predicted as class {@code j} ({@code hist.sum(0)[j]}). */
  public static long colSum(long[][] hist, int j) {
    long s = 0;
    for (long[] row : hist) {
      s += row[j];
    }
    return s;
  }
}
