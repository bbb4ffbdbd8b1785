package fcn.runtime;

import fcn.core.FcnException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The CUDA / cuDNN shared libraries ONNX Runtime's CUDA provider needs, where this machine has
 * them, and {@code --cuda-libs}: loading them from a folder in dependency order.
 *
 * <p>ORT's OrtException only says "Failed to load shared library" (the name goes to its log), so
 * fcn looks each library up the way the dynamic loader would: already loaded in this process
 * (a preload, or anything else), LD_LIBRARY_PATH, the ldconfig cache, the default folders. The
 * sonames per ORT version are data, in {@code fcn/runtime/cuda-libraries.properties}, read once.
 *
 * <p>A preload is process-wide (a native library cannot be unloaded): {@link #preload} remembers
 * what it loaded, and later lookups count those as found. Thread-safe.
 */
public final class CudaLibraries {
  private static final String RESOURCE = "/fcn/runtime/cuda-libraries.properties";
  private static final int MAX_DEPTH = 6;

  private static final List<String> DEFAULT_DIRS = List.of(
      "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib");

  /** soname -> file, for every library {@link #preload} loaded in this process. */
  private static final Map<String, Path> PRELOADED = new LinkedHashMap<>();

  private CudaLibraries() {}

  /**
   * What one ORT version's CUDA provider needs.
   *
   * @param ortVersion the version asked about
   * @param listedFor the version whose list this is (differs when {@code ortVersion} is not listed)
   * @param needed the provider's DT_NEEDED CUDA libraries: it does not load without them
   * @param runtime opened with dlopen when used (cuDNN's parts, NVRTC)
   * @param driver the driver's library (libcuda.so.1)
   * @param order the preload order; entries ending in '*' match by prefix
   */
  public record Requirements(String ortVersion, String listedFor, List<String> needed, List<String> runtime,
      String driver, List<String> order) {
    /** True when the list was made for exactly this version. */
    public boolean exact() {
      return ortVersion.equals(listedFor);
    }
  }

  /** One library looked up: where the loader would find it, or empty when it would not. */
  public record Lookup(String soname, Optional<String> where) {
    public boolean found() {
      return where.isPresent();
    }
  }

  /** The requirements of the ORT on the class path. */
  public static Requirements requirements() {
    return requirements(OrtNatives.version());
  }

  /** The requirements listed for {@code ortVersion}, else for the highest listed version below it. */
  public static Requirements requirements(String ortVersion) {
    return requirements(ortVersion, table());
  }

  static Requirements requirements(String ortVersion, Properties p) {
    List<String> versions = new ArrayList<>();
    for (String k : p.stringPropertyNames()) {
      if (k.endsWith(".needed")) {
        versions.add(k.substring(0, k.length() - ".needed".length()));
      }
    }
    if (versions.isEmpty()) {
      throw new IllegalStateException(RESOURCE + " lists no ORT version");
    }
    versions.sort(CudaLibraries::compareVersions);
    String pick = versions.get(0);
    for (String v : versions) {
      if (compareVersions(v, ortVersion) <= 0) {
        pick = v;
      }
    }
    return new Requirements(ortVersion, pick, words(p, pick + ".needed"), words(p, pick + ".runtime"),
        p.getProperty("driver", "libcuda.so.1").strip(), words(p, "order"));
  }

  /** Numeric comparison of dotted versions; a non-numeric part compares as 0. */
  static int compareVersions(String a, String b) {
    String[] x = a.split("[.+-]");
    String[] y = b.split("[.+-]");
    for (int i = 0; i < Math.max(x.length, y.length); i++) {
      int c = Long.compare(number(x, i), number(y, i));
      if (c != 0) {
        return c;
      }
    }
    return 0;
  }

  private static long number(String[] parts, int i) {
    if (i >= parts.length) {
      return 0;
    }
    try {
      return Long.parseLong(parts[i]);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static List<String> words(Properties p, String key) {
    String v = p.getProperty(key, "").strip();
    return v.isEmpty() ? List.of() : List.of(v.split("\\s+"));
  }

  /** What provides {@code soname} (a pip wheel, the driver), from the table; "CUDA 12" when not listed. */
  public static String installHint(String soname) {
    String best = null;
    for (String k : table().stringPropertyNames()) {
      if (k.startsWith("install.") && soname.startsWith(k.substring(8))
          && (best == null || k.length() > best.length())) {
        best = k;
      }
    }
    return best == null ? "CUDA 12" : table().getProperty(best).strip();
  }

  private static Properties table;

  private static synchronized Properties table() {
    if (table == null) {
      Properties p = new Properties();
      try (InputStream in = CudaLibraries.class.getResourceAsStream(RESOURCE)) {
        if (in == null) {
          throw new IllegalStateException(RESOURCE + " is missing from fcn's jar");
        }
        p.load(in);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      table = p;
    }
    return table;
  }

  // ---------------------------------------------------------------------------------- preload

  /**
   * Loads the CUDA libraries found under {@code dir} (at any depth up to 6, so a pip-style
   * {@code nvidia/*}{@code /lib} tree or an unpacked jar works) with {@link System#load}, each
   * after its dependencies, so that ORT's provider finds them already loaded without
   * LD_LIBRARY_PATH (it has no RUNPATH: putting them beside it does not work). Files are matched
   * by exact soname (libcudart.so.12, not libcudart.so).
   *
   * @return soname -> file of what was loaded now or by an earlier preload, in load order
   * @throws FcnException when {@code dir} is not a folder or a library there fails to load
   *     (named, with the loader's reason)
   */
  public static synchronized Map<String, Path> preload(Path dir, Requirements req) {
    Map<String, Path> found = scan(dir, req);
    for (Map.Entry<String, Path> e : found.entrySet()) {
      if (PRELOADED.containsKey(e.getKey())) {
        continue;
      }
      Path file = e.getValue().toAbsolutePath();
      try {
        System.load(file.toString());
      } catch (UnsatisfiedLinkError | SecurityException ex) {
        throw new FcnException("--cuda-libs " + dir + ": cannot load " + e.getKey() + " (" + file + "): "
            + loaderReason(ex.getMessage(), file));
      }
      PRELOADED.put(e.getKey(), file);
    }
    return Collections.unmodifiableMap(new LinkedHashMap<>(found));
  }

  /** The libraries of {@code req.order()} found under {@code dir}, in that order (soname -> file). */
  static Map<String, Path> scan(Path dir, Requirements req) {
    if (!Files.isDirectory(dir)) {
      throw new FcnException("--cuda-libs " + dir + ": " + (Files.exists(dir) ? "not a folder" : "not found")
          + " (expected a folder holding the CUDA 12 and cuDNN 9 libraries, e.g. libcudart.so.12)");
    }
    List<Path> files;
    try (Stream<Path> s = Files.walk(dir, MAX_DEPTH)) {
      files = s.filter(p -> p.getFileName().toString().startsWith("lib") && Files.isRegularFile(p))
          .sorted().toList();
    } catch (IOException | UncheckedIOException e) {
      throw new FcnException("--cuda-libs " + dir + ": cannot list it: " + e.getMessage());
    }
    Map<String, Path> out = new LinkedHashMap<>();
    for (String entry : req.order()) {
      boolean prefix = entry.endsWith("*");
      String stem = prefix ? entry.substring(0, entry.length() - 1) : entry;
      for (Path f : files) {
        String name = f.getFileName().toString();
        if (prefix ? name.startsWith(stem) : name.equals(stem)) {
          out.putIfAbsent(prefix ? name : entry, f);
          if (!prefix) {
            break;
          }
        }
      }
    }
    return out;
  }

  /** The loader's reason without the file name it repeats: "invalid ELF header". */
  static String loaderReason(String message, Path file) {
    String m = Session.firstLine(message);
    String f = file.toString();
    while (m.startsWith(f + ": ")) {
      m = m.substring(f.length() + 2);
    }
    return m.length() > 120 ? m.substring(0, 117) + "..." : m;
  }

  /** What {@link #preload} has loaded in this process (soname -> file). */
  public static synchronized Map<String, Path> preloaded() {
    return Collections.unmodifiableMap(new LinkedHashMap<>(PRELOADED));
  }

  // ----------------------------------------------------------------------------------- lookup

  /** The provider's needed libraries (of the ORT on the class path) this process's loader would not find. */
  static List<String> missing() {
    Requirements req = requirements();
    List<String> out = new ArrayList<>();
    for (Lookup l : lookup(req.needed())) {
      if (!l.found()) {
        out.add(l.soname());
      }
    }
    return out;
  }

  /** Where the loader would find each of {@code sonames}: preloaded, loaded, a folder, or the ldconfig cache. */
  public static List<Lookup> lookup(List<String> sonames) {
    return lookup(sonames, preloaded(), loadedInProcess(), searchDirs(), ldconfigCache());
  }

  static List<Lookup> lookup(List<String> sonames, Map<String, Path> preloaded, Set<String> loaded,
      List<Path> dirs, Map<String, String> cache) {
    List<Lookup> out = new ArrayList<>();
    for (String lib : sonames) {
      String where = null;
      if (preloaded.containsKey(lib)) {
        where = preloaded.get(lib) + " (--cuda-libs)";
      } else if (loaded.contains(lib)) {
        where = "already loaded in this process";
      } else {
        for (Path d : dirs) {
          if (Files.exists(d.resolve(lib))) {
            where = d.resolve(lib).toString();
            break;
          }
        }
        if (where == null && cache.containsKey(lib)) {
          where = cache.get(lib) + " (ldconfig cache)";
        }
      }
      out.add(new Lookup(lib, Optional.ofNullable(where)));
    }
    return out;
  }

  /** Those of {@code needed} that are neither in {@code cache} nor a file in one of {@code dirs}. */
  static List<String> missing(List<String> needed, List<Path> dirs, Set<String> cache) {
    Map<String, String> c = new LinkedHashMap<>();
    cache.forEach(n -> c.put(n, n));
    List<String> out = new ArrayList<>();
    for (Lookup l : lookup(needed, Map.of(), Set.of(), dirs, c)) {
      if (!l.found()) {
        out.add(l.soname());
      }
    }
    return out;
  }

  /** LD_LIBRARY_PATH's folders, then the loader's default folders. */
  static List<Path> searchDirs() {
    List<Path> dirs = new ArrayList<>();
    String ld = System.getenv("LD_LIBRARY_PATH");
    if (ld != null) {
      for (String d : ld.split(":")) {
        if (!d.isBlank()) {
          dirs.add(Path.of(d));
        }
      }
    }
    DEFAULT_DIRS.forEach(d -> dirs.add(Path.of(d)));
    return dirs;
  }

  /**
   * File names (and their soname-style prefixes, libcudart.so.12 for libcudart.so.12.6.77) of
   * the shared objects mapped into this process, from /proc/self/maps; empty elsewhere.
   */
  static Set<String> loadedInProcess() {
    Path maps = Path.of("/proc/self/maps");
    if (!Files.isReadable(maps)) {
      return Set.of();
    }
    try {
      return parseMaps(Files.readString(maps, StandardCharsets.UTF_8));
    } catch (IOException | UncheckedIOException e) {
      return Set.of();
    }
  }

  static Set<String> parseMaps(String text) {
    Set<String> names = new LinkedHashSet<>();
    for (String line : text.split("\n")) {
      int slash = line.lastIndexOf('/');
      if (slash < 0 || !line.contains(".so")) {
        continue;
      }
      String name = line.substring(slash + 1).strip();
      int so = name.indexOf(".so");
      if (so < 0) {
        continue;
      }
      // libcudart.so.12.6.77 -> libcudart.so.12.6.77, libcudart.so.12.6, libcudart.so.12, libcudart.so
      String[] parts = name.substring(so + 3).split("\\.");
      StringBuilder b = new StringBuilder(name.substring(0, so + 3));
      names.add(b.toString());
      for (String p : Arrays.copyOfRange(parts, parts.length > 0 && parts[0].isEmpty() ? 1 : 0, parts.length)) {
        b.append('.').append(p);
        names.add(b.toString());
      }
    }
    return names;
  }

  /** Library name -> path listed by {@code ldconfig -p}; empty when ldconfig is not there. */
  static Map<String, String> ldconfigCache() {
    for (String exe : List.of("/sbin/ldconfig", "/usr/sbin/ldconfig")) {
      if (!Files.isExecutable(Path.of(exe))) {
        continue;
      }
      try {
        Process p = new ProcessBuilder(exe, "-p").redirectErrorStream(true).start();
        String text;
        try (InputStream in = p.getInputStream()) {
          text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
          p.destroy();
        }
        return parseLdconfigPaths(text);
      } catch (IOException e) {
        return Map.of();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return Map.of();
      }
    }
    return Map.of();
  }

  /** Names from ldconfig -p lines like "\tlibcudnn.so.9 (libc6,x86-64) => /usr/lib/.../libcudnn.so.9". */
  static Set<String> parseLdconfig(String text) {
    return parseLdconfigPaths(text).keySet();
  }

  static Map<String, String> parseLdconfigPaths(String text) {
    Map<String, String> names = new LinkedHashMap<>();
    for (String line : text.split("\n")) {
      String t = line.strip();
      int sp = t.indexOf(' ');
      int arrow = t.indexOf("=>");
      if (t.startsWith("lib") && sp > 0 && arrow > 0) {
        names.putIfAbsent(t.substring(0, sp), t.substring(arrow + 2).strip());
      }
    }
    return names;
  }
}
