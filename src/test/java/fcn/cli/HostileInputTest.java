package fcn.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import fcn.core.ExitCode;
import fcn.data.Images;
import fcn.data.LabelMap;
import fcn.data.Palette;
import fcn.data.RgbImage;
import fcn.export.OnnxExporter;
import fcn.ir.Attrs;
import fcn.ir.DataType;
import fcn.ir.Dim;
import fcn.ir.Graph;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Variable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile input through the CLI (issue 14 and issue 9's leftovers): outputs that are devices,
 * FIFOs, folders or the run's own inputs; numeric options out of range; images that do not
 * decode. Each case: exit 2, one line naming what is wrong, nothing replaced, nothing left behind.
 */
class HostileInputTest {
  static final Path FCN8S = Path.of("fixtures/caffe/fcn8s");
  static final String INPUT = "layer { name: 'in' type: 'Input' top: 'data' "
      + "input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }\n"
      + "layer { name: 'c' type: 'Convolution' bottom: 'data' top: 'c' convolution_param { num_output: 2 kernel_size: 1 } }\n";

  @TempDir Path dir;

  static void assertBadInput(CliRun r, String... fragments) {
    assertEquals(ExitCode.BAD_INPUT, r.code(), r.all());
    String first = r.err().strip().lines().findFirst().orElse("");
    // picocli's usage errors add a "Try 'fcn X --help'." line; fcn's own errors are one line.
    long lines = r.err().strip().lines().filter(l -> !l.startsWith("Try '")).count();
    assertEquals(1, lines, r.err());
    assertTrue(first.length() < 300, first);
    for (String f : fragments) {
      assertTrue(r.err().contains(f), "expected '" + f + "' in: " + r.err());
    }
    assertTrue(!r.err().contains("Exception") && !r.err().contains("internal error"), r.err());
  }

  private void assertNoTempFiles(Path folder) throws Exception {
    if (!Files.exists(folder)) {
      return;
    }
    try (Stream<Path> s = Files.walk(folder)) {
      List<Path> tmp = s.filter(p -> p.getFileName().toString().endsWith(".tmp")
          || p.getFileName().toString().contains(".tmp")).toList();
      assertEquals(List.of(), tmp, "temp files left behind");
    }
  }

  private Path mkfifo(String name) throws Exception {
    Path f = dir.resolve(name);
    Process p = new ProcessBuilder("mkfifo", f.toString()).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes());
    assumeTrue(p.waitFor() == 0, "mkfifo not available: " + log);
    return f;
  }

  private Path prototxt() throws Exception {
    Path p = dir.resolve("net.prototxt");
    Files.writeString(p, "name: 'n'\n" + INPUT);
    return p;
  }

  // ---- outputs -------------------------------------------------------------------------------

  @Test
  void convertOntoAFifoIsRefusedAndTheFifoKept() throws Exception {
    Path fifo = mkfifo("out.onnx");
    CliRun r = CliRun.fcn("convert", prototxt().toString(), "--random-weights", "1", "-o", fifo.toString());
    assertBadInput(r, fifo.toString(), "is a FIFO");
    assertTrue(!Files.isRegularFile(fifo) && Files.exists(fifo), "the FIFO is still a FIFO");
    assertNoTempFiles(dir);
  }

  /** A /dev/null twin made in the test's folder (needs root, as CI runs; skips otherwise). */
  @Test
  void convertOntoADeviceNodeIsRefusedAndTheDeviceKept() throws Exception {
    Path dev = dir.resolve("null");
    Process p = new ProcessBuilder("mknod", dev.toString(), "c", "1", "3").redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes());
    assumeTrue(p.waitFor() == 0, "cannot mknod here (not root?): " + log.strip());
    CliRun r = CliRun.fcn("convert", prototxt().toString(), "--random-weights", "1", "-o", dev.toString());
    assertBadInput(r, dev.toString(), "is a character device");
    assertTrue(Files.exists(dev) && !Files.isRegularFile(dev), "the device node is still a device");
    assertNoTempFiles(dir);
  }

  @Test
  void convertOntoADirectoryIsRefused() throws Exception {
    Path d = Files.createDirectory(dir.resolve("out.onnx"));
    CliRun r = CliRun.fcn("convert", prototxt().toString(), "--random-weights", "1", "-o", d.toString());
    assertBadInput(r, d.toString(), "is a directory");
    assertTrue(Files.isDirectory(d));
    assertNoTempFiles(dir);
  }

  @Test
  void convertOntoAnInputOrALinkToOneIsRefusedAndTheInputKept() throws Exception {
    Path proto = dir.resolve("c.prototxt");
    Path model = dir.resolve("c.caffemodel");
    Files.copy(FCN8S.resolve("deploy.prototxt"), proto);
    Files.copy(FCN8S.resolve("weights.caffemodel"), model);
    byte[] protoBytes = Files.readAllBytes(proto);
    byte[] modelBytes = Files.readAllBytes(model);
    assertBadInput(CliRun.fcn("convert", proto.toString(), model.toString(), "-o", proto.toString()),
        "c.prototxt", "is an input of this run");
    assertBadInput(CliRun.fcn("convert", proto.toString(), model.toString(), "-o", model.toString()),
        "c.caffemodel", "is an input of this run");
    Path link = dir.resolve("link.onnx");
    Files.createSymbolicLink(link, proto.getFileName());
    assertBadInput(CliRun.fcn("convert", proto.toString(), model.toString(), "-o", link.toString()),
        "link.onnx", "the same file as " + proto, "is an input of this run");
    assertArrayEquals(protoBytes, Files.readAllBytes(proto));
    assertArrayEquals(modelBytes, Files.readAllBytes(model));
    assertTrue(Files.isSymbolicLink(link));
    // ONNX in, the same file out
    Path onnx = dir.resolve("m.onnx");
    assertEquals(ExitCode.OK, CliRun.fcn("convert", proto.toString(), model.toString(), "-o", onnx.toString()).code());
    byte[] onnxBytes = Files.readAllBytes(onnx);
    assertBadInput(CliRun.fcn("convert", onnx.toString(), "-o", onnx.toString()), "m.onnx", "is an input of this run");
    assertArrayEquals(onnxBytes, Files.readAllBytes(onnx));
    assertNoTempFiles(dir);
  }

  @Test
  void benchReportOntoAFifoOrTheModelIsRefusedBeforeRunning() throws Exception {
    Path model = tinyModel();
    Path fifo = mkfifo("report.csv");
    assertBadInput(CliRun.fcn("bench", model.toString(), "--device", "cpu", "--input-shape", "1,3,8,8",
        "--iterations", "1", "--warmup", "0", "--report", fifo.toString()), "report.csv", "is a FIFO");
    byte[] before = Files.readAllBytes(model);
    assertBadInput(CliRun.fcn("bench", model.toString(), "--device", "cpu", "--input-shape", "1,3,8,8",
        "--iterations", "1", "--warmup", "0", "--report", model.toString()), "tiny.onnx", "is an input of this run");
    assertArrayEquals(before, Files.readAllBytes(model));
    assertNoTempFiles(dir);
  }

  @Test
  void fixturesAndPredictionFoldersGetTheUsualMode() throws Exception {
    assumeTrue(java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("posix"), "not POSIX");
    Path plain = Files.createDirectory(dir.resolve("plain")); // what the umask gives a new folder
    Path fx = dir.resolve("fx");
    CliRun r = CliRun.fcn("fixtures", tinyModel().toString(), "-o", fx.toString(), "--input-shape", "1,3,8,8");
    assertEquals(ExitCode.OK, r.code(), r.all());
    assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(fx));
    Path preds = dir.resolve("preds");
    r = CliRun.fcn("bench", tinyModel().toString(), "--device", "cpu", "--dataset", dataset(2).toString(),
        "--warmup", "0", "--save-predictions", preds.toString());
    assertEquals(ExitCode.OK, r.code(), r.all());
    assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(preds));
    assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(preds.resolve("overlay")));
    assertNoTempFiles(dir);
  }

  @Test
  void pathsSayWhatTheyAreAndNoJavaWordsShowThrough() throws Exception {
    Path d = Files.createDirectory(dir.resolve("model.prototxt"));
    assertBadInput(CliRun.fcn("convert", d.toString(), "--random-weights", "1", "-o", dir.resolve("o.onnx").toString()),
        d.toString(), "is a directory");
    Path fifo = mkfifo("model.onnx");
    assertBadInput(CliRun.fcn("bench", fifo.toString(), "--device", "cpu"), fifo.toString(), "is a FIFO");
    Path file = Files.writeString(dir.resolve("preds.txt"), "x");
    assertBadInput(CliRun.fcn("score", "--predictions", file.toString(), "--dataset", dataset(1).toString()),
        file.toString(), "is a file, expected a folder");
    Path latin1 = dir.resolve("classes.txt");
    Files.write(latin1, "caf\u00e9\nb\nc\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    CliRun r = CliRun.fcn("bench", tinyModel().toString(), "--device", "cpu", "--dataset", dataset(1).toString(),
        "--warmup", "0", "--classes", latin1.toString());
    assertBadInput(r, "classes.txt", "not UTF-8");
    assertTrue(!r.err().contains("Input length"), r.err());
  }

  // ---- bounded options -----------------------------------------------------------------------

  @Test
  void threadCountsAndOtherNumbersAreBounded() throws Exception {
    String m = tinyModel().toString();
    assertBadInput(CliRun.fcn("bench", m, "--io-threads", "100000"), "--io-threads", "0 to " + Limits.MAX_IO_THREADS);
    assertBadInput(CliRun.fcn("bench", m, "--threads", "1000"), "--threads", "0 to " + Limits.MAX_THREADS);
    assertBadInput(CliRun.fcn("bench", m, "--threads", "-1"), "--threads");
    assertBadInput(CliRun.fcn("bench", m, "--warmup", "99999999"), "--warmup");
    assertBadInput(CliRun.fcn("bench", m, "--iterations", "0"), "--iterations");
    assertBadInput(CliRun.fcn("bench", m, "--duration", "1000000h"), "--duration", "24h");
    assertBadInput(CliRun.fcn("bench", m, "--ignore-label", "-1"), "--ignore-label", "0 to 255");
    assertBadInput(CliRun.fcn("bench", m, "--ignore-label", "256"), "--ignore-label", "0 to 255");
    assertBadInput(CliRun.fcn("score", "--predictions", dir.toString(), "--dataset", dir.toString(),
        "--ignore-label", "-1"), "--ignore-label", "0 to 255");
    assertBadInput(CliRun.fcn("bench", m, "--input-shape", "data=1,,3,48,64"), "empty dimension 2");
    assertBadInput(CliRun.fcn("bench", m, "--input-shape", "1,3,99999999999,64"), "99999999999");
    assertBadInput(CliRun.fcn("convert", prototxt().toString(), "--random-weights", "1", "--input-shape",
        "data=1,,3,48,64", "-o", dir.resolve("x.onnx").toString()), "empty dimension 2");
    assertBadInput(CliRun.fcn("convert", prototxt().toString(), "--random-weights", "1", "--input-shape",
        "data=1,3,-8,8", "-o", dir.resolve("x.onnx").toString()), "'-8'");
    assertTrue(Files.notExists(dir.resolve("x.onnx")));
    CliRun help = CliRun.fcn("bench", "--help");
    assertTrue(help.out().contains("0 to " + Limits.MAX_THREADS) && help.out().contains("0 to " + Limits.MAX_IO_THREADS),
        help.out());
  }

  @Test
  void preprocessingNumbersMustBeFinite() throws Exception {
    Path data = dataset(3);
    String m = tinyModel().toString();
    for (String[] bad : new String[][] {{"--scale", "NaN"}, {"--scale", "Infinity"}, {"--scale", "0"},
        {"--mean", "1,NaN,3"}, {"--std", "1,0,1"}, {"--std", "1,Infinity,1"}, {"--resize", "99999x10"}}) {
      CliRun r = CliRun.fcn("bench", m, "--device", "cpu", "--dataset", data.toString(), "--warmup", "0",
          bad[0], bad[1]);
      assertBadInput(r, bad[0]);
    }
  }

  // ---- images that do not decode -------------------------------------------------------------

  @Test
  void aTruncatedJpegFailsTheRunNamingItAndLeavesNoTempFile() throws Exception {
    Path data = dataset(6);
    Path victim = data.resolve("images/img03.jpg");
    byte[] j = Files.readAllBytes(victim);
    Files.write(victim, Arrays.copyOf(j, j.length / 2));
    Path preds = dir.resolve("preds");
    CliRun r = CliRun.fcn("bench", tinyModel().toString(), "--device", "cpu", "--dataset", data.toString(),
        "--warmup", "0", "--save-predictions", preds.toString(), "--report", dir.resolve("r.csv").toString());
    assertBadInput(r, victim.toString(), "truncated or corrupt");
    assertNoTempFiles(preds);
    assertTrue(Files.notExists(dir.resolve("r.csv")), "no report row for a failed run");
  }

  @Test
  void predictionsAreNeverWrittenIntoTheDatasetsLabels() throws Exception {
    Path data = dataset(2);
    byte[] label = Files.readAllBytes(data.resolve("labels/img00.png"));
    CliRun r = CliRun.fcn("bench", tinyModel().toString(), "--device", "cpu", "--dataset", data.toString(),
        "--warmup", "0", "--save-predictions", data.resolve("labels").toString());
    assertBadInput(r, "--save-predictions", "is the dataset's folder");
    assertArrayEquals(label, Files.readAllBytes(data.resolve("labels/img00.png")));
  }

  @Test
  void scoreOnAnEmptySplitIsExit2() throws Exception {
    Path voc = dir.resolve("VOC2012");
    Files.createDirectories(voc.resolve("ImageSets/Segmentation"));
    Files.createDirectories(voc.resolve("JPEGImages"));
    Files.createDirectories(voc.resolve("SegmentationClass"));
    Files.writeString(voc.resolve("ImageSets/Segmentation/val.txt"), "");
    Path preds = Files.createDirectories(dir.resolve("preds"));
    Images.writeIndexedPng(preds.resolve("x.png"), new LabelMap(2, 2, new int[4]), Palette.voc());
    CliRun r = CliRun.fcn("score", "--predictions", preds.toString(), "--dataset", voc.toString(), "--split", "val");
    assertBadInput(r, "no samples", "nothing to score");
    assertTrue(!r.out().contains("0 scored"), r.out());
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** data [1,3,H,W] -> 1x1 conv to 3 classes (argmax = the largest channel). */
  private Path tinyModel() {
    Path p = dir.resolve("tiny.onnx");
    if (Files.exists(p)) {
      return p;
    }
    Graph g = new Graph("tiny");
    Variable x = g.addInput("data", DataType.FLOAT,
        new Shape(List.of(Dim.of(1), Dim.of(3), Dim.symbol("height"), Dim.symbol("width"))));
    var w = g.addConstant("w", Tensor.ofFloats(new long[] {3, 3, 1, 1}, new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1}));
    g.setOutputs(List.of(g.add(Op.CONV, "score", List.of(x, w), "score", Attrs.of("kernel_shape", new long[] {1, 1}))));
    OnnxExporter.write(g, p, OnnxExporter.DEFAULT_OPSET);
    return p;
  }

  /** images/ID.jpg + labels/ID.png, 3 classes. */
  private Path dataset(int n) throws Exception {
    Path root = dir.resolve("data");
    Random rnd = new Random(3);
    for (int i = 0; i < n; i++) {
      int w = 48;
      int h = 40;
      byte[] rgb = new byte[3 * w * h];
      rnd.nextBytes(rgb);
      int[] label = new int[w * h];
      for (int k = 0; k < label.length; k++) {
        label[k] = rnd.nextInt(3);
      }
      String id = String.format("img%02d", i);
      Images.writeJpeg(root.resolve("images").resolve(id + ".jpg"), new RgbImage(w, h, rgb), 0.9f);
      Images.writeIndexedPng(root.resolve("labels").resolve(id + ".png"), new LabelMap(w, h, label), Palette.voc());
    }
    return root;
  }
}
