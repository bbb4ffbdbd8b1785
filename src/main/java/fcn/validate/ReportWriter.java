package fcn.validate;

import fcn.core.AtomicFile;
import fcn.core.FcnException;
import fcn.validate.ValidationReport.SetResult;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;

/**
 * Renders a {@link ValidationReport}: a compact terminal table, CSV (one row per set and output)
 * and JSON. CSV and JSON carry the same numbers at full precision (shortest round-trip decimal);
 * a NaN or infinite statistic is "nan"/"inf"/"-inf" in CSV and null in JSON. Files are written
 * atomically.
 */
public final class ReportWriter {
  /** CSV columns, also the JSON keys of an output. */
  public static final List<String> COLUMNS = List.of(
      "set", "output", "shape", "elements", "failed", "passed", "atol", "rtol",
      "max_abs_error", "mean_abs_error", "max_rel_error", "mean_rel_error", "cosine_similarity",
      "label_agreement_pct", "min_label_agreement_pct", "disagreeing_pixels", "pixels",
      "worst_index", "worst_actual", "worst_expected", "nan_actual", "nan_expected", "run_ms");

  private ReportWriter() {}

  /** The rule applied ("rule: ..."), the table, and a one-line verdict. */
  public static String table(ValidationReport report) {
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"set", "output", "shape", "max abs", "mean abs", "max rel", "cosine",
        "labels", "failed", "result"});
    for (SetResult s : report.sets()) {
      for (CompareResult r : s.outputs()) {
        rows.add(new String[] {
          s.name(), r.output(), r.shapeString(), g(r.maxAbsError()), g(r.meanAbsError()),
          g(r.maxRelError()), String.format(Locale.ROOT, "%.6f", r.cosineSimilarity()),
          r.isScoreMap() ? String.format(Locale.ROOT, "%.3f%%", r.labelAgreement()) : "-",
          r.failed() + "/" + r.count(), r.passed() ? "ok" : "FAIL"});
      }
    }
    int[] w = new int[rows.get(0).length];
    for (String[] row : rows) {
      for (int i = 0; i < row.length; i++) {
        w[i] = Math.max(w[i], row[i].length());
      }
    }
    StringBuilder sb = new StringBuilder();
    sb.append("rule: ").append(report.rule()).append('\n');
    for (String[] row : rows) {
      for (int i = 0; i < row.length; i++) {
        boolean numeric = i >= 3 && i <= 8;
        String cell = numeric ? " ".repeat(w[i] - row[i].length()) + row[i]
            : row[i] + (i < row.length - 1 ? " ".repeat(w[i] - row[i].length()) : "");
        sb.append(cell).append(i < row.length - 1 ? "  " : "");
      }
      sb.append('\n');
    }
    int failures = report.failures().size();
    sb.append(String.format(Locale.ROOT, "%s: %d set(s), %d output comparison(s)%s; %s, load %.1f ms%n",
        report.passed() ? "PASS" : "FAIL", report.sets().size(), report.comparisons(),
        failures == 0 ? "" : ", " + failures + " mismatch(es)", report.runtime(), report.loadMillis()));
    return sb.toString();
  }

  private static String g(double v) {
    return CompareResult.num(v);
  }

  /** The values of one CSV row / JSON output object, in {@link #COLUMNS} order (null = NaN/inf). */
  private static List<Object> values(SetResult s, CompareResult r) {
    List<Object> v = new ArrayList<>();
    v.add(s.name());
    v.add(r.output());
    v.add(r.shapeString());
    v.add(r.count());
    v.add(r.failed());
    v.add(r.passed());
    v.add(r.tolerance().atol());
    v.add(r.tolerance().rtol());
    v.add(r.maxAbsError());
    v.add(r.meanAbsError());
    v.add(r.maxRelError());
    v.add(r.meanRelError());
    v.add(r.cosineSimilarity());
    v.add(r.isScoreMap() ? r.labelAgreement() : Double.NaN);
    v.add(r.tolerance().minLabelAgreement());
    v.add(r.isScoreMap() ? (Object) r.disagreeingPixels() : null);
    v.add(r.isScoreMap() ? (Object) r.pixels() : null);
    v.add(r.worstIndexString());
    v.add(r.worstActual());
    v.add(r.worstExpected());
    v.add(r.nanActual());
    v.add(r.nanExpected());
    v.add(s.runMillis());
    return v;
  }

  private static String csvCell(Object o) {
    if (o == null) {
      return "";
    }
    if (o instanceof Double d) {
      return finite(d) ? Double.toString(d) : nonFinite(d);
    }
    if (o instanceof Float f) {
      return finite(f) ? Float.toString(f) : nonFinite(f);
    }
    return o.toString();
  }

  private static boolean finite(double d) {
    return !Double.isNaN(d) && !Double.isInfinite(d);
  }

  private static String nonFinite(double d) {
    return Double.isNaN(d) ? "nan" : d > 0 ? "inf" : "-inf";
  }

  /** The CSV text (header + one row per set and output). */
  public static String csv(ValidationReport report) {
    StringBuilder sb = new StringBuilder();
    try (CSVPrinter p = new CSVPrinter(sb, CSVFormat.DEFAULT.builder()
        .setHeader(COLUMNS.toArray(String[]::new)).setRecordSeparator("\n").build())) {
      for (SetResult s : report.sets()) {
        for (CompareResult r : s.outputs()) {
          p.printRecord(values(s, r).stream().map(ReportWriter::csvCell).toList());
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return sb.toString();
  }

  public static void writeCsv(ValidationReport report, Path file) {
    write(file, csv(report));
  }

  /** The JSON text: model, runtime, load_ms, passed, sets[{name, run_ms, passed, outputs[...]}]. */
  public static String json(ValidationReport report) {
    StringBuilder sb = new StringBuilder();
    sb.append("{\n");
    sb.append("  \"model\": ").append(quote(report.model())).append(",\n");
    sb.append("  \"runtime\": ").append(quote(report.runtime())).append(",\n");
    sb.append("  \"load_ms\": ").append(jsonValue(report.loadMillis())).append(",\n");
    sb.append("  \"rule\": ").append(quote(report.rule())).append(",\n");
    sb.append("  \"passed\": ").append(report.passed()).append(",\n");
    sb.append("  \"sets\": [");
    for (int i = 0; i < report.sets().size(); i++) {
      SetResult s = report.sets().get(i);
      sb.append(i == 0 ? "\n" : ",\n");
      sb.append("    {\n");
      sb.append("      \"name\": ").append(quote(s.name())).append(",\n");
      sb.append("      \"run_ms\": ").append(jsonValue(s.runMillis())).append(",\n");
      sb.append("      \"passed\": ").append(s.passed()).append(",\n");
      sb.append("      \"outputs\": [");
      for (int j = 0; j < s.outputs().size(); j++) {
        CompareResult r = s.outputs().get(j);
        List<Object> vals = values(s, r);
        sb.append(j == 0 ? "\n" : ",\n").append("        {");
        // "set" and "run_ms" belong to the enclosing set object.
        boolean first = true;
        for (int k = 0; k < COLUMNS.size(); k++) {
          String key = COLUMNS.get(k);
          if (key.equals("set") || key.equals("run_ms")) {
            continue;
          }
          Object v = vals.get(k);
          if (key.equals("shape")) {
            v = r.shape();
          } else if (key.equals("worst_index")) {
            v = r.worstIndex();
          }
          sb.append(first ? "" : ", ").append(quote(key)).append(": ").append(jsonValue(v));
          first = false;
        }
        sb.append('}');
      }
      sb.append(s.outputs().isEmpty() ? "]\n" : "\n      ]\n");
      sb.append("    }");
    }
    sb.append(report.sets().isEmpty() ? "]\n" : "\n  ]\n");
    sb.append("}\n");
    return sb.toString();
  }

  public static void writeJson(ValidationReport report, Path file) {
    write(file, json(report));
  }

  private static String jsonValue(Object o) {
    if (o == null) {
      return "null";
    }
    if (o instanceof Double d) {
      return finite(d) ? Double.toString(d) : "null";
    }
    if (o instanceof Float f) {
      return finite(f) ? Float.toString(f) : "null";
    }
    if (o instanceof long[] a) {
      StringBuilder sb = new StringBuilder("[");
      for (int i = 0; i < a.length; i++) {
        sb.append(i == 0 ? "" : ", ").append(a[i]);
      }
      return sb.append(']').toString();
    }
    if (o instanceof Number || o instanceof Boolean) {
      return o.toString();
    }
    return quote(o.toString());
  }

  static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) {
            sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"').toString();
  }

  private static void write(Path file, String text) {
    try (AtomicFile f = new AtomicFile(file)) {
      Writer w = new OutputStreamWriter(f.stream(), StandardCharsets.UTF_8);
      w.write(text);
      w.flush();
      f.commit();
    } catch (IOException e) {
      throw new FcnException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }
}
