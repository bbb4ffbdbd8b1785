package fcn.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.ir.Dim;
import fcn.ir.Shape;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SessionTest {
  @TempDir Path tmp;

  private static float[] seq(int n, float scale) {
    float[] f = new float[n];
    for (int i = 0; i < n; i++) {
      f[i] = (i - n / 2) * scale;
    }
    return f;
  }

  @Test
  void runsAddAndReportsNamesShapesAndProvider() throws IOException {
    Path model = TinyModels.write(TinyModels.add(1L, 2L, 3L, 4L), tmp.resolve("add.onnx"));
    try (Session s = Session.open(model, Device.CPU, 1, OptLevel.ALL)) {
      assertEquals(List.of("A", "B"), s.inputNames());
      assertEquals(List.of("C"), s.outputNames());
      assertEquals(Shape.of(1, 2, 3, 4), s.inputs().get(0).shape());
      assertEquals(Session.CPU_PROVIDER, s.provider());
      assertTrue(s.warning().isEmpty());
      assertTrue(s.loadMillis() > 0);
      float[] a = seq(24, 0.25f);
      float[] b = seq(24, -0.5f);
      for (int rep = 0; rep < 2; rep++) { // the second run reuses the staging buffers
        Map<String, FloatTensor> out = s.run(Map.of("A", new FloatTensor(a, 1, 2, 3, 4), "B", new FloatTensor(b, 1, 2, 3, 4)));
        FloatTensor c = out.get("C");
        assertArrayEquals(new long[] {1, 2, 3, 4}, c.shape());
        for (int i = 0; i < 24; i++) {
          assertEquals(a[i] + b[i], c.data()[i], 0.0f); // float addition is exact IEEE on both sides
        }
      }
      try (Session.Prepared p = s.prepare(Map.of("A", new FloatTensor(a, 1, 2, 3, 4), "B", new FloatTensor(a, 1, 2, 3, 4)))) {
        p.run();
        assertEquals(2 * a[5], p.runAndFetch().get("C").data()[5], 0.0f);
        p.close();
      }
    }
  }

  @Test
  void symbolicDimsAreReportedByName() throws IOException {
    Path model = TinyModels.write(TinyModels.convRelu(1, 3, 4), tmp.resolve("cr.onnx"));
    try (Session s = Session.open(model)) {
      Shape in = s.inputs().get(0).shape();
      assertEquals(Dim.of(3), in.dim(1));
      assertEquals(Dim.symbol("H"), in.dim(2));
      assertEquals("data: float 1x3xHxW", s.inputs().get(0).describe());
      Map<String, FloatTensor> out = s.run(Map.of("data", new FloatTensor(seq(3 * 5 * 7, 0.01f), 1, 3, 5, 7)));
      assertArrayEquals(new long[] {1, 4, 5, 7}, out.get("score").shape());
      for (float v : out.get("score").data()) {
        assertTrue(v >= 0, "Relu output");
      }
    }
  }

  @Test
  void closeIsIdempotent() throws IOException {
    Path model = TinyModels.write(TinyModels.add(2L), tmp.resolve("add.onnx"));
    Session s = Session.open(model);
    s.close();
    s.close();
    assertThrows(IllegalStateException.class, () -> s.run(Map.of()));
  }

  @Test
  void badInputsListTheExpectedNamesAndShapes() throws IOException {
    Path model = TinyModels.write(TinyModels.add(1L, "N"), tmp.resolve("add.onnx"));
    try (Session s = Session.open(model)) {
      FloatTensor t = new FloatTensor(new float[3], 1, 3);
      FcnException e = assertThrows(FcnException.class, () -> s.run(Map.of("A", t, "X", t)));
      assertTrue(e.getMessage().contains("no input named 'X'"), e.getMessage());
      assertTrue(e.getMessage().contains("A: float 1xN, B: float 1xN"), e.getMessage());
      e = assertThrows(FcnException.class, () -> s.run(Map.of("A", t)));
      assertTrue(e.getMessage().contains("no value given for input 'B'"), e.getMessage());
      FloatTensor wrong = new FloatTensor(new float[3], 3, 1);
      e = assertThrows(FcnException.class, () -> s.run(Map.of("A", wrong, "B", wrong)));
      assertTrue(e.getMessage().contains("has shape 3x1") && e.getMessage().contains("expects 1xN"), e.getMessage());
    }
  }

  @Test
  void badModelFileIsNamed() throws IOException {
    Path junk = Files.writeString(tmp.resolve("junk.onnx"), "not a model");
    FcnException e = assertThrows(FcnException.class, () -> Session.open(junk));
    assertTrue(e.getMessage().contains(junk.toString()), e.getMessage());
    Path missing = tmp.resolve("missing.onnx");
    e = assertThrows(FcnException.class, () -> Session.open(missing));
    assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("not found"), e.getMessage());
  }

  @Test
  void cudaOnTheCpuBuildFailsAndAutoFallsBack() throws IOException {
    org.junit.jupiter.api.Assumptions.assumeFalse(Session.cudaInBuild(), "GPU ONNX Runtime on the class path");
    Path model = TinyModels.write(TinyModels.add(2L), tmp.resolve("add.onnx"));
    FcnException e = assertThrows(FcnException.class, () -> Session.open(model, Device.CUDA, 0, OptLevel.ALL));
    assertTrue(e.getMessage().contains("this fcn build uses the CPU ONNX Runtime; rebuild with -Pgpu"), e.getMessage());
    try (Session s = Session.open(model, Device.AUTO, 0, OptLevel.BASIC)) {
      assertEquals(Session.CPU_PROVIDER, s.provider());
      assertTrue(s.warning().orElseThrow().contains("running on CPU"));
    }
  }

  @Test
  void missingCudaLibrariesAreNamed() {
    // What onnxruntime_gpu's OrtException says when the provider library cannot load (1.22 on a
    // machine without CUDA): the library name is only in ORT's log, so fcn probes for it.
    String ortMsg = "Error code - ORT_FAIL - message: OrtSessionOptionsAppendExecutionProvider_Cuda: "
        + "Failed to load shared library";
    String line = Session.describeCudaFailure(ortMsg, () -> List.of("libcublasLt.so.12", "libcudnn.so.9"));
    assertTrue(line.startsWith("the CUDA execution provider cannot load: missing libcublasLt.so.12, libcudnn.so.9 "
        + "(get CUDA 12 + cuDNN 9, pass their folder with --cuda-libs DIR"), line);
    assertFalse(line.contains("\n"));
    // A message that names the library itself is taken at its word; ORT's own libraries are not "missing".
    String named = "Failed to load library libonnxruntime_providers_cuda.so with error: "
        + "libcudnn.so.9: cannot open shared object file: No such file or directory";
    assertEquals(List.of("libcudnn.so.9"), Session.missingLibraries(named));
    assertTrue(Session.describeCudaFailure(named, List::of).contains("missing libcudnn.so.9"));
    // Other CUDA failures are passed on as they are.
    String noGpu = "CUDA failure 100: no CUDA-capable device is detected";
    assertTrue(Session.describeCudaFailure(noGpu, List::of).startsWith("the CUDA execution provider failed: " + noGpu));
    String other = "CUDA_ERROR_OUT_OF_MEMORY somewhere";
    assertEquals("the CUDA execution provider failed: " + other, Session.describeCudaFailure(other, List::of));
  }

  @Test
  void cudaCallFailuresAreCutToTheirOneLine() {
    // ORT 1.23.2's text for a machine with every CUDA library but no GPU (tools/check-cuda-preload.sh).
    String sig = "std::conditional_t<THRW, void, onnxruntime::common::Status> onnxruntime::CudaCall(ERRTYPE, const char*, "
        + "const char*, SUCCTYPE, const char*, const char*, int) [with ERRTYPE = cudaError; bool THRW = true; "
        + "SUCCTYPE = cudaError; std::conditional_t<THRW, void, common::Status> = void]";
    String noGpu = "Error code - ORT_FAIL - message: /onnxruntime_src/onnxruntime/core/providers/cuda/cuda_call.cc:129 "
        + sig + " /onnxruntime_src/onnxruntime/core/providers/cuda/cuda_call.cc:121 " + sig
        + " CUDA failure 100: no CUDA-capable device is detected ; GPU=-1 ; hostname=vm ; "
        + "file=/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_execution_provider.cc ; line=282 ; "
        + "expr=cudaSetDevice(info_.device_id); \n\n";
    String line = Session.describeCudaFailure(noGpu, List::of);
    assertTrue(line.startsWith("the CUDA execution provider failed: CUDA failure 100: no CUDA-capable device is detected"
        + " in cudaSetDevice(info_.device_id) (the CUDA libraries loaded; no GPU visible"), line);
    assertTrue(line.length() <= 200, line.length() + ": " + line);
    String driver = noGpu.replace("100: no CUDA-capable device is detected", "35: CUDA driver version is insufficient "
        + "for CUDA runtime version");
    assertTrue(Session.describeCudaFailure(driver, List::of).contains("CUDA failure 35: CUDA driver version is "
        + "insufficient for CUDA runtime version in cudaSetDevice(info_.device_id) (the driver's libcuda.so.1"));
  }

  @Test
  void pinnedOutputsGiveTheSameResultsAndAreFreedOnClose() throws IOException {
    Path model = TinyModels.write(TinyModels.convRelu(5, 2, 3), tmp.resolve("conv.onnx"));
    try (Session s = Session.open(model, Device.CPU, 1, OptLevel.ALL)) {
      FloatTensor x = new FloatTensor(seq(2 * 6 * 7, 0.1f), 1, 2, 6, 7);
      float[] expected = s.run(Map.of("data", x)).get("score").data();
      for (boolean pin : new boolean[] {true, false}) {
        Session.Prepared p = s.prepare(Map.of("data", x), pin);
        p.run();
        assertFalse(p.outputsPinned(), "the first run only learns the output shapes");
        for (int i = 0; i < 3; i++) {
          FloatTensor y = p.runAndFetch().get("score");
          assertArrayEquals(new long[] {1, 3, 6, 7}, y.shape());
          assertArrayEquals(expected, y.data(), 0f, "same session, same input: the same kernels");
          p.run();
        }
        assertEquals(pin, p.outputsPinned());
        p.close();
        p.close(); // idempotent
        assertThrows(IllegalStateException.class, p::run);
      }
    }
  }

  @Test
  void cudaLibraryProbeLooksInDirsAndTheLdconfigCache(@TempDir Path dir) throws IOException {
    Files.createFile(dir.resolve("libcudart.so.12"));
    java.util.Set<String> cache = CudaLibraries.parseLdconfig(
        "3 libs found in cache `/etc/ld.so.cache'\n"
            + "\tlibcublas.so.12 (libc6,x86-64) => /usr/local/cuda/lib64/libcublas.so.12\n");
    assertEquals(java.util.Set.of("libcublas.so.12"), cache);
    assertEquals(List.of("libcudnn.so.9"),
        CudaLibraries.missing(List.of("libcudart.so.12", "libcublas.so.12", "libcudnn.so.9"), List.of(dir), cache));
  }

  @Test
  void halfConversionsRoundTrip() {
    for (float f : new float[] {0f, -0f, 1f, -2.5f, 65504f, 6.1035156e-05f, 5.9604645e-08f, Float.POSITIVE_INFINITY}) {
      assertEquals(f, Half.toFloat(Half.fromFloat(f)), 0f, "value " + f);
    }
    assertTrue(Float.isNaN(Half.toFloat(Half.fromFloat(Float.NaN))));
    assertEquals(Float.POSITIVE_INFINITY, Half.toFloat(Half.fromFloat(1e6f)));
  }
}
