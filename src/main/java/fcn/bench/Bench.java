package fcn.bench;

import fcn.core.FcnException;
import fcn.core.FileChecks;
import fcn.data.ClassNames;
import fcn.data.Dataset;
import fcn.data.Images;
import fcn.data.LabelMap;
import fcn.data.PredictionWriter;
import fcn.data.Preprocess;
import fcn.data.RgbImage;
import fcn.data.Sample;
import fcn.frontend.onnx.OnnxImporter;
import fcn.ir.Graph;
import fcn.ir.Shape;
import fcn.metrics.ConfusionAccumulator;
import fcn.metrics.Scores;
import fcn.report.BenchRecord;
import fcn.report.BenchReport;
import fcn.runtime.Device;
import fcn.runtime.FloatTensor;
import fcn.runtime.OptLevel;
import fcn.runtime.Session;
import fcn.runtime.TensorSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

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
    int decodeThreads;
    boolean flops = true;

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

    /** The model key written to the report; default: see {@link #modelName(Path)}. */
    public Options modelName(String name) {
      modelName = name;
      return this;
    }

    /** Draw a progress bar with an ETA on the error stream. */
    public Options progress(boolean p) {
      progress = p;
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
   * SHA-256 is filled only when a report was written).
   */
  public record Result(Path model, String modelName, String provider, Device requested,
      String ortVersion, int threads, String inputShape, double loadMs, double firstRunMs,
      int warmup, Timing.Stats stats, long batch, Flops.Count flops, Long totalFlops,
      DatasetResult dataset, List<String> warnings, BenchRecord record) {

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
  }

  /** "model" for fixtures/default/model.onnx is no key: the folder name is used then. */
  static String modelName(Path model) {
    String file = model.getFileName().toString();
    String stem = file.toLowerCase(Locale.ROOT).endsWith(".onnx") ? file.substring(0, file.length() - 5) : file;
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
    validate(o);
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
    Optional<Graph> graph = Optional.empty();
    if (o.flops) {
      graph = importGraph(o.model, warnings);
    }
    try (Session session = Session.open(o.model, o.device, o.threads, o.optLevel)) {
      // The CUDA fallback matters before a long run starts; the others are printed at the end.
      session.warning().ifPresent(w -> {
        err.println("fcn: warning: " + w);
        err.flush();
      });
      List<String> later = new ArrayList<>();
      Result r = o.dataset != null ? runDataset(o, session, graph, later, err)
          : runFixed(o, session, graph, later, err);
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
      BenchRecord record = record(o, r);
      if (o.report != null) {
        BenchReport.append(o.report, record);
        if (r.dataset() != null) {
          BenchReport.writeClassFiles(o.report, r.dataset().scores());
        }
      }
      return new Result(r.model(), r.modelName(), r.provider(), r.requested(), r.ortVersion(), r.threads(),
          r.inputShape(), r.loadMs(), r.firstRunMs(), r.warmup(), r.stats(), r.batch(), r.flops(),
          r.totalFlops(), r.dataset(), List.copyOf(warnings), record);
    }
  }

  private static void validate(Options o) {
    if (o.model == null) {
      throw new FcnException("no model given; expected an .onnx file");
    }
    FileChecks.requireFile(o.model, "an .onnx model file");
    if (o.warmup < 0) {
      throw new FcnException("--warmup must be >= 0, got " + o.warmup);
    }
    if (o.iterations != null && o.iterations < 1) {
      throw new FcnException("--iterations must be >= 1, got " + o.iterations);
    }
    if (o.iterations != null && o.durationNanos != null) {
      throw new FcnException("give --iterations or --duration, not both");
    }
    if (o.dataset != null) {
      if (o.iterations != null || o.durationNanos != null) {
        throw new FcnException("--iterations/--duration do not apply with --dataset: every image runs once");
      }
      if (!o.inputShapes.isEmpty()) {
        throw new FcnException("--input-shape does not apply with --dataset: each image runs at its own size "
            + "(use --resize HxW to resize)");
      }
    } else {
      if (o.savePredictions != null) {
        throw new FcnException("--save-predictions needs --dataset");
      }
    }
    if (o.decodeThreads < 0 || o.decodeThreads > MAX_IO_THREADS) {
      throw new FcnException("--io-threads must be 0 (automatic) to " + MAX_IO_THREADS + ", got " + o.decodeThreads);
    }
    if (o.threads < 0 || o.threads > MAX_THREADS) {
      throw new FcnException("--threads must be 0 (ONNX Runtime's default) to " + MAX_THREADS + ", got " + o.threads);
    }
  }

  // ---- FLOPs ---------------------------------------------------------------------------------

  /** The model as an IR graph for counting FLOPs; empty (with a warning) if it cannot be read. */
  private static Optional<Graph> importGraph(Path model, List<String> warnings) {
    try {
      return Optional.of(OnnxImporter.importModel(model));
    } catch (FcnException e) {
      warnings.add("FLOPs not counted: " + e.getMessage());
      return Optional.empty();
    }
  }

  /** FLOPs per input-shape set, cached: a dataset has few distinct image sizes. */
  private static final class FlopsCache {
    private final Graph graph;
    private final Map<String, Flops.Count> byShape = new HashMap<>();
    private final List<String> warnings;
    private boolean failed;

    FlopsCache(Graph graph, List<String> warnings) {
      this.graph = graph;
      this.warnings = warnings;
    }

    /** The count at these input sizes, or null if counting failed (warned once). */
    Flops.Count at(Map<String, long[]> shapes) {
      if (graph == null || failed) {
        return null;
      }
      StringBuilder key = new StringBuilder();
      shapes.forEach((k, v) -> key.append(k).append('=').append(Arrays.toString(v)).append(';'));
      Flops.Count c = byShape.get(key.toString());
      if (c == null) {
        try {
          c = Flops.count(graph, shapes);
        } catch (FcnException e) {
          failed = true;
          warnings.add("FLOPs not counted: " + e.getMessage());
          return null;
        }
        if (!c.complete()) {
          warnings.add("FLOPs are a lower bound: shapes unknown at " + c.unknown().size()
              + " node(s), first '" + c.unknown().get(0) + "'");
        }
        byShape.put(key.toString(), c);
      }
      return c;
    }
  }

  // ---- Fixed shape ---------------------------------------------------------------------------

  private static Result runFixed(Options o, Session session, Optional<Graph> graph, List<String> warnings,
      PrintWriter err) {
    Map<String, long[]> shapes = resolveShapes(o, session);
    Map<String, FloatTensor> feeds = new LinkedHashMap<>();
    Random rnd = new Random(42);
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      float[] data = new float[Math.toIntExact(FloatTensor.numel(e.getValue()))];
      for (int i = 0; i < data.length; i++) {
        data[i] = rnd.nextFloat();
      }
      feeds.put(e.getKey(), new FloatTensor(data, e.getValue()));
    }
    long batch = shapes.values().iterator().next().length > 0 ? shapes.values().iterator().next()[0] : 1;
    double firstMs;
    long[] times;
    try (Session.Prepared p = session.prepare(feeds)) {
      long t0 = System.nanoTime();
      p.run();
      firstMs = (System.nanoTime() - t0) / 1e6;
      Progress bar = new Progress(err, o.progress, "warmup", o.warmup);
      for (int i = 0; i < o.warmup; i++) {
        p.run();
        bar.step(i + 1);
      }
      bar.done();
      times = timedLoop(o, p, err);
    }
    Timing.Stats stats = Timing.ofNanos(times);
    Flops.Count count = new FlopsCache(graph.orElse(null), warnings).at(shapes);
    Long total = count == null ? null : Math.multiplyExact(count.flops(), (long) times.length);
    String shapeText = describeShapes(shapes);
    return new Result(o.model, name(o), session.provider(), o.device, Session.ortVersion(), o.threads,
        shapeText, session.loadMillis(), firstMs, o.warmup, stats, batch, count, total, null, warnings,
        null);
  }

  /** The timed loop: only the run sits between the two clock reads. */
  private static long[] timedLoop(Options o, Session.Prepared p, PrintWriter err) {
    if (o.durationNanos == null) {
      int n = o.iterations == null ? 100 : o.iterations;
      long[] times = new long[n];
      Progress bar = new Progress(err, o.progress, "timing", n);
      for (int i = 0; i < n; i++) {
        long t0 = System.nanoTime();
        p.run();
        times[i] = System.nanoTime() - t0;
        bar.step(i + 1);
      }
      bar.done();
      return times;
    }
    long budget = o.durationNanos;
    long[] times = new long[1024];
    int n = 0;
    Progress bar = new Progress(err, o.progress, "timing", 0);
    long start = System.nanoTime();
    long spent;
    do {
      long t0 = System.nanoTime();
      p.run();
      long t1 = System.nanoTime();
      if (n == times.length) {
        times = Arrays.copyOf(times, n * 2);
      }
      times[n++] = t1 - t0;
      spent = t1 - start;
      bar.fraction(n, Math.min(1.0, spent / (double) budget));
    } while (spent < budget);
    bar.done();
    return Arrays.copyOf(times, n);
  }

  /** Sizes for every model input: given ones, else declared static ones. */
  private static Map<String, long[]> resolveShapes(Options o, Session session) {
    List<TensorSpec> inputs = session.inputs();
    Map<String, long[]> given = new LinkedHashMap<>(o.inputShapes);
    if (given.containsKey(null)) {
      if (inputs.size() != 1) {
        throw FcnException.of("%s has %d inputs (%s); name the one --input-shape is for: NAME=N,C,H,W",
            o.model, inputs.size(), Session.describe(inputs));
      }
      given.put(inputs.get(0).name(), given.remove(null));
    }
    for (String name : given.keySet()) {
      if (inputs.stream().noneMatch(s -> s.name().equals(name))) {
        throw FcnException.of("--input-shape names input '%s', which %s does not have; its inputs are: %s",
            name, o.model, Session.describe(inputs));
      }
    }
    Map<String, long[]> out = new LinkedHashMap<>();
    for (TensorSpec s : inputs) {
      long[] dims = given.remove(s.name());
      if (dims == null) {
        if (!s.shape().isStatic()) {
          throw FcnException.of("input '%s' of %s has shape %s; give its size with --input-shape %s",
              s.name(), o.model, s.shape(),
              inputs.size() == 1 ? "1,3,500,500" : s.name() + "=1,3,500,500");
        }
        dims = s.shape().toArray();
      } else if (!s.accepts(dims)) {
        throw FcnException.of("--input-shape %s for input '%s' does not fit %s's %s",
            Shape.format(dims), s.name(), o.model, s.describe());
      }
      out.put(s.name(), dims);
    }
    return out;
  }

  private static String describeShapes(Map<String, long[]> shapes) {
    List<String> parts = new ArrayList<>();
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      parts.add(shapes.size() == 1 ? Shape.format(e.getValue()) : e.getKey() + "=" + Shape.format(e.getValue()));
    }
    return String.join(";", parts);
  }

  private static String name(Options o) {
    return o.modelName != null ? o.modelName : modelName(o.model);
  }

  // ---- Dataset -------------------------------------------------------------------------------

  /**
   * ID.png predictions written into the dataset's own label (or image) folder would replace its
   * labels: refused, comparing folder identity (links included). A handful of distinct folders.
   */
  private static void refuseDatasetFolder(Path out, List<Sample> samples) {
    if (!Files.isDirectory(out)) {
      return;
    }
    java.util.Set<Path> dirs = new java.util.LinkedHashSet<>();
    for (Sample s : samples) {
      dirs.add(s.label().toAbsolutePath().getParent());
      dirs.add(s.image().toAbsolutePath().getParent());
    }
    for (Path d : dirs) {
      for (Path o : List.of(out, out.resolve("overlay"))) {
        try {
          if (Files.isDirectory(o) && Files.isSameFile(o, d)) {
            throw new FcnException("--save-predictions " + out + ": " + (o == out ? "" : "its overlay/ folder ")
                + "is the dataset's folder " + d + "; predictions named ID.png would replace its files."
                + " Choose another folder");
          }
        } catch (java.io.IOException e) {
          // Unreadable: not provably the same folder; writing will tell.
        }
      }
    }
  }

  /** One decoded image, bound as a session input (prepared on a pool thread). */
  private record Decoded(int index, Sample sample, RgbImage image, LabelMap label, long[] shape,
      Session.Prepared input) {}

  private static Result runDataset(Options o, Session session, Optional<Graph> graph,
      List<String> warnings, PrintWriter err) {
    Dataset ds = Dataset.open(o.dataset, o.split, o.ignoreLabel);
    List<Sample> samples = ds.samples();
    if (samples.isEmpty()) {
      throw new FcnException(o.dataset + ": no samples (" + ds.describe() + ")");
    }
    if (o.savePredictions != null) {
      refuseDatasetFolder(o.savePredictions, samples);
    }
    if (session.inputs().size() != 1) {
      throw FcnException.of("%s has %d inputs (%s); --dataset feeds one image input",
          o.model, session.inputs().size(), Session.describe(session.inputs()));
    }
    String inputName = session.inputs().get(0).name();
    String outputName = session.outputNames().contains("score") ? "score" : session.outputNames().get(0);
    Preprocess pre = o.preprocess != null ? o.preprocess : Preprocess.caffe();
    Integer ignore = ds.ignoreLabel();
    List<String> givenNames = o.classes != null ? ClassNames.read(o.classes) : ds.classNames();
    String namesSource = o.classes != null ? o.classes.toString()
        : ds.classesFile() != null ? ds.classesFile().toString() : "the dataset";
    PredictionWriter writer = o.savePredictions != null ? new PredictionWriter() : null;
    int threads = o.decodeThreads > 0 ? o.decodeThreads : defaultIoThreads(Runtime.getRuntime().availableProcessors());
    int window = 2 * threads + 2;
    FlopsCache flops = new FlopsCache(graph.orElse(null), warnings);

    Workers pool = new Workers(threads, "fcn-bench-io");
    ArrayDeque<Future<Decoded>> decoding = new ArrayDeque<>();
    List<Future<?>> scoring = new ArrayList<>();
    try {
      // First run and warmup on the first image, outside the timed pass.
      Decoded first = decode(0, samples.get(0), pre, session, inputName);
      int classes;
      double firstMs;
      try (Session.Prepared p = first.input()) {
        long t0 = System.nanoTime();
        Map<String, FloatTensor> out = p.runAndFetch();
        firstMs = (System.nanoTime() - t0) / 1e6;
        FloatTensor score = output(out, outputName, o.model);
        classes = classCount(score, outputName, o.model);
        Progress bar = new Progress(err, o.progress, "warmup", o.warmup);
        for (int i = 0; i < o.warmup; i++) {
          p.run();
          bar.step(i + 1);
        }
        bar.done();
      }
      List<String> names = classNames(givenNames, classes, namesSource, outputName, o.model);
      ConfusionAccumulator acc = new ConfusionAccumulator(classes);
      long[] ignoredPixels = new long[samples.size()];

      Semaphore inFlight = new Semaphore(window);
      long[] inferNanos = new long[samples.size()];
      long[][] inputShapes = new long[samples.size()][];
      Progress bar = new Progress(err, o.progress, "images", samples.size());
      long wallStart = System.nanoTime();
      int next = 0;
      int checked = 0;
      long waitNanos = 0;
      for (int i = 0; i < samples.size(); i++) {
        while (next < samples.size() && decoding.size() < window && inFlight.tryAcquire()) {
          int k = next++;
          decoding.add(pool.urgent(() -> decode(k, samples.get(k), pre, session, inputName)));
        }
        long w0 = System.nanoTime();
        if (decoding.isEmpty()) {
          // Every slot is held by images still being scored: wait for one, then decode.
          inFlight.acquireUninterruptibly();
          int k = next++;
          decoding.add(pool.urgent(() -> decode(k, samples.get(k), pre, session, inputName)));
        }
        Decoded d = get(decoding.poll());
        waitNanos += System.nanoTime() - w0;
        Map<String, FloatTensor> out;
        try (Session.Prepared p = d.input()) {
          long t0 = System.nanoTime();
          out = p.runAndFetch();
          inferNanos[i] = System.nanoTime() - t0;
        }
        inputShapes[i] = d.shape();
        FloatTensor score = output(out, outputName, o.model);
        scoring.add(pool.submit(() -> {
          try {
            LabelMap pred = argmax(score, classes, outputName, d.sample(), o.model);
            if (pred.width() != d.label().width() || pred.height() != d.label().height()) {
              if (!pre.resizes()) {
                throw FcnException.of("%s: output '%s' is %dx%d but label %s is %dx%d; expected the label's size "
                    + "(the model must restore the input size, as FCN's final crop does)", o.model, outputName,
                    pred.width(), pred.height(), d.sample().label(), d.label().width(), d.label().height());
              }
              pred = pred.resizeNearest(d.label().width(), d.label().height());
            }
            ignoredPixels[d.index()] = accumulate(acc, d.label(), pred, ignore, classes, d.sample());
            if (writer != null) {
              writer.write(o.savePredictions, d.sample().id(), d.image(), pred);
            }
          } finally {
            inFlight.release();
          }
          return null;
        }));
        // Fail fast: a bad label found while scoring image 3 should not wait for image 233.
        while (checked < scoring.size() && scoring.get(checked).isDone()) {
          get(scoring.get(checked++));
        }
        bar.step(i + 1);
      }
      for (Future<?> f : scoring) {
        get(f);
      }
      long wallNanos = System.nanoTime() - wallStart;
      bar.done();
      // Counted after the timed pass so that shape inference does not slow the pipeline.
      Long totalFlops = 0L;
      Flops.Count lastCount = null;
      for (long[] shape : inputShapes) {
        Flops.Count c = flops.at(Map.of(inputName, shape));
        if (c == null) {
          totalFlops = null;
          lastCount = null;
          break;
        }
        totalFlops = Math.addExact(totalFlops, c.flops());
        lastCount = c;
      }
      long ignoredTotal = 0;
      for (long v : ignoredPixels) {
        ignoredTotal += v;
      }
      Timing.Stats stats = Timing.ofNanos(inferNanos);
      Scores scores = Scores.of(acc.hist(), names);
      long distinct = Arrays.stream(inputShapes).map(Arrays::toString).distinct().count();
      DatasetResult dr = new DatasetResult(ds.name(), ds.split(), samples.size(), (int) distinct, scores,
          ignoredTotal,
          stats.totalMs(), wallNanos / 1e6, waitNanos / 1e6, threads);
      return new Result(o.model, name(o), session.provider(), o.device, Session.ortVersion(), o.threads,
          "dataset", session.loadMillis(), firstMs, o.warmup, stats, 1, lastCount, totalFlops, dr, warnings,
          null);
    } finally {
      pool.close();
      // Inputs decoded ahead but never run still hold native tensors.
      for (Future<Decoded> f : decoding) {
        try {
          if (f.isDone() && !f.isCancelled()) {
            f.get().input().close();
          }
        } catch (InterruptedException | ExecutionException | RuntimeException ignoredFailure) {
          // Already failing; the first error is the one to report.
        }
      }
    }
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

  private static Decoded decode(int index, Sample s, Preprocess pre, Session session, String inputName) {
    RgbImage img = Images.readRgb(s.image());
    LabelMap label = Images.readLabel(s.label());
    if (label.width() != img.width() || label.height() != img.height()) {
      throw FcnException.of("%s: label is %dx%d but image %s is %dx%d; expected equal sizes",
          s.label(), label.width(), label.height(), s.image(), img.width(), img.height());
    }
    int[] chw = pre.outputShape(img.width(), img.height());
    long[] shape = {1, chw[0], chw[1], chw[2]};
    FloatTensor t = new FloatTensor(pre.toChw(img), shape);
    Session.Prepared p = session.prepare(Map.of(inputName, t));
    return new Decoded(index, s, img, label, shape, p);
  }

  private static <T> T get(Future<T> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FcnException("interrupted", e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof RuntimeException re) {
        throw re;
      }
      if (c instanceof Error er) {
        throw er;
      }
      throw new IllegalStateException(c);
    }
  }

  private static FloatTensor output(Map<String, FloatTensor> out, String name, Path model) {
    FloatTensor t = out.get(name);
    if (t == null) {
      throw FcnException.of("%s produced no output '%s'", model, name);
    }
    return t;
  }

  /** Classes = the score output's channels (as score.py's n_cl); 1 channel = class indices. */
  static int classCount(FloatTensor score, String outputName, Path model) {
    if (score.rank() != 4 || score.dim(0) != 1) {
      throw FcnException.of("%s: output '%s' has shape %s; expected 1xCxHxW class scores", model, outputName,
          score.shapeString());
    }
    if (score.dim(1) < 2) {
      throw FcnException.of("%s: output '%s' has shape %s, one channel; expected 1xCxHxW scores for C >= 2 classes",
          model, outputName, score.shapeString());
    }
    return Math.toIntExact(score.dim(1));
  }

  private static List<String> classNames(List<String> given, int classes, String source, String outputName,
      Path model) {
    if (given == null || given.isEmpty()) {
      return Scores.defaultNames(classes);
    }
    if (given.size() != classes) {
      throw FcnException.of("%s: output '%s' scores %d classes but %s names %d; expected one name per "
          + "class (pass --classes FILE)", model, outputName, classes, source, given.size());
    }
    return given;
  }

  /**
   * Per-pixel argmax over the class channel (ties go to the lower class, as numpy's argmax).
   * Walks one class plane at a time so memory is read sequentially.
   */
  static LabelMap argmax(FloatTensor score, int classes, String outputName, Sample s, Path model) {
    if (score.rank() != 4 || score.dim(1) != classes) {
      throw FcnException.of("%s: output '%s' for %s has shape %s; expected 1x%dxHxW", model, outputName,
          s.image(), score.shapeString(), classes);
    }
    int h = Math.toIntExact(score.dim(2));
    int w = Math.toIntExact(score.dim(3));
    int hw = h * w;
    float[] d = score.data();
    float[] best = Arrays.copyOf(d, hw);
    int[] pred = new int[hw];
    for (int c = 1; c < classes; c++) {
      int off = c * hw;
      for (int p = 0; p < hw; p++) {
        float v = d[off + p];
        if (v > best[p]) {
          best[p] = v;
          pred[p] = c;
        }
      }
    }
    return new LabelMap(w, h, pred);
  }

  /**
   * Adds one image to the confusion matrix: pixels with the ignore label are left out (as
   * score.py leaves out labels outside [0, n)); any other label outside the classes is an error,
   * so that every non-ignored pixel is counted.
   *
   * @return the number of ignored pixels
   */
  static long accumulate(ConfusionAccumulator acc, LabelMap label, LabelMap pred, Integer ignore, int classes,
      Sample s) {
    int[] l = label.values().clone();
    long ignored = 0;
    for (int k = 0; k < l.length; k++) {
      int a = l[k];
      if (ignore != null && a == ignore) {
        l[k] = -1;
        ignored++;
      } else if (a < 0 || a >= classes) {
        throw FcnException.of("%s: label %d at x=%d y=%d is neither a class (0..%d) nor the ignore label (%s); "
            + "expected labels matching the model's %d classes (set --ignore-label)", s.label(), a,
            k % label.width(), k / label.width(), classes - 1, ignore == null ? "none given" : ignore, classes);
      }
    }
    acc.add(l, pred.values());
    return ignored;
  }

  // ---- Report --------------------------------------------------------------------------------

  /** The report row of a run; the model's SHA-256 (a full read) only when a report is written. */
  private static BenchRecord record(Options o, Result r) {
    BenchRecord.Builder b = BenchRecord.builder()
        .modelFile(o.model.toString())
        .modelSha256(o.report != null ? sha256(o.model) : null)
        .modelName(r.modelName())
        .device(r.provider().equals(Session.CUDA_PROVIDER) ? "cuda:0" : "cpu")
        .executionProvider(r.provider())
        .ortVersion(r.ortVersion())
        .inputShape(r.dataset() != null ? null : r.inputShape())
        .threads(r.threads())
        .warmup(r.warmup())
        .loadMs(r.loadMs())
        .firstRunMs(r.firstRunMs())
        .latencies(r.stats().latencies())
        .imagesPerS(r.imagesPerSecond())
        .gflops(r.gflopsPerImage())
        .gflopsPerS(r.gflopsPerSecond())
        .host(BenchRecord.localHost());
    if (r.dataset() != null) {
      b.dataset(r.dataset().name()).split(r.dataset().split()).images(r.dataset().images())
          .scores(r.dataset().scores());
    }
    return b.build();
  }

  static String sha256(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 20];
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (IOException e) {
      throw new FcnException("cannot read " + file + ": " + e.getMessage(), e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---- Summary -------------------------------------------------------------------------------

  /** The human-readable summary printed on stdout. */
  public static String summary(Result r) {
    StringBuilder sb = new StringBuilder();
    Timing.Stats s = r.stats();
    line(sb, "model", r.model() + " (" + r.modelName() + ")");
    line(sb, "runtime", "ONNX Runtime " + r.ortVersion() + ", " + r.provider() + " (asked: " + r.requested()
        + ", threads: " + (r.threads() == 0 ? "ORT default" : r.threads()) + ")");
    if (r.dataset() == null) {
      line(sb, "input", r.inputShape());
    }
    line(sb, "load", fmt("%.1f ms (session creation)", r.loadMs()));
    line(sb, "first run", fmt("%.2f ms", r.firstRunMs()));
    line(sb, "warmup", r.warmup() + " run(s)");
    line(sb, r.dataset() == null ? "timed runs" : "images", Integer.toString(s.count()));
    sb.append(String.format(Locale.ROOT, "%nlatency (ms)  %8s %8s %8s %8s %8s %8s %8s %8s%n",
        "min", "mean", "median", "p90", "p95", "p99", "max", "std"));
    sb.append(String.format(Locale.ROOT, "              %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f%n",
        s.minMs(), s.meanMs(), s.medianMs(), s.p90Ms(), s.p95Ms(), s.p99Ms(), s.maxMs(), s.stdMs()));
    if (r.dataset() != null && r.dataset().sizes() > 1) {
      line(sb, "variation", fmt("CV %.1f%% (%d image sizes)", 100 * s.cv(), r.dataset().sizes()));
    } else {
      line(sb, "variation", fmt("CV %.1f%% (noisy above %.0f%%)", 100 * s.cv(), 100 * Timing.NOISY_CV));
    }
    line(sb, "throughput", fmt("%.2f images/s (pure inference)", r.imagesPerSecond()));
    if (r.totalFlops() != null) {
      line(sb, "compute", fmt("%.2f GFLOP/image%s, %.1f GFLOP/s achieved", r.gflopsPerImage(),
          r.flops() != null && !r.flops().complete() ? " (lower bound)" : "", r.gflopsPerSecond()));
    } else {
      line(sb, "compute", "FLOPs not counted");
    }
    DatasetResult d = r.dataset();
    if (d != null) {
      sb.append(System.lineSeparator());
      line(sb, "dataset", d.name() + (d.split() != null ? " (" + d.split() + ")" : "") + ", " + d.images()
          + " images, " + d.scores().pixels() + " pixels scored, " + d.ignoredPixels() + " ignored");
      line(sb, "inference", fmt("%.1f ms total (session runs with output fetch, nothing else)", d.inferenceMs()));
      line(sb, "end-to-end", fmt("%.1f ms wall (decode, preprocess, run, argmax, score; %d I/O threads) "
          + "= %.3f x inference", d.wallMs(), d.decodeThreads(), d.overhead()));
      line(sb, "input wait", fmt("%.1f ms (the session waited for decoded images%s)", d.waitMs(),
          d.waitMs() > 0.05 * d.inferenceMs() ? "; more --io-threads or cores would help" : ""));
      sb.append(System.lineSeparator());
      sb.append(d.scores().table());
    }
    return sb.toString();
  }

  private static void line(StringBuilder sb, String key, String value) {
    sb.append(String.format(Locale.ROOT, "%-12s  %s%n", key, value));
  }

  private static String fmt(String f, Object... args) {
    return String.format(Locale.ROOT, f, args);
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
