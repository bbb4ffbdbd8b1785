package fcn.report;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * The report schema, written once: every column of the bench/score CSV in header order, with its
 * kind (which fixes cell format, parsing and range check; see {@link Column}). Meaning and units
 * are documented in {@code reports/README.md}. {@link BenchRecord} stores one value per column,
 * {@link BenchReport} writes and reads cells from this table, {@link Gate} takes its keys and
 * metrics from it.
 *
 * <p>Adding a column is one line here (new columns go at the end, marked {@code addedLater} with
 * the cell that older reports are read with); add a typed accessor to {@link BenchRecord} if
 * code needs one, and document it in reports/README.md.
 */
public final class Columns {
  private static final List<Column<?>> TABLE = new ArrayList<>();

  public static final Column<Instant> TIMESTAMP = add("timestamp", Column::timestamp);
  public static final Column<String> MODEL_FILE = add("model_file", Column::text);
  public static final Column<String> MODEL_SHA256 = add("model_sha256", Column::text);
  public static final Column<String> MODEL_NAME = add("model_name", Column::text);
  public static final Column<String> DEVICE = add("device", Column::text);
  public static final Column<String> EXECUTION_PROVIDER = add("execution_provider", Column::text);
  public static final Column<String> ORT_VERSION = add("ort_version", Column::text);
  public static final Column<String> INPUT_SHAPE = add("input_shape", Column::text);
  public static final Column<Integer> THREADS = add("threads", Column::count);
  public static final Column<Integer> WARMUP = add("warmup", Column::count);
  public static final Column<Integer> ITERATIONS = add("iterations", Column::count);
  public static final Column<Double> LOAD_MS = add("load_ms", Column::number);
  public static final Column<Double> FIRST_RUN_MS = add("first_run_ms", Column::number);
  public static final Column<Double> MIN_MS = add("min_ms", Column::number);
  public static final Column<Double> MEAN_MS = add("mean_ms", Column::number);
  public static final Column<Double> MEDIAN_MS = add("median_ms", Column::number);
  public static final Column<Double> P90_MS = add("p90_ms", Column::number);
  public static final Column<Double> P95_MS = add("p95_ms", Column::number);
  public static final Column<Double> P99_MS = add("p99_ms", Column::number);
  public static final Column<Double> MAX_MS = add("max_ms", Column::number);
  public static final Column<Double> STD_MS = add("std_ms", Column::number);
  public static final Column<Double> IMAGES_PER_S = add("images_per_s", Column::number);
  public static final Column<Double> GFLOPS = add("gflops", Column::number);
  public static final Column<Double> GFLOPS_PER_S = add("gflops_per_s", Column::number);
  public static final Column<String> DATASET = add("dataset", Column::text);
  public static final Column<String> SPLIT = add("split", Column::text);
  public static final Column<Integer> IMAGES = add("images", Column::count);
  public static final Column<Double> PIXEL_ACC = add("pixel_acc", Column::fraction);
  public static final Column<Double> MEAN_ACC = add("mean_acc", Column::fraction);
  public static final Column<Double> MEAN_IU = add("mean_iu", Column::fraction);
  public static final Column<Double> FW_IU = add("fw_iu", Column::fraction);
  public static final Column<String> HOST = add("host", Column::text);
  // ---- added after the first schema: older reports read with the cell given ----
  public static final Column<String> PRECISION = addedLater("precision",
      (n, i) -> Column.oneOf(n, i, Set.of(Precision.FP32, Precision.FP16, Precision.INT8)), Precision.FP32);
  public static final Column<String> EP_NODES = addedLater("ep_nodes", Column::text, "");

  /** Every column, in header order. */
  public static final List<Column<?>> ALL = List.copyOf(TABLE);

  /** The header names, in order. */
  public static final List<String> NAMES = ALL.stream().map(Column::name).toList();

  /** The header of reports written before the columns added later (read as those columns' legacy cells). */
  public static final List<String> FIRST_SCHEMA = ALL.stream().filter(c -> c.legacyCell() == null)
      .map(Column::name).toList();

  private Columns() {}

  private static <T> Column<T> add(String name, BiFunction<String, Integer, Column<T>> kind) {
    Column<T> c = kind.apply(name, TABLE.size());
    TABLE.add(c);
    return c;
  }

  private static <T> Column<T> addedLater(String name, BiFunction<String, Integer, Column<T>> kind, String cell) {
    Column<T> c = kind.apply(name, TABLE.size()).addedLater(cell);
    TABLE.add(c);
    return c;
  }

  /** The column named {@code name}, or null. */
  public static Column<?> named(String name) {
    int i = NAMES.indexOf(name);
    return i < 0 ? null : ALL.get(i);
  }
}
