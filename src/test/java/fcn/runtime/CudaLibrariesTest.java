package fcn.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --cuda-libs: the folder scan, the preload order and its errors, the per-version table, lookups. */
class CudaLibrariesTest {
  @TempDir Path dir;

  private static Path touch(Path p) throws IOException {
    Files.createDirectories(p.getParent());
    return Files.writeString(p, "not an ELF file");
  }

  @Test
  void aPipStyleTreeIsFoundInDependencyOrder() throws IOException {
    // pip's layout: site-packages/nvidia/<package>/lib/<soname>; listed here in reverse order.
    touch(dir.resolve("nvidia/cudnn/lib/libcudnn.so.9"));
    touch(dir.resolve("nvidia/cudnn/lib/libcudnn_graph.so.9"));
    touch(dir.resolve("nvidia/cudnn/lib/libcudnn_cnn.so.9"));
    touch(dir.resolve("nvidia/cuda_nvrtc/lib/libnvrtc.so.12"));
    touch(dir.resolve("nvidia/cuda_nvrtc/lib/libnvrtc-builtins.so.12.4"));
    touch(dir.resolve("nvidia/cufft/lib/libcufft.so.11"));
    touch(dir.resolve("nvidia/curand/lib/libcurand.so.10"));
    touch(dir.resolve("nvidia/cublas/lib/libcublas.so.12"));
    touch(dir.resolve("nvidia/cublas/lib/libcublasLt.so.12"));
    touch(dir.resolve("nvidia/cuda_runtime/lib/libcudart.so.12"));
    touch(dir.resolve("nvidia/cuda_runtime/lib/libcudart.so")); // a dev symlink name: not a soname
    touch(dir.resolve("nvidia/cuda_runtime/include/cuda.h"));
    CudaLibraries.Requirements req = CudaLibraries.requirements("1.23.2");
    Map<String, Path> found = CudaLibraries.scan(dir, req);
    assertEquals(List.of("libcudart.so.12", "libcublasLt.so.12", "libcublas.so.12", "libcurand.so.10",
        "libcufft.so.11", "libnvrtc.so.12", "libnvrtc-builtins.so.12.4", "libcudnn_graph.so.9", "libcudnn_cnn.so.9",
        "libcudnn.so.9"), new ArrayList<>(found.keySet()));
    assertEquals(dir.resolve("nvidia/cublas/lib/libcublasLt.so.12"), found.get("libcublasLt.so.12"));
    // Each library comes after its own dependencies in the table's order (readelf facts).
    List<String> order = req.order();
    assertTrue(order.indexOf("libcublasLt.so.12") < order.indexOf("libcublas.so.12"));
    assertTrue(order.indexOf("libcudnn_graph.so.9") < order.indexOf("libcudnn_ops.so.9"));
    assertTrue(order.indexOf("libcudnn_ops.so.9") < order.indexOf("libcudnn_cnn.so.9"));
    assertTrue(order.indexOf("libcudnn_cnn.so.9") < order.indexOf("libcudnn.so.9"));
    assertEquals(req.needed().size() + req.runtime().size(),
        req.needed().stream().filter(order::contains).count() + req.runtime().stream().filter(order::contains).count(),
        "every needed and runtime library has a place in the preload order");
  }

  @Test
  void aLibraryThatFailsToLoadIsNamedInOneLine() throws IOException {
    Path cudart = touch(dir.resolve("lib/libcudart.so.12"));
    touch(dir.resolve("lib/libcublas.so.12"));
    FcnException e = assertThrows(FcnException.class,
        () -> CudaLibraries.preload(dir, CudaLibraries.requirements("1.23.2")));
    String m = e.getMessage();
    // cudart loads first, so it is the one named, with the file and the loader's reason.
    assertTrue(m.startsWith("--cuda-libs " + dir + ": cannot load libcudart.so.12 (" + cudart.toAbsolutePath() + "): "), m);
    assertTrue(m.contains("ELF") || m.contains("too short"), m);
    assertFalse(m.contains("\n"), m);
    assertFalse(CudaLibraries.preloaded().containsKey("libcudart.so.12"));
  }

  @Test
  void aMissingFolderIsBadInput() throws IOException {
    Path none = dir.resolve("absent");
    FcnException e = assertThrows(FcnException.class, () -> CudaLibraries.scan(none, CudaLibraries.requirements("1.23.2")));
    assertEquals("--cuda-libs " + none + ": not found (expected a folder holding the CUDA 12 and cuDNN 9 libraries, "
        + "e.g. libcudart.so.12)", e.getMessage());
    Path file = touch(dir.resolve("file"));
    e = assertThrows(FcnException.class, () -> CudaLibraries.scan(file, CudaLibraries.requirements("1.23.2")));
    assertTrue(e.getMessage().contains(": not a folder"), e.getMessage());
    assertEquals(Map.of(), CudaLibraries.scan(dir.resolve("lib").getParent(), CudaLibraries.requirements("1.23.2")));
  }

  @Test
  void theTableIsPerOrtVersionWithAFallbackToTheHighestBelow() {
    Properties p = new Properties();
    p.setProperty("1.23.2.needed", "libcudart.so.12 libcudnn.so.9");
    p.setProperty("1.29.0.needed", "libcudart.so.12 libcuda.so.1");
    p.setProperty("1.29.0.runtime", "libcudnn.so.9");
    p.setProperty("order", "libcudart.so.12 libcudnn.so.9");
    CudaLibraries.Requirements r = CudaLibraries.requirements("1.23.2", p);
    assertEquals(List.of("libcudart.so.12", "libcudnn.so.9"), r.needed());
    assertTrue(r.exact());
    r = CudaLibraries.requirements("1.30.1", p);
    assertEquals("1.29.0", r.listedFor());
    assertFalse(r.exact());
    assertEquals(List.of("libcudnn.so.9"), r.runtime());
    assertEquals("1.23.2", CudaLibraries.requirements("1.24.0", p).listedFor());
    assertEquals("1.23.2", CudaLibraries.requirements("1.10.0", p).listedFor(), "below all: the lowest");
    assertEquals("1.23.2", CudaLibraries.requirements("unknown", p).listedFor());
    assertTrue(CudaLibraries.compareVersions("1.10.0", "1.9.9") > 0);
    // The shipped table has the ORT on the class path.
    assertTrue(CudaLibraries.requirements().exact(), "cuda-libraries.properties lists " + OrtNatives.version());
  }

  @Test
  void lookupsSayWhereALibraryIsFound() throws IOException {
    Path d = dir.resolve("sys");
    touch(d.resolve("libcurand.so.10"));
    List<CudaLibraries.Lookup> l = CudaLibraries.lookup(
        List.of("libcudart.so.12", "libcublas.so.12", "libcurand.so.10", "libcufft.so.11", "libcudnn.so.9"),
        Map.of("libcudart.so.12", Path.of("/x/libcudart.so.12")), Set.of("libcublas.so.12"), List.of(d),
        CudaLibraries.parseLdconfigPaths("\tlibcufft.so.11 (libc6,x86-64) => /usr/local/cuda/lib64/libcufft.so.11\n"));
    assertEquals("/x/libcudart.so.12 (--cuda-libs)", l.get(0).where().orElseThrow());
    assertEquals("already loaded in this process", l.get(1).where().orElseThrow());
    assertEquals(d.resolve("libcurand.so.10").toString(), l.get(2).where().orElseThrow());
    assertEquals("/usr/local/cuda/lib64/libcufft.so.11 (ldconfig cache)", l.get(3).where().orElseThrow());
    assertFalse(l.get(4).found());
  }

  @Test
  void processMapsGiveSonamesOfLoadedLibraries() {
    Set<String> names = CudaLibraries.parseMaps(
        "7f00-7f01 r-xp 00000000 08:01 123 /usr/local/cuda/lib64/libcudart.so.12.6.77\n"
            + "7f02-7f03 r--p 00000000 08:01 124 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
            + "7f04-7f05 rw-p 00000000 00:00 0 [heap]\n");
    assertTrue(names.containsAll(Set.of("libcudart.so.12", "libcudart.so.12.6", "libcudart.so.12.6.77", "libc.so.6")), names.toString());
    assertFalse(names.contains("libcudart.so.1"));
    // This JVM has ORT's own library mapped once a session exists.
    Session.cudaInBuild();
    assertTrue(CudaLibraries.loadedInProcess().contains("libonnxruntime.so"), "reads /proc/self/maps");
  }

  @Test
  void installHintsTakeTheLongestPrefix() {
    assertEquals("nvidia-cuda-runtime-cu12", CudaLibraries.installHint("libcudart.so.12"));
    assertEquals("nvidia-cublas-cu12", CudaLibraries.installHint("libcublasLt.so.12"));
    assertTrue(CudaLibraries.installHint("libcudnn_cnn.so.9").startsWith("nvidia-cudnn-cu12"));
    assertTrue(CudaLibraries.installHint("libcuda.so.1").startsWith("the NVIDIA driver"));
  }
}
