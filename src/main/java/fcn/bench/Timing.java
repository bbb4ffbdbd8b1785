package fcn.bench;

import fcn.report.Latencies;
import java.util.Locale;
import java.util.Optional;

/**
 * Latency statistics of a sample of run times (pure functions, no clock), as the bench summary
 * reads them: {@link Latencies} (computed once, in the report package, so the summary and the
 * report row agree) plus throughput and the noise verdict. The coefficient of variation is
 * std/mean.
 */
public final class Timing {
  /** Above this coefficient of variation the timings are reported as noisy. */
  public static final double NOISY_CV = 0.10;

  private Timing() {}

  /** Statistics in milliseconds of one sample of run times. */
  public record Stats(Latencies latencies) {

    public int count() {
      return latencies.count();
    }

    public double minMs() {
      return latencies.minMs();
    }

    public double meanMs() {
      return latencies.meanMs();
    }

    public double medianMs() {
      return latencies.medianMs();
    }

    public double p90Ms() {
      return latencies.p90Ms();
    }

    public double p95Ms() {
      return latencies.p95Ms();
    }

    public double p99Ms() {
      return latencies.p99Ms();
    }

    public double maxMs() {
      return latencies.maxMs();
    }

    public double stdMs() {
      return latencies.stdMs();
    }

    public double totalMs() {
      return latencies.totalMs();
    }

    /** Runs per second over the whole sample: count / total time (batch 1). */
    public double perSecond() {
      return totalMs() <= 0 ? Double.NaN : count() * 1000.0 / totalMs();
    }

    /** Images per second when each run processes {@code batch} images. */
    public double imagesPerSecond(long batch) {
      return perSecond() * batch;
    }

    /** Coefficient of variation: std / mean. */
    public double cv() {
      return meanMs() > 0 ? stdMs() / meanMs() : Double.NaN;
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
    return new Stats(Latencies.of(ms));
  }

  /** See {@link Latencies#percentile}. */
  public static double percentile(double[] sorted, double q) {
    return Latencies.percentile(sorted, q);
  }

  /**
   * Parses a duration such as "30s", "500ms", "2m", "1.5s" or a bare number of seconds.
   *
   * @return nanoseconds
   * @throws fcn.core.FcnException for anything else
   */
  /** Longest --duration: a day. */
  public static final double MAX_DURATION_NANOS = 24 * 3600e9;

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
    if (!(v > 0) || v * factor > MAX_DURATION_NANOS) {
      throw new fcn.core.FcnException("--duration '" + text
          + "' is not a positive duration up to 24h; expected e.g. 30s, 500ms or 2m");
    }
    return (long) (v * factor);
  }
}
