package fcn.cli;

import static fcn.cli.CliRun.fcn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fcn convert} on caffe-segnet layers (pooling mask, Upsample, DenseImageData): symbolic
 * H/W where the fork's sizes follow the input, static where upsample_h/w fix them, one-line
 * exit-2 errors on bad nets, and --verify, --against-caffe and fixtures refusing fork layers
 * by name.
 */
class SegnetCommandTest {
  @TempDir Path tmp;

  private static final String HEAD = "layer { name: 'd' type: 'DenseImageData' top: 'data'"
      + " top: 'label' dense_image_data_param { source: 'x.txt' batch_size: 1 } }\n"
      + "layer { name: 'pool' type: 'Pooling' bottom: 'data' top: 'pool' top: 'pool_mask'"
      + " pooling_param { pool: MAX kernel_size: 2 stride: 2 } }\n";

  private Path net(String name, String upsample) throws Exception {
    return Files.writeString(tmp.resolve(name + ".prototxt"), HEAD + upsample);
  }

  private static String up(String mask, String param) {
    return "layer { name: 'up' type: 'Upsample' bottom: 'pool' bottom: '" + mask + "' top: 'up'"
        + " upsample_param { " + param + " } }\n";
  }

  private static void oneLineExit2(CliRun r, String... expected) {
    assertEquals(2, r.code(), r.all());
    for (String e : expected) {
      assertTrue(r.err().contains(e), r.all());
    }
    assertEquals(1, r.err().strip().lines().count(), r.all());
    assertFalse(r.err().contains("at fcn."), r.all());
  }

  @Test
  void scaleUpsampleConvertsWithSymbolicSizeAndFixedOneStaysStatic() throws Exception {
    Path out = tmp.resolve("a.onnx");
    CliRun r = fcn("convert", net("scale", up("pool_mask", "scale: 2 pad_out_h: true")).toString(),
        "--random-weights", "1", "--input-shape", "data=1,3,9,10", "-o", out.toString());
    assertEquals(0, r.code(), r.all());
    assertTrue(r.out().contains("data 1x3xheightxwidth"), r.out());
    assertTrue(r.out().contains("ScatterElements 1"), r.out());

    Path fixed = tmp.resolve("b.onnx");
    r = fcn("convert", net("fixed", up("pool_mask", "upsample_h: 9 upsample_w: 10")).toString(),
        "--random-weights", "1", "--input-shape", "data=1,3,9,10", "-o", fixed.toString());
    assertEquals(0, r.code(), r.all());
    assertTrue(r.out().contains("data 1x3x9x10") && r.out().contains("up 1x3x9x10"), r.out());
  }

  @Test
  void badSegnetNetsAreOneLineExit2() throws Exception {
    Path out = tmp.resolve("x.onnx");
    oneLineExit2(fcn("convert", net("nomask", up("pool", "scale: 2")).toString(),
        "--random-weights", "1", "--input-shape", "data=1,3,8,8", "-o", out.toString()),
        "layer 'up' (Upsample): bottom 'pool' is not a pooling mask");
    oneLineExit2(fcn("convert", net("past", up("pool_mask", "upsample_h: 7 upsample_w: 8"))
        .toString(), "--random-weights", "1", "--input-shape", "data=1,3,8,8", "-o",
        out.toString()), "mask indices reach 63 (pooling bottom 8x8) but the output 7x8 has 56");
    Path crf = Files.writeString(tmp.resolve("crf.prototxt"), HEAD + up("pool_mask", "scale: 2")
        + "layer { name: 'crf' type: 'DenseCRF' bottom: 'up' bottom: 'data' top: 'crf' }\n");
    oneLineExit2(fcn("convert", crf.toString(), "--random-weights", "1", "-o", out.toString()),
        "'crf' (DenseCRF: post-processing outside the network");
    assertFalse(Files.exists(out));
  }

  @Test
  void verifyAndAgainstCaffeRefuseForkLayersByName() throws Exception {
    Path proto = net("v", up("pool_mask", "scale: 2"));
    Path model = Files.write(tmp.resolve("v.caffemodel"), new byte[0]);
    Path out = tmp.resolve("v.onnx");
    oneLineExit2(fcn("convert", proto.toString(), model.toString(), "--verify", "-o",
        out.toString()), "--verify runs BVLC Caffe, which cannot run fork layers: ",
        "(DenseImageData)", "(Upsample)");
    assertFalse(Files.exists(out));
    CliRun ok = fcn("convert", proto.toString(), "--random-weights", "1", "--input-shape",
        "data=1,3,8,8", "-o", out.toString());
    assertEquals(0, ok.code(), ok.all());
    oneLineExit2(fcn("validate", out.toString(), "--against-caffe", proto.toString(),
        model.toString()), "--against-caffe runs BVLC Caffe, which cannot run fork layers");
    oneLineExit2(fcn("fixtures", proto.toString(), model.toString(), "-o",
        tmp.resolve("fx").toString()), "runs BVLC Caffe, which cannot run fork layers");
    assertFalse(Files.exists(tmp.resolve("fx")));
  }
}
