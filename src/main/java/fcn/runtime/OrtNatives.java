package fcn.runtime;

import fcn.core.TempFiles;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Where ONNX Runtime's native libraries come from. ORT Java extracts them from its jar into a
 * new {@code /tmp/onnxruntime-java*} folder on every start (22 MB, left behind as an empty
 * folder every run, or full after a crash) unless the system property
 * {@code onnxruntime.native.path} names a folder that holds them. {@link #prepare} extracts
 * them once into a cache folder keyed by ORT version, flavour and platform,
 * {@code $XDG_CACHE_HOME/fcn/ort-<version>-<cpu|gpu>-<os-arch>/} (default {@code ~/.cache}),
 * and sets the property; when the cache cannot be written it extracts into a temp folder that
 * fcn removes on exit. Must run before the first ORT class initialises (Session calls it).
 * A property already set by the user is left alone. Idempotent and thread-safe.
 */
public final class OrtNatives {
  /** ORT Java's own property for a folder holding its native libraries. */
  public static final String PROPERTY = "onnxruntime.native.path";

  // Every library ORT Java may load from its jar (ORT 1.23's list; absent ones are skipped).
  private static final List<String> LIBRARIES = List.of("onnxruntime", "onnxruntime4j_jni",
      "onnxruntime_providers_shared", "onnxruntime_providers_cuda", "onnxruntime_providers_tensorrt",
      "onnxruntime_providers_dnnl", "onnxruntime_providers_openvino", "onnxruntime_providers_rocm", "webgpu_dawn");

  private static boolean done;
  private static Path folder;

  private OrtNatives() {}

  /** Sets {@link #PROPERTY} to a folder holding ORT's libraries; returns it (null: left to ORT). */
  public static synchronized Path prepare() {
    if (done) {
      return folder;
    }
    done = true;
    if (System.getProperty(PROPERTY) != null) {
      return null;
    }
    String arch = osArch();
    if (arch == null) {
      return null;
    }
    String base = "ai/onnxruntime/native/" + arch + "/";
    ClassLoader cl = OrtNatives.class.getClassLoader();
    List<String> present = new ArrayList<>();
    for (String lib : LIBRARIES) {
      if (cl.getResource(base + System.mapLibraryName(lib)) != null) {
        present.add(System.mapLibraryName(lib));
      }
    }
    if (!present.contains(System.mapLibraryName("onnxruntime"))) {
      return null; // not a jar with bundled natives: ORT finds them its own way
    }
    boolean gpu = present.contains(System.mapLibraryName("onnxruntime_providers_cuda"));
    String key = "ort-" + version() + "-" + (gpu ? "gpu" : "cpu") + "-" + arch;
    Path dir = null;
    Path cache = cacheRoot();
    if (cache != null) {
      try {
        dir = cache.resolve("fcn").resolve(key);
        extract(cl, base, present, dir);
      } catch (IOException | RuntimeException e) {
        dir = null; // read-only home, full disk...: fall back to a temp folder
      }
    }
    if (dir == null) {
      try {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        dir = TempFiles.createDirectory(tmp, "fcn-" + key + ".");
        extract(cl, base, present, dir);
      } catch (IOException | RuntimeException e) {
        return null; // let ORT try its own way; it reports what fails
      }
    }
    System.setProperty(PROPERTY, dir.toString());
    folder = dir;
    return dir;
  }

  /** The cache root: $XDG_CACHE_HOME when absolute (the XDG rule), else ~/.cache; null if neither. */
  static Path cacheRoot() {
    String xdg = System.getenv("XDG_CACHE_HOME");
    if (xdg != null && !xdg.isEmpty() && Path.of(xdg).isAbsolute()) {
      return Path.of(xdg);
    }
    String home = System.getProperty("user.home");
    if (home == null || home.isEmpty() || home.equals("?")) {
      return null;
    }
    return Path.of(home, ".cache");
  }

  private static void extract(ClassLoader cl, String base, List<String> names, Path dir) throws IOException {
    Files.createDirectories(dir);
    for (String name : names) {
      URL url = cl.getResource(base + name);
      URLConnection c = url.openConnection();
      c.setUseCaches(false);
      long size = c.getContentLengthLong();
      Path target = dir.resolve(name);
      if (Files.isRegularFile(target) && size >= 0 && Files.size(target) == size) {
        continue; // extracted by an earlier run
      }
      // Temp file + rename: two fcn processes starting at once must never load a half file.
      Path tmp = dir.resolve("." + name + "." + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
      TempFiles.register(tmp);
      try (InputStream in = c.getInputStream()) {
        Files.copy(in, tmp);
        try {
          Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
          Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
      } finally {
        TempFiles.delete(tmp);
      }
    }
  }

  /** ORT's version from its jar's manifest; "unknown" when repackaged without it. */
  static String version() {
    Package p = ai.onnxruntime.OrtEnvironment.class.getPackage(); // loads, does not initialise
    String v = p == null ? null : p.getImplementationVersion();
    return v == null || !v.matches("[0-9A-Za-z.+_-]{1,40}") ? "unknown" : v;
  }

  /** ORT Java's platform folder names (its OnnxRuntime.OS_ARCH_STR). */
  private static String osArch() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    String o = os.startsWith("linux") ? "linux" : os.startsWith("mac") || os.startsWith("darwin") ? "osx"
        : os.startsWith("windows") ? "win" : null;
    String a = arch.equals("amd64") || arch.equals("x86_64") ? "x64"
        : arch.equals("aarch64") || arch.equals("arm64") ? "aarch64" : null;
    return o == null || a == null ? null : o + "-" + a;
  }
}
