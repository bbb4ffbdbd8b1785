package fcn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import fcn.runtime.CudaLibraries;
import fcn.runtime.Session;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code fcn doctor} and {@code --cuda-libs} on the CPU build (the GPU build: tools/check-cuda-preload.sh). */
class DoctorCommandTest {
  @TempDir Path tmp;

  @BeforeEach
  void cpuBuild() {
    assumeFalse(Session.cudaInBuild(), "GPU ONNX Runtime on the class path: tools/check-cuda-preload.sh covers it");
  }

  @Test
  void doctorOnTheCpuBuildSaysSoListsEveryLibraryAndFails() {
    CliRun r = CliRun.fcn("doctor");
    assertEquals(1, r.code(), r.all());
    assertTrue(r.out().contains("CPU build (onnxruntime)"), r.out());
    assertTrue(r.out().contains("providers built in: CPUExecutionProvider"), r.out());
    assertTrue(r.out().contains("this build has no CUDA execution provider; build the GPU jar with `mvn -Pgpu"), r.out());
    CudaLibraries.Requirements req = CudaLibraries.requirements();
    for (String lib : req.needed()) {
      assertTrue(r.out().matches("(?s).*\\n  (ok|MISSING) +" + lib.replace(".", "\\.") + " .*"), lib + " in\n" + r.out());
    }
    for (String lib : req.runtime()) {
      assertTrue(r.out().contains(" " + lib + " "), lib);
    }
    assertTrue(r.out().contains(" libcuda.so.1 "), r.out());
    assertTrue(r.out().contains("CUDA session: not tried (CPU build)"), r.out());
    assertTrue(r.out().endsWith("verdict: CUDA is not usable here (exit 1)\n"), r.out());
    assertEquals("", r.err());
  }

  @Test
  void doctorCountsALibsFolderWithoutLoadingItOnTheCpuBuild() throws IOException {
    Files.createDirectories(tmp.resolve("nvidia/cuda_runtime/lib"));
    Files.writeString(tmp.resolve("nvidia/cuda_runtime/lib/libcudart.so.12"), "not an ELF file");
    CliRun r = CliRun.fcn("doctor", "--cuda-libs", tmp.toString());
    assertEquals(1, r.code(), r.all());
    assertTrue(r.out().contains("--cuda-libs " + tmp + ": 1 CUDA library there (not loaded: the CPU build"), r.out());
  }

  @Test
  void aMissingLibsFolderIsBadInput() {
    Path none = tmp.resolve("none");
    CliRun r = CliRun.fcn("doctor", "--cuda-libs", none.toString());
    assertEquals(2, r.code(), r.all());
    assertEquals("fcn: --cuda-libs " + none + ": not found (expected a folder holding the CUDA 12 and cuDNN 9 "
        + "libraries, e.g. libcudart.so.12)\n", r.err());
  }

  @Test
  void benchOnCudaWithLibsOnTheCpuBuildNamesTheBuild() throws IOException {
    Files.writeString(tmp.resolve("libcudart.so.12"), "not an ELF file");
    CliRun r = CliRun.fcn("bench", "--device", "cuda", "--cuda-libs", tmp.toString(), "--iterations", "1");
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("fcn: --device cuda: " + Session.CPU_BUILD), r.err());
    assertFalse(r.err().contains("libcudart"), "the CPU build loads nothing from --cuda-libs: " + r.err());
  }
}
