package fcn.report;

import java.util.Arrays;

/**
 * Summary statistics of a sample of latencies in milliseconds: the one implementation behind
 * the bench summary ({@code fcn.bench.Timing}) and the report row ({@link BenchRecord}).
 * Percentiles use linear interpolation between closest ranks (NumPy's default
 * {@code np.percentile}); the standard deviation is the population one (ddof = 0, NumPy's
 * default {@code np.std}).
 */
public record Latencies(int count, double minMs, double meanMs, double medianMs, double p90Ms,
    double p95Ms, double p99Ms, double maxMs, double stdMs, double totalMs) {

  /**
   * Statistics of latencies given in milliseconds.
   *
   * @throws IllegalArgumentException for an empty sample
   */
  public static Latencies of(double[] ms) {
    if (ms.length == 0) {
      throw new IllegalArgumentException("no latency samples");
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
    return new Latencies(s.length, s[0], mean, percentile(s, 50), percentile(s, 90),
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
}
