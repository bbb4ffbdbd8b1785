package fcn.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.report.BenchReport;
import fcn.runtime.ProviderReport;
import fcn.runtime.Session;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bench's placement evidence: the ep_nodes cell from ORT's profile of the first run, and
 * --strict, which fails on a compute node off the session's provider. No GPU here: the CUDA case
 * is a profile in ORT's format whose Conv fell back to the CPU.
 */
class PlacementTest {
  @TempDir Path dir;

  private static final String CUDA_RUN_WITH_CPU_CONV = "["
      + "{\"cat\" : \"Node\",\"dur\" :40,\"name\" :\"conv1_kernel_time\",\"args\" : {\"node_index\" : \"0\","
      + "\"provider\" : \"CUDAExecutionProvider\",\"op_name\" : \"Conv\"}},"
      + "{\"cat\" : \"Node\",\"dur\" :2,\"name\" :\"shape_kernel_time\",\"args\" : {\"node_index\" : \"1\","
      + "\"provider\" : \"CPUExecutionProvider\",\"op_name\" : \"Shape\"}},"
      + "{\"cat\" : \"Node\",\"dur\" :58,\"name\" :\"score_kernel_time\",\"args\" : {\"node_index\" : \"2\","
      + "\"provider\" : \"CPUExecutionProvider\",\"op_name\" : \"Conv\"}}]";

  @Test
  void strictFailsWhenAComputeNodeRanOnTheCpuUnderCuda() {
    ProviderReport pr = ProviderReport.parse(CUDA_RUN_WITH_CPU_CONV);
    Bench.Options strict = new Bench.Options(dir.resolve("m.onnx")).strict(true);
    ProviderReport.Violation v = assertThrows(ProviderReport.Violation.class,
        () -> Bench.placement(strict, pr, Session.CUDA_PROVIDER));
    assertEquals("--strict: 1 compute node did not run on CUDAExecutionProvider: score (Conv) on CPUExecutionProvider",
        v.getMessage());
    // Without --strict the same evidence only goes into the row.
    assertEquals("CPUExecutionProvider=2/3 60.0%;CUDAExecutionProvider=1/3 40.0%",
        Bench.placement(new Bench.Options(dir.resolve("m.onnx")), pr, Session.CUDA_PROVIDER));
  }

  @Test
  void aCpuBenchRecordsEveryNodeOnTheCpuAndPassesStrict() {
    Path model = TinyModels.random(dir.resolve("m.onnx"), 3, 11);
    Path csv = dir.resolve("r.csv");
    StringWriter err = new StringWriter();
    Bench.Result r = Bench.run(new Bench.Options(model).device(fcn.runtime.Device.CPU).threads(1)
        .inputShape(null, new long[] {1, 3, 16, 16}).iterations(2).warmup(0).strict(true).report(csv),
        new PrintWriter(err));
    assertTrue(r.epNodes().matches("CPUExecutionProvider=(\\d+)/\\1 100\\.0%"), r.epNodes());
    assertEquals(r.epNodes(), BenchReport.read(csv).get(0).epNodes());
    assertTrue(Bench.summary(r).contains("nodes ran on  CPUExecutionProvider="), Bench.summary(r));
  }
}
