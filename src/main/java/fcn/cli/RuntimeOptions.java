package fcn.cli;

import fcn.core.FcnException;
import fcn.runtime.CudaLibraries;
import fcn.runtime.Device;
import fcn.runtime.OptLevel;
import fcn.runtime.Session;
import fcn.runtime.SessionCache;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * Shared picocli mixin for commands that run ONNX Runtime: --device, --threads, --opt-level,
 * --cuda-libs. Use with {@code @Mixin RuntimeOptions runtime;} and open sessions through
 * {@link #open}, which preloads --cuda-libs and prints the CUDA fallback warning; a command that
 * opens its session elsewhere calls {@link #prepare} first and opens with the device it returns.
 */
public final class RuntimeOptions {
  @Option(names = "--device", paramLabel = "auto|cpu|cuda", defaultValue = "auto",
      converter = DeviceConverter.class,
      description = "Execution provider: auto (CUDA when it loads, else CPU with a warning), cpu, "
          + "or cuda (fail if CUDA cannot load). Default: ${DEFAULT-VALUE}.")
  Device device = Device.AUTO;

  @Option(names = "--threads", paramLabel = "N", defaultValue = "0", converter = Limits.Threads.class,
      description = "ONNX Runtime intra-op threads, 0 to " + Limits.MAX_THREADS
          + "; 0 = its default (one per physical core). Default: ${DEFAULT-VALUE}.")
  int threads;

  @Option(names = "--opt-level", paramLabel = "all|extended|basic|none", defaultValue = "all",
      converter = OptLevelConverter.class,
      description = "ONNX Runtime graph optimization level. Default: ${DEFAULT-VALUE}.")
  OptLevel optLevel = OptLevel.ALL;

  @Option(names = "--cuda-libs", paramLabel = "DIR",
      description = "Folder with the CUDA 12 and cuDNN 9 libraries (any layout, e.g. pip's nvidia/*/lib): "
          + "fcn loads them in dependency order before the CUDA provider, no LD_LIBRARY_PATH needed. "
          + "Default: $" + CUDA_LIBS_ENV + ". `fcn doctor --cuda-libs DIR` checks a folder.")
  Path cudaLibs;

  /** The environment variable that stands in for --cuda-libs. */
  public static final String CUDA_LIBS_ENV = "FCN_CUDA_LIBS";

  // A setter, not a field: Bench opens its session itself, so the switch is process-wide;
  // picocli calls it on every parse (with the default too), so one run's flag ends with it.
  @Option(names = "--no-session-cache", defaultValue = "false",
      description = "Do not use or write the cache of ONNX Runtime's optimised graphs for models of "
          + "16 MiB and more ($XDG_CACHE_HOME/fcn/sessions; also FCN_SESSION_CACHE=off).")
  void noSessionCache(boolean off) {
    SessionCache.setEnabled(!off);
  }

  public Device device() {
    return device;
  }

  public int threads() {
    return threads;
  }

  public OptLevel optLevel() {
    return optLevel;
  }

  /** --cuda-libs, else $FCN_CUDA_LIBS when set and not blank. */
  public Optional<Path> cudaLibs() {
    return cudaLibs(cudaLibs);
  }

  /** {@code option}, else $FCN_CUDA_LIBS when set and not blank. */
  static Optional<Path> cudaLibs(Path option) {
    if (option != null) {
      return Optional.of(option);
    }
    String env = System.getenv(CUDA_LIBS_ENV);
    return env == null || env.isBlank() ? Optional.empty() : Optional.of(Path.of(env.strip()));
  }

  /**
   * Loads the --cuda-libs libraries when the device may use CUDA on this build (not for
   * --device cpu, nor on the CPU build, whose session says why CUDA is out). Returns the device
   * to open sessions with: CPU, after a warning to {@code err}, when --device auto cannot load
   * them.
   *
   * @throws FcnException with --device cuda, when the folder is missing or a library fails to load
   */
  public Device prepare(PrintWriter err) {
    Optional<Path> dir = cudaLibs();
    if (dir.isEmpty() || device == Device.CPU || !Session.cudaInBuild()) {
      return device;
    }
    try {
      CudaLibraries.preload(dir.get(), CudaLibraries.requirements());
      return device;
    } catch (FcnException e) {
      if (device == Device.CUDA) {
        throw new FcnException("--device cuda: " + e.getMessage());
      }
      err.println("fcn: warning: --device auto: " + e.getMessage() + "; running on CPU");
      err.flush();
      return Device.CPU;
    }
  }

  /** Opens {@code model} with these options; a fallback warning goes to {@code err}. */
  public Session open(Path model, PrintWriter err) {
    Session s = Session.open(model, prepare(err), threads, optLevel);
    s.warning().ifPresent(w -> {
      err.println("fcn: warning: " + w);
      err.flush();
    });
    return s;
  }

  static final class DeviceConverter implements ITypeConverter<Device> {
    @Override
    public Device convert(String value) {
      try {
        return Device.parse(value);
      } catch (FcnException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }

  static final class OptLevelConverter implements ITypeConverter<OptLevel> {
    @Override
    public OptLevel convert(String value) {
      try {
        return OptLevel.parse(value);
      } catch (FcnException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }
}
