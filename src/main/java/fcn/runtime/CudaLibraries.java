package fcn.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Finds which CUDA / cuDNN shared libraries the ONNX Runtime CUDA provider would fail to load.
 * ORT's OrtException only says "Failed to load shared library" (the library name goes to its log),
 * so fcn looks the provider's dependencies up the way the dynamic loader would: LD_LIBRARY_PATH,
 * the ldconfig cache, then the default directories.
 */
final class CudaLibraries {
  /**
   * The non-system DT_NEEDED entries of libonnxruntime_providers_cuda.so in the CUDA 12 builds of
   * onnxruntime_gpu (read with readelf -d from the 1.22.0 jar).
   */
  static final List<String> PROVIDER_NEEDS = List.of(
      "libcudart.so.12", "libcublas.so.12", "libcublasLt.so.12", "libcurand.so.10", "libcufft.so.11",
      "libnvrtc.so.12", "libcudnn.so.9");

  private static final List<String> DEFAULT_DIRS = List.of(
      "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib");

  private CudaLibraries() {}

  /** The libraries of {@link #PROVIDER_NEEDS} this machine's loader would not find. */
  static List<String> missing() {
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
    return missing(PROVIDER_NEEDS, dirs, ldconfigCache());
  }

  /** Those of {@code needed} that are neither in {@code cache} nor a file in one of {@code dirs}. */
  static List<String> missing(List<String> needed, List<Path> dirs, Set<String> cache) {
    List<String> out = new ArrayList<>();
    for (String lib : needed) {
      if (cache.contains(lib)) {
        continue;
      }
      boolean found = false;
      for (Path d : dirs) {
        if (Files.exists(d.resolve(lib))) {
          found = true;
          break;
        }
      }
      if (!found) {
        out.add(lib);
      }
    }
    return out;
  }

  /** Library names listed by {@code ldconfig -p}; empty when ldconfig is not there. */
  static Set<String> ldconfigCache() {
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
        return parseLdconfig(text);
      } catch (IOException e) {
        return Set.of();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return Set.of();
      }
    }
    return Set.of();
  }

  /** Names from ldconfig -p lines like "\tlibcudnn.so.9 (libc6,x86-64) => /usr/lib/.../libcudnn.so.9". */
  static Set<String> parseLdconfig(String text) {
    Set<String> names = new LinkedHashSet<>();
    for (String line : text.split("\n")) {
      String t = line.strip();
      int sp = t.indexOf(' ');
      if (t.startsWith("lib") && sp > 0 && t.contains("=>")) {
        names.add(t.substring(0, sp));
      }
    }
    return names;
  }
}
