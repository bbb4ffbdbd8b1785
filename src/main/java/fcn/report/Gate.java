package fcn.report;

import fcn.core.FcnException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The regression gate: compares a current report with a baseline report. Stateless.
 *
 * <p>Rows are matched by {@link Key} (model_name, device, input_shape, dataset); when a file has
 * several rows for one key, the one with the latest timestamp wins (equal timestamps: the later
 * row in the file). For every matched key:
 *
 * <ul>
 *   <li><b>mean IU</b> (if {@code maxMiouDrop} is set): delta = (current - baseline) x 100, in
 *       percentage points (the CSV holds fractions). Fails when the drop exceeds the limit.
 *       Skipped when the baseline has no mean_iu; fails when only the current row lacks it.
 *   <li><b>median latency</b> (if {@code maxLatencyIncrease} is set): delta = (current - baseline)
 *       / baseline x 100 %. Fails when it exceeds the limit <em>and</em> the increase is more than
 *       {@code latencyNoiseMs} in absolute terms: timer jitter on a sub-millisecond model can
 *       exceed any percentage. Skipped/failed on missing values as for mean IU.
 * </ul>
 *
 * <p>A baseline key absent from the current report fails: a model silently dropping out of the
 * run (crash, filter, renamed key) must not pass as "no regression". Keys only in the current
 * report are listed as new and pass. Comparisons allow 1e-9 of floating-point slack at the limit.
 */
public final class Gate {
  /** Default absolute latency noise floor, in ms. */
  public static final double DEFAULT_LATENCY_NOISE_MS = 0.2;

  private static final double SLACK = 1e-9;

  private Gate() {}

  /**
   * Gate limits.
   *
   * @param maxMiouDrop allowed mean-IU drop in percentage points; null = not checked
   * @param maxLatencyIncrease allowed median-latency increase in percent; null = not checked
   * @param latencyNoiseMs latency increases up to this many ms never fail
   * @param junitXml where to write JUnit XML, or null
   */
  public record Options(Double maxMiouDrop, Double maxLatencyIncrease, double latencyNoiseMs, Path junitXml) {
    public Options {
      if (maxMiouDrop != null && !(maxMiouDrop >= 0 && maxMiouDrop <= 100)) {
        throw new FcnException("--max-miou-drop " + maxMiouDrop + ": expected 0 to 100 percentage points");
      }
      if (maxLatencyIncrease != null && !(maxLatencyIncrease >= 0)) {
        throw new FcnException("--max-latency-increase " + maxLatencyIncrease + "%: expected a non-negative percentage");
      }
      if (!(latencyNoiseMs >= 0) || Double.isInfinite(latencyNoiseMs)) {
        throw new FcnException("latency noise " + latencyNoiseMs + " ms: expected a non-negative number");
      }
    }

    /** CI's gate: mean-IU rule only. */
    public static Options miouOnly(double maxMiouDrop) {
      return new Options(maxMiouDrop, null, DEFAULT_LATENCY_NOISE_MS, null);
    }
  }

  /** The identity of a report row across runs. Nulls are read as empty strings. */
  public record Key(String modelName, String device, String inputShape, String dataset) {
    public static Key of(BenchRecord r) {
      return new Key(nz(r.modelName()), nz(r.device()), nz(r.inputShape()), nz(r.dataset()));
    }

    private static String nz(String s) {
      return s == null ? "" : s;
    }

    @Override
    public String toString() {
      return (modelName.isEmpty() ? "?" : modelName) + " [" + String.join(", ", device, inputShape, dataset) + "]";
    }
  }

  /** Parses a percentage such as {@code 10%}, {@code 10} or {@code 2.5 %}. */
  public static double parsePercent(String text) {
    String s = text.strip();
    if (s.endsWith("%")) {
      s = s.substring(0, s.length() - 1).strip();
    }
    try {
      double v = Double.parseDouble(s);
      if (!(v >= 0) || Double.isInfinite(v)) {
        throw new NumberFormatException();
      }
      return v;
    } catch (NumberFormatException e) {
      throw new FcnException("percentage '" + text + "': expected a non-negative number such as 10%");
    }
  }

  /** Compares the two reports; writes JUnit XML if asked. */
  public static GateResult check(Path current, Path baseline, Options o) {
    if (o.maxMiouDrop() == null && o.maxLatencyIncrease() == null) {
      throw new FcnException("no gate rule enabled: give --max-miou-drop and/or --max-latency-increase");
    }
    // Fail closed: an empty or header-only file is bad input (exit 2), never "nothing regressed".
    Map<Key, BenchRecord> base = latest(BenchReport.readRows(baseline, "baseline"));
    Map<Key, BenchRecord> cur = latest(BenchReport.readRows(current, "current"));
    // --junit onto either report would replace it.
    fcn.core.FileChecks.input(current);
    fcn.core.FileChecks.input(baseline);
    List<GateResult.Row> rows = new ArrayList<>();
    for (Map.Entry<Key, BenchRecord> e : base.entrySet()) {
      BenchRecord c = cur.get(e.getKey());
      if (c == null) {
        rows.add(new GateResult.Row(e.getKey(), e.getValue(), null, List.of(new GateResult.Check("present",
            GateResult.Status.FAIL, Double.NaN, "missing from the current report (present in the baseline)"))));
        continue;
      }
      List<GateResult.Check> checks = new ArrayList<>();
      if (o.maxMiouDrop() != null) {
        checks.add(miou(e.getValue().meanIu(), c.meanIu(), o.maxMiouDrop()));
      }
      if (o.maxLatencyIncrease() != null) {
        checks.add(latency(e.getValue().medianMs(), c.medianMs(), o.maxLatencyIncrease(), o.latencyNoiseMs()));
      }
      rows.add(new GateResult.Row(e.getKey(), e.getValue(), c, checks));
    }
    for (Map.Entry<Key, BenchRecord> e : cur.entrySet()) {
      if (!base.containsKey(e.getKey())) {
        rows.add(new GateResult.Row(e.getKey(), null, e.getValue(), List.of()));
      }
    }
    GateResult result = new GateResult(current, baseline, o, rows);
    if (result.compared() == 0 && result.passed() && !base.isEmpty()) {
      // Every matched row skipped every enabled rule: nothing was checked, which must not read
      // as a pass (a baseline without the metric switches the gate off).
      throw new FcnException(baseline + ": no row has " + (o.maxMiouDrop() != null ? "mean_iu" : "")
          + (o.maxMiouDrop() != null && o.maxLatencyIncrease() != null ? " or " : "")
          + (o.maxLatencyIncrease() != null ? "median_ms" : "")
          + " for the gate to compare; nothing was checked");
    }
    if (o.junitXml() != null) {
      result.writeJunit(o.junitXml());
    }
    return result;
  }

  private static GateResult.Check miou(Double base, Double cur, double limit) {
    if (base == null) {
      return new GateResult.Check("mean_iu", GateResult.Status.SKIP, Double.NaN, "baseline has no mean_iu");
    }
    if (cur == null) {
      return new GateResult.Check("mean_iu", GateResult.Status.FAIL, Double.NaN, String.format(Locale.ROOT,
          "current row has no mean_iu (baseline %.2f)", 100 * base));
    }
    double delta = (cur - base) * 100;
    boolean fail = -delta > limit + SLACK;
    return new GateResult.Check("mean_iu", fail ? GateResult.Status.FAIL : GateResult.Status.PASS, delta,
        String.format(Locale.ROOT, "mean IU %.2f -> %.2f (%+.2f points; may drop at most %.2f)",
            100 * base, 100 * cur, delta, limit));
  }

  private static GateResult.Check latency(Double base, Double cur, double limitPct, double noiseMs) {
    if (base == null) {
      return new GateResult.Check("median_latency", GateResult.Status.SKIP, Double.NaN, "baseline has no median_ms");
    }
    if (cur == null) {
      return new GateResult.Check("median_latency", GateResult.Status.FAIL, Double.NaN, String.format(Locale.ROOT,
          "current row has no median_ms (baseline %.3f ms)", base));
    }
    double pct = base > 0 ? (cur - base) / base * 100 : (cur > base ? Double.POSITIVE_INFINITY : 0);
    boolean fail = pct > limitPct + SLACK && cur - base > noiseMs;
    return new GateResult.Check("median_latency", fail ? GateResult.Status.FAIL : GateResult.Status.PASS, pct,
        String.format(Locale.ROOT, "median %.3f -> %.3f ms (%+.1f%%; may rise at most %.1f%%, rises up to %.2f ms are noise)",
            base, cur, pct, limitPct, noiseMs));
  }

  // Latest row per key; keys keep their first-seen order so tables follow the file.
  static Map<Key, BenchRecord> latest(List<BenchRecord> rows) {
    Map<Key, BenchRecord> m = new LinkedHashMap<>();
    for (BenchRecord r : rows) {
      m.merge(Key.of(r), r, (old, neu) -> time(neu).compareTo(time(old)) >= 0 ? neu : old);
    }
    return m;
  }

  private static Instant time(BenchRecord r) {
    return r.timestamp() == null ? Instant.MIN : r.timestamp();
  }
}
