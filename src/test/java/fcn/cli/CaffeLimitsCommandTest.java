package fcn.cli;

import static fcn.cli.CliRun.fcn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.proto.CaffeProto.BlobProto;
import fcn.proto.CaffeProto.BlobShape;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.reference.caffe.CaffeBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Caffe numbers that would divide by zero, overflow an int or make Caffe's CHECKs abort the JVM
 * are refused by fcn's own checks, with exit 2 and one line naming the file, the layer and the
 * field, on every command: convert (with and without --verify), fixtures from a Caffe net and
 * validate --against-caffe. The Caffe commands run real Caffe in this JVM, so a value let
 * through would kill the test run (exit 134) instead of failing one test.
 */
class CaffeLimitsCommandTest {
  @TempDir Path tmp;

  /** data 1x3x16x16 -> conv1 (4 outputs, 3x3) with {@code extra} in its convolution_param. */
  private static String net(String type, String convParams) {
    return """
        name: "t"
        layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 16 dim: 16 } } }
        layer { name: "conv1" type: "%s" bottom: "data" top: "conv1" convolution_param { %s } }
        """.formatted(type, convParams);
  }

  private Path prototxt(String name, String text) throws IOException {
    Path p = tmp.resolve(name);
    Files.writeString(p, text);
    return p;
  }

  /** conv1's weights [4,3,3,3] and bias [4] (or, for a Deconvolution, [3,4,3,3]). */
  private Path caffemodel(String name, boolean deconv) throws IOException {
    long[] w = deconv ? new long[] {3, 4, 3, 3} : new long[] {4, 3, 3, 3};
    NetParameter net = NetParameter.newBuilder().setName("t").addLayer(LayerParameter.newBuilder()
        .setName("conv1").setType(deconv ? "Deconvolution" : "Convolution")
        .addBlobs(blob(w)).addBlobs(blob(4))).build();
    Path p = tmp.resolve(name);
    Files.write(p, net.toByteArray());
    return p;
  }

  private static BlobProto blob(long... dims) {
    BlobShape.Builder s = BlobShape.newBuilder();
    long n = 1;
    for (long d : dims) {
      s.addDim(d);
      n *= d;
    }
    BlobProto.Builder b = BlobProto.newBuilder().setShape(s);
    for (int i = 0; i < n; i++) {
      b.addData(0.01f * (i % 7));
    }
    return b.build();
  }

  @Test
  void convertRefusesBadConvolutionNumbers() throws IOException {
    String[][] cases = {
        {"Convolution", "num_output: 4 kernel_size: 3 stride: 0", "stride is 0; expected 1 to 2147483647"},
        {"Convolution", "num_output: 4 kernel_size: 3 dilation: 0", "dilation is 0; expected 1 to"},
        {"Convolution", "num_output: 4 kernel_size: 4294967295", "kernel_size is 4294967295; expected 1 to"},
        {"Convolution", "num_output: 4294967295 kernel_size: 3", "num_output is 4294967295; expected 1 to"},
        {"Convolution", "num_output: 2000000000 kernel_size: 3", "num_output 2000000000 with kernel 3 needs a weight blob of over"},
        {"Convolution", "num_output: 4 kernel_size: 3 group: 0", "group is 0; expected 1 to"},
        {"Convolution", "num_output: 4 kernel_size: 3 pad: 2000000000", "pad 2000000000 on spatial axis 0 makes the padded bottom"},
        {"Convolution", "num_output: 4 kernel_size: 3 pad_h: 4294967295", "pad_h is 4294967295; expected 0 to"},
        {"Deconvolution", "num_output: 4 kernel_size: 3 stride: 0", "stride is 0; expected 1 to"},
        {"Deconvolution", "num_output: 4 kernel_size: 3 dilation: 0", "dilation is 0; expected 1 to"},
    };
    for (String[] c : cases) {
      Path p = prototxt("bad.prototxt", net(c[0], c[1]));
      Path out = tmp.resolve("out.onnx");
      CliRun r = fcn("convert", p.toString(), "--random-weights", "1", "-o", out.toString());
      assertRefused(r, p + ": layer 'conv1' (" + c[0] + "): ", c[2]);
      assertNothingWritten(out);
    }
  }

  @Test
  void convertRefusesBadPoolingNumbers() throws IOException {
    String head = net("Convolution", "num_output: 4 kernel_size: 3");
    for (String[] c : new String[][] {{"kernel_size: 0", "kernel_size is 0"}, {"kernel_size: 2 stride: 0", "stride is 0"},
        {"kernel_size: 2 pad: 4294967295", "pad is 4294967295"},
        {"kernel_size: 2100000000 pad: 1500000000", "pad 1500000000x1500000000 makes the padded bottom over"}}) {
      Path p = prototxt("pool.prototxt", head + "layer { name: \"pool1\" type: \"Pooling\" bottom: \"conv1\" top: \"pool1\""
          + " pooling_param { pool: MAX " + c[0] + " } }\n");
      CliRun r = fcn("convert", p.toString(), "--random-weights", "1", "-o", tmp.resolve("out.onnx").toString());
      assertRefused(r, p + ": layer 'pool1' (Pooling): ", c[1]);
    }
  }

  @Test
  void duplicateLayerNamesAreRefused() throws IOException {
    Path p = prototxt("dup.prototxt", net("Convolution", "num_output: 4 kernel_size: 3")
        + "layer { name: \"conv1\" type: \"ReLU\" bottom: \"conv1\" top: \"relu1\" }\n");
    Path out = tmp.resolve("out.onnx");
    CliRun r = fcn("convert", p.toString(), caffemodel("w.caffemodel", false).toString(), "-o", out.toString());
    assertRefused(r, p + ": layers 2 and 3 are both named 'conv1'", "unique layer names");
    assertNothingWritten(out);
  }

  @Test
  void blobsOverCaffesLimitAreRefusedByConvert() throws IOException {
    Path good = prototxt("good.prototxt", net("Convolution", "num_output: 4 kernel_size: 3"));
    CliRun r = fcn("convert", good.toString(), "--random-weights", "1", "--input-shape", "data=1,3,99999999999,64",
        "-o", tmp.resolve("out.onnx").toString());
    // The option parser refuses the size before any import...
    assertRefused(r, "'99999999999' is not a size from 1 to 2147483647");
    // ...and the importer refuses it when the prototxt itself declares it.
    Path huge = prototxt("huge.prototxt", net("Convolution", "num_output: 4 kernel_size: 3")
        .replace("dim: 16 dim: 16", "dim: 99999999999 dim: 64"));
    r = fcn("convert", huge.toString(), "--random-weights", "1", "-o", tmp.resolve("out.onnx").toString());
    assertRefused(r, huge + ": input 'data' has shape 1x3x99999999999x64; expected sizes 1 to 2147483647");
    r = fcn("convert", good.toString(), "--random-weights", "1", "--input-shape", "data=1,3,30000,30000",
        "-o", tmp.resolve("out.onnx").toString());
    assertRefused(r, good + ": blob 'data' would be 1x3x30000x30000, over 2147483647 elements");
    assertNothingWritten(tmp.resolve("out.onnx"));
  }

  @Test
  void verifyChecksTheInputShapeBeforeCaffe() throws IOException {
    assumeCaffe();
    Path good = prototxt("good.prototxt", net("Convolution", "num_output: 4 kernel_size: 3"));
    Path w = caffemodel("w.caffemodel", false);
    Path out = tmp.resolve("out.onnx");
    CliRun r = fcn("convert", good.toString(), w.toString(), "--input-shape", "data=1,3,99999999999,64", "--verify",
        "-o", out.toString());
    assertRefused(r, "'99999999999' is not a size from 1 to 2147483647");
    assertNothingWritten(out);
    Path huge = prototxt("huge.prototxt", net("Convolution", "num_output: 4 kernel_size: 3")
        .replace("dim: 16 dim: 16", "dim: 99999999999 dim: 64"));
    r = fcn("convert", huge.toString(), w.toString(), "--verify", "-o", out.toString());
    assertRefused(r, "input 'data' has shape 1x3x99999999999x64; expected sizes 1 to 2147483647");
    assertNothingWritten(out);
    // The JVM is alive and the same pair verifies at a sane size.
    CliRun ok = fcn("convert", good.toString(), w.toString(), "--verify", "-o", out.toString());
    assertEquals(0, ok.code(), ok.all());
  }

  @Test
  void fixturesFromCaffeRefusesWhatWouldAbortCaffe() throws IOException {
    assumeCaffe();
    Path w = caffemodel("w.caffemodel", false);
    Path fx = tmp.resolve("fx");
    Path pad = prototxt("pad.prototxt", net("Convolution", "num_output: 4 kernel_size: 3 pad: 2000000000"));
    assertRefused(fcn("fixtures", pad.toString(), w.toString(), "-o", fx.toString()),
        "pad.prototxt", "layer 'conv1' (Convolution): pad 2000000000 on spatial axis 0");
    assertNothingWritten(fx);
    Path stride = prototxt("stride.prototxt", net("Convolution", "num_output: 4 kernel_size: 3 stride: 0"));
    assertRefused(fcn("fixtures", stride.toString(), w.toString(), "-o", fx.toString()),
        "stride.prototxt: layer 'conv1' (Convolution): stride is 0");
    assertNothingWritten(fx);
    Path deconv = prototxt("deconv.prototxt", net("Deconvolution", "num_output: 4 kernel_size: 3 stride: 0"));
    assertRefused(fcn("fixtures", deconv.toString(), caffemodel("d.caffemodel", true).toString(), "-o", fx.toString()),
        "deconv.prototxt: layer 'conv1' (Deconvolution): stride is 0");
    Path dup = prototxt("dup.prototxt", net("Convolution", "num_output: 4 kernel_size: 3")
        + "layer { name: \"conv1\" type: \"ReLU\" bottom: \"conv1\" top: \"relu1\" }\n");
    assertRefused(fcn("fixtures", dup.toString(), w.toString(), "-o", fx.toString()),
        "dup.prototxt: layers 2 and 3 are both named 'conv1'");
    Path good = prototxt("good.prototxt", net("Convolution", "num_output: 4 kernel_size: 3"));
    assertRefused(fcn("fixtures", good.toString(), w.toString(), "--input-shape", "data=1,3,99999999999,64",
        "-o", fx.toString()), "'99999999999' is not a size from 1 to 2147483647");
    assertNothingWritten(fx);
    Path huge = prototxt("huge.prototxt", net("Convolution", "num_output: 4 kernel_size: 3")
        .replace("dim: 16 dim: 16", "dim: 99999999999 dim: 64"));
    assertRefused(fcn("fixtures", huge.toString(), w.toString(), "-o", fx.toString()),
        "input 'data' has shape 1x3x99999999999x64");
    assertNothingWritten(fx);
  }

  /** A blob that is small at width 1 but over 2^31 - 1 elements at the net's real width. */
  @Test
  void fixturesFromCaffeRefusesABlobOverTheLimitAtFullWidth() throws IOException {
    assumeCaffe();
    Path p = prototxt("wide.prototxt", """
        name: "t"
        layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 dim: 8 dim: 8 } } }
        layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 8 kernel_size: 1 } }
        layer { name: "conv2" type: "Convolution" bottom: "conv1" top: "conv2" convolution_param { num_output: 2 kernel_size: 1 } }
        """);
    NetParameter weights = NetParameter.newBuilder().setName("t")
        .addLayer(LayerParameter.newBuilder().setName("conv1").setType("Convolution").addBlobs(blob(8, 1, 1, 1)).addBlobs(blob(8)))
        .addLayer(LayerParameter.newBuilder().setName("conv2").setType("Convolution").addBlobs(blob(2, 8, 1, 1)).addBlobs(blob(2)))
        .build();
    Path w = tmp.resolve("wide.caffemodel");
    Files.write(w, weights.toByteArray());
    Path fx = tmp.resolve("fx");
    // 1x1x20000x20000 is 4e8 elements; conv1 makes 8 x 4e8 = 3.2e9, over Caffe's int.
    assertRefused(fcn("fixtures", p.toString(), w.toString(), "--input-shape", "data=1,1,20000,20000", "-o", fx.toString()),
        "layer 'conv1' would make a 1x8x20000x20000 blob, over 2147483647 elements");
    assertNothingWritten(fx);
    // The same net at its own size runs in Caffe.
    CliRun ok = fcn("fixtures", p.toString(), w.toString(), "-o", fx.toString());
    assertEquals(0, ok.code(), ok.all());

    // Two 4-wide branches are each under the limit; their channel Concat (8 x 4e8) is not.
    Path c = prototxt("concat.prototxt", """
        name: "t"
        layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 dim: 8 dim: 8 } } }
        layer { name: "a" type: "Convolution" bottom: "data" top: "a" convolution_param { num_output: 4 kernel_size: 1 } }
        layer { name: "relu_a" type: "ReLU" bottom: "a" top: "a" }
        layer { name: "b" type: "Convolution" bottom: "data" top: "b" convolution_param { num_output: 4 kernel_size: 1 } }
        layer { name: "cat" type: "Concat" bottom: "a" bottom: "b" top: "cat" }
        layer { name: "score" type: "Convolution" bottom: "cat" top: "score" convolution_param { num_output: 2 kernel_size: 1 } }
        """);
    NetParameter cw = NetParameter.newBuilder().setName("t")
        .addLayer(LayerParameter.newBuilder().setName("a").setType("Convolution").addBlobs(blob(4, 1, 1, 1)).addBlobs(blob(4)))
        .addLayer(LayerParameter.newBuilder().setName("b").setType("Convolution").addBlobs(blob(4, 1, 1, 1)).addBlobs(blob(4)))
        .addLayer(LayerParameter.newBuilder().setName("score").setType("Convolution").addBlobs(blob(2, 8, 1, 1)).addBlobs(blob(2)))
        .build();
    Path cwFile = tmp.resolve("concat.caffemodel");
    Files.write(cwFile, cw.toByteArray());
    Path fx2 = tmp.resolve("fx2");
    assertRefused(fcn("fixtures", c.toString(), cwFile.toString(), "--input-shape", "data=1,1,20000,20000", "-o", fx2.toString()),
        "layer 'cat' would make a 1x8x20000x20000 blob, over 2147483647 elements");
    assertNothingWritten(fx2);
    CliRun okc = fcn("fixtures", c.toString(), cwFile.toString(), "-o", fx2.toString());
    assertEquals(0, okc.code(), okc.all());
  }

  @Test
  void validateAgainstCaffeRefusesAHugePadAndStaysAlive() throws IOException {
    assumeCaffe();
    Path good = prototxt("good.prototxt", net("Convolution", "num_output: 4 kernel_size: 3"));
    Path w = caffemodel("w.caffemodel", false);
    Path onnx = tmp.resolve("good.onnx");
    CliRun c = fcn("convert", good.toString(), w.toString(), "-o", onnx.toString());
    assertEquals(0, c.code(), c.all());
    Path pad = prototxt("pad.prototxt", net("Convolution", "num_output: 4 kernel_size: 3 pad: 2000000000"));
    Path report = tmp.resolve("v.csv");
    CliRun r = fcn("validate", onnx.toString(), "--against-caffe", pad.toString(), w.toString(), "--device", "cpu",
        "--report", report.toString());
    assertRefused(r, "pad.prototxt", "layer 'conv1' (Convolution): pad 2000000000 on spatial axis 0");
    assertFalse(Files.exists(report));
    CliRun ok = fcn("validate", onnx.toString(), "--against-caffe", good.toString(), w.toString(), "--device", "cpu");
    assertEquals(0, ok.code(), ok.all());
  }

  // ---- Helpers -------------------------------------------------------------------------------

  private static void assumeCaffe() {
    Assumptions.assumeTrue(CaffeBackend.available(), "real Caffe is not on the test class path: skipping");
  }

  private static void assertRefused(CliRun r, String... words) {
    assertEquals(2, r.code(), r.all());
    for (String w : words) {
      assertTrue(r.err().contains(w), "expected '" + w + "' in: " + r.err());
    }
    assertEquals(1, r.err().strip().lines().count(), "one line, no stack trace: " + r.err());
  }

  private static void assertNothingWritten(Path out) {
    assertFalse(Files.exists(out), out + " must not be written");
    try (Stream<Path> s = Files.list(out.getParent())) {
      List<String> left = s.map(p -> p.getFileName().toString())
          .filter(n -> n.startsWith("." + out.getFileName())).toList();
      assertTrue(left.isEmpty(), "temp files left: " + left);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
