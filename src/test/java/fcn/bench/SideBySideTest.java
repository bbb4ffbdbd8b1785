package fcn.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.data.Preprocess;
import fcn.report.BenchRecord;
import fcn.report.BenchReport;
import fcn.runtime.Device;
import fcn.runtime.FloatTensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SideBySide}: the identity model (predicts the brightest RGB channel) against a copy
 * whose first two score channels are swapped, so that labels differ on a share of pixels the
 * test computes from the image data itself.
 */
class SideBySideTest {
  @TempDir Path dir;

  private final PrintWriter err = new PrintWriter(new StringWriter(), true);

  /** Raw pixel values in, RGB order, as in BenchTest. */
  private static Preprocess raw() {
    return Preprocess.caffe().withOrder(Preprocess.ChannelOrder.RGB).withMean(0, 0, 0);
  }

  /** Score 0 = G, 1 = R, 2 = B. */
  private Path swapped() {
    return TinyModels.conv1x1(dir.resolve("swapped.onnx"), 3, new float[] {0, 1, 0, 1, 0, 0, 0, 0, 1});
  }

  /** argmax over (a, b, c) with ties to the lower index, as numpy. */
  private static int argmax(double a, double b, double c) {
    int best = 0;
    double v = a;
    if (b > v) {
      best = 1;
      v = b;
    }
    return c > v ? 2 : best;
  }

  /** Expected outcome of the two models on a random dataset. */
  private record Expected(long agree, long pixels, long[][] histIdentity, long[][] histSwapped) {}

  private Expected writeDataset(Path root, int images) throws IOException {
    Random rnd = new Random(11);
    long agree = 0;
    long pixels = 0;
    long[][] hi = new long[3][3];
    long[][] hs = new long[3][3];
    for (int n = 0; n < images; n++) {
      int w = 6 + n % 3;
      int h = 5;
      int[] rgb = new int[3 * w * h];
      int[] label = new int[w * h];
      for (int i = 0; i < w * h; i++) {
        for (int c = 0; c < 3; c++) {
          rgb[3 * i + c] = rnd.nextInt(4) * 60; // few values: ties happen
        }
        int r = rgb[3 * i];
        int g = rgb[3 * i + 1];
        int b = rgb[3 * i + 2];
        int p = argmax(r, g, b);
        int q = argmax(g, r, b);
        agree += p == q ? 1 : 0;
        pixels++;
        int l = rnd.nextInt(10) == 0 ? 255 : rnd.nextInt(3);
        label[i] = l;
        if (l != 255) {
          hi[l][p]++;
          hs[l][q]++;
        }
      }
      String id = String.format(Locale.ROOT, "im%02d", n);
      TinyModels.writeRgb(root.resolve("images").resolve(id + ".png"), w, h, rgb);
      TinyModels.writeGray(root.resolve("labels").resolve(id + ".png"), w, h, label);
    }
    return new Expected(agree, pixels, hi, hs);
  }

  private Bench.Options options(Path model, Path data, Path report) {
    return new Bench.Options(model).device(Device.CPU).threads(1).warmup(0).dataset(data).ignoreLabel(255)
        .preprocess(raw()).report(report).decodeThreads(2);
  }

  @Test
  void datasetAgreementAndScoresAgainstTheFirstModel() throws IOException {
    Path data = dir.resolve("data");
    Expected x = writeDataset(data, 6);
    assertTrue(x.agree() > 0 && x.agree() < x.pixels(), "the data must make the models differ on some pixels");
    Path identity = TinyModels.identity3(dir.resolve("identity.onnx"));
    Path csv = dir.resolve("r/side.csv");
    SideBySide.Result r = SideBySide.run(List.of(identity, swapped(), identity), m -> options(m, data, csv), err);

    assertEquals(3, r.entries().size());
    Bench.Result first = r.entries().get(0).result();
    Bench.Result second = r.entries().get(1).result();
    for (int a = 0; a < 3; a++) {
      assertArrayEquals(x.histIdentity()[a], first.dataset().scores().hist()[a], "identity row " + a);
      assertArrayEquals(x.histSwapped()[a], second.dataset().scores().hist()[a], "swapped row " + a);
    }
    assertEquals(1.0, r.entries().get(0).agreement());
    assertEquals(x.agree() / (double) x.pixels(), r.entries().get(1).agreement(), 0.0);
    assertEquals(1.0, r.entries().get(2).agreement(), "the same model again agrees everywhere");
    assertEquals("fp32", second.precision());

    String table = r.table();
    String[] lines = table.split("\n");
    assertTrue(lines[0].startsWith("side by side: 3 models on data, 6 images"), table);
    String swappedLine = lines[3];
    assertTrue(swappedLine.startsWith("swapped "), table);
    double d = 100 * (second.dataset().scores().meanIu() - first.dataset().scores().meanIu());
    assertNotEquals(0.0, d);
    assertTrue(swappedLine.contains(String.format(Locale.ROOT, " %+.2f ", d)), table);
    assertTrue(swappedLine.endsWith(String.format(Locale.ROOT, " %.2f%%", 100.0 * x.agree() / x.pixels())), table);
    assertTrue(lines[4].contains(" +0.00 ") && lines[4].endsWith(" 100.00%"), table);

    // One row per model, in order, all written after the last model ran.
    List<BenchRecord> rows = BenchReport.read(csv);
    assertEquals(List.of("identity", "swapped", "identity"), rows.stream().map(BenchRecord::modelName).toList());
    assertEquals(second.dataset().scores().meanIu(), rows.get(1).meanIu(), 1e-15);
  }

  @Test
  void fixedShapeAgreementIsOverTheSameRandomInput() {
    Path identity = TinyModels.identity3(dir.resolve("identity.onnx"));
    Path swapped = swapped();
    SideBySide.Result r = SideBySide.run(List.of(identity, swapped), m -> new Bench.Options(m).device(Device.CPU)
        .threads(1).warmup(0).iterations(2).inputShape(null, new long[] {1, 3, 9, 7}), err);
    // The input both saw: the bench's seeded random data at that size.
    FloatTensor in = FixedInputs.random(Map.of("data", new long[] {1, 3, 9, 7})).get("data");
    float[] v = in.data();
    int hw = 9 * 7;
    long agree = 0;
    for (int p = 0; p < hw; p++) {
      agree += argmax(v[p], v[hw + p], v[2 * hw + p]) == argmax(v[hw + p], v[p], v[2 * hw + p]) ? 1 : 0;
    }
    assertTrue(agree < hw, "random data makes R and G the largest somewhere");
    assertEquals(agree / (double) hw, r.entries().get(1).agreement(), 0.0);
    String table = r.table();
    assertTrue(table.contains("input 1x3x9x7 (the same random data), 2 timed runs each"), table);
    assertTrue(table.split("\n")[2].contains("   -  "), "no mean IU without a dataset: " + table);
  }

  @Test
  void aFailingModelLeavesNoReportAndSavePredictionsIsRefused() throws IOException {
    Path data = dir.resolve("data");
    writeDataset(data, 2);
    Path identity = TinyModels.identity3(dir.resolve("identity.onnx"));
    Path csv = dir.resolve("r/side.csv");
    Path missing = dir.resolve("missing.onnx");
    FcnException e = assertThrows(FcnException.class,
        () -> SideBySide.run(List.of(identity, missing), m -> options(m, data, csv), err));
    assertTrue(e.getMessage().contains("missing.onnx"), e.getMessage());
    assertFalse(Files.exists(csv), "the first model's row is not written alone");

    e = assertThrows(FcnException.class, () -> SideBySide.run(List.of(identity, identity),
        m -> options(m, data, null).savePredictions(dir.resolve("preds")), err));
    assertTrue(e.getMessage().contains("--save-predictions takes one model"), e.getMessage());
    e = assertThrows(FcnException.class, () -> SideBySide.run(List.of(identity), m -> options(m, data, null), err));
    assertTrue(e.getMessage().contains("at least two models"), e.getMessage());
  }
}
