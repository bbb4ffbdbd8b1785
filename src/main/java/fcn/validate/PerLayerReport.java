package fcn.validate;

import fcn.core.AtomicFile;
import fcn.ir.Shape;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;

/**
 * The result of a per-layer comparison ({@link PerLayer}): per set, one row per compared tensor
 * in the model's topological order, the reference blobs that were not compared and why, and the
 * first divergence: the first tensor that fails, all the tensors it was computed from passing
 * (in topological order, the first failing tensor always is one). Renders the terminal table,
 * CSV (one row per set and blob) and JSON; NaN is "nan" in CSV and null in JSON. Immutable.
 *
 * @param model the model compared
 * @param runtime what ran it
 * @param reference what made the reference blobs
 * @param rule the pass rule, in words
 * @param notes what was checked and how, for the terminal
 * @param sets the sets, in fixture order
 */
public record PerLayerReport(String model, String runtime, String reference, String rule, List<String> notes,
    List<SetRows> sets) {
  /** CSV columns, also the JSON keys of a row. */
  public static final List<String> COLUMNS = List.of("set", "index", "layer", "type", "blob", "shape", "status",
      "first_divergence", "err_over_ref", "max_abs_error", "mean_abs_error", "cosine_similarity", "label_agreement_pct",
      "elements", "failed", "computed_from", "reason");

  /** How the reason of a Caffe Split copy starts. */
  static final String SPLIT = "Caffe's automatic Split copy of ";

  public PerLayerReport {
    notes = List.copyOf(notes);
    sets = List.copyOf(sets);
  }

  /**
   * One compared (or listed) blob.
   *
   * @param layer the layer(s) that wrote it ("conv1_1+relu1_1" for an in-place ReLU)
   * @param type their types
   * @param blob the tensor / blob name
   * @param shape the reference shape (null when unknown)
   * @param result the comparison; null when not compared
   * @param errOverRef max|err| / max|ref|
   * @param computedFrom the compared tensors (or inputs) it was computed from
   * @param reason why it was not compared; null when it was
   * @param scoreMap true for N x C x H x W blobs with the model output's class count (labels shown and checked)
   * @param shapeMismatch true when the model computes the tensor with another shape than the
   *     reference's ({@code reason} says which): a divergence, not a tensor left out
   */
  public record Row(String layer, String type, String blob, long[] shape, CompareResult result, double errOverRef,
      List<String> computedFrom, String reason, boolean scoreMap, boolean shapeMismatch) {
    public Row {
      computedFrom = List.copyOf(computedFrom);
    }

    public boolean compared() {
      return result != null;
    }

    public boolean failed() {
      return shapeMismatch || result != null && !result.passed();
    }

    /** "score_pool4c (Crop)". */
    public String label() {
      return (layer.isEmpty() ? blob : layer) + (type.isEmpty() ? "" : " (" + type + ")");
    }
  }

  /** One set's rows (compared, in order) and the blobs it did not compare. */
  public record SetRows(String name, List<Row> rows, List<Row> notCompared) {
    public SetRows {
      rows = List.copyOf(rows);
      notCompared = List.copyOf(notCompared);
    }

    public boolean passed() {
      return rows.stream().noneMatch(Row::failed);
    }

    /** The first failing row (its inputs, earlier in topological order, all pass); null when none fails. */
    public Row firstDivergence() {
      return rows.stream().filter(Row::failed).findFirst().orElse(null);
    }

    public long comparedCount() {
      return rows.stream().filter(r -> r.compared() || r.shapeMismatch()).count();
    }
  }

  public boolean passed() {
    return sets.stream().allMatch(SetRows::passed);
  }

  /** "first divergence: score_pool4c (Crop): inputs match (score_pool4, upscore2), output max|err|/max|ref| 0.21". */
  public static String divergenceLine(SetRows s) {
    Row r = s.firstDivergence();
    if (r == null) {
      return "first divergence: none (" + s.comparedCount() + " tensors compared, all match)";
    }
    StringBuilder sb = new StringBuilder("first divergence: ").append(r.label());
    if (!r.blob().equals(r.layer())) {
      sb.append(", blob ").append(r.blob());
    }
    sb.append(": inputs match");
    if (!r.computedFrom().isEmpty()) {
      sb.append(" (").append(String.join(", ", r.computedFrom())).append(')');
    }
    if (r.shapeMismatch()) {
      return sb.append(", output ").append(r.reason()).toString();
    }
    sb.append(", output max|err|/max|ref| ").append(g(r.errOverRef()));
    CompareResult c = r.result();
    if (c.labelsChecked() && c.labelAgreement() < c.tolerance().minLabelAgreement()) {
      sb.append(String.format(Locale.ROOT, ", labels %.3f%%", c.labelAgreement()));
    }
    return sb.toString();
  }

  /** Notes, the rule, per set a table, its not-compared blobs and its first divergence; then the verdict. */
  public String table() {
    StringBuilder sb = new StringBuilder();
    sb.append("rule: ").append(rule).append('\n');
    for (SetRows s : sets) {
      sb.append("set ").append(s.name()).append('\n');
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"layer", "type", "blob", "shape", "max|err|/max|ref|", "cosine", "labels", "verdict"});
      Row first = s.firstDivergence();
      for (Row r : s.rows()) {
        CompareResult c = r.result();
        rows.add(new String[] {r.layer(), r.type(), r.blob(), r.shape() == null ? "?" : Shape.format(r.shape()),
            c == null ? "-" : g(r.errOverRef()),
            c == null ? "-" : String.format(Locale.ROOT, "%.6f", c.cosineSimilarity()),
            c != null && r.scoreMap() ? String.format(Locale.ROOT, "%.3f%%", c.labelAgreement()) : "-",
            r.failed() ? (r == first ? "FAIL <- first" : "FAIL") + (r.shapeMismatch() ? ": " + r.reason() : "")
                : c == null ? "not compared: " + r.reason() : "ok"});
      }
      int[] w = new int[rows.get(0).length];
      for (String[] row : rows) {
        for (int i = 0; i < row.length; i++) {
          w[i] = Math.max(w[i], row[i].length());
        }
      }
      for (String[] row : rows) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < row.length; i++) {
          boolean numeric = i >= 4 && i <= 6;
          String pad = " ".repeat(w[i] - row[i].length());
          line.append(numeric ? pad + row[i] : row[i] + (i < row.length - 1 ? pad : "")).append(i < row.length - 1 ? "  " : "");
        }
        sb.append(line.toString().stripTrailing()).append('\n');
      }
      // Caffe's Split copies: one line per blob copied.
      java.util.Map<String, List<String>> splits = new java.util.LinkedHashMap<>();
      for (Row r : s.notCompared()) {
        if (r.reason() != null && r.reason().startsWith(SPLIT)) {
          splits.computeIfAbsent(r.reason(), k -> new ArrayList<>()).add(r.blob());
        }
      }
      splits.forEach((why, blobs) -> sb.append("not compared: ").append(String.join(", ", blobs)).append(": ")
          .append(why).append('\n'));
      for (Row r : s.notCompared()) {
        if (r.reason() != null && r.reason().startsWith(SPLIT)) {
          continue;
        }
        sb.append("not compared: ").append(r.blob());
        if (!r.layer().isEmpty()) {
          sb.append(" (").append(r.layer()).append(r.type().isEmpty() ? "" : ", " + r.type()).append(')');
        }
        sb.append(": ").append(r.reason()).append('\n');
      }
      sb.append(sets.size() > 1 ? s.name() + ": " : "").append(divergenceLine(s)).append('\n');
    }
    long failing = sets.stream().flatMap(s -> s.rows().stream()).filter(Row::failed).count();
    long compared = sets.stream().mapToLong(SetRows::comparedCount).sum();
    sb.append(passed() ? "PASS" : "FAIL").append(String.format(Locale.ROOT,
        ": %d set(s), %d tensor comparison(s), %d failed; %s vs %s%n", sets.size(), compared, failing, runtime, reference));
    return sb.toString();
  }

  private static List<Object> values(SetRows s, int index, Row r, boolean first) {
    CompareResult c = r.result();
    List<Object> v = new ArrayList<>();
    v.add(s.name());
    v.add(index);
    v.add(r.layer());
    v.add(r.type());
    v.add(r.blob());
    v.add(r.shape() == null ? "" : Shape.format(r.shape()));
    v.add(r.failed() ? "FAIL" : c == null ? "not compared" : "ok");
    v.add(first);
    v.add(c == null ? null : (Object) r.errOverRef());
    v.add(c == null ? null : (Object) c.maxAbsError());
    v.add(c == null ? null : (Object) c.meanAbsError());
    v.add(c == null ? null : (Object) c.cosineSimilarity());
    v.add(c != null && r.scoreMap() ? (Object) c.labelAgreement() : null);
    v.add(c == null ? null : (Object) c.count());
    v.add(c == null ? null : (Object) c.failed());
    v.add(String.join(" ", r.computedFrom()));
    v.add(r.reason() == null ? "" : r.reason());
    return v;
  }

  private List<List<Object>> records() {
    List<List<Object>> out = new ArrayList<>();
    for (SetRows s : sets) {
      Row first = s.firstDivergence();
      int i = 0;
      for (Row r : s.rows()) {
        out.add(values(s, i++, r, r == first));
      }
      for (Row r : s.notCompared()) {
        out.add(values(s, i++, r, false));
      }
    }
    return out;
  }

  /** CSV: header + one row per set and blob (compared first, in order, then the others). */
  public String csv() {
    StringBuilder sb = new StringBuilder();
    try (CSVPrinter p = new CSVPrinter(sb, CSVFormat.DEFAULT.builder()
        .setHeader(COLUMNS.toArray(String[]::new)).setRecordSeparator("\n").build())) {
      for (List<Object> rec : records()) {
        p.printRecord(rec.stream().map(PerLayerReport::csvCell).toList());
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return sb.toString();
  }

  /** JSON: model, runtime, reference, rule, passed, sets[{name, passed, first_divergence, layers[...]}]. */
  public String json() {
    StringBuilder sb = new StringBuilder("{\n");
    sb.append("  \"model\": ").append(ReportWriter.quote(model)).append(",\n");
    sb.append("  \"runtime\": ").append(ReportWriter.quote(runtime)).append(",\n");
    sb.append("  \"reference\": ").append(ReportWriter.quote(reference)).append(",\n");
    sb.append("  \"rule\": ").append(ReportWriter.quote(rule)).append(",\n");
    sb.append("  \"per_layer\": true,\n");
    sb.append("  \"passed\": ").append(passed()).append(",\n");
    sb.append("  \"sets\": [");
    List<List<Object>> recs = records();
    int at = 0;
    for (int i = 0; i < sets.size(); i++) {
      SetRows s = sets.get(i);
      Row first = s.firstDivergence();
      sb.append(i == 0 ? "\n" : ",\n").append("    {\n");
      sb.append("      \"name\": ").append(ReportWriter.quote(s.name())).append(",\n");
      sb.append("      \"passed\": ").append(s.passed()).append(",\n");
      sb.append("      \"first_divergence\": ").append(first == null ? "null" : ReportWriter.quote(first.blob())).append(",\n");
      sb.append("      \"summary\": ").append(ReportWriter.quote(divergenceLine(s))).append(",\n");
      sb.append("      \"layers\": [");
      int n = s.rows().size() + s.notCompared().size();
      for (int j = 0; j < n; j++) {
        List<Object> rec = recs.get(at++);
        sb.append(j == 0 ? "\n" : ",\n").append("        {");
        for (int k = 1; k < COLUMNS.size(); k++) {
          Object v = rec.get(k);
          if (COLUMNS.get(k).equals("computed_from")) {
            Row r = j < s.rows().size() ? s.rows().get(j) : s.notCompared().get(j - s.rows().size());
            v = r.computedFrom();
          }
          sb.append(k == 1 ? "" : ", ").append(ReportWriter.quote(COLUMNS.get(k))).append(": ").append(jsonValue(v));
        }
        sb.append('}');
      }
      sb.append(n == 0 ? "]\n" : "\n      ]\n").append("    }");
    }
    sb.append(sets.isEmpty() ? "]\n" : "\n  ]\n").append("}\n");
    return sb.toString();
  }

  public void writeCsv(java.nio.file.Path file) {
    AtomicFile.write(file, csv().getBytes(StandardCharsets.UTF_8));
  }

  public void writeJson(java.nio.file.Path file) {
    AtomicFile.write(file, json().getBytes(StandardCharsets.UTF_8));
  }

  private static String csvCell(Object o) {
    if (o == null) {
      return "";
    }
    if (o instanceof Double d) {
      return Double.isNaN(d) ? "nan" : Double.isInfinite(d) ? (d > 0 ? "inf" : "-inf") : Double.toString(d);
    }
    return o.toString();
  }

  private static String jsonValue(Object o) {
    if (o == null) {
      return "null";
    }
    if (o instanceof Double d) {
      return Double.isNaN(d) || Double.isInfinite(d) ? "null" : Double.toString(d);
    }
    if (o instanceof List<?> l) {
      StringBuilder sb = new StringBuilder("[");
      for (int i = 0; i < l.size(); i++) {
        sb.append(i == 0 ? "" : ", ").append(ReportWriter.quote(String.valueOf(l.get(i))));
      }
      return sb.append(']').toString();
    }
    if (o instanceof Number || o instanceof Boolean) {
      return o.toString();
    }
    return ReportWriter.quote(o.toString());
  }

  /** Short number: 3 significant digits, "0" for zero, "nan"/"inf". */
  static String g(double v) {
    if (Double.isNaN(v)) {
      return "nan";
    }
    if (Double.isInfinite(v)) {
      return "inf";
    }
    if (v == 0) {
      return "0";
    }
    return v >= 1e-3 && v < 1e4 ? CompareResult.num(Double.parseDouble(String.format(Locale.ROOT, "%.3g", v)))
        : String.format(Locale.ROOT, "%.2e", v);
  }
}
