package fcn.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import fcn.core.FcnException;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.NodeProto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ProviderReport} on real ONNX Runtime CPU profiles, with the expected node count taken
 * independently from the optimized graph ORT itself saves for the same model and level, and on
 * synthetic profiles of a CUDA run with nodes that fell back to the CPU (no GPU here).
 */
class ProviderReportTest {
  @TempDir Path tmp;

  private static final Path DEFAULT_MODEL = Path.of("fixtures", "default", "model.onnx");

  /** The nodes of the graph ORT runs: it saves its optimized model on request. */
  private List<NodeProto> optimizedNodes(Path model, OptLevel level) throws Exception {
    Path saved = tmp.resolve("optimized-" + level + ".onnx");
    OrtEnvironment env = OrtEnvironment.getEnvironment(ai.onnxruntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL, "fcn");
    try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
      so.setOptimizationLevel(level.ort());
      so.setOptimizedModelFilePath(saved.toString());
      so.setSessionLogLevel(ai.onnxruntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL);
      env.createSession(model.toString(), so).close();
    }
    return ModelProto.parseFrom(Files.readAllBytes(saved)).getGraph().getNodeList();
  }

  private static Map<String, FloatTensor> randomFeeds(Session s, long... shape) {
    float[] d = new float[Math.toIntExact(FloatTensor.numel(shape))];
    Random r = new Random(7);
    for (int i = 0; i < d.length; i++) {
      d[i] = r.nextFloat() * 255;
    }
    return Map.of(s.inputNames().get(0), new FloatTensor(d, shape));
  }

  @ParameterizedTest
  @EnumSource(value = OptLevel.class, names = {"BASIC", "ALL"})
  void cpuProfileOfTheDefaultModelCountsEveryNodeOnceOnTheCpu(OptLevel level) throws Exception {
    String tmpdir = System.getProperty("java.io.tmpdir");
    Path own = Files.createDirectories(tmp.resolve("tmpdir"));
    System.setProperty("java.io.tmpdir", own.toString()); // the profile's folder lands here
    try {
      profileOfTheDefaultModel(level, own);
    } finally {
      System.setProperty("java.io.tmpdir", tmpdir);
    }
  }

  private void profileOfTheDefaultModel(OptLevel level, Path own) throws Exception {
    List<NodeProto> nodes = optimizedNodes(DEFAULT_MODEL, level);
    long computeInGraph = nodes.stream().filter(n -> ProviderReport.isCompute(n.getOpType())).count();
    assertTrue(computeInGraph > 0, "the default FCN has convolutions");
    try (Session s = Session.open(DEFAULT_MODEL, Device.CPU, 1, level, true)) {
      Map<String, FloatTensor> feeds = randomFeeds(s, 1, 3, 64, 64);
      s.run(feeds);
      s.run(feeds); // two runs in the profile: each node still counts once
      ProviderReport r = s.providerReport();
      assertEquals(1, r.shares().size(), r.summary());
      assertEquals(Session.CPU_PROVIDER, r.shares().get(0).provider());
      assertEquals(nodes.size(), r.nodes(), r.summary());
      assertEquals(nodes.size(), r.nodes(Session.CPU_PROVIDER));
      assertEquals(computeInGraph, r.shares().get(0).computeNodes());
      assertEquals(computeInGraph, r.computeNodesOn(Session.CPU_PROVIDER).size());
      assertEquals(1.0, r.timeShare(Session.CPU_PROVIDER), 0.0);
      assertEquals(0, r.nodes(Session.CUDA_PROVIDER));
      // Asked for the CPU, everything ran there; had CUDA been asked for, every compute node failed it.
      assertTrue(r.strictViolation(Session.CPU_PROVIDER).isEmpty());
      String v = r.strictViolation(Session.CUDA_PROVIDER).orElseThrow();
      assertTrue(v.startsWith(computeInGraph + " compute nodes did not run on CUDAExecutionProvider: "), v);
      assertEquals("CPUExecutionProvider=" + nodes.size() + "/" + nodes.size() + " 100.0%", r.cell());
      r.requireOn(Session.CPU_PROVIDER);
      assertThrows(ProviderReport.Violation.class, () -> r.requireOn(Session.CUDA_PROVIDER));
      assertTrue(s.providerReport() == r, "the report is kept");
      s.run(feeds); // runs go on after profiling ended
    }
    try (Stream<Path> left = Files.list(own)) {
      assertEquals(List.of(), left.toList(), "ORT's profile and its folder are deleted");
    }
  }

  @Test
  void convReluCountsMatchTheOptimizedGraph() throws Exception {
    Path model = TinyModels.write(TinyModels.convRelu(3, 2, 4), tmp.resolve("conv.onnx"));
    List<NodeProto> nodes = optimizedNodes(model, OptLevel.EXTENDED);
    try (Session s = Session.open(model, Device.CPU, 1, OptLevel.EXTENDED, true)) {
      s.run(randomFeeds(s, 1, 2, 5, 5));
      ProviderReport r = s.providerReport();
      assertEquals(nodes.size(), r.nodes(Session.CPU_PROVIDER), r.summary());
      List<String> ops = new ArrayList<>();
      nodes.forEach(n -> ops.add(n.getOpType()));
      assertEquals(ops.stream().filter(ProviderReport::isCompute).count(), r.computeNodesOn(Session.CPU_PROVIDER).size(),
          ops.toString());
    }
  }

  @Test
  void aSessionWithoutProfilingHasNoReport() throws Exception {
    Path model = TinyModels.write(TinyModels.add(2L), tmp.resolve("add.onnx"));
    try (Session s = Session.open(model, Device.CPU, 1, OptLevel.ALL)) {
      assertThrows(IllegalStateException.class, s::providerReport);
    }
  }

  private static String event(String name, String op, String provider, int index, long dur) {
    return "{\"cat\" : \"Node\",\"pid\" :1,\"tid\" :1,\"dur\" :" + dur + ",\"ts\" :5,\"ph\" : \"X\",\"name\" :\""
        + name + "_kernel_time\",\"args\" : {\"output_size\" : \"16\",\"node_index\" : \"" + index
        + "\",\"provider\" : \"" + provider + "\",\"op_name\" : \"" + op + "\"}}";
  }

  /** A CUDA run in ORT's format: one Conv and the Shape ops fell back to the CPU. */
  private static String cudaProfileWithCpuConv() {
    List<String> ev = new ArrayList<>();
    ev.add("{\"cat\" : \"Session\",\"pid\" :1,\"tid\" :1,\"dur\" :900,\"ts\" :1,\"ph\" : \"X\",\"name\" :\"session_initialization\",\"args\" : {}}");
    for (int run = 0; run < 2; run++) {
      ev.add(event("conv1", "Conv", "CUDAExecutionProvider", 0, 300));
      ev.add(event("pool1", "MaxPool", "CUDAExecutionProvider", 1, 100));
      ev.add(event("shape", "Shape", "CPUExecutionProvider", 2, 10));
      ev.add(event("conv2", "Conv", "CPUExecutionProvider", 3, 500));
      ev.add(event("up", "ConvTranspose", "CUDAExecutionProvider", 4, 90));
      ev.add("{\"cat\" : \"Node\",\"dur\" :0,\"name\" :\"conv1_fence_before\",\"args\" : {\"op_name\" : \"Conv\"}}");
    }
    return "[\n" + String.join(",\n", ev) + "\n]\n";
  }

  @Test
  void aComputeNodeOnTheCpuFailsStrictCuda() {
    ProviderReport r = ProviderReport.parse(cudaProfileWithCpuConv());
    assertEquals(5, r.nodes());
    assertEquals(3, r.nodes(Session.CUDA_PROVIDER));
    assertEquals(2, r.nodes(Session.CPU_PROVIDER));
    // Kernel time summed over both runs: CUDA 2x490, CPU 2x510.
    assertEquals(980.0 / 2000, r.timeShare(Session.CUDA_PROVIDER), 1e-12);
    assertEquals(Session.CPU_PROVIDER, r.shares().get(0).provider(), "most time first");
    assertEquals(List.of("conv2 (Conv)"), r.computeNodesOn(Session.CPU_PROVIDER));
    assertEquals("1 compute node did not run on CUDAExecutionProvider: conv2 (Conv) on CPUExecutionProvider",
        r.strictViolation(Session.CUDA_PROVIDER).orElseThrow());
    assertEquals("CPUExecutionProvider=2/5 51.0%;CUDAExecutionProvider=3/5 49.0%", r.cell());
    ProviderReport.Violation e = assertThrows(ProviderReport.Violation.class, () -> r.requireOn(Session.CUDA_PROVIDER));
    assertEquals("--strict: 1 compute node did not run on CUDAExecutionProvider: conv2 (Conv) on CPUExecutionProvider",
        e.getMessage());
    assertEquals("CPUExecutionProvider 2 nodes (51.0% of node time), CUDAExecutionProvider 3 nodes (49.0% of node time)",
        r.summary());
  }

  @Test
  void kernelTimeByOpTypeSumsEveryRunAndNamesTheTopOnes() {
    ProviderReport r = ProviderReport.parse(cudaProfileWithCpuConv());
    // Two runs of: Conv 300 + 500, MaxPool 100, Shape 10, ConvTranspose 90 (fences carry no time).
    assertEquals(java.util.Map.of("Conv", 1600L, "MaxPool", 200L, "Shape", 20L, "ConvTranspose", 180L), r.opMicros());
    assertEquals("Conv 80.0%, MaxPool 10.0%, ConvTranspose 9.0%, Shape 1.0%", r.opTimeLine(5));
    assertEquals("Conv 80.0%, MaxPool 10.0%, others 10.0%", r.opTimeLine(2));
    assertEquals("", ProviderReport.parse("[]").opTimeLine(3));
  }

  @Test
  void onlyShapeOpsOnTheCpuPassStrictCuda() {
    String json = "[" + event("conv", "Conv", "CUDAExecutionProvider", 0, 50) + ","
        + event("shape", "Shape", "CPUExecutionProvider", 1, 5) + ","
        + event("resize", "Resize", "CUDAExecutionProvider", 2, 20) + "]";
    ProviderReport r = ProviderReport.parse(json);
    assertTrue(r.strictViolation(Session.CUDA_PROVIDER).isEmpty(), r.summary());
    assertEquals(2, r.nodes(Session.CUDA_PROVIDER));
  }

  @Test
  void notAProfileIsAOneLineError() {
    for (String bad : List.of("", "{\"cat\": 1}", "[{\"cat\" : \"Node\",]", "[1, 2", "nonsense")) {
      FcnException e = assertThrows(FcnException.class, () -> ProviderReport.parse(bad), bad);
      assertTrue(e.getMessage().startsWith("ONNX Runtime's profile is not"), e.getMessage());
      assertFalse(e.getMessage().contains("\n"));
    }
    assertEquals(0, ProviderReport.parse("[]").nodes());
    assertEquals("no node events in the profile", ProviderReport.parse("[]").summary());
  }
}
