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
 * <p>Rows are matched by {@link Key} (model_name, precision, device, input_shape, dataset; an empty
 * precision, as in reports written before that column, is fp32); when a file has several rows for
 * one key, the one with the latest timestamp wins (equal timestamps: the later row in the file).
 * A reduced-precision (int8, fp16) current row whose key the baseline lacks is held against the
 * baseline's fp32 row of the same model, device, input and dataset: that is how a quantized
 * model is gated against its float original. For every matched pair:
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

  /**
   * The identity of a report row across runs, from the schema's key columns. Nulls are read as
   * empty strings, an empty precision as fp32.
   */
  public record Key(String modelName, String precision, String device, String inputShape, String dataset) {
    public static Key of(BenchRecord r) {
      return new Key(nz(Columns.MODEL_NAME.of(r)), Precision.orFp32(Columns.PRECISION.of(r)),
          nz(Columns.DEVICE.of(r)), nz(Columns.INPUT_SHAPE.of(r)), nz(Columns.DATASET.of(r)));
    }

    private static String nz(String s) {
      return s == null ? "" : s;
    }

    /** The same row in fp32: what a reduced-precision row is held against when the baseline has no row of its own. */
    public Key asFp32() {
      return new Key(modelName, Precision.FP32, device, inputShape, dataset);
    }

    /** The model cell of tables: the name, with the precision when it is not fp32. */
    public String model() {
      String m = modelName.isEmpty() ? "?" : modelName;
      return precision.equals(Precision.FP32) ? m : m + " " + precision;
    }

    @Override
    public String toString() {
      return model() + " [" + String.join(", ", device, inputShape, dataset) + "]";
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
    // Which current rows each baseline row is compared with: its own key, and reduced-precision
    // rows of the same model that the baseline has no row for.
    Map<Key, List<Key>> against = new LinkedHashMap<>();
    base.keySet().forEach(k -> against.put(k, new ArrayList<>()));
    List<Key> fresh = new ArrayList<>();
    for (Key k : cur.keySet()) {
      Key b = base.containsKey(k) ? k : base.containsKey(k.asFp32()) ? k.asFp32() : null;
      if (b == null) {
        fresh.add(k);
      } else {
        against.get(b).add(k);
      }
    }
    List<GateResult.Row> rows = new ArrayList<>();
    for (Map.Entry<Key, List<Key>> e : against.entrySet()) {
      BenchRecord b = base.get(e.getKey());
      if (e.getValue().isEmpty()) {
        rows.add(new GateResult.Row(e.getKey(), b, null, List.of(new GateResult.Check("present",
            GateResult.Status.FAIL, Double.NaN, "missing from the current report (present in the baseline)"))));
        continue;
      }
      for (Key k : e.getValue()) {
        BenchRecord c = cur.get(k);
        List<GateResult.Check> checks = new ArrayList<>();
        if (o.maxMiouDrop() != null) {
          checks.add(miou(Columns.MEAN_IU.of(b), Columns.MEAN_IU.of(c), o.maxMiouDrop()));
        }
        if (o.maxLatencyIncrease() != null) {
          checks.add(latency(Columns.MEDIAN_MS.of(b), Columns.MEDIAN_MS.of(c), o.maxLatencyIncrease(),
              o.latencyNoiseMs()));
        }
        rows.add(new GateResult.Row(k, b, c, checks));
      }
    }
    for (Key k : fresh) {
      rows.add(new GateResult.Row(k, null, cur.get(k), List.of()));
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
