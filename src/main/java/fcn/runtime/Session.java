package fcn.runtime;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.ValueInfo;
import fcn.core.FcnException;
import fcn.frontend.onnx.ModelGate;
import fcn.ir.DataType;
import fcn.ir.Dim;
import fcn.ir.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * An ONNX Runtime inference session over one .onnx file, with float-array inputs and outputs.
 *
 * <p>Owns the native session; close() is idempotent. Not thread-safe: {@link #run} reuses one
 * direct staging buffer per input so that a run costs one memcpy per input and one per output on
 * the Java side (ORT wraps a native-order direct buffer without copying it). For timing loops,
 * {@link #prepare} binds the inputs once and {@link Prepared#run()} is then just ORT's run.
 *
 * <p>{@link Device#AUTO} tries the CUDA execution provider and falls back to the CPU, leaving a
 * one-line {@link #warning()}; {@link Device#CUDA} fails with an {@link FcnException} naming what
 * is missing. Non-float outputs (double, half, bfloat16, integers, bool) are converted to float;
 * strings and non-tensor outputs are refused.
 */
public final class Session implements ReferenceRunner {
  /** The message for CUDA on the CPU jar, which has no CUDA execution provider at all. */
  public static final String CPU_BUILD =
      "this fcn build uses the CPU ONNX Runtime; rebuild with -Pgpu (onnxruntime_gpu, needs CUDA 12 + cuDNN 9)";

  public static final String CUDA_PROVIDER = "CUDAExecutionProvider";
  public static final String CPU_PROVIDER = "CPUExecutionProvider";

  private static final Pattern SHARED_LIB = Pattern.compile("(lib[A-Za-z0-9_+\\-]+\\.so(?:\\.[0-9]+)*)");

  private final Path model;
  private final OrtEnvironment env;
  private final OrtSession ort;
  private final Device requested;
  private final String provider;
  private final String warning;
  private final long loadNanos;
  private final List<TensorSpec> inputs;
  private final List<TensorSpec> outputs;
  private final Map<String, TensorSpec> inputByName;
  private final Map<String, ByteBuffer> staging = new HashMap<>();
  private final boolean profiling;
  private ProviderReport providerReport;
  private SessionCache.Status cacheStatus = SessionCache.Status.OFF;
  private boolean closed;

  private Session(Path model, OrtEnvironment env, OrtSession ort, Device requested, String provider,
      String warning, long loadNanos, boolean profiling) throws OrtException {
    this.model = model;
    this.profiling = profiling;
    this.env = env;
    this.ort = ort;
    this.requested = requested;
    this.provider = provider;
    this.warning = warning;
    this.loadNanos = loadNanos;
    this.inputs = specs(ort.getInputInfo());
    this.outputs = specs(ort.getOutputInfo());
    Map<String, TensorSpec> byName = new LinkedHashMap<>();
    for (TensorSpec s : inputs) {
      byName.put(s.name(), s);
    }
    this.inputByName = Collections.unmodifiableMap(byName);
  }

  /** Opens {@code model} on the CPU with ORT's default threads and all optimizations. */
  public static Session open(Path model) {
    return open(model, Device.CPU, 0, OptLevel.ALL);
  }

  /**
   * Opens {@code model}.
   *
   * @param threads intra-op threads; 0 lets ONNX Runtime choose (one per physical core)
   * @throws FcnException when the file is missing or not a loadable ONNX model, when
   *     {@link ModelGate} refuses it (external data outside its folder, no inputs, a zero
   *     stride...), or when {@code device} is CUDA and the CUDA execution provider cannot be loaded
   */
  public static Session open(Path model, Device device, int threads, OptLevel optLevel) {
    return open(model, device, threads, optLevel, false, SessionCache.standard());
  }

  /**
   * Opens {@code model}; with {@code profile}, ORT's profiler records the runs until the first
   * {@link #providerReport()} (which ends it), so that report tells where each node ran.
   */
  public static Session open(Path model, Device device, int threads, OptLevel optLevel, boolean profile) {
    return open(model, device, threads, optLevel, profile, SessionCache.standard());
  }

  /**
   * As {@link #open(Path, Device, int, OptLevel)}, with CPU sessions created through
   * {@code cache} (null: none); {@link #cacheStatus()} tells what it did.
   */
  public static Session open(Path model, Device device, int threads, OptLevel optLevel, SessionCache cache) {
    return open(model, device, threads, optLevel, false, cache);
  }

  /** The general form: {@code profile} as in the 5-argument profile overload, {@code cache} as in the other. */
  public static Session open(Path model, Device device, int threads, OptLevel optLevel, boolean profile,
      SessionCache cache) {
    if (!Files.exists(model)) {
      throw new FcnException("model file " + model + " not found (expected an .onnx file)");
    }
    if (!Files.isRegularFile(model)) {
      throw new FcnException("model " + model + " is not a file (expected an .onnx file)");
    }
    if (threads < 0) {
      throw new FcnException("--threads must be >= 0 (0 = ONNX Runtime's default), got " + threads);
    }
    // Before ONNX Runtime sees the file: it would follow any external-data location and trap
    // (SIGFPE) on a zero stride, so fcn's own rules come first, for every command.
    ModelGate.check(model);
    OrtEnvironment env = environment();
    boolean cudaInBuild = cudaInBuild();
    switch (device) {
      case CPU:
        return cpu(model, env, device, threads, optLevel, profile, null, cache);
      case CUDA:
        if (!cudaInBuild) {
          throw new FcnException("--device cuda: " + CPU_BUILD);
        }
        try {
          return create(model, env, device, true, threads, optLevel, profile, null, null);
        } catch (CudaFailure f) {
          // A CUDA session can also fail for a bad model: loading it on the CPU tells which.
          cpu(model, env, Device.CPU, threads, optLevel, false, null, cache).close();
          throw new FcnException("--device cuda: " + f.getMessage(), f.getCause());
        }
      case AUTO:
      default:
        if (!cudaInBuild) {
          return cpu(model, env, device, threads, optLevel, profile,
              "--device auto: no CUDA in this build (CPU ONNX Runtime; -Pgpu builds with CUDA); "
                  + "running on CPU (--device cpu silences this)", cache);
        }
        try {
          return create(model, env, device, true, threads, optLevel, profile, null, null);
        } catch (CudaFailure f) {
          return cpu(model, env, device, threads, optLevel, profile,
              "--device auto: " + f.getMessage() + "; running on CPU", cache);
        }
    }
  }

  /** True when the ONNX Runtime on the class path was built with the CUDA execution provider. */
  public static boolean cudaInBuild() {
    OrtNatives.prepare();
    try {
      return OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA);
    } catch (RuntimeException | LinkageError e) {
      return false;
    }
  }

  /** The ONNX Runtime version, e.g. "1.23.2". */
  public static String ortVersion() {
    return environment().getVersion();
  }

  private static OrtEnvironment environment() {
    OrtNatives.prepare(); // before ORT's first class initialises: no temp folder per run
    try {
      // ORT's own log lines (unused initializers, the CUDA loader) would drown fcn's one-line
      // messages; whatever matters reaches us as an OrtException and is reported from there.
      return OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL, "fcn");
    } catch (RuntimeException | LinkageError e) {
      throw new FcnException("cannot load the ONNX Runtime native library: " + e.getMessage(), e);
    }
  }

  /** Raised inside {@link #open} when the CUDA provider cannot be set up; message says why. */
  private static final class CudaFailure extends Exception {
    CudaFailure(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private static Session cpu(Path model, OrtEnvironment env, Device requested, int threads,
      OptLevel optLevel, boolean profile, String warning, SessionCache cache) {
    try {
      return create(model, env, requested, false, threads, optLevel, profile, warning, cache);
    } catch (CudaFailure f) {
      throw new AssertionError("CUDA failure without CUDA", f);
    }
  }

  private static Session create(Path model, OrtEnvironment env, Device requested, boolean cuda,
      int threads, OptLevel optLevel, boolean profile, String warning, SessionCache cache) throws CudaFailure {
    if (cuda) {
      // Name every missing library before ORT is asked: its own error names none of them.
      List<String> missing = CudaLibraries.missing();
      if (!missing.isEmpty()) {
        throw new CudaFailure(describeMissing(missing, null), null);
      }
    }
    long t0 = System.nanoTime();
    OrtSession ort;
    SessionCache.Status cached = SessionCache.Status.OFF;
    try (SessionOptions so = new SessionOptions()) {
      so.setOptimizationLevel(optLevel.ort());
      so.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL);
      if (threads > 0) {
        so.setIntraOpNumThreads(threads);
      }
      if (profile) {
        so.enableProfiling(profilePrefix().toString());
      }
      if (cuda) {
        try {
          so.addCUDA(0);
          ort = env.createSession(model.toString(), so);
        } catch (OrtException | RuntimeException | LinkageError e) {
          throw new CudaFailure(describeCudaFailure(e.getMessage()), e);
        }
      } else if (cache != null) {
        SessionCache.Opened o = cache.open(env, model, so, optLevel, threads, CPU_PROVIDER);
        ort = o.session();
        cached = o.status();
      } else {
        ort = env.createSession(model.toString(), so);
      }
    } catch (OrtException e) {
      throw new FcnException("cannot load ONNX model " + model + ": " + firstLine(e.getMessage()), e);
    }
    long loadNanos = System.nanoTime() - t0;
    try {
      Session s = new Session(model, env, ort, requested, cuda ? CUDA_PROVIDER : CPU_PROVIDER, warning, loadNanos,
          profile);
      s.cacheStatus = cached;
      return s;
    } catch (OrtException e) {
      closeQuietly(ort);
      throw new FcnException("cannot read the inputs/outputs of ONNX model " + model + ": "
          + firstLine(e.getMessage()), e);
    }
  }

  /** One line saying why CUDA could not be used, naming missing shared libraries if any. */
  static String describeCudaFailure(String ortMessage) {
    return describeCudaFailure(ortMessage, CudaLibraries::missing);
  }

  static String describeCudaFailure(String ortMessage, java.util.function.Supplier<List<String>> probe) {
    String msg = ortMessage == null ? "" : ortMessage;
    List<String> missing = missingLibraries(msg);
    if (missing.isEmpty() && msg.contains("Failed to load")) {
      // ORT's exception omits the library its loader could not find: look the dependencies up.
      missing = probe.get();
    }
    if (!missing.isEmpty()) {
      return describeMissing(missing, msg);
    }
    Matcher f = CUDA_CALL.matcher(msg);
    if (f.find()) {
      // ORT's text around it is a C++ signature two lines long; the failure and its call are the news.
      String code = f.group(2);
      String hint = code.equals("100") ? " (the CUDA libraries loaded; no GPU visible: no /dev/nvidia*?)"
          : code.equals("35") ? " (the driver's libcuda.so.1 is missing or older than CUDA 12)" : "";
      Matcher e = CUDA_EXPR.matcher(msg);
      return "the CUDA execution provider failed: " + f.group(1) + " failure " + code + ": " + f.group(3).strip()
          + (e.find() ? " in " + e.group(1).strip() : "") + hint;
    }
    return "the CUDA execution provider failed: " + firstLine(msg);
  }

  private static final Pattern CUDA_CALL =
      Pattern.compile("\\b(CUDA|CUDNN|CUBLAS|CURAND|CUFFT) failure (\\d+): ([^;\\n]*)");
  private static final Pattern CUDA_EXPR = Pattern.compile("expr=([^;\\n]{1,60})");

  /** "the CUDA execution provider cannot load: missing A, B (how to get them)[; ONNX Runtime said: ...]". */
  static String describeMissing(List<String> missing, String ortMessage) {
    return "the CUDA execution provider cannot load: missing " + String.join(", ", missing)
        + " (get CUDA 12 + cuDNN 9, pass their folder with --cuda-libs DIR; fcn doctor lists all)"
        + (ortMessage == null ? "" : "; ONNX Runtime said: " + firstLine(ortMessage));
  }

  // ORT appends "_<date>.json" to this prefix; one registered temp folder per session, so that a
  // run stopped by a signal leaves no profile behind either.
  static Path profilePrefix() {
    return fcn.core.TempFiles.createDirectory(Path.of(System.getProperty("java.io.tmpdir")), "fcn-ort-profile-")
        .resolve("profile");
  }

  /** Shared libraries named in a loader error, other than ONNX Runtime's own libraries. */
  static List<String> missingLibraries(String msg) {
    Set<String> libs = new LinkedHashSet<>();
    Matcher m = SHARED_LIB.matcher(msg);
    while (m.find()) {
      if (!m.group(1).startsWith("libonnxruntime")) {
        libs.add(m.group(1));
      }
    }
    return new ArrayList<>(libs);
  }

  static String firstLine(String s) {
    if (s == null) {
      return "(no message)";
    }
    String t = s.strip();
    int nl = t.indexOf('\n');
    return nl < 0 ? t : t.substring(0, nl).strip();
  }

  private static List<TensorSpec> specs(Map<String, NodeInfo> info) {
    List<TensorSpec> out = new ArrayList<>();
    for (NodeInfo ni : info.values()) {
      ValueInfo v = ni.getInfo();
      if (v instanceof TensorInfo ti) {
        long[] dims = ti.getShape();
        String[] names = ti.getDimensionNames();
        List<Dim> list = new ArrayList<>();
        for (int i = 0; i < dims.length; i++) {
          if (dims[i] >= 0) {
            list.add(Dim.of(dims[i]));
          } else {
            String n = names != null && i < names.length ? names[i] : null;
            list.add(Dim.symbol(n == null || n.isEmpty() ? "?" : n));
          }
        }
        out.add(new TensorSpec(ni.getName(), dataType(ti.onnxType), new Shape(list)));
      } else {
        out.add(new TensorSpec(ni.getName(), null, Shape.of()));
      }
    }
    return Collections.unmodifiableList(out);
  }

  // ORT Java numbers its OnnxTensorType differently from ONNX's codes; the names agree.
  private static DataType dataType(TensorInfo.OnnxTensorType t) {
    String n = t.name().replace("ONNX_TENSOR_ELEMENT_DATA_TYPE_", "");
    try {
      return DataType.valueOf(n);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  public Path model() {
    return model;
  }

  /** The device that was asked for. */
  public Device requestedDevice() {
    return requested;
  }

  /** The execution provider in use: {@link #CUDA_PROVIDER} or {@link #CPU_PROVIDER}. */
  public String provider() {
    return provider;
  }

  /** True when the session runs on the CUDA execution provider. */
  public boolean onCuda() {
    return CUDA_PROVIDER.equals(provider);
  }

  /** The fallback warning (one line) when AUTO ended up on the CPU. */
  public Optional<String> warning() {
    return Optional.ofNullable(warning);
  }

  /** What the session cache did: hit, stored, ..., or off (none, or a CUDA session). */
  public SessionCache.Status cacheStatus() {
    return cacheStatus;
  }

  /**
   * Wall time of session creation (parse, optimize, provider setup; with the session cache,
   * its checks, and on a store the writing), in milliseconds.
   */
  public double loadMillis() {
    return loadNanos / 1e6;
  }

  @Override
  public List<TensorSpec> inputs() {
    return inputs;
  }

  @Override
  public List<TensorSpec> outputs() {
    return outputs;
  }

  public List<String> inputNames() {
    return inputs.stream().map(TensorSpec::name).collect(Collectors.toUnmodifiableList());
  }

  public List<String> outputNames() {
    return outputs.stream().map(TensorSpec::name).collect(Collectors.toUnmodifiableList());
  }

  @Override
  public String describe() {
    return "ONNX Runtime " + env.getVersion() + " (" + provider + ")";
  }

  /** "data: float 1x3xHxW, mask: float 1x1xHxW", for messages listing what the model expects. */
  public static String describe(List<TensorSpec> specs) {
    return specs.stream().map(TensorSpec::describe).collect(Collectors.joining(", "));
  }

  @Override
  public synchronized Map<String, FloatTensor> run(Map<String, FloatTensor> feeds) {
    ensureOpen();
    Map<String, OnnxTensor> tensors = bind(feeds, true);
    try (OrtSession.Result r = ort.run(tensors)) {
      return fetch(r);
    } catch (OrtException e) {
      throw new FcnException("running " + model + " failed: " + firstLine(e.getMessage()), e);
    } finally {
      tensors.values().forEach(OnnxTensor::close);
    }
  }

  /**
   * Binds {@code feeds} once (copied into direct buffers owned by the returned object) for
   * repeated runs, e.g. timing loops; from its second run on, outputs go into buffers it owns too
   * ({@link #prepare(Map, boolean)}). The Prepared must be closed before this session.
   */
  public Prepared prepare(Map<String, FloatTensor> feeds) {
    return prepare(feeds, true);
  }

  /**
   * As {@link #prepare(Map)}; {@code pinOutputs} false keeps ORT allocating (and freeing) new
   * output tensors on every run, as before pinned outputs (for measuring the difference).
   */
  public Prepared prepare(Map<String, FloatTensor> feeds, boolean pinOutputs) {
    ensureOpen();
    return new Prepared(bind(feeds, false), pinOutputs);
  }

  /**
   * Inputs bound once; {@link #run()} is ORT's run plus the release of its outputs. With pinned
   * outputs, the first run notes the output shapes and every later run writes into output
   * tensors allocated once ({@code OrtSession.run(inputs, pinnedOutputs)}, ORT 1.17+), so the
   * timed loop allocates nothing; a Prepared run once (a dataset image) allocates no extra
   * buffers. Not thread-safe; close() is idempotent and frees inputs and pinned outputs.
   */
  public final class Prepared implements AutoCloseable {
    private final Map<String, OnnxTensor> tensors;
    private boolean pin;
    private Map<String, long[]> outputShapes;
    private Map<String, OnnxTensor> pinned;
    private boolean done;

    private Prepared(Map<String, OnnxTensor> tensors, boolean pin) {
      this.tensors = tensors;
      this.pin = pin;
    }

    /** Runs once and discards the outputs (freed, or kept in the pinned buffers). */
    public void run() {
      check();
      try (OrtSession.Result r = ortRun()) {
        // Outputs are already materialized on the host by ORT; nothing to copy.
      } catch (OrtException e) {
        throw new FcnException("running " + model + " failed: " + firstLine(e.getMessage()), e);
      }
    }

    /** Runs once and returns the outputs as float tensors. */
    public Map<String, FloatTensor> runAndFetch() {
      check();
      try (OrtSession.Result r = ortRun()) {
        return fetch(r);
      } catch (OrtException e) {
        throw new FcnException("running " + model + " failed: " + firstLine(e.getMessage()), e);
      }
    }

    /** True once later runs write into output buffers allocated once. */
    public boolean outputsPinned() {
      return pinned != null;
    }

    private OrtSession.Result ortRun() throws OrtException {
      if (pinned != null) {
        return ort.run(tensors, pinned);
      }
      if (pin && outputShapes != null) {
        pinned = pinOutputs(outputShapes);
        return ort.run(tensors, pinned);
      }
      OrtSession.Result r = ort.run(tensors);
      if (pin && outputShapes == null) {
        outputShapes = shapesOf(r);
        pin = outputShapes != null;
      }
      return r;
    }

    // Output shapes of a run whose outputs are all numeric tensors; null when one is not.
    private Map<String, long[]> shapesOf(OrtSession.Result r) {
      Map<String, long[]> shapes = new LinkedHashMap<>();
      for (Map.Entry<String, OnnxValue> e : r) {
        if (!(e.getValue() instanceof OnnxTensor t) || t.getInfo().type == OnnxJavaType.STRING
            || t.getInfo().type == OnnxJavaType.UNKNOWN) {
          return null;
        }
        shapes.put(e.getKey(), t.getInfo().getShape());
      }
      return shapes;
    }

    private Map<String, OnnxTensor> pinOutputs(Map<String, long[]> shapes) throws OrtException {
      Map<String, OnnxTensor> out = new LinkedHashMap<>();
      try {
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
          TensorInfo info = outputInfo(e.getKey());
          long n = FloatTensor.numel(e.getValue());
          ByteBuffer b = ByteBuffer.allocateDirect(Math.toIntExact(n * info.type.size)).order(ByteOrder.nativeOrder());
          out.put(e.getKey(), OnnxTensor.createTensor(env, b, e.getValue(), info.type));
        }
      } catch (OrtException | RuntimeException ex) {
        out.values().forEach(OnnxTensor::close);
        throw ex;
      }
      return out;
    }

    private void check() {
      if (done) {
        throw new IllegalStateException("prepared inputs already closed");
      }
      ensureOpen();
    }

    @Override
    public void close() {
      if (!done) {
        done = true;
        tensors.values().forEach(OnnxTensor::close);
        if (pinned != null) {
          pinned.values().forEach(OnnxTensor::close);
        }
      }
    }
  }

  private TensorInfo outputInfo(String name) throws OrtException {
    return (TensorInfo) ort.getOutputInfo().get(name).getInfo();
  }

  /**
   * Where the nodes ran, from ORT's profile of the runs so far (needs a session opened with
   * profiling and at least one run). The first call ends the profiling, so later runs are not
   * slowed by it, reads and deletes ORT's JSON file, and keeps the report; later calls return it.
   *
   * @throws IllegalStateException when the session was opened without profiling
   */
  public synchronized ProviderReport providerReport() {
    ensureOpen();
    if (!profiling) {
      throw new IllegalStateException("session for " + model + " was opened without profiling");
    }
    if (providerReport == null) {
      Path file;
      try {
        file = Path.of(ort.endProfiling());
      } catch (OrtException e) {
        throw new FcnException("cannot end ONNX Runtime's profiling of " + model + ": " + firstLine(e.getMessage()), e);
      }
      try {
        providerReport = ProviderReport.parse(Files.readString(file));
      } catch (java.io.IOException e) {
        throw new FcnException("cannot read ONNX Runtime's profile " + file + ": " + e.getMessage(), e);
      } finally {
        fcn.core.TempFiles.delete(file.getParent());
      }
    }
    return providerReport;
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("session for " + model + " is closed");
    }
  }

  private Map<String, OnnxTensor> bind(Map<String, FloatTensor> feeds, boolean reuseStaging) {
    for (String name : feeds.keySet()) {
      if (!inputByName.containsKey(name)) {
        throw FcnException.of("%s has no input named '%s'; its inputs are: %s",
            model, name, describe(inputs));
      }
    }
    for (TensorSpec spec : inputs) {
      FloatTensor t = feeds.get(spec.name());
      if (t == null) {
        throw FcnException.of("no value given for input '%s' of %s; its inputs are: %s",
            spec.name(), model, describe(inputs));
      }
      if (!spec.accepts(t.shape())) {
        throw FcnException.of("input '%s' has shape %s but %s expects %s; its inputs are: %s",
            spec.name(), t.shapeString(), model, spec.shape(), describe(inputs));
      }
    }
    Map<String, OnnxTensor> out = new LinkedHashMap<>();
    try {
      for (TensorSpec spec : inputs) {
        FloatTensor t = feeds.get(spec.name());
        out.put(spec.name(), toOrt(spec, t, reuseStaging));
      }
    } catch (OrtException | RuntimeException e) {
      out.values().forEach(OnnxTensor::close);
      if (e instanceof FcnException fe) {
        throw fe;
      }
      throw new FcnException("cannot create the inputs of " + model + ": "
          + firstLine(e.getMessage()), e);
    }
    return out;
  }

  private ByteBuffer buffer(String name, int bytes, boolean reuse) {
    if (!reuse) {
      return ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
    }
    ByteBuffer b = staging.get(name);
    if (b == null || b.capacity() != bytes) {
      b = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
      staging.put(name, b);
    }
    b.clear();
    return b;
  }

  private OnnxTensor toOrt(TensorSpec spec, FloatTensor t, boolean reuse) throws OrtException {
    float[] d = t.data();
    long[] shape = t.shape();
    DataType type = spec.type() == null ? DataType.FLOAT : spec.type();
    switch (type) {
      case FLOAT: {
        FloatBuffer fb = buffer(spec.name(), d.length * 4, reuse).asFloatBuffer();
        fb.put(d).rewind();
        return OnnxTensor.createTensor(env, fb, shape);
      }
      case DOUBLE: {
        DoubleBuffer db = buffer(spec.name(), d.length * 8, reuse).asDoubleBuffer();
        for (float v : d) {
          db.put(v);
        }
        return OnnxTensor.createTensor(env, db.rewind(), shape);
      }
      case FLOAT16: {
        ShortBuffer sb = buffer(spec.name(), d.length * 2, reuse).asShortBuffer();
        for (float v : d) {
          sb.put(Half.fromFloat(v));
        }
        return OnnxTensor.createTensor(env, sb.rewind(), shape, OnnxJavaType.FLOAT16);
      }
      case INT32: {
        IntBuffer ib = buffer(spec.name(), d.length * 4, reuse).asIntBuffer();
        for (float v : d) {
          ib.put(Math.round(v));
        }
        return OnnxTensor.createTensor(env, ib.rewind(), shape);
      }
      case INT64: {
        LongBuffer lb = buffer(spec.name(), d.length * 8, reuse).asLongBuffer();
        for (float v : d) {
          lb.put(Math.round((double) v));
        }
        return OnnxTensor.createTensor(env, lb.rewind(), shape);
      }
      default:
        throw FcnException.of("input '%s' of %s has element type %s; fcn feeds float, double, "
            + "float16, int32 or int64 inputs only", spec.name(), model, type);
    }
  }

  private Map<String, FloatTensor> fetch(OrtSession.Result r) {
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    for (Map.Entry<String, OnnxValue> e : r) {
      OnnxValue v = e.getValue();
      if (!(v instanceof OnnxTensor t)) {
        throw FcnException.of("output '%s' of %s is a %s, not a tensor; fcn compares tensor outputs only",
            e.getKey(), model, v.getType());
      }
      out.put(e.getKey(), new FloatTensor(floats(e.getKey(), t), t.getInfo().getShape()));
    }
    return out;
  }

  private float[] floats(String name, OnnxTensor t) {
    TensorInfo info = t.getInfo();
    int n = Math.toIntExact(info.getNumElements());
    float[] f;
    switch (info.type) {
      case FLOAT: {
        FloatBuffer fb = t.getFloatBuffer();
        if (fb.hasArray() && fb.arrayOffset() == 0 && fb.array().length == n) {
          return fb.array(); // getFloatBuffer() already made a heap copy: no second one
        }
        f = new float[n];
        fb.get(f);
        return f;
      }
      case DOUBLE: {
        DoubleBuffer b = t.getDoubleBuffer();
        f = new float[n];
        for (int i = 0; i < n; i++) {
          f[i] = (float) b.get(i);
        }
        return f;
      }
      case FLOAT16:
      case BFLOAT16: {
        ShortBuffer b = t.getShortBuffer();
        boolean bf = info.type == OnnxJavaType.BFLOAT16;
        f = new float[n];
        for (int i = 0; i < n; i++) {
          f[i] = bf ? Half.bf16ToFloat(b.get(i)) : Half.toFloat(b.get(i));
        }
        return f;
      }
      case INT16: {
        ShortBuffer b = t.getShortBuffer();
        f = new float[n];
        for (int i = 0; i < n; i++) {
          f[i] = b.get(i);
        }
        return f;
      }
      case INT32: {
        IntBuffer b = t.getIntBuffer();
        f = new float[n];
        for (int i = 0; i < n; i++) {
          f[i] = b.get(i);
        }
        return f;
      }
      case INT64: {
        LongBuffer b = t.getLongBuffer();
        f = new float[n];
        for (int i = 0; i < n; i++) {
          f[i] = b.get(i);
        }
        return f;
      }
      case INT8:
      case UINT8:
      case BOOL: {
        ByteBuffer b = t.getByteBuffer();
        boolean unsigned = info.type != OnnxJavaType.INT8;
        f = new float[n];
        for (int i = 0; i < n; i++) {
          byte x = b.get(i);
          f[i] = unsigned ? (x & 0xff) : x;
        }
        return f;
      }
      default:
        throw FcnException.of("output '%s' of %s has element type %s; fcn compares numeric outputs only",
            name, model, info.onnxType);
    }
  }

  private static void closeQuietly(OrtSession s) {
    try {
      s.close();
    } catch (OrtException ignored) {
      // Already failing; the original error is the one to report.
    }
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    staging.clear();
    if (profiling && providerReport == null) {
      // ORT would write its profile when the session closes; end it here to delete the file.
      try {
        fcn.core.TempFiles.delete(Path.of(ort.endProfiling()).getParent());
      } catch (OrtException | RuntimeException ignored) {
        // Nothing was profiled worth keeping.
      }
    }
    try {
      ort.close();
    } catch (OrtException e) {
      throw new IllegalStateException("closing the ONNX Runtime session for " + model + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return "Session[" + model + ", " + provider + "]";
  }
}
