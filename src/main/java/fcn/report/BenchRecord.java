package fcn.report;

import fcn.metrics.Scores;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.StringJoiner;

/**
 * One row of a bench/score report (see {@link BenchReport#COLUMNS} for the schema). Immutable;
 * build with {@link #builder()}. A null field is "not measured by this run" and becomes an empty
 * cell; NaN metrics are treated the same way.
 *
 * <p>Units: times in milliseconds, throughput in images/s, compute in GFLOP (per image) and
 * GFLOP/s, accuracy metrics as fractions in [0, 1] (score.py's scale, not percent).
 */
public final class BenchRecord {
  private final Instant timestamp;
  private final String modelFile;
  private final String modelSha256;
  private final String modelName;
  private final String device;
  private final String executionProvider;
  private final String ortVersion;
  private final String inputShape;
  private final Integer threads;
  private final Integer warmup;
  private final Integer iterations;
  private final Double loadMs;
  private final Double firstRunMs;
  private final Double minMs;
  private final Double meanMs;
  private final Double medianMs;
  private final Double p90Ms;
  private final Double p95Ms;
  private final Double p99Ms;
  private final Double maxMs;
  private final Double stdMs;
  private final Double imagesPerS;
  private final Double gflops;
  private final Double gflopsPerS;
  private final String dataset;
  private final String split;
  private final Integer images;
  private final Double pixelAcc;
  private final Double meanAcc;
  private final Double meanIu;
  private final Double fwIu;
  private final String host;

  private BenchRecord(Builder b) {
    timestamp = b.timestamp != null ? b.timestamp : Instant.now().truncatedTo(ChronoUnit.MILLIS);
    modelFile = b.modelFile;
    modelSha256 = b.modelSha256;
    modelName = b.modelName;
    device = b.device;
    executionProvider = b.executionProvider;
    ortVersion = b.ortVersion;
    inputShape = b.inputShape;
    threads = b.threads;
    warmup = b.warmup;
    iterations = b.iterations;
    loadMs = finite(b.loadMs);
    firstRunMs = finite(b.firstRunMs);
    minMs = finite(b.minMs);
    meanMs = finite(b.meanMs);
    medianMs = finite(b.medianMs);
    p90Ms = finite(b.p90Ms);
    p95Ms = finite(b.p95Ms);
    p99Ms = finite(b.p99Ms);
    maxMs = finite(b.maxMs);
    stdMs = finite(b.stdMs);
    imagesPerS = finite(b.imagesPerS);
    gflops = finite(b.gflops);
    gflopsPerS = finite(b.gflopsPerS);
    dataset = b.dataset;
    split = b.split;
    images = b.images;
    pixelAcc = finite(b.pixelAcc);
    meanAcc = finite(b.meanAcc);
    meanIu = finite(b.meanIu);
    fwIu = finite(b.fwIu);
    host = b.host;
  }

  private static Double finite(Double d) {
    return d == null || d.isNaN() || d.isInfinite() ? null : d;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder pre-filled with this record's values. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.timestamp = timestamp;
    b.modelFile = modelFile;
    b.modelSha256 = modelSha256;
    b.modelName = modelName;
    b.device = device;
    b.executionProvider = executionProvider;
    b.ortVersion = ortVersion;
    b.inputShape = inputShape;
    b.threads = threads;
    b.warmup = warmup;
    b.iterations = iterations;
    b.loadMs = loadMs;
    b.firstRunMs = firstRunMs;
    b.minMs = minMs;
    b.meanMs = meanMs;
    b.medianMs = medianMs;
    b.p90Ms = p90Ms;
    b.p95Ms = p95Ms;
    b.p99Ms = p99Ms;
    b.maxMs = maxMs;
    b.stdMs = stdMs;
    b.imagesPerS = imagesPerS;
    b.gflops = gflops;
    b.gflopsPerS = gflopsPerS;
    b.dataset = dataset;
    b.split = split;
    b.images = images;
    b.pixelAcc = pixelAcc;
    b.meanAcc = meanAcc;
    b.meanIu = meanIu;
    b.fwIu = fwIu;
    b.host = host;
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
    private Instant timestamp;
    private String modelFile;
    private String modelSha256;
    private String modelName;
    private String device;
    private String executionProvider;
    private String ortVersion;
    private String inputShape;
    private Integer threads;
    private Integer warmup;
    private Integer iterations;
    private Double loadMs;
    private Double firstRunMs;
    private Double minMs;
    private Double meanMs;
    private Double medianMs;
    private Double p90Ms;
    private Double p95Ms;
    private Double p99Ms;
    private Double maxMs;
    private Double stdMs;
    private Double imagesPerS;
    private Double gflops;
    private Double gflopsPerS;
    private String dataset;
    private String split;
    private Integer images;
    private Double pixelAcc;
    private Double meanAcc;
    private Double meanIu;
    private Double fwIu;
    private String host;

    private Builder() {}

    /** When the run happened; defaults to now (UTC, millisecond precision) at {@link #build()}. */
    public Builder timestamp(Instant v) {
      timestamp = v;
      return this;
    }

    public Builder modelFile(String v) {
      modelFile = v;
      return this;
    }

    public Builder modelSha256(String v) {
      modelSha256 = v;
      return this;
    }

    /** Stable model key for the gate (e.g. {@code voc-fcn8s}); not a path. */
    public Builder modelName(String v) {
      modelName = v;
      return this;
    }

    /** Device key, e.g. {@code cpu}, {@code cuda:0}. */
    public Builder device(String v) {
      device = v;
      return this;
    }

    public Builder executionProvider(String v) {
      executionProvider = v;
      return this;
    }

    public Builder ortVersion(String v) {
      ortVersion = v;
      return this;
    }

    /** Input shape as written in the CSV, e.g. {@code 1x3x500x500}. */
    public Builder inputShape(String v) {
      inputShape = v;
      return this;
    }

    /** Input shape from dimensions, written {@code NxCxHxW}. */
    public Builder inputShape(long... dims) {
      StringJoiner j = new StringJoiner("x");
      for (long d : dims) {
        j.add(Long.toString(d));
      }
      inputShape = j.toString();
      return this;
    }

    public Builder threads(Integer v) {
      threads = v;
      return this;
    }

    public Builder warmup(Integer v) {
      warmup = v;
      return this;
    }

    public Builder iterations(Integer v) {
      iterations = v;
      return this;
    }

    public Builder loadMs(Double v) {
      loadMs = v;
      return this;
    }

    public Builder firstRunMs(Double v) {
      firstRunMs = v;
      return this;
    }

    public Builder minMs(Double v) {
      minMs = v;
      return this;
    }

    public Builder meanMs(Double v) {
      meanMs = v;
      return this;
    }

    public Builder medianMs(Double v) {
      medianMs = v;
      return this;
    }

    public Builder p90Ms(Double v) {
      p90Ms = v;
      return this;
    }

    public Builder p95Ms(Double v) {
      p95Ms = v;
      return this;
    }

    public Builder p99Ms(Double v) {
      p99Ms = v;
      return this;
    }

    public Builder maxMs(Double v) {
      maxMs = v;
      return this;
    }

    public Builder stdMs(Double v) {
      stdMs = v;
      return this;
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
      minMs = l.minMs();
      maxMs = l.maxMs();
      meanMs = l.meanMs();
      medianMs = l.medianMs();
      p90Ms = l.p90Ms();
      p95Ms = l.p95Ms();
      p99Ms = l.p99Ms();
      stdMs = l.stdMs();
      iterations = l.count();
      return this;
    }

    public Builder imagesPerS(Double v) {
      imagesPerS = v;
      return this;
    }

    /** GFLOP per image (one forward pass). */
    public Builder gflops(Double v) {
      gflops = v;
      return this;
    }

    public Builder gflopsPerS(Double v) {
      gflopsPerS = v;
      return this;
    }

    /** Dataset key: its folder name (see {@code Dataset.name()}), not a path. */
    public Builder dataset(String v) {
      dataset = v;
      return this;
    }

    public Builder split(String v) {
      split = v;
      return this;
    }

    public Builder images(Integer v) {
      images = v;
      return this;
    }

    public Builder pixelAcc(Double v) {
      pixelAcc = v;
      return this;
    }

    public Builder meanAcc(Double v) {
      meanAcc = v;
      return this;
    }

    public Builder meanIu(Double v) {
      meanIu = v;
      return this;
    }

    public Builder fwIu(Double v) {
      fwIu = v;
      return this;
    }

    /** Sets pixel_acc, mean_acc, mean_iu and fw_iu (fractions) from scores. */
    public Builder scores(Scores s) {
      pixelAcc = s.pixelAccuracy();
      meanAcc = s.meanAccuracy();
      meanIu = s.meanIu();
      fwIu = s.fwIu();
      return this;
    }

    public Builder host(String v) {
      host = v;
      return this;
    }

    public BenchRecord build() {
      return new BenchRecord(this);
    }
  }

  public Instant timestamp() {
    return timestamp;
  }

  public String modelFile() {
    return modelFile;
  }

  public String modelSha256() {
    return modelSha256;
  }

  public String modelName() {
    return modelName;
  }

  public String device() {
    return device;
  }

  public String executionProvider() {
    return executionProvider;
  }

  public String ortVersion() {
    return ortVersion;
  }

  public String inputShape() {
    return inputShape;
  }

  public Integer threads() {
    return threads;
  }

  public Integer warmup() {
    return warmup;
  }

  public Integer iterations() {
    return iterations;
  }

  public Double loadMs() {
    return loadMs;
  }

  public Double firstRunMs() {
    return firstRunMs;
  }

  public Double minMs() {
    return minMs;
  }

  public Double meanMs() {
    return meanMs;
  }

  public Double medianMs() {
    return medianMs;
  }

  public Double p90Ms() {
    return p90Ms;
  }

  public Double p95Ms() {
    return p95Ms;
  }

  public Double p99Ms() {
    return p99Ms;
  }

  public Double maxMs() {
    return maxMs;
  }

  public Double stdMs() {
    return stdMs;
  }

  public Double imagesPerS() {
    return imagesPerS;
  }

  public Double gflops() {
    return gflops;
  }

  public Double gflopsPerS() {
    return gflopsPerS;
  }

  public String dataset() {
    return dataset;
  }

  public String split() {
    return split;
  }

  public Integer images() {
    return images;
  }

  public Double pixelAcc() {
    return pixelAcc;
  }

  public Double meanAcc() {
    return meanAcc;
  }

  public Double meanIu() {
    return meanIu;
  }

  public Double fwIu() {
    return fwIu;
  }

  public String host() {
    return host;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BenchRecord r && BenchReport.cells(this).equals(BenchReport.cells(r));
  }

  @Override
  public int hashCode() {
    return Objects.hash(BenchReport.cells(this));
  }

  @Override
  public String toString() {
    return "BenchRecord" + BenchReport.cells(this);
  }
}
