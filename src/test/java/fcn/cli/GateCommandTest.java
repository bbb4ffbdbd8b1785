package fcn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.ExitCode;
import fcn.report.BenchRecord;
import fcn.report.BenchReport;
import fcn.testing.SubcommandHarness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class GateCommandTest {
  @TempDir Path dir;

  private static BenchRecord row(String model, double meanIu, double medianMs, String time) {
    return BenchRecord.builder().timestamp(Instant.parse(time)).modelName(model).device("cpu")
        .inputShape(1, 3, 64, 64).dataset("shapes").meanIu(meanIu).medianMs(medianMs).build();
  }

  private Path report(String name, BenchRecord... rows) {
    Path p = dir.resolve(name);
    for (BenchRecord r : rows) {
      BenchReport.append(p, r);
    }
    return p;
  }

  @Test
  void miouDropBeyondLimitFailsWithDeltaShown() throws Exception {
    Path base = report("base.csv", row("fcn8s", 0.6512, 10, "2025-01-01T00:00:00Z"),
        row("fcn32s", 0.60, 8, "2025-01-01T00:00:00Z"));
    Path cur = report("cur.csv", row("fcn8s", 0.6400, 10, "2025-02-01T00:00:00Z"),
        row("fcn32s", 0.5960, 8, "2025-02-01T00:00:00Z"));
    Path junit = dir.resolve("junit/gate.xml");
    SubcommandHarness.Result r = SubcommandHarness.run(new GateCommand(), cur.toString(), "--baseline", base.toString(), "--junit", junit.toString());
    assertEquals(ExitCode.CHECK_FAILED, r.exit(), r.toString());
    // fcn8s: 64.00 - 65.12 = -1.12 points > 0.5 allowed -> FAIL; fcn32s: -0.40 -> PASS
    assertTrue(r.out().contains("-1.12"), r.out());
    assertTrue(r.out().contains("FAIL fcn8s [cpu, 1x3x64x64, shapes]: mean IU 65.12 -> 64.00 (-1.12 points; may drop at most 0.50)"), r.out());
    assertTrue(r.out().contains("-0.40"), r.out());
    assertTrue(r.out().contains("gate FAILED: 2 compared, 1 regressed, 0 missing, 0 new (not gated)"), r.out());

    Document x = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(junit.toFile());
    NodeList cases = x.getElementsByTagName("testcase");
    assertEquals(2, cases.getLength());
    Element suite = (Element) x.getElementsByTagName("testsuite").item(0);
    assertEquals("2", suite.getAttribute("tests"));
    assertEquals("1", suite.getAttribute("failures"));
    Element first = (Element) cases.item(0);
    assertEquals("mean_iu fcn8s [cpu, 1x3x64x64, shapes]", first.getAttribute("name"));
    assertEquals(1, first.getElementsByTagName("failure").getLength());
    assertEquals(0, ((Element) cases.item(1)).getElementsByTagName("failure").getLength());
  }

  @Test
  void unchangedOrBetterPasses() throws Exception {
    Path base = report("base.csv", row("fcn8s", 0.65, 10, "2025-01-01T00:00:00Z"));
    Path same = report("same.csv", row("fcn8s", 0.65, 10, "2025-02-01T00:00:00Z"));
    Path better = report("better.csv", row("fcn8s", 0.70, 9, "2025-02-01T00:00:00Z"),
        row("new-model", 0.1, 1, "2025-02-01T00:00:00Z"));
    Path junit = dir.resolve("ok.xml");
    SubcommandHarness.Result r = SubcommandHarness.run(new GateCommand(), same.toString(), "--baseline", base.toString(), "--junit", junit.toString());
    assertEquals(ExitCode.OK, r.exit(), r.toString());
    assertTrue(r.out().contains("+0.00") && r.out().contains("gate PASSED"), r.out());
    assertTrue(Files.readString(junit).contains("tests=\"1\" failures=\"0\""), Files.readString(junit));
    r = SubcommandHarness.run(new GateCommand(), better.toString(), "--baseline", base.toString(), "--max-latency-increase", "10%");
    assertEquals(ExitCode.OK, r.exit(), r.toString());
    assertTrue(r.out().contains("+5.00") && r.out().contains("-10.0") && r.out().contains("NEW"), r.out());
    assertTrue(r.out().contains("gate PASSED: 1 compared, 0 regressed, 0 missing, 1 new (not gated)"), r.out());
  }

  @Test
  void dropExactlyAtLimitPasses() {
    // 0.65 - 0.645 = 0.5 points (0.5000000000000004 in binary floating point): allowed
    Path base = report("base.csv", row("m", 0.65, 10, "2025-01-01T00:00:00Z"));
    Path cur = report("cur.csv", row("m", 0.645, 10, "2025-01-02T00:00:00Z"));
    assertEquals(ExitCode.OK, SubcommandHarness.run(new GateCommand(), cur.toString(), "--baseline", base.toString()).exit());
  }

  @Test
  void latestRowWinsPerKey() {
    Path base = report("base.csv", row("m", 0.65, 10, "2025-01-01T00:00:00Z"));
    // a bad older run followed by a good newer one, written out of order in the file
    Path cur = report("cur.csv", row("m", 0.66, 10, "2025-03-01T00:00:00Z"), row("m", 0.10, 10, "2025-02-01T00:00:00Z"));
    SubcommandHarness.Result r = SubcommandHarness.run(new GateCommand(), cur.toString(), "--baseline", base.toString());
    assertEquals(ExitCode.OK, r.exit(), r.toString());
    assertTrue(r.out().contains("+1.00"), r.out());
  }

  @Test
  void latencyRuleWithNoiseMargin() {
    Path base = report("base.csv", row("big", 0.65, 100, "2025-01-01T00:00:00Z"),
        row("tiny", 0.65, 0.5, "2025-01-01T00:00:00Z"));
    // big: 100 -> 125 ms = +25% and +25 ms -> FAIL; tiny: 0.5 -> 0.65 ms = +30% but only +0.15 ms -> noise
    Path cur = report("cur.csv", row("big", 0.65, 125, "2025-01-02T00:00:00Z"),
        row("tiny", 0.65, 0.65, "2025-01-02T00:00:00Z"));
    SubcommandHarness.Result r = SubcommandHarness.run(new GateCommand(), cur.toString(), "--baseline", base.toString(), "--max-latency-increase", "10%");
    assertEquals(ExitCode.CHECK_FAILED, r.exit(), r.toString());
    assertTrue(r.out().contains("FAIL big [cpu, 1x3x64x64, shapes]: median 100.000 -> 125.000 ms (+25.0%"), r.out());
    assertTrue(!r.out().contains("FAIL tiny"), r.out());
    assertTrue(r.out().contains("noise margin"), r.out());
    // without the latency option (CI), only mean IU is gated
    assertEquals(ExitCode.OK, SubcommandHarness.run(new GateCommand(), cur.toString(), "--baseline", base.toString()).exit());
  }

  @Test
  void baselineRowMissingFromCurrentFails() throws Exception {
    Path base = report("base.csv", row("a", 0.65, 10, "2025-01-01T00:00:00Z"), row("b", 0.65, 10, "2025-01-01T00:00:00Z"));
    Path cur = report("cur.csv", row("a", 0.65, 10, "2025-01-02T00:00:00Z"));
    Path junit = dir.resolve("j.xml");
    SubcommandHarness.Result r = SubcommandHarness.run(new GateCommand(), cur.toString(), "--baseline", base.toString(), "--junit", junit.toString());
    assertEquals(ExitCode.CHECK_FAILED, r.exit(), r.toString());
    assertTrue(r.out().contains("MISSING") && r.out().contains("1 compared, 0 regressed, 1 missing") && r.out().contains("FAIL b [cpu, 1x3x64x64, shapes]: missing from the current report"), r.out());
    assertTrue(Files.readString(junit).contains("name=\"present b [cpu, 1x3x64x64, shapes]\""), Files.readString(junit));
  }

  @Test
  void badInputsAreExit2WithOneLine() throws Exception {
    Path base = report("base.csv", row("a", 0.65, 10, "2025-01-01T00:00:00Z"));
    SubcommandHarness.Result r = SubcommandHarness.run(new GateCommand(), dir.resolve("none.csv").toString(), "--baseline", base.toString());
    assertEquals(ExitCode.BAD_INPUT, r.exit(), r.toString());
    assertTrue(r.err().contains("none.csv: no such report file"), r.err());
    r = SubcommandHarness.run(new GateCommand(), base.toString(), "--baseline", base.toString(), "--max-latency-increase", "ten");
    assertEquals(ExitCode.BAD_INPUT, r.exit(), r.toString());
    assertTrue(r.err().contains("percentage 'ten'"), r.err());
    Path foreign = dir.resolve("foreign.csv");
    Files.writeString(foreign, "a,b\n");
    r = SubcommandHarness.run(new GateCommand(), foreign.toString(), "--baseline", base.toString());
    assertEquals(ExitCode.BAD_INPUT, r.exit(), r.toString());
    assertEquals(1, r.err().strip().lines().count(), r.err());
  }
}
