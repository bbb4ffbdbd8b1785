package fcn.bench;

import fcn.core.FcnException;
import fcn.core.FileChecks;
import fcn.data.LabelMap;
import fcn.data.Preprocess;
import fcn.metrics.Scores;
import fcn.report.BenchRecord;
import fcn.report.BenchReport;
import fcn.report.Precision;
import fcn.runtime.Device;
import fcn.runtime.OptLevel;
import fcn.runtime.ProviderReport;
import fcn.runtime.Session;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The library entry point of {@code fcn bench}: times an ONNX model with ONNX Runtime and, with
 * a dataset, scores its predictions with FCN's score.py metrics.
 *
 * <p>Without a dataset it runs one fixed input shape: session creation and the first run are
 * timed separately, then {@code warmup} untimed runs, then the timed loop, in which the inputs
 * are bound once and only the run itself sits between the two {@link System#nanoTime()} reads.
 *
 * <p>With a dataset every image runs once at its own size (FCN style; resized only when the
 * preprocess says so). A small pool decodes, preprocesses and binds the next images, and
 * arg-maxes and scores the finished ones, while the calling thread does nothing but run the
 * session, so that the end-to-end time stays close to the pure inference time; both are
 * reported. At most 2 x threads + 2 images are in flight, which bounds memory. Pool threads call
 * {@code Session.prepare} (which only allocates and binds new input buffers) while the calling
 * thread runs earlier prepared inputs; nothing else touches the session concurrently.
 *
 * <p>The stages, each its own class, in the order a run goes through them: {@link Options}
 * (checked by {@code Options.validate}) -> inputs ({@link FixedInputs}, or {@link DatasetFeed}
 * for a dataset) -> inference ({@link FixedShapeRun}'s timed loop, or {@link DatasetRun}'s
 * pipeline) -> scoring ({@link Scoring}, confusion via fcn.metrics; FLOPs by {@link FlopsCache})
 * -> report ({@link ReportRow}, the CSV row; {@link Summary}, the printed summary).
 * {@link SideBySide} runs several models through the same stages on the same inputs.
 *
 * <p>Stateless; every call owns and closes its session.
 */
public final class Bench {
  /**
   * The embedded default, benchmarked when no model is named: a small FCN-8s trained with real
   * Caffe's solver on a synthetic dataset and converted by fcn (tools/make-default.sh), with that
   * dataset's val split beside it, which is timed and scored.
   */
  public static final Path DEFAULT_DIR = Path.of("fixtures", "default");

  /** The default model, {@code DEFAULT_DIR/model.onnx}. */
  public static final Path DEFAULT_MODEL = DEFAULT_DIR.resolve("model.onnx");

  /** The default model's dataset, {@code DEFAULT_DIR/dataset}; used when present. */
  public static final Path DEFAULT_DATASET = DEFAULT_DIR.resolve("dataset");

  /** Input size for a default without a dataset: the FCN paper's 500x500 timing size. */
  public static final long[] DEFAULT_INPUT = {1, 3, 500, 500};

  /** Most ONNX Runtime intra-op threads accepted (README: bench options). */
  public static final int MAX_THREADS = 256;

  /** Most decode/score threads accepted: each holds decoded images in memory. */
  public static final int MAX_IO_THREADS = 64;

  private Bench() {}

  /**
   * Where the default is looked for: the working directory, then the fcn installation (the
   * project folder holding target/fcn.jar or target/classes), so that {@code ./fcn bench} works
   * from anywhere.
   */
  public static List<Path> defaultSearchRoots() {
    List<Path> roots = new ArrayList<>();
    roots.add(Path.of("").toAbsolutePath());
    try {
      var src = Bench.class.getProtectionDomain().getCodeSource();
      if (src != null) {
        Path p = Path.of(src.getLocation().toURI()).toAbsolutePath().normalize();
        // target/fcn.jar or target/classes -> the project folder
        Path target = p.getParent();
        if (target != null && target.getParent() != null && !roots.contains(target.getParent())) {
          roots.add(target.getParent());
        }
      }
    } catch (java.net.URISyntaxException | SecurityException | IllegalArgumentException e) {
      // Not from a file (unusual class loader): the working directory is all we can search.
    }
    return roots;
  }

  /**
   * The first {@code ROOT/fixtures/default} holding {@link #DEFAULT_MODEL}'s file.
   *
   * @throws FcnException naming where it looked when none does
   */
  public static Path locateDefault(List<Path> roots) {
    List<String> looked = new ArrayList<>();
    for (Path r : roots) {
      Path dir = r.resolve(DEFAULT_DIR);
      if (Files.isRegularFile(r.resolve(DEFAULT_MODEL))) {
        return dir;
      }
      looked.add(r.resolve(DEFAULT_MODEL).toString());
    }
    throw new FcnException("no MODEL given and the default model " + DEFAULT_MODEL + " is missing (looked for "
        + String.join(" and ", looked) + "); pass MODEL.onnx, or see fixtures/README.md to build the default");
  }

  /** What to run. Mutable, fluent; defaults as documented on each field's setter. */
  public static final class Options {
    Path model;
    Device device = Device.AUTO;
    int threads;
    OptLevel optLevel = OptLevel.ALL;
    final Map<String, long[]> inputShapes = new LinkedHashMap<>();
    int warmup = 5;
    Integer iterations;
    Long durationNanos;
    Path dataset;
    String split;
    Integer ignoreLabel;
    Preprocess preprocess;
    Path savePredictions;
    Path classes;
    Path report;
    String modelName;
    boolean progress;
    boolean strict;
    int decodeThreads;
    boolean flops = true;
    PredictionListener predictions;

    public Options(Path model) {
      this.model = model;
    }

    public Options device(Device d) {
      device = d;
      return this;
    }

    /** ONNX Runtime intra-op threads; 0 (default) = ORT's default. */
    public Options threads(int n) {
      threads = n;
      return this;
    }

    public Options optLevel(OptLevel l) {
      optLevel = l;
      return this;
    }

    /**
     * The size of an input (fixed-shape mode); {@code name} null means the model's only input.
     * Inputs not named use their declared shape, which must then be static.
     */
    public Options inputShape(String name, long[] dims) {
      inputShapes.put(name, dims.clone());
      return this;
    }

    /** Untimed runs after the first run, before timing (default 5). */
    public Options warmup(int n) {
      warmup = n;
      return this;
    }

    /** Timed runs (default 100 when no duration is given). */
    public Options iterations(Integer n) {
      iterations = n;
      return this;
    }

    /** Run the timed loop until this much time has passed (at least one run). */
    public Options duration(Long nanos) {
      durationNanos = nanos;
      return this;
    }

    public Options dataset(Path p) {
      dataset = p;
      return this;
    }

    public Options split(String s) {
      split = s;
      return this;
    }

    public Options ignoreLabel(Integer i) {
      ignoreLabel = i;
      return this;
    }

    /** Image preprocessing with a dataset (default: the caffe preset). */
    public Options preprocess(Preprocess p) {
      preprocess = p;
      return this;
    }

    public Options savePredictions(Path dir) {
      savePredictions = dir;
      return this;
    }

    /** A class-name file (one a line); default: the dataset's, else "0", "1", ... */
    public Options classes(Path file) {
      classes = file;
      return this;
    }

    /** Appends one row to this CSV (plus -classes.csv and -confusion.csv with a dataset). */
    public Options report(Path csv) {
      report = csv;
      return this;
    }

    /** The model key written to the report; default: see {@link Bench#modelName(Path, String)}. */
    public Options modelName(String name) {
      modelName = name;
      return this;
    }

    /** Draw a progress bar with an ETA on the error stream. */
    public Options progress(boolean p) {
      progress = p;
      return this;
    }

    /** Fail (exit 1) when a compute node ran off the session's provider (ORT's profile of the first run). */
    public Options strict(boolean s) {
      strict = s;
      return this;
    }

    /** Decode/score threads with a dataset; 0 (default) picks from the core count (2 to 4). */
    public Options decodeThreads(int n) {
      decodeThreads = n;
      return this;
    }

    /** Count FLOPs (imports the model into the IR); default true. */
    public Options flops(boolean f) {
      flops = f;
      return this;
    }

    /** With a dataset, also hand every image's prediction (at the label's size) to {@code l}. */
    public Options predictions(PredictionListener l) {
      predictions = l;
      return this;
    }

    /** The report's model key: {@link #modelName(String)}, else derived from the file name. */
    String name(String precision) {
      return modelName != null ? modelName : Bench.modelName(model, precision);
    }

    /** Refuses inconsistent or out-of-range options, before anything is opened. */
    void validate() {
      if (model == null) {
        throw new FcnException("no model given; expected an .onnx file");
      }
      FileChecks.requireFile(model, "an .onnx model file");
      if (warmup < 0) {
        throw new FcnException("--warmup must be >= 0, got " + warmup);
      }
      if (iterations != null && iterations < 1) {
        throw new FcnException("--iterations must be >= 1, got " + iterations);
      }
      if (iterations != null && durationNanos != null) {
        throw new FcnException("give --iterations or --duration, not both");
      }
      if (dataset != null) {
        if (iterations != null || durationNanos != null) {
          throw new FcnException("--iterations/--duration do not apply with --dataset: every image runs once");
        }
        if (!inputShapes.isEmpty()) {
          throw new FcnException("--input-shape does not apply with --dataset: each image runs at its own size "
              + "(use --resize HxW to resize)");
        }
      } else {
        if (savePredictions != null) {
          throw new FcnException("--save-predictions needs --dataset");
        }
      }
      if (decodeThreads < 0 || decodeThreads > MAX_IO_THREADS) {
        throw new FcnException("--io-threads must be 0 (automatic) to " + MAX_IO_THREADS + ", got " + decodeThreads);
      }
      if (threads < 0 || threads > MAX_THREADS) {
        throw new FcnException("--threads must be 0 (ONNX Runtime's default) to " + MAX_THREADS + ", got " + threads);
      }
    }
  }

  /**
   * The dataset part of a result. {@code waitMs}: time the session thread spent waiting for a
   * decoded image (the pipeline's own cost that end-to-end time shows; the first image's
   * decode included).
   */
  public record DatasetResult(String name, String split, int images, int sizes, Scores scores,
      long ignoredPixels, double inferenceMs, double wallMs, double waitMs, int decodeThreads) {
    /** End-to-end wall time over pure inference time (1.0 = the pipeline costs nothing). */
    public double overhead() {
      return wallMs / inferenceMs;
    }
  }

  /**
   * What a run measured. {@code stats} are per-run latencies (fixed shape) or per-image inference
   * times (dataset); {@code flops} is null when not counted, with the reason in {@code warnings}
   * (which were also printed to the error stream). {@code record} is the report row (its model
   * SHA-256 is filled only when a report was written). {@code precision} is fp32, fp16 or int8
   * as {@link Precision#detect} reads the graph; {@code epNodes} (optional, null when not
   * measured) is how many nodes each execution provider ran, e.g.
   * {@code CPUExecutionProvider=87/87 100.0%}; {@code opTime} (optional) the same profile's
   * kernel time by op type ({@link ProviderReport#opTimeLine}); {@code cache} what the session
   * cache did for the load ({@link Session#cacheStatus}).
   */
  public record Result(Path model, String modelName, String provider, Device requested,
      String ortVersion, int threads, String inputShape, double loadMs, double firstRunMs,
      int warmup, Timing.Stats stats, long batch, Flops.Count flops, Long totalFlops,
      DatasetResult dataset, List<String> warnings, String precision, String epNodes, String opTime, fcn.runtime.SessionCache.Status cache,
      BenchRecord record) {

    /** GFLOP per image, or null when not counted. */
    public Double gflopsPerImage() {
      if (totalFlops == null) {
        return null;
      }
      long images = dataset != null ? dataset.images() : (long) stats.count() * batch;
      return totalFlops / 1e9 / images;
    }

    /** Achieved GFLOP/s over the pure inference time, or null when not counted. */
    public Double gflopsPerSecond() {
      return totalFlops == null ? null : totalFlops / 1e9 / (stats.totalMs() / 1000.0);
    }

    public double imagesPerSecond() {
      return stats.imagesPerSecond(batch);
    }

    /** The same result with other warnings and report row. */
    Result with(List<String> w, BenchRecord r) {
      return new Result(model, modelName, provider, requested, ortVersion, threads, inputShape, loadMs, firstRunMs,
          warmup, stats, batch, flops, totalFlops, dataset, w, precision, epNodes, opTime, cache, r);
    }
  }

  /** Receives a dataset run's predictions; called from pool threads, any image order. */
  @FunctionalInterface
  public interface PredictionListener {
    void prediction(int image, LabelMap prediction);
  }

  /**
   * The report key derived from a model's file: its stem, less a suffix naming its own reduced
   * precision ({@code voc-fcn8s-int8.onnx} detected int8 is {@code voc-fcn8s}: the precision is a
   * key column of its own, and the gate holds the int8 row against the fp32 row of the same
   * name). "model" for fixtures/default/model.onnx is no key: the folder name is used then.
   */
  static String modelName(Path model, String precision) {
    String file = model.getFileName().toString();
    String stem = file.toLowerCase(Locale.ROOT).endsWith(".onnx") ? file.substring(0, file.length() - 5) : file;
    if (precision != null && !precision.equals(Precision.FP32)) {
      String lower = stem.toLowerCase(Locale.ROOT);
      for (String sep : List.of("-", "_", ".")) {
        if (lower.endsWith(sep + precision) && stem.length() > precision.length() + 1) {
          stem = stem.substring(0, stem.length() - precision.length() - 1);
          break;
        }
      }
    }
    Path parent = model.toAbsolutePath().normalize().getParent();
    if (stem.equals("model") && parent != null && parent.getFileName() != null) {
      return parent.getFileName().toString();
    }
    return stem;
  }

  /**
   * Runs the benchmark; warnings and the progress bar go to {@code err}.
   *
   * @throws FcnException for a missing model or dataset, bad options, or a model the data does
   *     not fit
   */
  public static Result run(Options o, PrintWriter err) {
    Result r = measure(o, err);
    if (o.report != null) {
      writeReport(o.report, r);
    }
    return r;
  }

  /** Appends the run's row to {@code report}, and with a dataset replaces its side files. */
  static void writeReport(Path report, Result r) {
    BenchReport.append(report, r.record());
    if (r.dataset() != null) {
      BenchReport.writeClassFiles(report, r.dataset().scores());
    }
  }

  /** {@link #run} without writing the report (its outputs are checked; the row is built). */
  static Result measure(Options o, PrintWriter err) {
    o.validate();
    // Outputs are checked before a run that can take minutes, not at its end.
    FileChecks.input(o.model);
    if (o.classes != null) {
      FileChecks.input(o.classes);
    }
    if (o.report != null) {
      for (Path p : List.of(o.report, BenchReport.classesFile(o.report), BenchReport.confusionFile(o.report))) {
        FileChecks.checkOutput(p.toAbsolutePath(), p);
      }
    }
    if (o.savePredictions != null && Files.exists(o.savePredictions) && !Files.isDirectory(o.savePredictions)) {
      throw new FcnException("--save-predictions " + o.savePredictions + ": "
          + Objects.requireNonNullElse(FileChecks.notAFile(o.savePredictions), "is a file") + ", expected a folder");
    }
    List<String> warnings = new ArrayList<>();
    FlopsCache flops = FlopsCache.of(o.model, o.flops, warnings);
    // Profiled until the first run ends (placement()): the timed runs are not.
    try (Session session = Session.open(o.model, o.device, o.threads, o.optLevel, true)) {
      // After the session: ONNX Runtime's own checks name a broken model first.
      String precision = Precision.detect(o.model);
      // The CUDA fallback matters before a long run starts; the others are printed at the end.
      session.warning().ifPresent(w -> {
        err.println("fcn: warning: " + w);
        err.flush();
      });
      List<String> later = new ArrayList<>();
      Result r = o.dataset != null ? DatasetRun.run(o, session, flops.warningInto(later), precision, err)
          : FixedShapeRun.run(o, session, flops.warningInto(later), precision, err);
      // Images of different sizes take different times: their spread is not noise.
      boolean oneShape = r.dataset() == null || r.dataset().sizes() == 1;
      if (oneShape) {
        r.stats().warning().ifPresent(later::add);
      }
      for (String w : later) {
        err.println("fcn: warning: " + w);
      }
      err.flush();
      session.warning().ifPresent(warnings::add);
      warnings.addAll(later);
      return r.with(List.copyOf(warnings), ReportRow.of(o, r));
    }
  }

  /**
   * Where the first run's nodes ran (ORT's profile, which this ends), as the {@code ep_nodes}
   * cell; with {@code --strict}, a compute node off the session's provider fails the run here,
   * before the timed runs.
   *
   * @throws ProviderReport.Violation under --strict
   */
  static String placement(Options o, Session session) {
    return placement(o, session.providerReport(), session.provider());
  }

  /** The first run's kernel time by op type, from the same profile as {@link #placement}. */
  static String opTime(Session session) {
    String line = session.providerReport().opTimeLine(5);
    return line.isEmpty() ? null : line;
  }

  static String placement(Options o, ProviderReport pr, String provider) {
    if (o.strict) {
      pr.requireOn(provider);
    }
    return pr.cell();
  }

  /** The human-readable summary printed on stdout. */
  public static String summary(Result r) {
    return Summary.of(r);
  }

  /**
   * Decode/score threads: half the cores, at least 2 and at most 4. PNG decoding alone costs
   * 10-15 ms a CamVid image on one core; on a busy 2-core machine one such thread left the
   * session waiting 1.5 s of 18 s (end-to-end 1.10x inference for a 1-GFLOP net), two 0.3 s
   * (1.04x).
   */
  static int defaultIoThreads(int cores) {
    return Math.max(2, Math.min(4, cores / 2));
  }

  // ---- Progress ------------------------------------------------------------------------------

  /** A one-line progress bar with an ETA, redrawn at most every 100 ms; silent when disabled. */
  static final class Progress {
    private final PrintWriter err;
    private final boolean on;
    private final String label;
    private final int total;
    private final long start = System.nanoTime();
    private long lastDraw;
    private boolean drawn;

    Progress(PrintWriter err, boolean on, String label, int total) {
      this.err = err;
      this.on = on && total >= 0;
      this.label = label;
      this.total = total;
    }

    void step(int done) {
      if (on && total > 0) {
        fraction(done, done / (double) total);
      }
    }

    void fraction(int done, double f) {
      if (!on) {
        return;
      }
      long now = System.nanoTime();
      if (now - lastDraw < 100_000_000L && f < 1.0) {
        return;
      }
      lastDraw = now;
      drawn = true;
      double elapsed = (now - start) / 1e9;
      double eta = f > 0 ? elapsed * (1 - f) / f : Double.NaN;
      int width = 30;
      int fill = (int) Math.round(f * width);
      err.print(String.format(Locale.ROOT, "\r%-7s [%s%s] %3.0f%% %s ETA %s ", label, "#".repeat(fill),
          " ".repeat(width - fill), 100 * f, total > 0 ? done + "/" + total : done + " runs",
          Double.isNaN(eta) ? "?" : formatSeconds(eta)));
      err.flush();
    }

    void done() {
      if (on && drawn) {
        err.print("\r" + " ".repeat(79) + "\r");
        err.flush();
      }
    }

    static String formatSeconds(double s) {
      long t = Math.round(s);
      return t >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60)
          : String.format(Locale.ROOT, "%d:%02d", t / 60, t % 60);
    }
  }
}
