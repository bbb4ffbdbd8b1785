package fcn.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.metrics.Metrics;
import fcn.metrics.Scores;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchReportTest {
  @TempDir Path dir;

  static BenchRecord full() {
    return BenchRecord.builder().timestamp(Instant.parse("2025-03-04T05:06:07.089Z")).modelFile("models/a, b.onnx")
        .modelSha256("ab12").modelName("voc-fcn8s").device("cpu").executionProvider("CPUExecutionProvider")
        .ortVersion("1.23.2").inputShape(1, 3, 500, 500).threads(4).warmup(3).loadMs(812.5).firstRunMs(1500.25)
        .latencies(new double[] {10, 12, 11, 13, 100}).imagesPerS(50.0).gflops(136.2).gflopsPerS(4000.0)
        .dataset("voc-sample").split("val").images(1).pixelAcc(0.8425141101426042).meanAcc(0.1).meanIu(1e-7)
        .fwIu(1.0).host("ci-1").build();
  }

  @Test
  void headerOnceRowsRoundTrip() throws Exception {
    Path csv = dir.resolve("r/bench.csv");
    BenchRecord a = full();
    BenchRecord b = BenchRecord.builder().modelName("m2").meanIu(Double.NaN).build();
    BenchReport.append(csv, a);
    BenchReport.append(csv, b);
    List<String> lines = Files.readAllLines(csv);
    assertEquals(3, lines.size());
    assertEquals(String.join(",", BenchReport.COLUMNS), lines.get(0));
    assertTrue(lines.get(1).startsWith("2025-03-04T05:06:07.089Z,\"models/a, b.onnx\",ab12,voc-fcn8s,cpu,"), lines.get(1));
    assertTrue(lines.get(1).contains(",1x3x500x500,4,3,5,812.5,1500.25,10,29.2,12,"), lines.get(1));
    assertTrue(lines.get(1).contains(",0.8425141101426042,0.1,0.0000001,1,ci-1"), lines.get(1));
    List<BenchRecord> back = BenchReport.read(csv);
    assertEquals(List.of(a, b), back);
    assertNull(back.get(1).meanIu(), "NaN is written as an empty cell");
    assertNull(back.get(1).medianMs());
    try (Stream<Path> s = Files.list(csv.getParent())) {
      assertEquals(1, s.count(), "no temp files left");
    }
  }

  @Test
  void latencyStatistics() {
    BenchRecord r = BenchRecord.builder().latencies(new double[] {4, 1, 3, 2}).build();
    // sorted 1 2 3 4: median at position 1.5 -> 2.5; p90 at 2.7 -> 3.7; mean 2.5;
    // population std = sqrt((2.25 + 0.25 + 0.25 + 2.25) / 4) = sqrt(1.25)
    assertEquals(1, r.minMs());
    assertEquals(4, r.maxMs());
    assertEquals(2.5, r.medianMs(), 1e-12);
    assertEquals(3.7, r.p90Ms(), 1e-12);
    assertEquals(2.5, r.meanMs(), 1e-12);
    assertEquals(Math.sqrt(1.25), r.stdMs(), 1e-12);
    assertEquals(4, r.iterations());
  }

  @Test
  void foreignHeaderIsRefusedAndFileLeftAlone() throws Exception {
    Path csv = dir.resolve("old.csv");
    Files.writeString(csv, "timestamp,model,mean_iu\n2025-01-01T00:00:00Z,x,0.5\n");
    FcnException e = assertThrows(FcnException.class, () -> BenchReport.append(csv, full()));
    assertTrue(e.getMessage().startsWith(csv + ": header does not match"), e.getMessage());
    assertTrue(e.getMessage().contains("missing model_file,model_sha256,") && e.getMessage().contains("unexpected model"),
        e.getMessage());
    assertEquals("timestamp,model,mean_iu\n2025-01-01T00:00:00Z,x,0.5\n", Files.readString(csv));
  }

  @Test
  void malformedCellsNameLineAndColumn() throws Exception {
    Path csv = dir.resolve("bad.csv");
    BenchReport.append(csv, full());
    Files.writeString(csv, Files.readString(csv).replace(",0.0000001,", ",abc,"));
    FcnException e = assertThrows(FcnException.class, () -> BenchReport.read(csv));
    assertTrue(e.getMessage().contains("bad.csv:2: column mean_iu: 'abc' is not a number"), e.getMessage());
    Files.writeString(csv, String.join(",", BenchReport.COLUMNS) + "\na,b\n");
    e = assertThrows(FcnException.class, () -> BenchReport.read(csv));
    assertTrue(e.getMessage().contains("row has 2 cells; expected " + BenchReport.COLUMNS.size()), e.getMessage());
    assertThrows(FcnException.class, () -> BenchReport.read(dir.resolve("none.csv")));
  }

  @Test
  void sideFilesDerivedFromReportName() throws Exception {
    // label 0 0 1 1, pred 0 1 1 1 over classes {bg, cat, dog}: dog absent from both
    Scores s = Scores.of(Metrics.hist(new int[] {0, 0, 1, 1}, new int[] {0, 1, 1, 1}, 3), List.of("bg", "cat", "dog"));
    Path report = dir.resolve("runs/nightly.csv");
    List<Path> files = BenchReport.writeClassFiles(report, s);
    assertEquals(List.of(dir.resolve("runs/nightly-classes.csv"), dir.resolve("runs/nightly-confusion.csv")), files);
    // bg: iu 1/(2+1-1) = 0.5, acc 1/2; cat: iu 2/(2+3-2) = 2/3, acc 1; dog: NaN -> empty
    assertEquals(List.of("class,name,iu,accuracy,pixels", "0,bg,0.5,0.5,2", "1,cat,0.6666666666666666,1,2",
        "2,dog,,,0"), Files.readAllLines(files.get(0)));
    assertEquals(List.of("label,bg,cat,dog", "bg,1,1,0", "cat,0,2,0", "dog,0,0,0"), Files.readAllLines(files.get(1)));
  }
}
