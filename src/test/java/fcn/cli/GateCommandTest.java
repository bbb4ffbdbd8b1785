package fcn.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.ExitCode;
import fcn.report.BenchRecord;
import fcn.report.BenchReport;
import fcn.testing.SubcommandHarness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
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
    assertTrue(r.err().contains("none.csv: no such file; expected a CSV report"), r.err());
    r = SubcommandHarness.run(new GateCommand(), base.toString(), "--baseline", base.toString(), "--max-latency-increase", "ten");
    assertEquals(ExitCode.BAD_INPUT, r.exit(), r.toString());
    assertTrue(r.err().contains("percentage 'ten'"), r.err());
    Path foreign = dir.resolve("foreign.csv");
    Files.writeString(foreign, "a,b\n");
    r = SubcommandHarness.run(new GateCommand(), foreign.toString(), "--baseline", base.toString());
    assertEquals(ExitCode.BAD_INPUT, r.exit(), r.toString());
    assertEquals(1, r.err().strip().lines().count(), r.err());
  }

  // --- fail closed: a report the gate cannot trust is bad input (exit 2), never a pass ---

  private static final String HEADER = String.join(",", BenchReport.COLUMNS) + "\n";

  private CliRun gate(Path cur, Path base, String... more) {
    String[] args = new String[4 + more.length];
    args[0] = "gate";
    args[1] = cur.toString();
    args[2] = "--baseline";
    args[3] = base.toString();
    System.arraycopy(more, 0, args, 4, more.length);
    return CliRun.fcn(args);
  }

  private static void assertBadInput(CliRun r, String... fragments) {
    assertEquals(ExitCode.BAD_INPUT, r.code(), r.all());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().length() < 300, r.err());
    for (String f : fragments) {
      assertTrue(r.err().contains(f), "expected '" + f + "' in: " + r.err());
    }
    assertTrue(!r.out().contains("PASSED"), r.out());
  }

  /** A report whose one row has {@code column} set to {@code cell}, as a file edited by hand would. */
  private Path withCell(String name, String column, String cell) throws Exception {
    Path good = report("good-" + name, row("m", 0.65, 10, "2025-01-01T00:00:00Z"));
    List<String> lines = Files.readAllLines(good);
    List<String> cells = new java.util.ArrayList<>(List.of(lines.get(1).split(",", -1)));
    cells.set(BenchReport.COLUMNS.indexOf(column), cell);
    Path p = dir.resolve(name);
    Files.writeString(p, lines.get(0) + "\n" + String.join(",", cells) + "\n");
    return p;
  }

  @Test
  void emptyOrHeaderOnlyReportsAreExit2NamingTheFile() throws Exception {
    Path good = report("good.csv", row("m", 0.65, 10, "2025-01-01T00:00:00Z"));
    Path empty = dir.resolve("empty.csv");
    Files.write(empty, new byte[0]);
    Path blank = dir.resolve("blank.csv");
    Files.writeString(blank, "\n\n");
    Path headerOnly = dir.resolve("header-only.csv");
    Files.writeString(headerOnly, HEADER);
    assertBadInput(gate(good, empty), "empty.csv", "baseline report is empty");
    assertBadInput(gate(good, blank), "blank.csv", "baseline report is empty");
    assertBadInput(gate(good, headerOnly), "header-only.csv", "baseline report has a header but no rows");
    assertBadInput(gate(empty, good), "empty.csv", "current report is empty");
    assertBadInput(gate(headerOnly, good), "header-only.csv", "current report has a header but no rows");
    // the same good files pass: the refusals above are about the files, not the rows
    assertEquals(ExitCode.OK, gate(good, good).code());
  }

  @Test
  void valuesOutsideTheirRangeAreExit2NamingRowAndColumn() throws Exception {
    Path good = report("good.csv", row("m", 0.65, 10, "2025-01-01T00:00:00Z"));
    // a percentage where the schema says fraction: it used to pass with "+7455.69 points"
    assertBadInput(gate(good, withCell("percent.csv", "mean_iu", "75.31")),
        "percent.csv:2", "column mean_iu", "75.31", "outside 0..1");
    assertBadInput(gate(withCell("negative.csv", "mean_iu", "-0.5"), good),
        "negative.csv:2", "column mean_iu", "-0.5", "outside 0..1");
    assertBadInput(gate(good, withCell("latency.csv", "median_ms", "-3")),
        "latency.csv:2", "column median_ms", "'-3'", ">= 0");
    assertBadInput(gate(good, withCell("inf.csv", "load_ms", "Infinity")), "inf.csv:2", "column load_ms");
    assertBadInput(gate(good, withCell("threads.csv", "threads", "-1")), "threads.csv:2", "column threads");
    assertBadInput(gate(good, withCell("acc.csv", "pixel_acc", "1.5")), "acc.csv:2", "column pixel_acc");
  }

  @Test
  void foreignSchemaSaysWhichColumns() throws Exception {
    Path good = report("good.csv", row("m", 0.65, 10, "2025-01-01T00:00:00Z"));
    Path old = dir.resolve("old.csv");
    Files.writeString(old, HEADER.replace(",mean_iu,", ",miou,").replace(",host", ""));
    assertBadInput(gate(good, old), "old.csv", "missing mean_iu,host", "unexpected miou");
    Path swapped = dir.resolve("swapped.csv");
    Files.writeString(swapped, HEADER.replace("model_file,model_sha256", "model_sha256,model_file"));
    assertBadInput(gate(swapped, good), "swapped.csv", "column 2 is model_sha256, expected model_file");
  }

  @Test
  void unreadableOrNonCsvReportsAreExit2WithoutJavaNames() throws Exception {
    Path good = report("good.csv", row("m", 0.65, 10, "2025-01-01T00:00:00Z"));
    Path latin1 = dir.resolve("latin1.csv");
    Files.write(latin1, (HEADER + "caf\u00e9").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    CliRun r = gate(good, latin1);
    assertBadInput(r, "latin1.csv", "not UTF-8");
    assertTrue(!r.err().contains("Input length"), r.err());
    Path quotes = dir.resolve("quotes.csv");
    Files.writeString(quotes, HEADER + "\"a\"b,c\n");
    r = gate(good, quotes);
    assertBadInput(r, "quotes.csv", "not a valid CSV report");
    assertTrue(!r.err().contains("Exception") && !r.err().contains("org.apache"), r.err());
    assertBadInput(gate(good, dir), dir.toString(), "is a directory");
  }

  @Test
  void aBaselineWithoutTheGatedMetricChecksNothingAndIsExit2() throws Exception {
    BenchRecord timingOnly = BenchRecord.builder().timestamp(Instant.parse("2025-01-01T00:00:00Z"))
        .modelName("m").device("cpu").inputShape(1, 3, 64, 64).dataset("shapes").medianMs(10.0).build();
    Path base = report("timing.csv", timingOnly);
    Path cur = report("cur.csv", row("m", 0.65, 10, "2025-01-02T00:00:00Z"));
    assertBadInput(gate(cur, base), "timing.csv", "no row has mean_iu");
    // with the latency rule there is something to compare
    assertEquals(ExitCode.OK, gate(cur, base, "--max-latency-increase", "10%").code());
  }

  @Test
  void junitOntoAReportIsRefusedAndTheReportKept() throws Exception {
    Path base = report("base.csv", row("m", 0.65, 10, "2025-01-01T00:00:00Z"));
    Path cur = report("cur.csv", row("m", 0.65, 10, "2025-01-02T00:00:00Z"));
    byte[] before = Files.readAllBytes(base);
    assertBadInput(gate(cur, base, "--junit", base.toString()), "base.csv", "is an input of this run");
    assertArrayEquals(before, Files.readAllBytes(base));
    Path link = dir.resolve("link.xml");
    Files.createSymbolicLink(link, cur);
    byte[] curBefore = Files.readAllBytes(cur);
    assertBadInput(gate(cur, base, "--junit", link.toString()), "link.xml", "is an input of this run");
    assertArrayEquals(curBefore, Files.readAllBytes(cur));
    assertTrue(Files.isSymbolicLink(link));
  }

  /** .ci/run's own gate command, with its files swapped for copies in the test's folder. */
  @Test
  void ciGateFailsWhenTheBaselineIsEmptied() throws Exception {
    Path root = Path.of("").toAbsolutePath();
    List<String> gates = Files.readAllLines(root.resolve(".ci/run")).stream()
        .filter(l -> l.strip().startsWith("./fcn gate target/ci-default.csv ")).toList();
    assertEquals(1, gates.size(), "expected one ./fcn gate line for the fp32 default in .ci/run: " + gates);
    Path baseline = root.resolve("reports/baseline.csv");
    Path current = dir.resolve("ci-default.csv");
    Files.copy(baseline, current); // a run that reproduces the baseline exactly
    Path emptied = dir.resolve("baseline.csv");
    Files.write(emptied, new byte[0]);
    List<String> args = new java.util.ArrayList<>(List.of(gates.get(0).strip().substring("./fcn ".length()).split("\\s+")));
    assertTrue(args.contains("reports/baseline.csv") && args.contains("target/ci-default.csv"), args.toString());
    java.util.function.Function<Path, String[]> with = b -> args.stream()
        .map(a -> a.equals("reports/baseline.csv") ? b.toString()
            : a.equals("target/ci-default.csv") ? current.toString()
            : a.endsWith(".xml") ? dir.resolve("gate-junit.xml").toString() : a)
        .toArray(String[]::new);
    CliRun ok = CliRun.fcn(with.apply(baseline));
    assertEquals(ExitCode.OK, ok.code(), "CI's gate on its own baseline: " + ok.all());
    CliRun r = CliRun.fcn(with.apply(emptied));
    assertBadInput(r, emptied.toString(), "baseline report is empty");
    Files.writeString(emptied, HEADER);
    assertBadInput(CliRun.fcn(with.apply(emptied)), emptied.toString(), "no rows");
  }
}
