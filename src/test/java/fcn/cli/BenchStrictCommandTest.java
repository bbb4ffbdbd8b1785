package fcn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.report.BenchReport;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fcn bench --strict} on the CPU: every node runs on the CPU provider in use, so it passes,
 * and the row records the evidence. (A compute node off the provider is tested with a CUDA-format
 * profile in fcn.bench.PlacementTest and fcn.runtime.ProviderReportTest: there is no GPU here.)
 */
class BenchStrictCommandTest {
  @TempDir Path dir;

  @Test
  void cpuStrictPassesAndTheRowSaysWhereTheNodesRan() {
    Path csv = dir.resolve("r.csv");
    CliRun r = CliRun.fcn("bench", "fixtures/default/model.onnx", "--device", "cpu", "--strict", "--input-shape",
        "1,3,32,32", "--warmup", "0", "--iterations", "1", "--threads", "1", "--report", csv.toString());
    assertEquals(0, r.code(), r.all());
    String cell = BenchReport.read(csv).get(0).epNodes();
    assertTrue(cell.matches("CPUExecutionProvider=(\\d+)/\\1 100\\.0%"), cell);
    assertTrue(r.out().contains("nodes ran on  " + cell), r.out());
  }
}
