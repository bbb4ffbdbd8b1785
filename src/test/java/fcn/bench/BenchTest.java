package fcn.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.data.Dataset;
import fcn.data.Preprocess;
import fcn.metrics.PredictionScorer;
import fcn.metrics.Scores;
import fcn.report.BenchRecord;
import fcn.report.BenchReport;
import fcn.runtime.Device;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchTest {
  static final Path SHARED = Path.of("..", "shared");

  @TempDir Path dir;

  private final StringWriter errText = new StringWriter();
  private final PrintWriter err = new PrintWriter(errText, true);

  /** Raw pixel values in, RGB order: the identity model then predicts the brightest channel. */
  private static Preprocess raw() {
    return Preprocess.caffe().withOrder(Preprocess.ChannelOrder.RGB).withMean(0, 0, 0);
  }

  @Test
  void fixedShapeRunTimesTheLoopAndCountsFlops() {
    Path model = TinyModels.random(dir.resolve("m.onnx"), 2, 1);
    Path csv = dir.resolve("reports").resolve("tiny.csv");
    Bench.Result r = Bench.run(new Bench.Options(model).device(Device.CPU).warmup(1).iterations(4)
        .inputShape(null, new long[] {1, 3, 8, 8}).report(csv), err);
    assertEquals(4, r.stats().count());
    assertEquals("CPUExecutionProvider", r.provider());
    assertEquals("1x3x8x8", r.inputShape());
    assertTrue(r.loadMs() > 0 && r.firstRunMs() > 0);
    // 1x1 conv, 3 -> 2 channels at 8x8: MACs = 1*2*8*8 * 3 = 384, FLOPs 768 per run.
    assertEquals(768, r.flops().flops());
    assertEquals(4 * 768L, r.totalFlops());
    assertEquals(768e-9, r.gflopsPerImage(), 1e-18);
    assertNull(r.dataset());

    List<BenchRecord> rows = BenchReport.read(csv); // checks the header against the schema
    assertEquals(1, rows.size());
    BenchRecord row = rows.get(0);
    assertEquals("m", row.modelName());
    assertEquals("cpu", row.device());
    assertEquals("1x3x8x8", row.inputShape());
    assertEquals(4, row.iterations());
    assertEquals(1, row.warmup());
    assertEquals(r.stats().medianMs(), row.medianMs(), 1e-9);
    assertEquals(64, row.modelSha256().length());
    assertNull(row.dataset());
    assertTrue(Files.notExists(BenchReport.confusionFile(csv)), "no dataset, no confusion file");

    Bench.run(new Bench.Options(model).device(Device.CPU).warmup(0).iterations(2)
        .inputShape("data", new long[] {1, 3, 4, 4}).report(csv), err);
    assertEquals(2, BenchReport.read(csv).size(), "a second run appends a row");

    String text = Bench.summary(r);
    assertTrue(text.contains("latency (ms)"), text);
    assertTrue(text.contains("CPUExecutionProvider"), text);
    assertTrue(text.contains("GFLOP/s achieved"), text);
  }

  @Test
  void durationRunsUntilTheTimeIsSpent() {
    Path model = TinyModels.random(dir.resolve("m.onnx"), 2, 1);
    // A duration shorter than any run stops after exactly one run: not the 100 runs of the
    // default, which is what an ignored --duration would give.
    Bench.Result once = Bench.run(new Bench.Options(model).device(Device.CPU).warmup(0)
        .duration(1L).inputShape(null, new long[] {1, 3, 4, 4}), err);
    assertEquals(1, once.stats().count());

    // The loop stops at the first run that ends past the budget: the runs before it fit in it,
    // and the loop itself (timed around the whole bench, so an upper bound) lasted at least the budget.
    long t0 = System.nanoTime();
    Bench.Result r = Bench.run(new Bench.Options(model).device(Device.CPU).warmup(0)
        .duration(Timing.parseDuration("200ms")).inputShape(null, new long[] {1, 3, 4, 4}), err);
    double wallMs = (System.nanoTime() - t0) / 1e6;
    assertTrue(r.stats().count() >= 1);
    assertTrue(wallMs >= 200, "ran " + wallMs + " ms for a 200 ms duration");
    assertTrue(r.stats().totalMs() <= 200 + r.stats().maxMs() + 1e-6);
  }

  @Test
  void symbolicInputsNeedAShape() {
    Path model = TinyModels.random(dir.resolve("m.onnx"), 2, 1);
    FcnException e = assertThrows(FcnException.class,
        () -> Bench.run(new Bench.Options(model).device(Device.CPU).iterations(1), err));
    assertTrue(e.getMessage().contains("input 'data'") && e.getMessage().contains("--input-shape"), e.getMessage());
    e = assertThrows(FcnException.class, () -> Bench.run(new Bench.Options(model).device(Device.CPU)
        .iterations(1).inputShape("image", new long[] {1, 3, 4, 4}), err));
    assertTrue(e.getMessage().contains("'image'"), e.getMessage());
    e = assertThrows(FcnException.class, () -> Bench.run(new Bench.Options(model).device(Device.CPU)
        .iterations(1).inputShape(null, new long[] {1, 4, 4, 4}), err));
    assertTrue(e.getMessage().contains("does not fit"), e.getMessage());
  }

  @Test
  void missingModelAndDefault() {
    FcnException e = assertThrows(FcnException.class,
        () -> Bench.run(new Bench.Options(dir.resolve("nope.onnx")), err));
    assertTrue(e.getMessage().contains("nope.onnx"), e.getMessage());
    e = assertThrows(FcnException.class, () -> Bench.locateDefault(List.of(dir)));
    assertTrue(e.getMessage().contains(dir.resolve(Bench.DEFAULT_MODEL).toString()), e.getMessage());
  }

  // ---- Dataset -----------------------------------------------------------------------------

  /** A synthetic images/ + labels/ dataset at three sizes, 255 = void; returns expected hist. */
  private long[][] writeDataset(Path root, int images) throws IOException {
    Random rnd = new Random(7);
    int[][] sizes = {{8, 6}, {5, 7}, {10, 4}};
    long[][] hist = new long[3][3];
    for (int n = 0; n < images; n++) {
      int w = sizes[n % sizes.length][0];
      int h = sizes[n % sizes.length][1];
      int[] rgb = new int[3 * w * h];
      int[] label = new int[w * h];
      for (int i = 0; i < w * h; i++) {
        int pred = 0;
        for (int c = 0; c < 3; c++) {
          rgb[3 * i + c] = rnd.nextInt(256);
          if (rgb[3 * i + c] > rgb[3 * i + pred]) {
            pred = c; // argmax, ties to the lower channel
          }
        }
        int l = rnd.nextInt(8) == 0 ? 255 : rnd.nextInt(3);
        label[i] = l;
        if (l != 255) {
          hist[l][pred]++;
        }
      }
      String id = String.format("img%02d", n);
      TinyModels.writeRgb(root.resolve("images").resolve(id + ".png"), w, h, rgb);
      TinyModels.writeGray(root.resolve("labels").resolve(id + ".png"), w, h, label);
    }
    return hist;
  }

  @Test
  void datasetRunScoresEveryNonIgnoredPixelExactly() throws IOException {
    Path data = dir.resolve("data");
    long[][] expected = writeDataset(data, 7);
    long counted = 0;
    for (long[] row : expected) {
      for (long v : row) {
        counted += v;
      }
    }
    Path classes = dir.resolve("classes.txt");
    Files.writeString(classes, "red\ngreen\nblue\n");
    Path model = TinyModels.identity3(dir.resolve("tiny.onnx"));
    Path csv = dir.resolve("reports").resolve("synthetic.csv");
    Path preds = dir.resolve("preds");
    Bench.Result r = Bench.run(new Bench.Options(model).device(Device.CPU).warmup(1).dataset(data)
        .ignoreLabel(255).preprocess(raw()).classes(classes).report(csv).savePredictions(preds)
        .decodeThreads(2), err);

    Bench.DatasetResult d = r.dataset();
    assertEquals(7, d.images());
    assertEquals(7, r.stats().count());
    for (int a = 0; a < 3; a++) {
      assertArrayEquals(expected[a], d.scores().hist()[a], "confusion row " + a);
    }
    assertEquals(counted, d.scores().pixels());
    long all = 3 * 48 + 2 * 35 + 2 * 40; // sizes cycle: 8x6, 5x7, 10x4, 8x6, 5x7, 10x4, 8x6
    assertEquals(all, d.scores().pixels() + d.ignoredPixels());
    assertTrue(d.wallMs() > 0 && d.inferenceMs() > 0);
    // FLOPs at each image's own size: 1x1 conv 3 -> 3: 9 MACs per pixel, 18 FLOPs.
    assertEquals(18L * all, r.totalFlops());

    List<BenchRecord> rows = BenchReport.read(csv);
    assertEquals(1, rows.size());
    assertEquals(7, rows.get(0).images());
    assertEquals("data", rows.get(0).dataset());
    assertEquals(d.scores().meanIu(), rows.get(0).meanIu(), 1e-12);
    assertNull(rows.get(0).inputShape());
    assertEquals(counted, confusionTotal(BenchReport.confusionFile(csv)));
    assertTrue(Files.isRegularFile(BenchReport.classesFile(csv)));
    assertTrue(Files.isRegularFile(preds.resolve("img03.png")));
    assertTrue(Files.isRegularFile(preds.resolve("overlay").resolve("img03.png")));
    // The saved class maps, scored on their own, give the same confusion matrix.
    Scores rescored = PredictionScorer.score(preds, Dataset.open(data, null, 255), List.of("red", "green", "blue"))
        .scores();
    for (int a = 0; a < 3; a++) {
      assertArrayEquals(expected[a], rescored.hist()[a], "rescored row " + a);
    }

    String text = Bench.summary(r);
    assertTrue(text.contains("end-to-end") && text.contains("mean IU") && text.contains("green"), text);
  }

  static long confusionTotal(Path confusionCsv) throws IOException {
    long total = 0;
    try (Reader in = Files.newBufferedReader(confusionCsv)) {
      boolean header = true;
      for (CSVRecord rec : CSVFormat.DEFAULT.parse(in)) {
        if (header) {
          header = false;
          continue;
        }
        for (int i = 1; i < rec.size(); i++) {
          total += Long.parseLong(rec.get(i));
        }
      }
    }
    return total;
  }

  @Test
  void datasetMismatchesAreUserErrors() throws IOException {
    Path data = dir.resolve("data");
    writeDataset(data, 2);
    Path model = TinyModels.identity3(dir.resolve("tiny.onnx"));
    // 255 is not ignored: it is neither a class nor the ignore label.
    FcnException e = assertThrows(FcnException.class, () -> Bench.run(new Bench.Options(model)
        .device(Device.CPU).warmup(0).dataset(data).preprocess(raw()), err));
    assertTrue(e.getMessage().contains("label 255"), e.getMessage());
    Path two = dir.resolve("two.txt");
    Files.writeString(two, "a\nb\n");
    e = assertThrows(FcnException.class, () -> Bench.run(new Bench.Options(model).device(Device.CPU)
        .dataset(data).ignoreLabel(255).classes(two), err));
    assertTrue(e.getMessage().contains("3 classes") && e.getMessage().contains("names 2"), e.getMessage());
    e = assertThrows(FcnException.class, () -> Bench.run(new Bench.Options(model).device(Device.CPU)
        .dataset(data).iterations(3), err));
    assertTrue(e.getMessage().contains("--iterations"), e.getMessage());
  }

  @Test
  void resizeRunsAtTheNetworkSizeAndScoresAtTheLabelSize() throws IOException {
    Path data = dir.resolve("data");
    writeDataset(data, 3);
    Path model = TinyModels.identity3(dir.resolve("tiny.onnx"));
    Bench.Result r = Bench.run(new Bench.Options(model).device(Device.CPU).warmup(0).dataset(data)
        .ignoreLabel(255).preprocess(raw().withResize(16, 12)), err);
    long all = 48 + 35 + 40;
    assertEquals(all, r.dataset().scores().pixels() + r.dataset().ignoredPixels());
    assertEquals(3L * 18 * 16 * 12, r.totalFlops());
  }

  @Test
  void ioThreadsAreHalfTheCoresFromTwoToFour() {
    assertEquals(2, Bench.defaultIoThreads(1));
    assertEquals(2, Bench.defaultIoThreads(2));
    assertEquals(3, Bench.defaultIoThreads(6));
    assertEquals(4, Bench.defaultIoThreads(16));
  }

  @Test
  void progressBarDrawsWithAnEtaAndClearsItself() {
    StringWriter text = new StringWriter();
    Bench.Progress bar = new Bench.Progress(new PrintWriter(text), true, "images", 4);
    bar.step(4);
    assertTrue(text.toString().startsWith("\rimages  [") && text.toString().contains("4/4")
        && text.toString().contains("ETA 0:00"), text.toString());
    bar.done();
    assertTrue(text.toString().endsWith("\r"), text.toString());
    StringWriter quiet = new StringWriter();
    Bench.Progress off = new Bench.Progress(new PrintWriter(quiet), false, "images", 4);
    off.step(2);
    off.done();
    assertEquals("", quiet.toString());
    assertEquals("1:01:01", Bench.Progress.formatSeconds(3661));
  }

  /** Real data: CamVid's 233 test images (480x360, 11 classes, 11 = void) through a tiny model. */
  @Test
  void camvidEndToEnd() throws IOException {
    Path camvid = SHARED.resolve("data").resolve("camvid");
    Assumptions.assumeTrue(Files.isDirectory(camvid), "../shared not found: skipping the CamVid bench run");
    long nonVoid = 0;
    for (String line : Files.readAllLines(camvid.resolve("test.txt"))) {
      if (line.isBlank()) {
        continue;
      }
      for (int v : TinyModels.readGray(camvid.resolve(line.trim().split("\\s+")[1]))) {
        if (v != 11) {
          nonVoid++;
        }
      }
    }
    Path model = TinyModels.random(dir.resolve("camvid-tiny.onnx"), 11, 3);
    Path csv = dir.resolve("camvid.csv");
    Bench.Result r = Bench.run(new Bench.Options(model).device(Device.CPU).threads(1).warmup(2)
        .dataset(camvid.resolve("test.txt")).ignoreLabel(11).report(csv), err);
    assertEquals(233, r.dataset().images());
    assertEquals(nonVoid, r.dataset().scores().pixels());
    assertEquals(nonVoid, confusionTotal(BenchReport.confusionFile(csv)));
    assertEquals(233L * 480 * 360, r.dataset().scores().pixels() + r.dataset().ignoredPixels());
    assertEquals("Sky", r.dataset().scores().classNames().get(0));
    assertNotNull(r.dataset().scores());
    System.out.printf("CamVid tiny model: inference %.1f ms, end-to-end %.1f ms (%.2fx)%n",
        r.dataset().inferenceMs(), r.dataset().wallMs(), r.dataset().overhead());
  }
}
