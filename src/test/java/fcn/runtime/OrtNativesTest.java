package fcn.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ORT's natives come from fcn's cache, not a new /tmp/onnxruntime-java* folder per run. Child
 * JVMs, because ORT loads its natives once per process; each gets its own java.io.tmpdir, so
 * what a run leaves behind there is exactly what ORT and fcn made.
 */
class OrtNativesTest {
  @TempDir Path dir;

  private record Child(int code, String out) {}

  private Child fcnVersion(Path xdgCache, Path tmp) throws Exception {
    Files.createDirectories(tmp);
    String java = ProcessHandle.current().info().command().orElse("java");
    ProcessBuilder pb = new ProcessBuilder(java, "-Djava.io.tmpdir=" + tmp, "-cp", System.getProperty("java.class.path"),
        "fcn.cli.Main", "--version").redirectErrorStream(true);
    pb.environment().put("XDG_CACHE_HOME", xdgCache.toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes());
    return new Child(p.waitFor(), out);
  }

  private static List<Path> list(Path d) throws Exception {
    try (Stream<Path> s = Files.list(d)) {
      return s.toList();
    }
  }

  @Test
  void nativesAreExtractedOnceIntoTheCacheAndNoTempFolderIsLeft() throws Exception {
    Path cache = dir.resolve("cache");
    Path tmp = dir.resolve("tmp");
    Child first = fcnVersion(cache, tmp);
    assertEquals(0, first.code(), first.out());
    assertTrue(first.out().matches("(?s).*ONNX Runtime \\d+\\.\\d+.*"), first.out());
    assertEquals(List.of(), list(tmp), "nothing left in java.io.tmpdir");
    List<Path> keyed = list(cache.resolve("fcn"));
    assertEquals(1, keyed.size(), keyed.toString());
    String key = keyed.get(0).getFileName().toString();
    assertTrue(key.matches("ort-[0-9.]+-cpu-[a-z]+-[a-z0-9]+|ort-[0-9.]+-gpu-[a-z]+-[a-z0-9]+"), key);
    Path lib = keyed.get(0).resolve(System.mapLibraryName("onnxruntime"));
    assertTrue(Files.isRegularFile(lib), lib.toString());
    FileTime made = Files.getLastModifiedTime(lib);
    Child second = fcnVersion(cache, tmp);
    assertEquals(0, second.code(), second.out());
    assertEquals(made, Files.getLastModifiedTime(lib), "the second run reuses the cached library");
    assertEquals(List.of(), list(tmp));
    try (Stream<Path> s = Files.list(keyed.get(0))) {
      assertTrue(s.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")));
    }
  }

  @Test
  void anUnwritableCacheFallsBackToATempFolderRemovedOnExit() throws Exception {
    Path notAFolder = Files.writeString(dir.resolve("file"), "x"); // XDG_CACHE_HOME under a file: cannot be made
    Path tmp = dir.resolve("tmp2");
    Child c = fcnVersion(notAFolder, tmp);
    assertEquals(0, c.code(), c.out());
    assertTrue(c.out().contains("ONNX Runtime"), c.out());
    assertEquals(List.of(), list(tmp), "the fallback folder is removed on exit");
  }
}
