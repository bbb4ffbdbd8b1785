package fcn.report;

import fcn.core.AtomicFile;
import fcn.core.FcnException;
import fcn.core.FileChecks;
import fcn.metrics.Scores;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
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
  /** The fixed column schema, in order. Changing it breaks existing reports and baselines. */
  public static final List<String> COLUMNS = List.of("timestamp", "model_file", "model_sha256", "model_name",
      "device", "execution_provider", "ort_version", "input_shape", "threads", "warmup", "iterations", "load_ms",
      "first_run_ms", "min_ms", "mean_ms", "median_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "std_ms",
      "images_per_s", "gflops", "gflops_per_s", "dataset", "split", "images", "pixel_acc", "mean_acc", "mean_iu",
      "fw_iu", "host");

  /** Columns holding fractions (score.py's scale): a value outside 0..1 is a malformed report. */
  static final Set<String> FRACTIONS = Set.of("pixel_acc", "mean_acc", "mean_iu", "fw_iu");

  static final CSVFormat FORMAT = CSVFormat.DEFAULT.builder().setRecordSeparator("\n").build();

  // Appends in one JVM are serialised; separate processes appending to one file at the same
  // moment are not supported (the later rename would drop the other's row).
  private static final Object LOCK = new Object();

  private BenchReport() {}

  /**
   * Appends {@code record} to {@code csv}, writing the header first if the file is new or empty.
   * The whole new file is written to a temp file and renamed over the old one.
   *
   * @throws FcnException if the existing file's header is not {@link #COLUMNS}, or a row is malformed
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
      for (CSVRecord r : p) {
        List<String> cells = r.toList();
        if (header) {
          header = false;
          if (!cells.equals(COLUMNS)) {
            throw new FcnException(csv + ": header does not match the report schema: " + schemaDiff(cells));
          }
          continue;
        }
        if (cells.size() == 1 && cells.get(0).isEmpty()) {
          continue;
        }
        if (cells.size() != COLUMNS.size()) {
          throw new FcnException(csv + ":" + p.getCurrentLineNumber() + ": row has " + cells.size()
              + " cells; expected " + COLUMNS.size() + " (" + String.join(",", COLUMNS) + ")");
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
    return List.of(r.timestamp() == null ? "" : r.timestamp().toString(), text(r.modelFile()),
        text(r.modelSha256()), text(r.modelName()), text(r.device()), text(r.executionProvider()),
        text(r.ortVersion()), text(r.inputShape()), integer(r.threads()), integer(r.warmup()),
        integer(r.iterations()), number(r.loadMs()), number(r.firstRunMs()), number(r.minMs()),
        number(r.meanMs()), number(r.medianMs()), number(r.p90Ms()), number(r.p95Ms()), number(r.p99Ms()),
        number(r.maxMs()), number(r.stdMs()), number(r.imagesPerS()), number(r.gflops()),
        number(r.gflopsPerS()), text(r.dataset()), text(r.split()), integer(r.images()), number(r.pixelAcc()),
        number(r.meanAcc()), number(r.meanIu()), number(r.fwIu()), text(r.host()));
  }

  private static BenchRecord fromCells(Path csv, long line, List<String> c) {
    Cells in = new Cells(csv, line, c);
    return BenchRecord.builder()
        .timestamp(in.get("timestamp", s -> {
          try {
            return Instant.parse(s);
          } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("an ISO-8601 UTC timestamp like 2025-01-31T12:00:00Z");
          }
        }))
        .modelFile(in.text("model_file")).modelSha256(in.text("model_sha256")).modelName(in.text("model_name"))
        .device(in.text("device")).executionProvider(in.text("execution_provider"))
        .ortVersion(in.text("ort_version")).inputShape(in.text("input_shape"))
        .threads(in.integer("threads")).warmup(in.integer("warmup")).iterations(in.integer("iterations"))
        .loadMs(in.number("load_ms")).firstRunMs(in.number("first_run_ms")).minMs(in.number("min_ms"))
        .meanMs(in.number("mean_ms")).medianMs(in.number("median_ms")).p90Ms(in.number("p90_ms"))
        .p95Ms(in.number("p95_ms")).p99Ms(in.number("p99_ms")).maxMs(in.number("max_ms"))
        .stdMs(in.number("std_ms")).imagesPerS(in.number("images_per_s")).gflops(in.number("gflops"))
        .gflopsPerS(in.number("gflops_per_s")).dataset(in.text("dataset")).split(in.text("split"))
        .images(in.integer("images")).pixelAcc(in.fraction("pixel_acc")).meanAcc(in.fraction("mean_acc"))
        .meanIu(in.fraction("mean_iu")).fwIu(in.fraction("fw_iu")).host(in.text("host"))
        .build();
  }

  private record Cells(Path csv, long line, List<String> cells) {
    <T> T get(String column, Function<String, T> parse) {
      String s = cells.get(COLUMNS.indexOf(column)).strip();
      if (s.isEmpty()) {
        return null;
      }
      try {
        return parse.apply(s);
      } catch (IllegalArgumentException e) {
        String m = e.getMessage();
        throw new FcnException(csv + ":" + line + ": column " + column + ": '" + s + "' is "
            + (m != null && (m.startsWith("an ") || m.startsWith("outside")) ? m : "not a number"));
      }
    }

    String text(String column) {
      return get(column, s -> s);
    }

    // Every integer column counts something (threads, runs, images): negative is malformed.
    Integer integer(String column) {
      return get(column, s -> {
        int v;
        try {
          v = Integer.parseInt(s);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("not an integer");
        }
        if (v < 0) {
          throw new IllegalArgumentException("outside its range: a count must be >= 0");
        }
        return v;
      });
    }

    // Every other number is a time, a rate or a size: finite and >= 0 (an empty cell is the
    // only way to say "not measured"; "NaN" text is read the same, as older reports wrote it).
    Double number(String column) {
      return decimal(column, d -> d >= 0 && !Double.isInfinite(d),
          "outside its range: expected a finite number >= 0");
    }

    Double fraction(String column) {
      return decimal(column, d -> d >= 0 && d <= 1,
          "outside 0..1: the report holds fractions (0.7531 for 75.31%), not percent");
    }

    private Double decimal(String column, java.util.function.DoublePredicate inRange, String outside) {
      return get(column, s -> {
        double d;
        try {
          d = Double.parseDouble(s);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("not a number");
        }
        if (Double.isNaN(d)) {
          return null;
        }
        if (!inRange.test(d)) {
          throw new IllegalArgumentException(outside);
        }
        return d;
      });
    }
  }

  private static String text(String s) {
    return s == null ? "" : s;
  }

  private static String integer(Integer v) {
    return v == null ? "" : v.toString();
  }

  /** Plain decimal, round-trippable; empty for null/NaN/infinite. */
  static String number(Double v) {
    if (v == null || v.isNaN() || v.isInfinite()) {
      return "";
    }
    if (v == 0) {
      return "0";
    }
    return BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
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
