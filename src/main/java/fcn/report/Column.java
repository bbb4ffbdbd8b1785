package fcn.report;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * One column of the report schema: its name, where its value sits in a {@link BenchRecord}, how
 * a value is written to a cell and how a cell is read back (with its range check). The table of
 * all columns is {@link Columns}; {@link BenchRecord}, {@link BenchReport} and {@link Gate} read
 * the schema from there only, so a column is added with one line in that table.
 *
 * <p>Cells: empty = not measured (null). Parsing throws {@link IllegalArgumentException} whose
 * message completes "'CELL' is ..." (BenchReport puts file, line and column in front).
 *
 * @param <T> the value type held by records
 */
public final class Column<T> {
  private final String name;
  private final int index;
  private final Class<T> type;
  private final Function<T, String> format;
  private final Function<String, T> parse;
  private final UnaryOperator<T> normalize;
  private final String legacyCell;

  private Column(String name, int index, Class<T> type, Function<T, String> format, Function<String, T> parse,
      UnaryOperator<T> normalize, String legacyCell) {
    this.name = name;
    this.index = index;
    this.type = type;
    this.format = format;
    this.parse = parse;
    this.normalize = normalize;
    this.legacyCell = legacyCell;
  }

  /** The header name, e.g. {@code mean_iu}. */
  public String name() {
    return name;
  }

  /** Position in the schema (0-based). */
  public int index() {
    return index;
  }

  /**
   * For a column added after the first schema: the cell that rows of a report written before it
   * are read with (e.g. {@code fp32} for {@code precision}); null for an original column.
   */
  public String legacyCell() {
    return legacyCell;
  }

  /** A copy of this column marked as added later: old reports lack it and read as {@code cell}. */
  Column<T> addedLater(String cell) {
    return new Column<>(name, index, type, format, parse, normalize, Objects.requireNonNull(cell));
  }

  /** This column's value in {@code r} (null = not measured). */
  public T of(BenchRecord r) {
    return type.cast(r.value(index));
  }

  /** The cell text of a value; empty for null. */
  public String format(T v) {
    return v == null ? "" : format.apply(v);
  }

  /** The cell text of this column in {@code r}. */
  public String cell(BenchRecord r) {
    return format(of(r));
  }

  /** A cell read back; null for an empty cell. @throws IllegalArgumentException if malformed */
  public T parse(String cell) {
    String s = cell.strip();
    return s.isEmpty() ? null : normalize.apply(parse.apply(s));
  }

  /** The value as stored: NaN/infinite numbers become null ("not measured"). */
  T normalize(Object v) {
    return v == null ? null : normalize.apply(type.cast(v));
  }

  @Override
  public String toString() {
    return name;
  }

  // ---- Kinds ---------------------------------------------------------------------------------

  static Column<String> text(String name, int index) {
    return new Column<>(name, index, String.class, s -> s, s -> s, UnaryOperator.identity(), null);
  }

  /** Text restricted to a fixed set of values (e.g. precision). */
  static Column<String> oneOf(String name, int index, Set<String> allowed) {
    return new Column<>(name, index, String.class, s -> s, s -> {
      if (!allowed.contains(s)) {
        throw new IllegalArgumentException("an unknown value; expected one of " + String.join(", ",
            allowed.stream().sorted().toList()));
      }
      return s;
    }, UnaryOperator.identity(), null);
  }

  static Column<Instant> timestamp(String name, int index) {
    return new Column<>(name, index, Instant.class, Instant::toString, s -> {
      try {
        return Instant.parse(s);
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException("an ISO-8601 UTC timestamp like 2025-01-31T12:00:00Z");
      }
    }, UnaryOperator.identity(), null);
  }

  /** Every integer column counts something (threads, runs, images): negative is malformed. */
  static Column<Integer> count(String name, int index) {
    return new Column<>(name, index, Integer.class, Object::toString, s -> {
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
    }, UnaryOperator.identity(), null);
  }

  /**
   * A time, a rate or a size: finite and >= 0 (an empty cell is the only way to say "not
   * measured"; "NaN" text is read the same, as older reports wrote it).
   */
  static Column<Double> number(String name, int index) {
    return decimal(name, index, d -> d >= 0 && !Double.isInfinite(d),
        "outside its range: expected a finite number >= 0");
  }

  /** score.py's scale: a value outside 0..1 (a percentage) is malformed. */
  static Column<Double> fraction(String name, int index) {
    return decimal(name, index, d -> d >= 0 && d <= 1,
        "outside 0..1: the report holds fractions (0.7531 for 75.31%), not percent");
  }

  private static Column<Double> decimal(String name, int index, java.util.function.DoublePredicate inRange,
      String outside) {
    return new Column<>(name, index, Double.class, Column::decimalCell, s -> {
      double d;
      try {
        d = Double.parseDouble(s);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("not a number");
      }
      if (!Double.isNaN(d) && !inRange.test(d)) {
        throw new IllegalArgumentException(outside);
      }
      return d;
    }, d -> d.isNaN() || d.isInfinite() ? null : d, null);
  }

  /** Plain decimal, round-trippable; empty for NaN/infinite. */
  static String decimalCell(Double v) {
    if (v == null || v.isNaN() || v.isInfinite()) {
      return "";
    }
    if (v == 0) {
      return "0";
    }
    return BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
  }
}
