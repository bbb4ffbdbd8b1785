package fcn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import fcn.core.ExitCode;
import fcn.data.Images;
import fcn.data.LabelMap;
import fcn.data.Palette;
import fcn.data.Sample;
import fcn.data.Dataset;
import fcn.data.SyntheticShapes;
import fcn.report.BenchRecord;
import fcn.report.BenchReport;
import fcn.testing.SubcommandHarness;
import fcn.testing.SharedData;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScoreCommandTest {
  @TempDir Path dir;

  /**
   * The published FCN-8s output for the VOC sample, scored by `fcn score`, must equal what an
   * independent numpy implementation of score.py (tools/score_reference.py) computes.
   */
  @Test
  void vocSampleMatchesIndependentScorePy() throws Exception {
    Path voc = SharedData.require("data/voc-sample");
    Path ref = voc.resolve("reference");
    Path report = dir.resolve("out/report.csv");
    SubcommandHarness.Result r = SubcommandHarness.run(new ScoreCommand(), "--predictions", ref.toString(), "--dataset", voc.toString(),
        "--report", report.toString(), "--model-name", "fcn8s-heavy-pascal");
    assertEquals(ExitCode.OK, r.exit(), r.toString());
    assertTrue(r.out().contains("mean IU") && r.out().contains("bicycle") && r.out().contains("person"), r.out());

    String json = runReference(List.of(
        voc.resolve("SegmentationClass/2007_000129.png").toString(),
        ref.resolve("2007_000129-fcn8s-heavy-pascal-output.png").toString()));

    List<BenchRecord> rows = BenchReport.read(report);
    assertEquals(1, rows.size());
    BenchRecord row = rows.get(0);
    assertEquals("voc-sample", row.dataset());
    assertEquals("val", row.split());
    assertEquals(1, row.images());
    assertEquals("fcn8s-heavy-pascal", row.modelName());
    assertNull(row.medianMs());
    // through the CSV, so the report's number formatting is checked to round-trip too
    assertEquals(number(json, "overall_acc"), row.pixelAcc(), 1e-9);
    assertEquals(number(json, "mean_acc"), row.meanAcc(), 1e-9);
    assertEquals(number(json, "mean_iu"), row.meanIu(), 1e-9);
    assertEquals(number(json, "fwavacc"), row.fwIu(), 1e-9);

    List<String> perClass = Files.readAllLines(BenchReport.classesFile(report));
    assertEquals("class,name,iu,accuracy,pixels", perClass.get(0));
    List<Double> iu = array(json, "iu");
    List<Double> acc = array(json, "acc");
    assertEquals(21, iu.size());
    long pixels = 0;
    for (int i = 0; i < 21; i++) {
      String[] f = perClass.get(i + 1).split(",", -1);
      assertEquals(Integer.toString(i), f[0]);
      assertEquals(iu.get(i) == null, f[2].isEmpty(), "class " + i + " NaN-ness of IU");
      if (iu.get(i) != null) {
        assertEquals(iu.get(i), Double.parseDouble(f[2]), 1e-9, "IU of class " + f[1]);
      }
      if (acc.get(i) != null) {
        assertEquals(acc.get(i), Double.parseDouble(f[3]), 1e-9, "accuracy of class " + f[1]);
      }
      pixels += Long.parseLong(f[4]);
    }
    assertEquals((long) number(json, "pixels"), pixels);
    List<String> confusion = Files.readAllLines(BenchReport.confusionFile(report));
    assertTrue(confusion.get(0).startsWith("label,background,aeroplane,"), confusion.get(0));
    assertEquals(22, confusion.size());
  }

  /**
   * CamVid (list file, ignore 11): labels scored against themselves count exactly the non-void
   * pixels, counted here independently from the raw PNG rasters.
   */
  @Test
  void camvidTotalIsNonVoidPixelCount() throws Exception {
    Path cam = SharedData.require("data/camvid");
    Dataset ds = Dataset.open(cam.resolve("test.txt"), null, 11);
    assertEquals(233, ds.samples().size());
    long nonVoid = 0;
    for (Sample s : ds.samples()) {
      java.awt.image.Raster raster = javax.imageio.ImageIO.read(s.label().toFile()).getRaster();
      int[] v = raster.getSamples(0, 0, raster.getWidth(), raster.getHeight(), 0, (int[]) null);
      for (int x : v) {
        nonVoid += x != 11 ? 1 : 0;
      }
    }
    Path report = dir.resolve("camvid.csv");
    SubcommandHarness.Result r = SubcommandHarness.run(new ScoreCommand(), "--predictions", cam.resolve("testannot").toString(),
        "--dataset", cam.resolve("test.txt").toString(), "--ignore-label", "11", "--report", report.toString());
    assertEquals(ExitCode.OK, r.exit(), r.toString());
    assertTrue(r.out().contains("pixels scored: " + nonVoid + " "), r.out());
    assertTrue(nonVoid < 233L * 480 * 360, "camvid has void pixels");
    BenchRecord row = BenchReport.read(report).get(0);
    assertEquals(1.0, row.pixelAcc());
    assertEquals(1.0, row.meanIu());
    assertEquals(233, row.images());
    assertEquals("camvid", row.dataset());
    assertEquals("test", row.split());
    long total = 0;
    for (String line : Files.readAllLines(BenchReport.classesFile(report)).subList(1, 12)) {
      total += Long.parseLong(line.substring(line.lastIndexOf(',') + 1));
    }
    assertEquals(nonVoid, total);
  }

  @Test
  void camvidWithoutIgnoreLabelExplainsTheVoidValue() {
    Path cam = SharedData.require("data/camvid");
    SubcommandHarness.Result r = SubcommandHarness.run(new ScoreCommand(), "--predictions", cam.resolve("testannot").toString(),
        "--dataset", cam.resolve("test.txt").toString());
    assertEquals(ExitCode.BAD_INPUT, r.exit(), r.toString());
    assertTrue(r.err().contains("label 11") && r.err().contains("ignore label (none given)"), r.err());
    assertEquals(1, r.err().strip().lines().count(), r.err());
  }

  @Test
  void syntheticPredictionsScoredAndErrorsAreOneLine() throws Exception {
    Path data = dir.resolve("shapes");
    SyntheticShapes.generate(data, SyntheticShapes.Config.defaults().withCounts(2, 3));
    Dataset ds = Dataset.open(data);
    Path pred = dir.resolve("pred");
    // perfect predictions for two samples, all-background for the third (with a suffix name)
    for (int i = 0; i < 3; i++) {
      Sample s = ds.samples().get(i);
      LabelMap l = Images.readLabel(s.label());
      String name = i == 2 ? s.id() + "-fcn8s.png" : s.id() + ".png";
      Images.writeIndexedPng(pred.resolve(name), i == 2 ? new LabelMap(64, 64, new int[64 * 64]) : l, Palette.voc());
    }
    SubcommandHarness.Result r = SubcommandHarness.run(new ScoreCommand(), "--predictions", pred.toString(), "--dataset", data.toString());
    assertEquals(ExitCode.OK, r.exit(), r.toString());
    assertTrue(r.out().contains("split val: 3 samples"), r.out());
    assertTrue(r.out().contains("triangle"), r.out());

    Files.delete(pred.resolve(ds.samples().get(0).id() + ".png"));
    r = SubcommandHarness.run(new ScoreCommand(), "--predictions", pred.toString(), "--dataset", data.toString());
    assertEquals(ExitCode.BAD_INPUT, r.exit(), r.toString());
    assertTrue(r.err().contains("no prediction for 1 of 3 samples") && r.err().contains(ds.samples().get(0).id()), r.err());

    Images.writeIndexedPng(pred.resolve(ds.samples().get(0).id() + ".png"), new LabelMap(2, 2, new int[4]), Palette.voc());
    r = SubcommandHarness.run(new ScoreCommand(), "--predictions", pred.toString(), "--dataset", data.toString());
    assertEquals(ExitCode.BAD_INPUT, r.exit(), r.toString());
    assertTrue(r.err().contains("prediction is 2x2 but label"), r.err());

    Images.writeIndexedPng(pred.resolve(ds.samples().get(0).id() + ".png"), new LabelMap(64, 64, filled(9)), Palette.voc());
    r = SubcommandHarness.run(new ScoreCommand(), "--predictions", pred.toString(), "--dataset", data.toString());
    assertEquals(ExitCode.BAD_INPUT, r.exit(), r.toString());
    assertTrue(r.err().contains("predicted class 9") && r.err().contains("outside 0..5"), r.err());

    r = SubcommandHarness.run(new ScoreCommand(), "--predictions", dir.resolve("nope").toString(), "--dataset", data.toString());
    assertEquals(ExitCode.BAD_INPUT, r.exit(), r.toString());
    assertTrue(r.err().startsWith(dir.resolve("nope").toString()), r.err());
  }

  private static int[] filled(int v) {
    int[] a = new int[64 * 64];
    java.util.Arrays.fill(a, v);
    return a;
  }

  private static String runReference(List<String> pairs) throws Exception {
    assumeTrue(new File("/usr/bin/python3").canExecute(), "no /usr/bin/python3: skipping the numpy cross-check");
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", "tools/score_reference.py"));
    cmd.addAll(pairs);
    Process p = new ProcessBuilder(cmd).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    int rc = p.waitFor();
    assumeTrue(rc != 3, "/usr/bin/python3 lacks numpy or PIL (apt-get install python3-numpy python3-pil): "
        + "skipping the numpy cross-check: " + err.strip());
    assertEquals(0, rc, "score_reference.py failed: " + err);
    return out;
  }

  private static double number(String json, String key) {
    Matcher m = Pattern.compile("\"" + key + "\": ([-0-9.eE+]+)").matcher(json);
    assertTrue(m.find(), key + " in " + json);
    return Double.parseDouble(m.group(1));
  }

  private static List<Double> array(String json, String key) {
    Matcher m = Pattern.compile("\"" + key + "\": \\[([^\\]]*)\\]").matcher(json);
    assertTrue(m.find(), key + " in " + json);
    List<Double> out = new ArrayList<>();
    for (String s : m.group(1).split(",")) {
      s = s.strip();
      out.add(s.equals("null") ? null : Double.parseDouble(s));
    }
    return out;
  }
}
