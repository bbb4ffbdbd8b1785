package fcn.report;

import fcn.core.AtomicFile;
import fcn.core.FcnException;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;

/** The outcome of {@link Gate#check}: one {@link Row} per key of either report. Immutable. */
public final class GateResult {
  /** A rule's outcome. */
  public enum Status {
    PASS, FAIL, SKIP
  }

  /**
   * One rule applied to one matched row.
   *
   * @param rule {@code present}, {@code mean_iu} or {@code median_latency}
   * @param delta mean IU: points (current - baseline); latency: percent; NaN when not computed
   */
  public record Check(String rule, Status status, double delta, String message) {}

  /**
   * A key's verdict. {@code baseline} is null for a new key, {@code current} null for a missing one.
   */
  public record Row(Gate.Key key, BenchRecord baseline, BenchRecord current, List<Check> checks) {
    public Row {
      checks = List.copyOf(checks);
    }

    /**
     * The model cell of the table: the key's model, and the baseline's precision when the row is
     * held against a baseline row of another precision (an int8 row against fp32: "m int8 vs fp32").
     */
    public String modelCell() {
      String m = key.model();
      if (baseline != null && current != null) {
        String b = Precision.orFp32(baseline.precision());
        if (!b.equals(key.precision())) {
          return m + " vs " + b;
        }
      }
      return key.modelName().isEmpty() ? "" : m;
    }

    public boolean failed() {
      return checks.stream().anyMatch(c -> c.status() == Status.FAIL);
    }

    /** PASS, FAIL, NEW (only in current) or MISSING (only in baseline; a failure). */
    public String verdict() {
      if (current == null) {
        return "MISSING";
      }
      if (baseline == null) {
        return "NEW";
      }
      return failed() ? "FAIL" : "PASS";
    }
  }

  private final Path current;
  private final Path baseline;
  private final Gate.Options options;
  private final List<Row> rows;

  GateResult(Path current, Path baseline, Gate.Options options, List<Row> rows) {
    this.current = current;
    this.baseline = baseline;
    this.options = options;
    this.rows = List.copyOf(rows);
  }

  public List<Row> rows() {
    return rows;
  }

  /** How many metric checks (mean_iu, median_latency) passed or failed, i.e. really compared. */
  public int compared() {
    int n = 0;
    for (Row r : rows) {
      for (Check c : r.checks()) {
        if (!c.rule().equals("present") && c.status() != Status.SKIP) {
          n++;
        }
      }
    }
    return n;
  }

  /** True when no row failed. */
  public boolean passed() {
    return rows.stream().noneMatch(Row::failed);
  }

  /** The rules as applied, in words (includes the latency noise margin). */
  public String rules() {
    String miou = options.maxMiouDrop() == null ? "mean IU not checked"
        : String.format(Locale.ROOT, "mean IU may drop at most %.2f points", options.maxMiouDrop());
    String lat = options.maxLatencyIncrease() == null ? "median latency not checked"
        : String.format(Locale.ROOT, "median latency may rise at most %.1f%% (noise margin: rises up to %.2f ms never fail)",
            options.maxLatencyIncrease(), options.latencyNoiseMs());
    return miou + "; " + lat + "; baseline rows missing from the current report fail";
  }

  /** A printable table of deltas, one line per key, then a one-line summary. */
  public String table() {
    List<String[]> lines = new ArrayList<>();
    lines.add(new String[] {"model", "device", "input", "dataset", "mIoU base", "mIoU cur", "d points",
        "median base", "median cur", "d %", "verdict"});
    for (Row r : rows) {
      Double bi = r.baseline() == null ? null : r.baseline().meanIu();
      Double ci = r.current() == null ? null : r.current().meanIu();
      Double bl = r.baseline() == null ? null : r.baseline().medianMs();
      Double cl = r.current() == null ? null : r.current().medianMs();
      lines.add(new String[] {dash(r.modelCell()), dash(r.key().device()), dash(r.key().inputShape()),
          dash(r.key().dataset()), pct(bi), pct(ci),
          bi != null && ci != null ? String.format(Locale.ROOT, "%+.2f", (ci - bi) * 100) : "-",
          ms(bl), ms(cl),
          bl != null && cl != null && bl > 0 ? String.format(Locale.ROOT, "%+.1f", (cl - bl) / bl * 100) : "-",
          r.verdict()});
    }
    int[] w = new int[lines.get(0).length];
    for (String[] l : lines) {
      for (int i = 0; i < l.length; i++) {
        w[i] = Math.max(w[i], l[i].length());
      }
    }
    StringBuilder sb = new StringBuilder();
    sb.append("gate: ").append(current).append(" vs baseline ").append(baseline).append('\n');
    sb.append("rules: ").append(rules()).append('\n');
    for (String[] l : lines) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < l.length; i++) {
        boolean numeric = i >= 4 && i <= 9;
        String f = "%" + (numeric ? "" : "-") + w[i] + "s";
        line.append(String.format(Locale.ROOT, f, l[i])).append(i + 1 < l.length ? "  " : "");
      }
      sb.append(line.toString().stripTrailing()).append('\n');
    }
    for (Row r : rows) {
      for (Check c : r.checks()) {
        if (c.status() == Status.FAIL) {
          sb.append("FAIL ").append(r.key()).append(": ").append(c.message()).append('\n');
        }
      }
    }
    long compared = rows.stream().filter(r -> r.baseline() != null && r.current() != null).count();
    long regressed = rows.stream().filter(r -> r.baseline() != null && r.current() != null && r.failed()).count();
    long missing = rows.stream().filter(r -> r.current() == null).count();
    long fresh = rows.stream().filter(r -> r.baseline() == null).count();
    sb.append(String.format(Locale.ROOT, "gate %s: %d compared, %d regressed, %d missing, %d new (not gated)%n",
        passed() ? "PASSED" : "FAILED", compared, regressed, missing, fresh));
    return sb.toString();
  }

  private static String dash(String s) {
    return s == null || s.isEmpty() ? "-" : s;
  }

  private static String pct(Double v) {
    return v == null ? "-" : String.format(Locale.ROOT, "%.2f", 100 * v);
  }

  private static String ms(Double v) {
    return v == null ? "-" : String.format(Locale.ROOT, "%.3f", v);
  }

  /**
   * Writes JUnit XML (one testsuite; one testcase per gated row and rule, named
   * {@code RULE MODEL [DEVICE, SHAPE, DATASET]}; {@code <failure>} on regression, {@code <skipped>}
   * when the baseline lacks the metric). New rows are not testcases. Written atomically.
   */
  public void writeJunit(Path file) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    int tests = 0;
    int failures = 0;
    int skipped = 0;
    for (Row r : rows) {
      for (Check c : r.checks()) {
        tests++;
        failures += c.status() == Status.FAIL ? 1 : 0;
        skipped += c.status() == Status.SKIP ? 1 : 0;
      }
    }
    try {
      XMLStreamWriter x = XMLOutputFactory.newFactory().createXMLStreamWriter(bytes, "UTF-8");
      x.writeStartDocument("UTF-8", "1.0");
      x.writeCharacters("\n");
      x.writeStartElement("testsuites");
      x.writeAttribute("tests", Integer.toString(tests));
      x.writeAttribute("failures", Integer.toString(failures));
      x.writeCharacters("\n  ");
      x.writeStartElement("testsuite");
      x.writeAttribute("name", "fcn.gate");
      x.writeAttribute("tests", Integer.toString(tests));
      x.writeAttribute("failures", Integer.toString(failures));
      x.writeAttribute("errors", "0");
      x.writeAttribute("skipped", Integer.toString(skipped));
      x.writeCharacters("\n    ");
      x.writeStartElement("properties");
      property(x, "current", String.valueOf(current));
      property(x, "baseline", String.valueOf(baseline));
      property(x, "rules", rules());
      x.writeEndElement();
      for (Row r : rows) {
        for (Check c : r.checks()) {
          x.writeCharacters("\n    ");
          x.writeStartElement("testcase");
          x.writeAttribute("classname", "fcn.gate." + c.rule());
          x.writeAttribute("name", c.rule() + " " + r.key());
          x.writeAttribute("time", "0");
          if (c.status() == Status.FAIL) {
            x.writeStartElement("failure");
            x.writeAttribute("type", "regression");
            x.writeAttribute("message", c.message());
            x.writeCharacters(r.key() + ": " + c.message());
            x.writeEndElement();
          } else if (c.status() == Status.SKIP) {
            x.writeEmptyElement("skipped");
            x.writeAttribute("message", c.message());
          } else {
            x.writeStartElement("system-out");
            x.writeCharacters(c.message());
            x.writeEndElement();
          }
          x.writeEndElement();
        }
      }
      x.writeCharacters("\n  ");
      x.writeEndElement();
      x.writeCharacters("\n");
      x.writeEndElement();
      x.writeCharacters("\n");
      x.writeEndDocument();
      x.close();
    } catch (XMLStreamException e) {
      throw new FcnException("cannot write JUnit XML " + file + ": " + e.getMessage(), e);
    }
    AtomicFile.write(file, bytes.toByteArray());
  }

  private static void property(XMLStreamWriter x, String name, String value) throws XMLStreamException {
    x.writeCharacters("\n      ");
    x.writeEmptyElement("property");
    x.writeAttribute("name", name);
    x.writeAttribute("value", value);
  }
}
