package fcn.report;

import fcn.core.AtomicFile;
import fcn.core.FcnException;
import fcn.core.FileChecks;
import fcn.metrics.Scores;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVPrinter;
import org.apache.commons.csv.CSVRecord;

/**
 * The bench/score CSV report: one {@link BenchRecord} per row under a fixed header
 * ({@link #COLUMNS}, documented in {@code reports/README.md}), plus the per-class and confusion
 * side files of the latest scored run. Owns the file format; every write replaces the whole file
 * atomically, so a reader never sees a half row even if a run is killed mid-write.
 *
 * <p>Cells: RFC 4180 quoting, {@code \n} line ends, empty = not measured (or NaN), numbers in
 * plain decimal notation with enough digits to round-trip a double, timestamps ISO-8601 UTC.
 */
public final class BenchReport {
  /**
   * The column names, in order ({@link Columns} is the schema). Changing it breaks existing
   * reports and baselines, except for columns added at the end with a legacy cell (see {@link #append}).
   */
  public static final List<String> COLUMNS = Columns.NAMES;

  static final CSVFormat FORMAT = CSVFormat.DEFAULT.builder().setRecordSeparator("\n").build();

  // Appends in one JVM are serialised; separate processes appending to one file at the same
  // moment are not supported (the later rename would drop the other's row).
  private static final Object LOCK = new Object();

  private BenchReport() {}

  /**
   * Appends {@code record} to {@code csv}, writing the header first if the file is new or empty.
   * The whole new file is written to a temp file and renamed over the old one. A report written
   * before the columns added later ({@link Columns#FIRST_SCHEMA}) is upgraded on the way: the new
   * header, and each old row with those columns' legacy cells ({@code precision} = fp32), its
   * other cells unchanged.
   *
   * @throws FcnException if the existing file's header is neither schema, or a row is malformed
   */
  public static void append(Path csv, BenchRecord record) {
    synchronized (LOCK) {
      String existing = "";
      String kind = FileChecks.notAFile(csv);
      if (kind != null) {
        throw new FcnException(csv + ": " + kind + "; expected a CSV report file to append to");
      }
      if (Files.exists(csv)) {
        existing = readString(csv);
        parse(csv, existing);
        if (isFirstSchema(existing)) {
          existing = upgrade(existing);
        }
      }
      StringBuilder sb = new StringBuilder(existing);
      if (existing.isEmpty()) {
        sb.append(formatRow(COLUMNS));
      } else if (!existing.endsWith("\n")) {
        sb.append('\n');
      }
      sb.append(formatRow(cells(record)));
      AtomicFile.write(csv, sb.toString().getBytes(StandardCharsets.UTF_8));
    }
  }

  private static boolean isFirstSchema(String text) {
    try (CSVParser p = CSVParser.parse(new StringReader(text), FORMAT)) {
      var it = p.iterator();
      return it.hasNext() && it.next().toList().equals(Columns.FIRST_SCHEMA);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A first-schema report's text under the current header (already parsed, so well-formed). */
  private static String upgrade(String text) {
    StringBuilder sb = new StringBuilder(formatRow(COLUMNS));
    try (CSVParser p = CSVParser.parse(new StringReader(text), FORMAT)) {
      boolean header = true;
      for (CSVRecord r : p) {
        if (header) {
          header = false;
          continue;
        }
        List<String> cells = r.toList();
        if (cells.size() == 1 && cells.get(0).isEmpty()) {
          continue;
        }
        sb.append(formatRow(withLegacyCells(cells)));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return sb.toString();
  }

  /** First-schema cells spread onto the current columns, the later ones with their legacy cells. */
  private static List<String> withLegacyCells(List<String> firstSchemaCells) {
    List<String> out = new ArrayList<>(COLUMNS.size());
    int k = 0;
    for (Column<?> c : Columns.ALL) {
      out.add(c.legacyCell() != null ? c.legacyCell() : firstSchemaCells.get(k++));
    }
    return out;
  }

  /** All rows of a report, in file order (none for an empty or header-only file). */
  public static List<BenchRecord> read(Path csv) {
    FileChecks.requireFile(csv, "a CSV report written by fcn bench/score");
    return parse(csv, readString(csv));
  }

  /**
   * The rows of a report that must have some, as the gate needs: an empty (0-byte or blank) or
   * header-only file is refused naming it, so a truncated or emptied baseline cannot pass.
   *
   * @param role what the file is for, e.g. "baseline", for the message
   */
  public static List<BenchRecord> readRows(Path csv, String role) {
    FileChecks.requireFile(csv, "a CSV report written by fcn bench/score");
    String text = readString(csv);
    if (text.isBlank()) {
      throw new FcnException(csv + ": " + role + " report is empty; expected the header and at least one row"
          + " written by fcn bench/score --report");
    }
    List<BenchRecord> rows = parse(csv, text);
    if (rows.isEmpty()) {
      throw new FcnException(csv + ": " + role + " report has a header but no rows; expected at least one row");
    }
    return rows;
  }

  private static List<BenchRecord> parse(Path csv, String text) {
    List<BenchRecord> out = new ArrayList<>();
    if (text.isEmpty()) {
      return out;
    }
    try (CSVParser p = CSVParser.parse(new StringReader(text), FORMAT)) {
      boolean header = true;
      List<String> schema = COLUMNS;
      for (CSVRecord r : p) {
        List<String> cells = r.toList();
        if (header) {
          header = false;
          if (cells.equals(Columns.FIRST_SCHEMA)) {
            schema = Columns.FIRST_SCHEMA; // written before precision/ep_nodes: read as fp32
          } else if (!cells.equals(COLUMNS)) {
            throw new FcnException(csv + ": header does not match the report schema: " + schemaDiff(cells));
          }
          continue;
        }
        if (cells.size() == 1 && cells.get(0).isEmpty()) {
          continue;
        }
        if (cells.size() != schema.size()) {
          throw new FcnException(csv + ":" + p.getCurrentLineNumber() + ": row has " + cells.size()
              + " cells; expected " + schema.size() + " (" + String.join(",", schema) + ")");
        }
        if (schema != COLUMNS) {
          cells = withLegacyCells(cells);
        }
        out.add(fromCells(csv, p.getCurrentLineNumber(), cells));
      }
    } catch (IOException | UncheckedIOException | IllegalStateException e) {
      // commons-csv wraps its CSVException in UncheckedIOException, whose message starts with
      // the class name: show the parser's own words.
      Throwable t = e instanceof UncheckedIOException && e.getCause() != null ? e.getCause() : e;
      String m = t.getMessage() == null ? "unreadable" : t.getMessage().replaceAll("\\s+", " ");
      throw new FcnException(csv + ": not a valid CSV report: " + m, e);
    }
    return out;
  }

  /** Which columns differ from {@link #COLUMNS}: missing, unexpected, or the order. */
  static String schemaDiff(List<String> header) {
    Set<String> have = new LinkedHashSet<>(header);
    List<String> missing = COLUMNS.stream().filter(c -> !have.contains(c)).toList();
    List<String> extra = header.stream().filter(c -> !COLUMNS.contains(c)).distinct().toList();
    List<String> parts = new ArrayList<>();
    if (!missing.isEmpty()) {
      parts.add("missing " + shortList(missing));
    }
    if (!extra.isEmpty()) {
      parts.add("unexpected " + shortList(extra));
    }
    if (parts.isEmpty()) {
      if (have.size() < header.size()) {
        parts.add("repeated columns");
      } else {
        for (int i = 0; i < COLUMNS.size(); i++) {
          if (!COLUMNS.get(i).equals(header.get(i))) {
            parts.add("column " + (i + 1) + " is " + header.get(i) + ", expected " + COLUMNS.get(i)
                + " (same columns, other order)");
            break;
          }
        }
      }
    }
    return String.join("; ", parts) + " (schema: reports/README.md)";
  }

  private static String shortList(List<String> names) {
    List<String> shown = names.stream().map(n -> n.length() > 30 ? n.substring(0, 30) + "..." : n).toList();
    return shown.size() <= 6 ? String.join(",", shown)
        : String.join(",", shown.subList(0, 6)) + " and " + (shown.size() - 6) + " more";
  }

  /** {@code DIR/NAME-classes.csv} for report {@code DIR/NAME.csv}. */
  public static Path classesFile(Path report) {
    return sideFile(report, "-classes.csv");
  }

  /** {@code DIR/NAME-confusion.csv} for report {@code DIR/NAME.csv}. */
  public static Path confusionFile(Path report) {
    return sideFile(report, "-confusion.csv");
  }

  private static Path sideFile(Path report, String suffix) {
    String n = report.getFileName().toString();
    String base = n.toLowerCase(java.util.Locale.ROOT).endsWith(".csv") ? n.substring(0, n.length() - 4) : n;
    return report.resolveSibling(base + suffix);
  }

  /**
   * Writes the per-class CSV ({@code class,name,iu,accuracy,pixels}) and the confusion CSV (header
   * {@code label} then the class names; one row per ground-truth class, one column per predicted
   * class) beside {@code report}. They describe one run, so each scored run replaces them.
   *
   * @return the two files written
   */
  public static List<Path> writeClassFiles(Path report, Scores s) {
    List<String> names = s.classNames();
    double[] iu = s.classIu();
    double[] acc = s.classAccuracy();
    long[] px = s.classPixels();
    StringBuilder classes = new StringBuilder(formatRow(List.of("class", "name", "iu", "accuracy", "pixels")));
    for (int i = 0; i < names.size(); i++) {
      classes.append(formatRow(List.of(Integer.toString(i), names.get(i), number(iu[i]), number(acc[i]),
          Long.toString(px[i]))));
    }
    List<String> header = new ArrayList<>();
    header.add("label");
    header.addAll(names);
    StringBuilder confusion = new StringBuilder(formatRow(header));
    long[][] h = s.hist();
    for (int a = 0; a < h.length; a++) {
      List<String> row = new ArrayList<>();
      row.add(names.get(a));
      for (long v : h[a]) {
        row.add(Long.toString(v));
      }
      confusion.append(formatRow(row));
    }
    Path cf = classesFile(report);
    Path mf = confusionFile(report);
    AtomicFile.write(cf, classes.toString().getBytes(StandardCharsets.UTF_8));
    AtomicFile.write(mf, confusion.toString().getBytes(StandardCharsets.UTF_8));
    return List.of(cf, mf);
  }

  /** A record's cells in {@link #COLUMNS} order. */
  static List<String> cells(BenchRecord r) {
    List<String> out = new ArrayList<>(Columns.ALL.size());
    for (Column<?> c : Columns.ALL) {
      out.add(c.cell(r));
    }
    return out;
  }

  private static BenchRecord fromCells(Path csv, long line, List<String> cells) {
    BenchRecord.Builder b = BenchRecord.builder();
    for (Column<?> c : Columns.ALL) {
      set(b, c, csv, line, cells.get(c.index()));
    }
    return b.build();
  }

  private static <T> void set(BenchRecord.Builder b, Column<T> c, Path csv, long line, String cell) {
    T v;
    try {
      v = c.parse(cell);
    } catch (IllegalArgumentException e) {
      String m = e.getMessage();
      throw new FcnException(csv + ":" + line + ": column " + c.name() + ": '" + cell.strip() + "' is "
          + (m != null && (m.startsWith("an ") || m.startsWith("outside")) ? m : "not a number"));
    }
    b.set(c, v);
  }

  /** Plain decimal, round-trippable; empty for null/NaN/infinite. */
  static String number(Double v) {
    return Column.decimalCell(v);
  }

  private static String formatRow(List<String> cells) {
    StringWriter w = new StringWriter();
    try (CSVPrinter p = new CSVPrinter(w, FORMAT)) {
      p.printRecord(cells);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return w.toString();
  }

  private static String readString(Path csv) {
    try {
      String s = Files.readString(csv, StandardCharsets.UTF_8);
      // Spreadsheet programs like to save CSV with a byte-order mark; it is not part of the header.
      return s.startsWith("\uFEFF") ? s.substring(1) : s;
    } catch (IOException e) {
      throw new FcnException(csv + ": cannot read: " + FileChecks.reason(e), e);
    }
  }
}
