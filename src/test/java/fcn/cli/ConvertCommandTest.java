package fcn.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.ExitCode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code fcn convert} as a user runs it: the summary, determinism, and every bad input. */
class ConvertCommandTest {
  static final Path FCN8S = Path.of("fixtures/caffe/fcn8s");
  static final Path VGG = Path.of("fixtures/caffe/vgg16");
  @TempDir Path tmp;

  @Test
  void convertsAndSummarisesDeterministically() throws Exception {
    Path a = tmp.resolve("a.onnx");
    Path b = tmp.resolve("b.onnx");
    CliRun r = CliRun.fcn("convert", FCN8S.resolve("deploy.prototxt").toString(),
        FCN8S.resolve("weights.caffemodel").toString(), "-o", a.toString());
    assertEquals(ExitCode.OK, r.code(), r.all());
    assertTrue(r.out().contains("inputs : data 1x3xheightxwidth"), r.out());
    assertTrue(r.out().contains("outputs: score 1x21xheightxwidth"), r.out());
    assertTrue(r.out().contains("ConvTranspose 3"), r.out());
    assertTrue(r.out().contains("params :"), r.out());
    CliRun again = CliRun.fcn("convert", FCN8S.resolve("deploy.prototxt").toString(),
        FCN8S.resolve("weights.caffemodel").toString(), "-o", b.toString());
    assertEquals(ExitCode.OK, again.code(), again.all());
    assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
  }

  @Test
  void caffemodelAloneAndFullyConvWork() {
    Path out = tmp.resolve("vgg.onnx");
    CliRun r = CliRun.fcn("convert", VGG.resolve("weights.caffemodel").toString(), "--fully-conv",
        "-o", out.toString());
    assertEquals(ExitCode.OK, r.code(), r.all());
    assertTrue(r.out().contains("prob 1x1000x"), r.out());
    assertFalse(r.out().contains("Gemm"), r.out());
  }

  private void assertBadInput(String expected, String... args) throws Exception {
    Path out = tmp.resolve("out.onnx");
    String[] full = Stream.concat(Stream.of("convert"), Stream.concat(Arrays.stream(args),
        Stream.of("-o", out.toString()))).toArray(String[]::new);
    CliRun r = CliRun.fcn(full);
    assertEquals(ExitCode.BAD_INPUT, r.code(), r.all());
    assertTrue(r.err().contains(expected), "expected '" + expected + "' in: " + r.err());
    assertEquals(1, r.err().strip().lines().count(), "one line, no stack trace: " + r.err());
    try (Stream<Path> left = Files.list(tmp)) {
      assertTrue(left.noneMatch(p -> p.getFileName().toString().contains("out.onnx")),
          "no output or temp file may be left");
    }
  }

  private Path write(String name, String text) throws Exception {
    return Files.writeString(tmp.resolve(name), text);
  }

  static final String INPUT = "layer { name: 'in' type: 'Input' top: 'data' "
      + "input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }\n";

  @Test
  void missingFile() throws Exception {
    assertBadInput("nope.prototxt: no such file", tmp.resolve("nope.prototxt").toString(),
        "--random-weights", "1");
  }

  @Test
  void truncatedAndRandomCaffemodels() throws Exception {
    byte[] good = Files.readAllBytes(VGG.resolve("weights.caffemodel"));
    Path cut = tmp.resolve("cut.caffemodel");
    Files.write(cut, Arrays.copyOf(good, good.length / 2));
    assertBadInput("cut.caffemodel", VGG.resolve("deploy.prototxt").toString(), cut.toString());
    byte[] noise = new byte[4096];
    new java.util.Random(3).nextBytes(noise);
    Path junk = tmp.resolve("junk.caffemodel");
    Files.write(junk, noise);
    assertBadInput("junk.caffemodel", VGG.resolve("deploy.prototxt").toString(), junk.toString());
  }

  @Test
  void prototxtSyntaxErrorNamesTheLine() throws Exception {
    Path p = write("syntax.prototxt", INPUT + "layer { name: 'c' type: 'Convolution'\n bottom 'data' top: 'c' }\n");
    assertBadInput("syntax.prototxt:3:", p.toString(), "--random-weights", "1");
  }

  @Test
  void weightsThatDisagreeWithThePrototxt() throws Exception {
    String text = Files.readString(VGG.resolve("deploy.prototxt"));
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("num_output: (\\d+)").matcher(text);
    assertTrue(m.find());
    String wider = text.substring(0, m.start()) + "num_output: " + (Integer.parseInt(m.group(1)) + 1)
        + text.substring(m.end());
    Path p = write("wider.prototxt", wider);
    assertBadInput("conv1_1", p.toString(), VGG.resolve("weights.caffemodel").toString());
  }

  @Test
  void unknownLayerTypesAreAllListed() throws Exception {
    Path p = write("unknown.prototxt", INPUT
        + "layer { name: 'a' type: 'Frobnicate' bottom: 'data' top: 'a' }\n"
        + "layer { name: 'b' type: 'Twiddle' bottom: 'a' top: 'b' }\n");
    CliRun r = CliRun.fcn("convert", p.toString(), "--random-weights", "1", "-o",
        tmp.resolve("out.onnx").toString());
    assertEquals(ExitCode.BAD_INPUT, r.code(), r.all());
    assertTrue(r.err().contains("'a'") && r.err().contains("Frobnicate")
        && r.err().contains("'b'") && r.err().contains("Twiddle"), r.err());
    assertFalse(Files.exists(tmp.resolve("out.onnx")));
  }

  @Test
  void aBottomThatNothingProduces() throws Exception {
    Path p = write("bottom.prototxt", INPUT
        + "layer { name: 'r' type: 'ReLU' bottom: 'ghost' top: 'r' }\n");
    assertBadInput("ghost", p.toString(), "--random-weights", "1");
  }

  @Test
  void aCycle() throws Exception {
    Path p = write("cycle.prototxt", INPUT
        + "layer { name: 'x' type: 'Eltwise' bottom: 'data' bottom: 'z' top: 'y' }\n"
        + "layer { name: 'w' type: 'ReLU' bottom: 'y' top: 'z' }\n");
    assertBadInput("'z'", p.toString(), "--random-weights", "1");
  }

  @Test
  void aPrototxtWithoutWeightsNeedsRandomWeights() throws Exception {
    assertBadInput("--random-weights", FCN8S.resolve("deploy.prototxt").toString());
  }
}
