package fcn.cli;

import static fcn.cli.CliRun.fcn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.proto.CaffeProto.BlobProto;
import fcn.proto.CaffeProto.BlobShape;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fcn convert} on nets with the forks' layers (Interp, the forks' BN): what converts,
 * the warning for caffe-segnet's batch-dependent LEARN mode, and the bad inputs, each exit 2
 * with one line naming the file and the layer; --verify and --against-caffe say that BVLC
 * Caffe cannot run fork layers instead of failing inside Caffe.
 */
class ForkLayersCommandTest {
  static final Path SHARED = Path.of("..", "shared");
  @TempDir Path tmp;

  private Path write(String name, String text) throws IOException {
    Path p = tmp.resolve(name);
    Files.writeString(p, text);
    return p;
  }

  private static final String DATA =
      "layer { name: \"data\" type: \"Input\" top: \"data\" input_param { shape { dim: 1 dim: 3"
          + " dim: 8 dim: 8 } } }\n";

  private static String bn(String params) {
    return DATA + "layer { name: \"bn\" type: \"BN\" bottom: \"data\" top: \"bn\" " + params
        + " }\n";
  }

  /** A caffemodel giving layer "bn" {@code blobs} blobs of 1x3x1x1. */
  private Path bnModel(int blobs) throws IOException {
    LayerParameter.Builder l = LayerParameter.newBuilder().setName("bn").setType("BN");
    for (int i = 0; i < blobs; i++) {
      BlobProto.Builder b = l.addBlobsBuilder();
      b.setShape(BlobShape.newBuilder().addDim(1).addDim(3).addDim(1).addDim(1));
      b.addData(1f).addData(2f).addData(3f);
    }
    Path p = tmp.resolve("bn.caffemodel");
    Files.write(p, NetParameter.newBuilder().addLayer(l).build().toByteArray());
    return p;
  }

  private static void assertOneLine(CliRun r, String... parts) {
    assertEquals(2, r.code(), r.all());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertFalse(r.err().contains("\tat "), r.err());
    for (String p : parts) {
      assertTrue(r.err().contains(p), "expected '" + p + "' in: " + r.err());
    }
  }

  @Test
  void positivePadBegIsRefused() throws Exception {
    Path net = write("pad.prototxt", DATA + "layer { name: \"up\" type: \"Interp\" bottom:"
        + " \"data\" top: \"up\" interp_param { zoom_factor: 2 pad_beg: 1 } }\n");
    Path out = tmp.resolve("pad.onnx");
    assertOneLine(fcn("convert", net.toString(), "--random-weights", "1", "-o", out.toString()),
        "pad.prototxt", "'up'", "pad_beg 1", "<= 0");
    assertFalse(Files.exists(out));
  }

  @Test
  void interpWithoutASizeIsRefused() throws Exception {
    Path net = write("nosize.prototxt", DATA + "layer { name: \"up\" type: \"Interp\" bottom:"
        + " \"data\" top: \"up\" }\n");
    assertOneLine(fcn("convert", net.toString(), "--random-weights", "1", "-o",
        tmp.resolve("n.onnx").toString()), "nosize.prototxt", "'up'", "zoom_factor");
  }

  @Test
  void bnWithTheWrongBlobCountIsRefused() throws Exception {
    // PSPNet's BN (told by its fields) has 4 blobs; caffe-segnet's has 2.
    Path psp = write("psp.prototxt", bn("bn_param { frozen: true }"));
    assertOneLine(fcn("convert", psp.toString(), bnModel(2).toString(), "-o",
        tmp.resolve("p.onnx").toString()), "'bn'", "2 blobs", "expected 4");
    Path segnet = write("segnet.prototxt", bn("bn_param { bn_mode: INFERENCE }"));
    assertOneLine(fcn("convert", segnet.toString(), bnModel(4).toString(), "-o",
        tmp.resolve("s.onnx").toString()), "'bn'", "4 blobs", "expected 2");
    assertEquals(0, fcn("convert", segnet.toString(), bnModel(2).toString(), "-o",
        tmp.resolve("ok.onnx").toString()).code());
  }

  @Test
  void learnModeWarnsThatTheOutputDependsOnTheBatch() throws Exception {
    Path net = write("learn.prototxt", bn("bn_param { scale_filler { value: 1 } }"));
    CliRun r = fcn("convert", net.toString(), bnModel(2).toString(), "-o",
        tmp.resolve("l.onnx").toString());
    assertEquals(0, r.code(), r.all());
    assertTrue(r.err().startsWith("fcn: warning: BN layer bn in bn_mode LEARN"), r.err());
    assertTrue(r.err().contains("depend on the batch"), r.err());
    Path inference = write("inf.prototxt", bn("bn_param { bn_mode: INFERENCE }"));
    CliRun quiet = fcn("convert", inference.toString(), bnModel(2).toString(), "-o",
        tmp.resolve("i.onnx").toString());
    assertEquals(0, quiet.code(), quiet.all());
    assertEquals("", quiet.err());
  }

  @Test
  void caffeReferenceChecksNameTheForkLayers() throws Exception {
    Path net = write("psp.prototxt", bn("bn_param { eps: 0.001 }")
        + "layer { name: \"up\" type: \"Interp\" bottom: \"bn\" top: \"up\""
        + " interp_param { zoom_factor: 2 } }\n");
    Path model = bnModel(4);
    Path out = tmp.resolve("v.onnx");
    assertOneLine(fcn("convert", net.toString(), model.toString(), "--verify", "-o",
        out.toString()), "psp.prototxt", "--verify", "cannot run fork layers", "bn (BN)",
        "up (Interp)");
    assertFalse(Files.exists(out));
    assertEquals(0, fcn("convert", net.toString(), model.toString(), "-o", out.toString())
        .code());
    assertOneLine(fcn("validate", out.toString(), "--against-caffe", net.toString(),
        model.toString()), "--against-caffe", "cannot run fork layers", "up (Interp)");
  }

  @Test
  void publishedPspnetConverts() throws Exception {
    Path src = SHARED.resolve("caffe/pspnet/pspnet50_ADE20K_473.prototxt");
    Assumptions.assumeTrue(Files.isRegularFile(src), "../shared not found: skipping");
    CliRun r = fcn("convert", src.toString(), "--random-weights", "3", "-o",
        tmp.resolve("psp.onnx").toString());
    assertEquals(0, r.code(), r.all());
    // The pyramid's fixed 60x60 Interps only fit the 473 input: H/W stay fixed.
    assertTrue(r.out().contains("data 1x3x473x473"), r.out());
    assertTrue(r.out().contains("conv6_interp 1x150x473x473"), r.out());
    assertTrue(r.out().contains("Resize 5"), r.out());
  }
}
