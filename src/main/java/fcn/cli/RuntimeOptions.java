package fcn.cli;

import fcn.core.FcnException;
import fcn.runtime.Device;
import fcn.runtime.OptLevel;
import fcn.runtime.Session;
import fcn.runtime.SessionCache;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * Shared picocli mixin for commands that run ONNX Runtime: --device, --threads, --opt-level.
 * Use with {@code @Mixin RuntimeOptions runtime;} and open sessions through {@link #open}, which
 * prints the CUDA fallback warning.
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

  /** Opens {@code model} with these options; a fallback warning goes to {@code err}. */
  public Session open(Path model, PrintWriter err) {
    Session s = Session.open(model, device, threads, optLevel);
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
