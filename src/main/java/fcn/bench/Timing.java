package fcn.bench;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * Latency statistics of a sample of run times (pure functions, no clock). Percentiles use
 * linear interpolation between closest ranks (NumPy's default {@code np.percentile}), the
 * standard deviation is the population one (ddof = 0, NumPy's default {@code np.std}, as in the
 * bench report), and the coefficient of variation is std/mean.
 */
public final class Timing {
  /** Above this coefficient of variation the timings are reported as noisy. */
  public static final double NOISY_CV = 0.10;

  private Timing() {}

  /** Statistics in milliseconds of one sample of run times. */
  public record Stats(int count, double minMs, double meanMs, double medianMs, double p90Ms,
      double p95Ms, double p99Ms, double maxMs, double stdMs, double totalMs) {

    /** Runs per second over the whole sample: count / total time (batch 1). */
    public double perSecond() {
      return totalMs <= 0 ? Double.NaN : count * 1000.0 / totalMs;
    }

    /** Images per second when each run processes {@code batch} images. */
    public double imagesPerSecond(long batch) {
      return perSecond() * batch;
    }

    /** Coefficient of variation: std / mean. */
    public double cv() {
      return meanMs > 0 ? stdMs / meanMs : Double.NaN;
    }

    /** True when {@link #cv()} exceeds {@link #NOISY_CV}. */
    public boolean noisy() {
      return cv() > NOISY_CV;
    }

    /** The one-line warning when the timings are noisy. */
    public Optional<String> warning() {
      if (!noisy()) {
        return Optional.empty();
      }
      return Optional.of(String.format(Locale.ROOT,
          "timings are noisy (coefficient of variation %.1f%% > %.0f%%): close other programs, "
              + "pin --threads, or run more --iterations", 100 * cv(), 100 * NOISY_CV));
    }
  }

  /** Statistics of run times given in nanoseconds. */
  public static Stats ofNanos(long[] nanos) {
    double[] ms = new double[nanos.length];
    for (int i = 0; i < nanos.length; i++) {
      ms[i] = nanos[i] / 1e6;
    }
    return ofMillis(ms);
  }

  /**
   * Statistics of run times given in milliseconds.
   *
   * @throws IllegalArgumentException for an empty sample
   */
  public static Stats ofMillis(double[] ms) {
    if (ms.length == 0) {
      throw new IllegalArgumentException("no timings");
    }
    double[] s = ms.clone();
    Arrays.sort(s);
    double total = 0;
    for (double v : s) {
      total += v;
    }
    double mean = total / s.length;
    double ss = 0;
    for (double v : s) {
      ss += (v - mean) * (v - mean);
    }
    double std = Math.sqrt(ss / s.length);
    return new Stats(s.length, s[0], mean, percentile(s, 50), percentile(s, 90),
        percentile(s, 95), percentile(s, 99), s[s.length - 1], std, total);
  }

  /**
   * The q-th percentile (0..100) of an ascending-sorted sample, interpolating linearly between
   * the closest ranks: position q/100·(n−1).
   */
  public static double percentile(double[] sorted, double q) {
    if (sorted.length == 0) {
      throw new IllegalArgumentException("no values");
    }
    if (q < 0 || q > 100) {
      throw new IllegalArgumentException("percentile must be in [0, 100], got " + q);
    }
    double pos = q / 100.0 * (sorted.length - 1);
    int lo = (int) Math.floor(pos);
    int hi = Math.min(lo + 1, sorted.length - 1);
    double frac = pos - lo;
    return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
  }

  /**
   * Parses a duration such as "30s", "500ms", "2m", "1.5s" or a bare number of seconds.
   *
   * @return nanoseconds
   * @throws fcn.core.FcnException for anything else
   */
  public static long parseDuration(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    double factor;
    String num;
    if (t.endsWith("ms")) {
      factor = 1e6;
      num = t.substring(0, t.length() - 2);
    } else if (t.endsWith("s")) {
      factor = 1e9;
      num = t.substring(0, t.length() - 1);
    } else if (t.endsWith("m")) {
      factor = 60e9;
      num = t.substring(0, t.length() - 1);
    } else if (t.endsWith("h")) {
      factor = 3600e9;
      num = t.substring(0, t.length() - 1);
    } else {
      factor = 1e9;
      num = t;
    }
    double v;
    try {
      v = Double.parseDouble(num.trim());
    } catch (NumberFormatException e) {
      v = Double.NaN;
    }
    if (!(v > 0) || Double.isInfinite(v)) {
      throw new fcn.core.FcnException("--duration '" + text
          + "' is not a positive duration; expected e.g. 30s, 500ms or 2m");
    }
    return (long) (v * factor);
  }
}
