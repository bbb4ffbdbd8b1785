package fcn.report;

import fcn.metrics.Scores;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.StringJoiner;

/**
 * One row of a bench/score report: one value per column of {@link Columns} (the schema). Immutable;
 * build with {@link #builder()}. A null value is "not measured by this run" and becomes an empty
 * cell; NaN and infinite metrics are stored as null. Any column can be read with
 * {@code column.of(record)} and set with {@link Builder#set}; the typed accessors below are
 * shorthands for the columns code uses by name.
 *
 * <p>Units: times in milliseconds, throughput in images/s, compute in GFLOP (per image) and
 * GFLOP/s, accuracy metrics as fractions in [0, 1] (score.py's scale, not percent).
 */
public final class BenchRecord {
  private final Object[] values;

  private BenchRecord(Builder b) {
    values = b.values.clone();
    if (values[Columns.TIMESTAMP.index()] == null) {
      values[Columns.TIMESTAMP.index()] = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    }
  }

  Object value(int column) {
    return values[column];
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder pre-filled with this record's values. */
  public Builder toBuilder() {
    Builder b = new Builder();
    System.arraycopy(values, 0, b.values, 0, values.length);
    return b;
  }

  /** This machine's host name, best effort (empty string if unknown). */
  public static String localHost() {
    String h = System.getenv("HOSTNAME");
    if (h != null && !h.isBlank()) {
      return h.strip();
    }
    try {
      Path p = Path.of("/proc/sys/kernel/hostname");
      if (Files.isReadable(p)) {
        return Files.readString(p).strip();
      }
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }

  /** Mutable builder; every setter accepts null ("not measured"). */
  public static final class Builder {
    private final Object[] values = new Object[Columns.ALL.size()];

    private Builder() {}

    /** Sets any column (null = not measured; NaN/infinite numbers are stored as null). */
    public <T> Builder set(Column<T> column, T v) {
      values[column.index()] = column.normalize(v);
      return this;
    }

    /** When the run happened; defaults to now (UTC, millisecond precision) at {@link #build()}. */
    public Builder timestamp(Instant v) {
      return set(Columns.TIMESTAMP, v);
    }

    public Builder modelFile(String v) {
      return set(Columns.MODEL_FILE, v);
    }

    public Builder modelSha256(String v) {
      return set(Columns.MODEL_SHA256, v);
    }

    /** Stable model key for the gate (e.g. {@code voc-fcn8s}); not a path. */
    public Builder modelName(String v) {
      return set(Columns.MODEL_NAME, v);
    }

    /** Device key, e.g. {@code cpu}, {@code cuda:0}. */
    public Builder device(String v) {
      return set(Columns.DEVICE, v);
    }

    public Builder executionProvider(String v) {
      return set(Columns.EXECUTION_PROVIDER, v);
    }

    public Builder ortVersion(String v) {
      return set(Columns.ORT_VERSION, v);
    }

    /** Input shape as written in the CSV, e.g. {@code 1x3x500x500}. */
    public Builder inputShape(String v) {
      return set(Columns.INPUT_SHAPE, v);
    }

    /** Input shape from dimensions, written {@code NxCxHxW}. */
    public Builder inputShape(long... dims) {
      StringJoiner j = new StringJoiner("x");
      for (long d : dims) {
        j.add(Long.toString(d));
      }
      return inputShape(j.toString());
    }

    public Builder threads(Integer v) {
      return set(Columns.THREADS, v);
    }

    public Builder warmup(Integer v) {
      return set(Columns.WARMUP, v);
    }

    public Builder iterations(Integer v) {
      return set(Columns.ITERATIONS, v);
    }

    public Builder loadMs(Double v) {
      return set(Columns.LOAD_MS, v);
    }

    public Builder firstRunMs(Double v) {
      return set(Columns.FIRST_RUN_MS, v);
    }

    public Builder minMs(Double v) {
      return set(Columns.MIN_MS, v);
    }

    public Builder meanMs(Double v) {
      return set(Columns.MEAN_MS, v);
    }

    public Builder medianMs(Double v) {
      return set(Columns.MEDIAN_MS, v);
    }

    public Builder p90Ms(Double v) {
      return set(Columns.P90_MS, v);
    }

    public Builder p95Ms(Double v) {
      return set(Columns.P95_MS, v);
    }

    public Builder p99Ms(Double v) {
      return set(Columns.P99_MS, v);
    }

    public Builder maxMs(Double v) {
      return set(Columns.MAX_MS, v);
    }

    public Builder stdMs(Double v) {
      return set(Columns.STD_MS, v);
    }

    public Builder imagesPerS(Double v) {
      return set(Columns.IMAGES_PER_S, v);
    }

    /** GFLOP per image (one forward pass). */
    public Builder gflops(Double v) {
      return set(Columns.GFLOPS, v);
    }

    public Builder gflopsPerS(Double v) {
      return set(Columns.GFLOPS_PER_S, v);
    }

    /** Dataset key: its folder name (see {@code Dataset.name()}), not a path. */
    public Builder dataset(String v) {
      return set(Columns.DATASET, v);
    }

    public Builder split(String v) {
      return set(Columns.SPLIT, v);
    }

    public Builder images(Integer v) {
      return set(Columns.IMAGES, v);
    }

    public Builder pixelAcc(Double v) {
      return set(Columns.PIXEL_ACC, v);
    }

    public Builder meanAcc(Double v) {
      return set(Columns.MEAN_ACC, v);
    }

    public Builder meanIu(Double v) {
      return set(Columns.MEAN_IU, v);
    }

    public Builder fwIu(Double v) {
      return set(Columns.FW_IU, v);
    }

    public Builder host(String v) {
      return set(Columns.HOST, v);
    }

    /** {@code fp32}, {@code fp16} or {@code int8} (see {@link Precision}); null = not known (read as fp32 by the gate). */
    public Builder precision(String v) {
      return set(Columns.PRECISION, v);
    }

    /** Nodes placed on each execution provider, e.g. {@code CPUExecutionProvider=87/87 100.0%}; optional. */
    public Builder epNodes(String v) {
      return set(Columns.EP_NODES, v);
    }

    /**
     * Sets min, mean, median, p90, p95, p99, max and std from per-iteration latencies (ms), as
     * {@link Latencies#of} computes them. Also sets {@code iterations} to the sample count.
     */
    public Builder latencies(double[] ms) {
      return latencies(Latencies.of(ms));
    }

    /**
     * Sets min, mean, median, p90, p95, p99, max and std from computed statistics, and
     * {@code iterations} to their sample count.
     */
    public Builder latencies(Latencies l) {
      return minMs(l.minMs()).maxMs(l.maxMs()).meanMs(l.meanMs()).medianMs(l.medianMs()).p90Ms(l.p90Ms())
          .p95Ms(l.p95Ms()).p99Ms(l.p99Ms()).stdMs(l.stdMs()).iterations(l.count());
    }

    /** Sets pixel_acc, mean_acc, mean_iu and fw_iu (fractions) from scores. */
    public Builder scores(Scores s) {
      return pixelAcc(s.pixelAccuracy()).meanAcc(s.meanAccuracy()).meanIu(s.meanIu()).fwIu(s.fwIu());
    }

    public BenchRecord build() {
      return new BenchRecord(this);
    }
  }

  public Instant timestamp() {
    return Columns.TIMESTAMP.of(this);
  }

  public String modelFile() {
    return Columns.MODEL_FILE.of(this);
  }

  public String modelSha256() {
    return Columns.MODEL_SHA256.of(this);
  }

  public String modelName() {
    return Columns.MODEL_NAME.of(this);
  }

  public String device() {
    return Columns.DEVICE.of(this);
  }

  public String executionProvider() {
    return Columns.EXECUTION_PROVIDER.of(this);
  }

  public String ortVersion() {
    return Columns.ORT_VERSION.of(this);
  }

  public String inputShape() {
    return Columns.INPUT_SHAPE.of(this);
  }

  public Integer threads() {
    return Columns.THREADS.of(this);
  }

  public Integer warmup() {
    return Columns.WARMUP.of(this);
  }

  public Integer iterations() {
    return Columns.ITERATIONS.of(this);
  }

  public Double loadMs() {
    return Columns.LOAD_MS.of(this);
  }

  public Double firstRunMs() {
    return Columns.FIRST_RUN_MS.of(this);
  }

  public Double minMs() {
    return Columns.MIN_MS.of(this);
  }

  public Double meanMs() {
    return Columns.MEAN_MS.of(this);
  }

  public Double medianMs() {
    return Columns.MEDIAN_MS.of(this);
  }

  public Double p90Ms() {
    return Columns.P90_MS.of(this);
  }

  public Double p95Ms() {
    return Columns.P95_MS.of(this);
  }

  public Double p99Ms() {
    return Columns.P99_MS.of(this);
  }

  public Double maxMs() {
    return Columns.MAX_MS.of(this);
  }

  public Double stdMs() {
    return Columns.STD_MS.of(this);
  }

  public Double imagesPerS() {
    return Columns.IMAGES_PER_S.of(this);
  }

  public Double gflops() {
    return Columns.GFLOPS.of(this);
  }

  public Double gflopsPerS() {
    return Columns.GFLOPS_PER_S.of(this);
  }

  public String dataset() {
    return Columns.DATASET.of(this);
  }

  public String split() {
    return Columns.SPLIT.of(this);
  }

  public Integer images() {
    return Columns.IMAGES.of(this);
  }

  public Double pixelAcc() {
    return Columns.PIXEL_ACC.of(this);
  }

  public Double meanAcc() {
    return Columns.MEAN_ACC.of(this);
  }

  public Double meanIu() {
    return Columns.MEAN_IU.of(this);
  }

  public Double fwIu() {
    return Columns.FW_IU.of(this);
  }

  public String host() {
    return Columns.HOST.of(this);
  }

  public String precision() {
    return Columns.PRECISION.of(this);
  }

  public String epNodes() {
    return Columns.EP_NODES.of(this);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BenchRecord r && BenchReport.cells(this).equals(BenchReport.cells(r));
  }

  @Override
  public int hashCode() {
    return BenchReport.cells(this).hashCode();
  }

  @Override
  public String toString() {
    return "BenchRecord" + BenchReport.cells(this);
  }
}
