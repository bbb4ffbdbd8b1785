package fcn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.ExitCode;
import fcn.report.BenchRecord;
import fcn.report.BenchReport;
import fcn.report.Columns;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fcn gate} with precision: an int8 (or fp16) row is held to --max-miou-drop against the
 * fp32 baseline row of the same model when the baseline has no row of its own precision; old
 * reports without the precision column are read as fp32.
 */
class GatePrecisionTest {
  @TempDir Path dir;

  private static BenchRecord row(String model, String precision, double meanIu, String time) {
    return BenchRecord.builder().timestamp(Instant.parse(time)).modelName(model).device("cpu").dataset("dataset")
        .split("val").images(200).meanIu(meanIu).medianMs(10.0).precision(precision).build();
  }

  private Path report(String name, BenchRecord... rows) {
    Path p = dir.resolve(name);
    for (BenchRecord r : rows) {
      BenchReport.append(p, r);
    }
    return p;
  }

  private static CliRun gate(Path cur, Path base, String drop) {
    return CliRun.fcn("gate", cur.toString(), "--baseline", base.toString(), "--max-miou-drop", drop);
  }

  /** The delta the gate must print, computed here from the two fractions. */
  private static String points(double cur, double base) {
    return String.format(Locale.ROOT, "%+.2f", (cur - base) * 100);
  }

  @Test
  void int8RowIsHeldAgainstTheFp32BaselineRow() {
    double fp32 = 0.7531247558512879;
    Path base = report("base.csv", row("default", "fp32", fp32, "2025-01-01T00:00:00Z"));

    double small = fp32 - 0.0041; // 0.41 points lost: within 0.5
    Path pass = report("pass.csv", row("default", "int8", small, "2025-02-01T00:00:00Z"));
    CliRun r = gate(pass, base, "0.5");
    assertEquals(ExitCode.OK, r.code(), r.all());
    assertTrue(r.out().contains("default int8 vs fp32"), r.out());
    assertTrue(r.out().contains(points(small, fp32)), r.out());
    assertTrue(r.out().contains("gate PASSED: 1 compared, 0 regressed, 0 missing, 0 new"), r.out());

    double big = fp32 - 0.0062; // 0.62 points lost: beyond 0.5
    Path fail = report("fail.csv", row("default", "int8", big, "2025-02-01T00:00:00Z"));
    r = gate(fail, base, "0.5");
    assertEquals(ExitCode.CHECK_FAILED, r.code(), r.all());
    assertTrue(r.out().contains("FAIL default int8 [cpu, , dataset]: mean IU"), r.out());
    assertTrue(r.out().contains("(" + points(big, fp32) + " points; may drop at most 0.50)"), r.out());
    // The same drop passes a looser limit: the rule, not the matching, decided.
    assertEquals(ExitCode.OK, gate(fail, base, "1.0").code());

    // fp16 is matched the same way.
    Path fp16 = report("fp16.csv", row("default", "fp16", big, "2025-02-01T00:00:00Z"));
    r = gate(fp16, base, "0.5");
    assertEquals(ExitCode.CHECK_FAILED, r.code(), r.all());
    assertTrue(r.out().contains("default fp16 vs fp32"), r.out());
  }

  @Test
  void bothPrecisionsInOneRunAreEachCompared() {
    Path base = report("base.csv", row("default", "fp32", 0.75, "2025-01-01T00:00:00Z"));
    Path cur = report("cur.csv", row("default", "fp32", 0.75, "2025-02-01T00:00:00Z"),
        row("default", "int8", 0.70, "2025-02-01T00:00:00Z"));
    CliRun r = gate(cur, base, "0.5");
    assertEquals(ExitCode.CHECK_FAILED, r.code(), r.all());
    assertTrue(r.out().contains("gate FAILED: 2 compared, 1 regressed, 0 missing, 0 new"), r.out());
    assertTrue(r.out().contains("FAIL default int8"), r.out());
    assertTrue(!r.out().contains("FAIL default ["), "the fp32 row did not regress: " + r.out());
  }

  @Test
  void aBaselineInt8RowIsPreferredAndAnotherModelsFp32RowIsNoMatch() {
    // The baseline has its own int8 row: the int8 run is compared with it, not with fp32.
    Path base = report("base.csv", row("default", "fp32", 0.75, "2025-01-01T00:00:00Z"),
        row("default", "int8", 0.70, "2025-01-01T00:00:00Z"));
    Path cur = report("cur.csv", row("default", "fp32", 0.75, "2025-02-01T00:00:00Z"),
        row("default", "int8", 0.699, "2025-02-01T00:00:00Z"));
    CliRun r = gate(cur, base, "0.5");
    assertEquals(ExitCode.OK, r.code(), r.all());
    assertTrue(!r.out().contains("vs fp32"), r.out());
    assertTrue(r.out().contains("gate PASSED: 2 compared"), r.out());

    // An int8 row of another model matches nothing: new, and the baseline row is missing.
    Path other = report("other.csv", row("other", "int8", 0.75, "2025-02-01T00:00:00Z"));
    Path base1 = report("base1.csv", row("default", "fp32", 0.75, "2025-01-01T00:00:00Z"));
    r = gate(other, base1, "0.5");
    assertEquals(ExitCode.CHECK_FAILED, r.code(), r.all());
    assertTrue(r.out().contains("0 compared, 0 regressed, 1 missing, 1 new"), r.out());
  }

  @Test
  void reportsWrittenBeforeThePrecisionColumnReadAsFp32AndUpgradeOnAppend() throws Exception {
    // A report in the first schema (32 columns, ending at host), as fcn wrote it before.
    Path modern = report("modern.csv", row("default", "fp32", 0.7531, "2025-01-01T00:00:00Z"));
    List<String> lines = Files.readAllLines(modern);
    int keep = Columns.FIRST_SCHEMA.size();
    String oldHeader = String.join(",", Columns.FIRST_SCHEMA);
    String oldRow = String.join(",", List.of(lines.get(1).split(",", -1)).subList(0, keep));
    Path old = dir.resolve("old.csv");
    Files.writeString(old, oldHeader + "\n" + oldRow + "\n");
    // A copy to append to: a file the gate read in this JVM is refused as an output afterwards.
    Path appended = Files.copy(old, dir.resolve("appended.csv"));
    assertTrue(!oldHeader.contains("precision") && oldHeader.endsWith(",host"), oldHeader);

    List<BenchRecord> read = BenchReport.read(old);
    assertEquals(1, read.size());
    assertEquals("fp32", read.get(0).precision());
    assertEquals(null, read.get(0).epNodes());
    assertEquals(0.7531, read.get(0).meanIu());

    // The gate holds an int8 run against the old fp32 row.
    Path cur = report("cur.csv", row("default", "int8", 0.7531 - 0.0062, "2025-02-01T00:00:00Z"));
    CliRun r = gate(cur, old, "0.5");
    assertEquals(ExitCode.CHECK_FAILED, r.code(), r.all());
    assertTrue(r.out().contains("default int8 vs fp32"), r.out());
    assertEquals(ExitCode.OK, gate(old, old, "0.5").code());

    // Appending upgrades the file: the new header, the old row's cells unchanged plus fp32.
    BenchReport.append(appended, row("default", "int8", 0.75, "2025-03-01T00:00:00Z"));
    List<String> after = Files.readAllLines(appended);
    assertEquals(String.join(",", BenchReport.COLUMNS), after.get(0));
    assertEquals(oldRow + ",fp32,", after.get(1));
    assertEquals(3, after.size());
    assertEquals(List.of("fp32", "int8"), BenchReport.read(appended).stream().map(BenchRecord::precision).toList());
  }

  @Test
  void anUnknownPrecisionCellIsBadInput() throws Exception {
    Path good = report("good.csv", row("default", "fp32", 0.75, "2025-01-01T00:00:00Z"));
    Path bad = dir.resolve("bad.csv");
    Files.writeString(bad, Files.readString(good).replace(",fp32,", ",int4,"));
    CliRun r = gate(good, bad, "0.5");
    assertEquals(ExitCode.BAD_INPUT, r.code(), r.all());
    assertTrue(r.err().contains("bad.csv:2: column precision: 'int4' is an unknown value; expected one of fp16, fp32, int8"),
        r.err());
  }

  @Test
  void theCheckedInReportsAreInTheCurrentSchemaAndFp32() throws Exception {
    Path root = Path.of("").toAbsolutePath();
    for (String f : List.of("reports/baseline.csv", "reports/voc-fcn8s-cpu.csv")) {
      Path p = root.resolve(f);
      assertEquals(String.join(",", BenchReport.COLUMNS), Files.readAllLines(p).get(0), f);
      assertTrue(BenchReport.read(p).stream().allMatch(x -> "fp32".equals(x.precision())), f);
    }
  }
}
