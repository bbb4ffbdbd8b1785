package fcn.frontend.caffe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import fcn.core.FcnException;
import fcn.ir.Graph;
import fcn.runtime.FloatTensor;
import fcn.testing.TestOnnx;
import fcn.testing.TestOnnx.Array;
import fcn.validate.NpyIO;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * caffe-segnet's MAX pooling mask and Upsample: the mask against real BVLC Caffe (which has
 * the mask top too), ties included; the probe nets of issue 10 against an independent numpy
 * implementation of the fork's semantics (tools/segnet_reference.py), at the import size and,
 * where the net allows, at other sizes with symbolic H and W.
 */
class SegnetLayersTest {
  @TempDir Path tmp;

  private static final CaffeImportOptions RANDOM =
      CaffeImportOptions.defaults().withRandomWeightsSeed(1L);

  private static String input(int c, int h, int w) {
    return "layer { name: 'in' type: 'Input' top: 'data' input_param { shape { dim: 2 dim: " + c
        + " dim: " + h + " dim: " + w + " } } }\n";
  }

  private static String pool(String name, String pool, int k, int s, int p, String bottom,
      boolean mask) {
    return "layer { name: '" + name + "' type: 'Pooling' bottom: '" + bottom + "' top: '" + name
        + "'" + (mask ? " top: '" + name + "_mask'" : "") + " pooling_param { pool: " + pool
        + " kernel_size: " + k + " stride: " + s + " pad: " + p + " } }\n";
  }

  private static String upsample(String data, String mask, String param) {
    return "layer { name: 'up' type: 'Upsample' bottom: '" + data + "' bottom: '" + mask
        + "' top: 'up' upsample_param { " + param + " } }\n";
  }

  /** Small integers: many exact ties inside pooling windows. */
  private static Array ties(long seed, long... shape) {
    Array a = Array.gaussian(seed, 1f, shape);
    SplittableRandom r = new SplittableRandom(seed);
    float[] d = a.data();
    for (int i = 0; i < d.length; i++) {
      d[i] = r.nextInt(3);
    }
    return a;
  }

  private Graph load(String text, String name) throws Exception {
    Path proto = Files.writeString(tmp.resolve(name + ".prototxt"), text);
    return CaffeImporter.importNet(proto, null, RANDOM);
  }

  @Test
  void maskMatchesRealCaffeWithTiesAtManySizes() throws Exception {
    List<String> failures = new ArrayList<>();
    int cases = 0;
    int[][] geoms = {{2, 2, 0}, {3, 2, 0}, {3, 2, 1}, {2, 1, 0}, {3, 3, 1}, {4, 3, 2}};
    for (int[] kp : geoms) {
      String text = input(3, 9, 11) + pool("pool", "MAX", kp[0], kp[1], kp[2], "data", true);
      Path proto = Files.writeString(tmp.resolve("m" + cases + ".prototxt"), text);
      Graph g = CaffeImporter.importNet(proto, null, RANDOM);
      TestOnnx.makeSpatialDynamic(g);
      try (CaffeRef caffe = new CaffeRef(proto, null)) {
        for (int[] hw : new int[][] {{9, 11}, {8, 8}, {13, 10}}) {
          for (boolean tie : new boolean[] {true, false}) {
            Array x = tie ? ties(cases, 2, 3, hw[0], hw[1])
                : Array.gaussian(cases, 1f, 2, 3, hw[0], hw[1]);
            Map<String, Array> ref = caffe.forward(Map.of("data", x), List.of("pool", "pool_mask"));
            Map<String, Array> got = TestOnnx.run(g, Map.of("data", x));
            cases++;
            for (String out : List.of("pool", "pool_mask")) {
              double err = got.get(out).maxAbsDiff(ref.get(out));
              if (!(err == 0)) {
                failures.add(String.format("k%d s%d p%d %dx%d ties=%b %s: err %g", kp[0], kp[1],
                    kp[2], hw[0], hw[1], tie, out, err));
              }
            }
          }
        }
      }
    }
    assertEquals(36, cases);
    assertTrue(failures.isEmpty(), String.join("\n", failures));
  }

  /** Runs tools/segnet_reference.py on a spec and returns the outputs it wrote. */
  static Map<String, Array> reference(Path dir, String layersJson, Map<String, Array> inputs,
      List<String> outputs) throws Exception {
    assumeTrue(new File("/usr/bin/python3").canExecute(),
        "no /usr/bin/python3: skipping the numpy reference for caffe-segnet layers");
    Files.createDirectories(dir);
    StringBuilder in = new StringBuilder();
    for (Map.Entry<String, Array> e : inputs.entrySet()) {
      NpyIO.writeNpy(dir.resolve(e.getKey() + ".in.npy"),
          new FloatTensor(e.getValue().data(), e.getValue().shape()));
      in.append(in.length() == 0 ? "" : ", ").append('"').append(e.getKey()).append("\": \"")
          .append(e.getKey()).append(".in.npy\"");
    }
    String outs = String.join(", ", outputs.stream().map(o -> "\"" + o + "\"").toList());
    Files.writeString(dir.resolve("spec.json"), "{\"inputs\": {" + in + "}, \"outputs\": ["
        + outs + "], \"layers\": [" + layersJson + "]}");
    Process p = new ProcessBuilder("/usr/bin/python3", "tools/segnet_reference.py",
        dir.toString()).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes());
    int rc = p.waitFor();
    assumeTrue(rc != 3, "/usr/bin/python3 lacks numpy: skipping the caffe-segnet reference");
    assertEquals(0, rc, "segnet_reference.py failed: " + log);
    Map<String, Array> got = new LinkedHashMap<>();
    for (String o : outputs) {
      FloatTensor t = NpyIO.readNpy(dir.resolve(o + ".npy")).tensor();
      got.put(o, new Array(t.shape(), t.data()));
    }
    return got;
  }

  private static String poolJson(String name, String pool, int k, int s, int p, String bottom,
      boolean mask) {
    return "{\"type\": \"Pooling\", \"bottom\": [\"" + bottom + "\"], \"top\": [\"" + name + "\""
        + (mask ? ", \"" + name + "_mask\"" : "") + "], \"pool\": \"" + pool + "\", \"kernel\": ["
        + k + ", " + k + "], \"stride\": [" + s + ", " + s + "], \"pad\": [" + p + ", " + p + "]}";
  }

  private static String upJson(String data, String mask, String params) {
    return "{\"type\": \"Upsample\", \"bottom\": [\"" + data + "\", \"" + mask
        + "\"], \"top\": [\"up\"]" + (params.isEmpty() ? "" : ", " + params) + "}";
  }

  /** One probe: the net, its reference spec, the import size and the other sizes to run. */
  private record Probe(String name, String net, String spec, int[][] sizes, boolean dynamic) {}

  @Test
  void probeNetsMatchTheForkSemantics() throws Exception {
    List<Probe> probes = List.of(
        // MAX pool 2/2 on 9x11 with its mask, then Upsample back to 9x11.
        new Probe("pool22_9x11", input(3, 9, 11) + pool("pool", "MAX", 2, 2, 0, "data", true)
            + upsample("pool", "pool_mask", "upsample_h: 9 upsample_w: 11"),
            poolJson("pool", "MAX", 2, 2, 0, "data", true) + ", "
                + upJson("pool", "pool_mask", "\"upsample_h\": 9, \"upsample_w\": 11"),
            new int[][] {{9, 11}}, false),
        // scale: 2 without pad_out: 8x10 -> 4x5 -> 8x10, and any even size.
        new Probe("scale2", input(3, 8, 10) + pool("pool", "MAX", 2, 2, 0, "data", true)
            + upsample("pool", "pool_mask", "scale: 2"),
            poolJson("pool", "MAX", 2, 2, 0, "data", true) + ", "
                + upJson("pool", "pool_mask", "\"scale\": 2"),
            new int[][] {{8, 10}, {12, 6}, {9, 11}}, true),
        // scale: 2 with pad_out_h: 9x10 -> 5x5 -> 9x10; at 13x7: 7x4 -> 13x8.
        new Probe("scale2_pad_out_h", input(3, 9, 10) + pool("pool", "MAX", 2, 2, 0, "data", true)
            + upsample("pool", "pool_mask", "scale: 2 pad_out_h: true"),
            poolJson("pool", "MAX", 2, 2, 0, "data", true) + ", "
                + upJson("pool", "pool_mask", "\"scale\": 2, \"pad_out_h\": true"),
            new int[][] {{9, 10}, {13, 7}}, true),
        // Overlapping windows (kernel 3, stride 2): indices repeat. The unpooled data is an AVE
        // pooling of the same geometry, so repeated indices carry different values and only
        // the fork's raster order (the later write wins) gives the reference.
        new Probe("overlap32", input(3, 9, 11) + pool("pool", "MAX", 3, 2, 0, "data", true)
            + pool("ave", "AVE", 3, 2, 0, "data", false)
            + upsample("ave", "pool_mask", "upsample_h: 9 upsample_w: 11"),
            poolJson("pool", "MAX", 3, 2, 0, "data", true) + ", "
                + poolJson("ave", "AVE", 3, 2, 0, "data", false) + ", "
                + upJson("ave", "pool_mask", "\"upsample_h\": 9, \"upsample_w\": 11"),
            new int[][] {{9, 11}}, false));
    int runs = 0;
    boolean sawRepeat = false;
    for (Probe pr : probes) {
      Graph g = load(pr.net(), pr.name());
      if (pr.dynamic()) {
        TestOnnx.makeSpatialDynamic(g);
      }
      for (int[] hw : pr.sizes()) {
        for (boolean tie : new boolean[] {false, true}) {
          Array x = tie ? ties(runs, 2, 3, hw[0], hw[1])
              : Array.gaussian(runs, 1f, 2, 3, hw[0], hw[1]);
          Array ref = reference(tmp.resolve(pr.name() + "_" + runs), pr.spec(),
              Map.of("data", x), List.of("up")).get("up");
          Array got = TestOnnx.run(g, Map.of("data", x)).get("up");
          double err = got.maxAbsDiff(ref);
          assertTrue(err <= 1e-4 * ref.maxAbs(), pr.name() + " at " + hw[0] + "x" + hw[1]
              + " ties=" + tie + ": max|err| " + err + " over max|ref| " + ref.maxAbs()
              + " (shapes " + got.shapeString() + " vs " + ref.shapeString() + ")");
          runs++;
        }
      }
      if (pr.name().equals("overlap32")) {
        sawRepeat = true;
      }
    }
    assertEquals(14, runs);
    assertTrue(sawRepeat);
  }

  @Test
  void overlappingProbeReallyRepeatsIndices() throws Exception {
    // Guards the probe above: with kernel 3 / stride 2 some pooled values share an index.
    String text = input(3, 9, 11) + pool("pool", "MAX", 3, 2, 0, "data", true);
    Graph g = load(text, "rep");
    Array mask = TestOnnx.run(g, Map.of("data", Array.gaussian(0, 1f, 2, 3, 9, 11)))
        .get("pool_mask");
    java.util.Set<Float> seen = new java.util.HashSet<>();
    boolean repeat = false;
    for (int i = 0; i < 20; i++) { // the first (n, c) plane: 4 x 5 pooled values
      repeat |= !seen.add(mask.data()[i]);
    }
    assertTrue(repeat, "no repeated index in the first plane");
  }

  @Test
  void upsampleWithoutAPoolingMaskIsRefused() throws Exception {
    String text = input(3, 8, 10) + pool("pool", "MAX", 2, 2, 0, "data", true)
        + pool("ave", "AVE", 2, 2, 0, "data", false) + upsample("pool", "ave", "scale: 2");
    FcnException e = assertThrows(FcnException.class, () -> load(text, "nomask"));
    assertTrue(e.getMessage().contains("layer 'up' (Upsample): bottom 'ave' is not a pooling"
        + " mask"), e.getMessage());
  }

  @Test
  void indexPastTheOutputIsRefused() throws Exception {
    String text = input(3, 9, 11) + pool("pool", "MAX", 2, 2, 0, "data", true)
        + upsample("pool", "pool_mask", "upsample_h: 8 upsample_w: 11");
    FcnException e = assertThrows(FcnException.class, () -> load(text, "past"));
    assertTrue(e.getMessage().contains("layer 'up' (Upsample): mask indices reach 98 (pooling"
        + " bottom 9x11) but the output 8x11 has 88 positions"), e.getMessage());
  }

  @Test
  void denseCrfIsRefusedAsPostProcessing() throws Exception {
    String text = input(3, 8, 8) + "layer { name: 'crf' type: 'DenseCRF' bottom: 'data'"
        + " bottom: 'data' top: 'crf' }\n";
    FcnException e = assertThrows(FcnException.class, () -> load(text, "crf"));
    assertTrue(e.getMessage().contains("'crf' (DenseCRF: post-processing outside the network"),
        e.getMessage());
    assertTrue(e.getMessage().length() <= 220, e.getMessage());
  }

  @Test
  void denseImageDataFirstTopIsTheInputAndItsLabelIsDropped() throws Exception {
    String text = "layer { name: 'd' type: 'DenseImageData' top: 'data' top: 'label'"
        + " dense_image_data_param { source: 'x.txt' batch_size: 2 new_height: 8 new_width: 10 }"
        + " }\n"
        + pool("pool", "MAX", 2, 2, 0, "data", true) + upsample("pool", "pool_mask", "scale: 2");
    Graph g = load(text, "dense");
    assertEquals(1, g.inputs().size());
    assertEquals("data", g.inputs().get(0).name());
    assertEquals("2x3x8x10", g.inputs().get(0).shape().toString());
    assertEquals(List.of("up"), TestOnnx.outputNames(g));
  }

  @Test
  void forkFieldNumbersInABinaryCaffemodelAreRead() throws Exception {
    // caffe-segnet writes upsample_param as field 137 and dense_image_data_param as 138, which
    // fcn's BVLC schema reads as embed_param and tile_param: their bytes are re-read.
    var dense = fcn.proto.CaffeProto.DenseImageDataParameter.newBuilder().setSource("x.txt")
        .setBatchSize(2).setNewHeight(9).setNewWidth(11).build();
    var up = fcn.proto.CaffeProto.UpsampleParameter.newBuilder().setUpsampleH(9)
        .setUpsampleW(11).build();
    var net = fcn.proto.CaffeProto.NetParameter.newBuilder()
        .addLayer(fcn.proto.CaffeProto.LayerParameter.newBuilder().setName("d")
            .setType("DenseImageData").addTop("data").addTop("label")
            .setTileParam(fcn.proto.CaffeProto.TileParameter.parseFrom(dense.toByteString())))
        .addLayer(fcn.proto.CaffeProto.LayerParameter.newBuilder().setName("pool")
            .setType("Pooling").addBottom("data").addTop("pool").addTop("pool_mask")
            .setPoolingParam(fcn.proto.CaffeProto.PoolingParameter.newBuilder().setKernelSize(2)
                .setStride(2)))
        .addLayer(fcn.proto.CaffeProto.LayerParameter.newBuilder().setName("up")
            .setType("Upsample").addBottom("pool").addBottom("pool_mask").addTop("up")
            .setEmbedParam(fcn.proto.CaffeProto.EmbedParameter.parseFrom(up.toByteString())))
        .build();
    byte[] bytes = net.toByteArray();
    // The bytes carry the fork's numbers: field 137 (tag 0xca 0x08) and 138 (0xd2 0x08),
    // length-delimited.
    assertTrue(new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1)
        .contains("\u00ca\u0008") && new String(bytes,
        java.nio.charset.StandardCharsets.ISO_8859_1).contains("\u00d2\u0008"));
    Path model = Files.write(tmp.resolve("fork.caffemodel"), bytes);
    Graph g = CaffeImporter.importNet(null, model, CaffeImportOptions.defaults());
    assertEquals("2x3x9x11", g.inputs().get(0).shape().toString());
    assertEquals("2x3x9x11", g.value("up").shape().toString());
  }

  @Test
  void anIndexPastTheOutputAtRunTimeIsAnErrorNotAWrongResult() throws Exception {
    // pad_out_h fits odd heights only: at an even height the pooling bottom has one row more
    // than the output, and the fork aborts. ONNX Runtime refuses the out-of-plane index too.
    Graph g = load(input(3, 9, 10) + pool("pool", "MAX", 2, 2, 0, "data", true)
        + upsample("pool", "pool_mask", "scale: 2 pad_out_h: true"), "runtime");
    TestOnnx.makeSpatialDynamic(g);
    Array x = Array.gaussian(3, 1f, 2, 3, 8, 10);
    for (int i = 0; i < x.data().length; i++) {
      x.data()[i] += (i % 80) >= 70 ? 100 : 0; // the maxima in the last row
    }
    Exception e = assertThrows(Exception.class, () -> TestOnnx.run(g, Map.of("data", x)));
    System.out.println("ORT on an index past the output: " + e.getMessage());
    assertTrue(String.valueOf(e.getMessage()).contains("out of"), String.valueOf(e));
  }
}
