package fcn.metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The scores of one evaluation: score.py's four numbers, per-class IU and accuracy, the confusion
 * matrix they came from, and the class names. Immutable: arrays are copied in and out.
 *
 * <p>All metric values are fractions in [0, 1] (as score.py prints them), NaN where undefined
 * (see {@link Metrics}).
 */
public final class Scores {
  private final long[][] hist;
  private final List<String> classNames;
  private final double pixelAccuracy;
  private final double meanAccuracy;
  private final double meanIu;
  private final double fwIu;
  private final double[] classIu;
  private final double[] classAccuracy;
  private final long pixels;

  private Scores(long[][] hist, List<String> classNames) {
    this.hist = copy(hist);
    this.classNames = List.copyOf(classNames);
    this.pixelAccuracy = Metrics.overallAccuracy(hist);
    this.meanAccuracy = Metrics.meanAccuracy(hist);
    this.meanIu = Metrics.meanIu(hist);
    this.fwIu = Metrics.fwavacc(hist);
    this.classIu = Metrics.iu(hist);
    this.classAccuracy = Metrics.classAccuracy(hist);
    this.pixels = Metrics.total(hist);
  }

  /**
   * Scores of a square confusion matrix; {@code classNames} must have one name per row (pass
   * {@link #defaultNames} when none are known).
   */
  public static Scores of(long[][] hist, List<String> classNames) {
    for (long[] row : hist) {
      if (row.length != hist.length) {
        throw new IllegalArgumentException("hist must be square, got a row of " + row.length
            + " in a " + hist.length + "-row matrix");
      }
    }
    if (classNames.size() != hist.length) {
      throw new IllegalArgumentException(
          classNames.size() + " class names for a " + hist.length + "-class hist");
    }
    return new Scores(hist, classNames);
  }

  /** Names "0", "1", ... for data without a class list. */
  public static List<String> defaultNames(int numClasses) {
    List<String> names = new ArrayList<>(numClasses);
    for (int i = 0; i < numClasses; i++) {
      names.add(Integer.toString(i));
    }
    return names;
  }

  public int numClasses() {
    return hist.length;
  }

  /** Overall pixel accuracy (score.py "overall accuracy"). */
  public double pixelAccuracy() {
    return pixelAccuracy;
  }

  /** Mean of per-class accuracy, NaN-skipping (score.py "mean accuracy"). */
  public double meanAccuracy() {
    return meanAccuracy;
  }

  /** Mean IU, NaN-skipping (score.py "mean IU"). */
  public double meanIu() {
    return meanIu;
  }

  /** Frequency-weighted IU (score.py "fwavacc"). */
  public double fwIu() {
    return fwIu;
  }

  public double[] classIu() {
    return classIu.clone();
  }

  public double[] classAccuracy() {
    return classAccuracy.clone();
  }

  /** Ground-truth pixels per class (the hist's row sums). */
  public long[] classPixels() {
    long[] p = new long[hist.length];
    for (int i = 0; i < hist.length; i++) {
      p[i] = Metrics.rowSum(hist, i);
    }
    return p;
  }

  public long[][] hist() {
    return copy(hist);
  }

  public List<String> classNames() {
    return classNames;
  }

  /** Pixels counted (void/ignored pixels excluded). */
  public long pixels() {
    return pixels;
  }

  /**
   * A human-readable summary: the four scores, then one line per class (IU, accuracy, pixels),
   * in percent; "-" marks a class absent from both labels and predictions.
   */
  public String table() {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "pixel acc  %7s%n", pct(pixelAccuracy)));
    sb.append(String.format(Locale.ROOT, "mean acc   %7s%n", pct(meanAccuracy)));
    sb.append(String.format(Locale.ROOT, "mean IU    %7s%n", pct(meanIu)));
    sb.append(String.format(Locale.ROOT, "fw IU      %7s%n", pct(fwIu)));
    int w = 5;
    for (String n : classNames) {
      w = Math.max(w, n.length());
    }
    long[] px = classPixels();
    sb.append(String.format(Locale.ROOT, "%3s  %-" + w + "s  %7s  %7s  %12s%n",
        "#", "class", "IU %", "acc %", "pixels"));
    for (int i = 0; i < hist.length; i++) {
      sb.append(String.format(Locale.ROOT, "%3d  %-" + w + "s  %7s  %7s  %12d%n",
          i, classNames.get(i), pct(classIu[i]), pct(classAccuracy[i]), px[i]));
    }
    return sb.toString();
  }

  private static String pct(double v) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2f", 100 * v);
  }

  private static long[][] copy(long[][] h) {
    long[][] c = new long[h.length][];
    for (int i = 0; i < h.length; i++) {
      c[i] = h[i].clone();
    }
    return c;
  }
}
