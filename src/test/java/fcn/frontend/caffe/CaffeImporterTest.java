package fcn.frontend.caffe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.passes.ShapeInference;
import fcn.proto.CaffeProto.BlobProto;
import fcn.proto.CaffeProto.BlobShape;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.testing.TestOnnx;
import fcn.testing.TestOnnx.Array;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Parsing, validation, naming and weight handling of the Caffe importer. */
class CaffeImporterTest {
  @TempDir Path tmp;

  static final CaffeImportOptions RANDOM = CaffeImportOptions.defaults().withRandomWeightsSeed(7L);

  static final String SMALL = """
      name: 'small'
      layer { name: 'data' type: 'Python' top: 'data' top: 'label' python_param { module: 'm' layer: 'L' } }
      layer { name: 'conv1' type: 'Convolution' bottom: 'data' top: 'conv1' convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
      layer { name: 'relu1' type: 'ReLU' bottom: 'conv1' top: 'conv1' }
      layer { name: 'pool1' type: 'Pooling' bottom: 'conv1' top: 'pool1' pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
      layer { name: 'score' type: 'Convolution' bottom: 'pool1' top: 'score' convolution_param { num_output: 5 kernel_size: 1 } }
      layer { name: 'loss' type: 'SoftmaxWithLoss' bottom: 'score' bottom: 'label' top: 'loss' }
      layer { name: 'acc' type: 'Accuracy' bottom: 'score' bottom: 'label' top: 'acc' include { phase: TEST } }
      """;

  private Path write(String name, String text) throws Exception {
    return Files.writeString(tmp.resolve(name), text);
  }

  private static FcnException fails(Path proto, Path model, CaffeImportOptions o) {
    FcnException e = assertThrows(FcnException.class, () -> CaffeImporter.importNet(proto, model, o));
    assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    return e;
  }

  static BlobProto blob(long[] shape, long seed) {
    BlobProto.Builder b = BlobProto.newBuilder();
    BlobShape.Builder s = BlobShape.newBuilder();
    long n = 1;
    for (long d : shape) {
      s.addDim(d);
      n *= d;
    }
    SplittableRandom r = new SplittableRandom(seed);
    for (long i = 0; i < n; i++) {
      b.addData((float) r.nextGaussian());
    }
    return b.setShape(s).build();
  }

  static NetParameter model(Object... nameAndBlobs) {
    NetParameter.Builder m = NetParameter.newBuilder().setName("m");
    for (int i = 0; i < nameAndBlobs.length; i += 2) {
      LayerParameter.Builder l = LayerParameter.newBuilder().setName((String) nameAndBlobs[i]);
      for (BlobProto b : (BlobProto[]) nameAndBlobs[i + 1]) {
        l.addBlobs(b);
      }
      m.addLayer(l);
    }
    return m.build();
  }

  // ---- The converted graph ---------------------------------------------------------------

  @Test
  void dropsLabelsAndTrainingLayersAndNamesInPlaceVersions() throws Exception {
    Graph g = CaffeImporter.importNet(write("small.prototxt", SMALL), null, RANDOM);
    assertEquals(List.of("data"), g.inputs().stream().map(Value::name).toList());
    assertArrayEquals(new long[] {1, 3, 500, 500}, g.inputs().get(0).shape().toArray());
    assertEquals(List.of("score"), g.outputs().stream().map(Value::name).toList());
    assertArrayEquals(new long[] {1, 5, 250, 250}, g.value("score").shape().toArray());
    // The last version of an in-place blob keeps the Caffe name.
    assertEquals(Op.RELU, g.value("conv1").producer().op());
    assertEquals(Op.CONV, g.value("conv1/conv1").producer().op());
    assertEquals("conv1", g.value("conv1/conv1").producer().name());
    for (Node n : g.nodes()) {
      assertNotEquals("loss", n.name());
      assertNotEquals("acc", n.name());
    }
    assertEquals("small.prototxt", g.metadata().get("source.prototxt"));
    assertEquals("small", g.metadata().get("caffe.net_name"));
    assertEquals("7", g.metadata().get("fcn.random_weights_seed"));
    g.checkConnected();
  }

  @Test
  void everyValueHasTheShapeOnnxShapeInferenceFinds() throws Exception {
    for (String text : List.of(SMALL, CaffeLayersNumericTest.SPATIAL, CaffeLayersNumericTest.DENSE)) {
      Graph g = CaffeImporter.importNet(write("n.prototxt", text), null, RANDOM);
      Map<String, long[]> inferred = ShapeInference.infer(g, Map.of());
      for (Value v : g.values()) {
        assertTrue(v.shape() != null, v.name() + " has no shape");
        long[] s = inferred.get(v.name());
        assertTrue(s != null, "shape inference has no shape for " + v.name());
        assertArrayEquals(s, v.shape().toArray(), v.name());
      }
    }
  }

  @Test
  void inPlaceLayerOnAnInputKeepsTheInputName() throws Exception {
    Path p = write("scale.prototxt", """
        input: 'data' input_dim: 1 input_dim: 2 input_dim: 3 input_dim: 3
        layer { name: 'p' type: 'Power' bottom: 'data' top: 'data' power_param { scale: 2 } }
        layer { name: 'r' type: 'ReLU' bottom: 'data' top: 'data' }
        """);
    Graph g = CaffeImporter.importNet(p, null, RANDOM);
    assertEquals("data", g.inputs().get(0).name());
    assertEquals(List.of("data/r"), g.outputs().stream().map(Value::name).toList());
    assertEquals("data/p", g.value("data/r").producer().input(0).name());
  }

  @Test
  void outputsOptionExposesAnyBlobUnderItsName() throws Exception {
    Path p = write("o.prototxt", SMALL.replace("layer { name: 'score'",
        "layer { name: 'split' type: 'Split' bottom: 'pool1' top: 'pool1_a' top: 'pool1_b' }\n"
            + "layer { name: 'score'"));
    Graph all = CaffeImporter.importNet(p, null, RANDOM);
    assertEquals(List.of("pool1_a", "pool1_b", "score"),
        all.outputs().stream().map(Value::name).toList());
    Graph g = CaffeImporter.importNet(p, null, RANDOM.withOutputs(List.of("pool1_b", "conv1")));
    assertEquals(List.of("pool1_b", "conv1"), g.outputs().stream().map(Value::name).toList());
    assertEquals(Op.IDENTITY, g.value("pool1_b").producer().op());
    assertNull(g.value("score"), "unneeded layers are dropped");
    FcnException e = fails(p, null, RANDOM.withOutputs(List.of("nope")));
    assertTrue(e.getMessage().contains("output 'nope' is not a blob"), e.getMessage());
  }

  @Test
  void randomWeightsAreDeterministicPerSeed() throws Exception {
    Path p = write("small.prototxt", SMALL);
    String a = GraphDump.dump(CaffeImporter.importNet(p, null, RANDOM));
    assertEquals(a, GraphDump.dump(CaffeImporter.importNet(p, null, RANDOM)));
    assertNotEquals(a, GraphDump.dump(CaffeImporter.importNet(p, null,
        CaffeImportOptions.defaults().withRandomWeightsSeed(8L))));
  }

  // ---- Input shapes ------------------------------------------------------------------------

  @Test
  void inputShapesComeFromOverridesThenWeightsThenDefaults() throws Exception {
    Path p = write("small.prototxt", SMALL);
    Graph g = CaffeImporter.importNet(p, null, RANDOM.withInputShape("data", 2, 3, 64, 48));
    assertArrayEquals(new long[] {2, 3, 64, 48}, g.inputs().get(0).shape().toArray());
    assertArrayEquals(new long[] {2, 5, 32, 24}, g.value("score").shape().toArray());

    // No size in the net: C from conv1's weights.
    Path m = CaffeTestNets.writeBinary(model("conv1", new BlobProto[] {
        blob(new long[] {4, 2, 3, 3}, 1), blob(new long[] {4}, 2)},
        "score", new BlobProto[] {blob(new long[] {5, 4, 1, 1}, 3), blob(new long[] {5}, 4)}),
        tmp.resolve("m.caffemodel"));
    g = CaffeImporter.importNet(p, m, CaffeImportOptions.defaults());
    assertArrayEquals(new long[] {1, 2, 500, 500}, g.inputs().get(0).shape().toArray());

    FcnException e = fails(p, null, RANDOM.withInputShape("label", 1, 1, 5, 5));
    assertTrue(e.getMessage().contains("'label', which is not an input of the net; inputs: data"),
        e.getMessage());
  }

  @Test
  void guessedInputSizeIsMentionedWhenWeightsDisagree() throws Exception {
    Path p = write("cat.prototxt", """
        layer { name: 'in' type: 'Python' top: 'color' top: 'depth' }
        layer { name: 'cat' type: 'Concat' bottom: 'color' bottom: 'depth' top: 'data' }
        layer { name: 'conv1' type: 'Convolution' bottom: 'data' top: 'conv1' convolution_param { num_output: 2 kernel_size: 1 } }
        """);
    Path m = CaffeTestNets.writeBinary(model("conv1", new BlobProto[] {
        blob(new long[] {2, 4, 1, 1}, 1), blob(new long[] {2}, 2)}), tmp.resolve("m.caffemodel"));
    FcnException e = fails(p, m, CaffeImportOptions.defaults());
    assertTrue(e.getMessage().contains("layer 'conv1' (Convolution): blob 0 (weights) in " + m
        + " is 2x4x1x1, expected 2x6x1x1"), e.getMessage());
    assertTrue(e.getMessage().contains("color=1,3,500,500 depth=1,3,500,500"), e.getMessage());
    Graph g = CaffeImporter.importNet(p, m, CaffeImportOptions.defaults()
        .withInputShape("depth", 1, 1, 500, 500));
    assertArrayEquals(new long[] {1, 3, 500, 500}, g.value("color").shape().toArray());
  }

  // ---- Errors in the net -------------------------------------------------------------------

  @Test
  void syntaxErrorNamesFileLineAndColumn() throws Exception {
    Path p = write("bad.prototxt", "name: 'x'\nlayer {\n  name: 'a' type: 'ReLU'\n  bottom 'x'\n}\n");
    FcnException e = fails(p, null, RANDOM);
    assertTrue(e.getMessage().startsWith(p + ":4:10: "), e.getMessage());

    Path typo = write("typo.prototxt", "layer { name: 'in' type: 'Input' top: 'd' }\n"
        + "layer { name: 'c' type: 'Convolution' bottom: 'd' top: 'c'\n"
        + "  convolution_param { num_output: 1 kernel_sise: 3 } }\n");
    e = fails(typo, null, RANDOM);
    assertTrue(e.getMessage().startsWith(typo + ":3:37: "), e.getMessage());
    assertTrue(e.getMessage().contains("caffe.ConvolutionParameter.kernel_sise"), e.getMessage());
  }

  @Test
  void everyUnsupportedLayerIsListedInOneError() throws Exception {
    Path p = write("u.prototxt", """
        layer { name: 'in' type: 'Input' top: 'data' input_param { shape { dim: 1 dim: 1 dim: 4 dim: 4 } } }
        layer { name: 'bn' type: 'Normalize' bottom: 'data' top: 'bn' norm_param { across_spatial: false } }
        layer { name: 'relu' type: 'ReLU' bottom: 'bn' top: 'bn' }
        layer { name: 'sp' type: 'Pooling' bottom: 'bn' top: 'sp' pooling_param { pool: STOCHASTIC kernel_size: 2 } }
        layer { name: 'emb' type: 'Embed' bottom: 'sp' top: 'emb' }
        layer { name: 'py' type: 'Python' bottom: 'emb' top: 'py' python_param { module: 'mod' layer: 'Op' } }
        """);
    FcnException e = fails(p, null, RANDOM);
    assertTrue(e.getMessage().startsWith(p + ": 4 unsupported layers: 'bn' (Normalize), 'sp' (Pooling:"
        + " STOCHASTIC), 'emb' (Embed), 'py' (Python mod.Op with bottoms)"), e.getMessage());
    assertTrue(e.getMessage().contains("first 2:63: caffe.LayerParameter.norm_param"), e.getMessage());
  }

  @Test
  void missingBottomNamesLayerAndBlob() throws Exception {
    Path p = write("m.prototxt", """
        layer { name: 'in' type: 'Input' top: 'data' input_param { shape { dim: 1 dim: 1 dim: 4 dim: 4 } } }
        layer { name: 'relu' type: 'ReLU' bottom: 'dta' top: 'r' }
        """);
    FcnException e = fails(p, null, RANDOM);
    assertEquals(p + ": layer 'relu' (ReLU) reads bottom 'dta', which no layer produces",
        e.getMessage());
  }

  @Test
  void caffemodelWithoutDeclaredInputsAsksForThePrototxt() throws Exception {
    NetParameter m = CaffeTestNets.parseText("""
        layers { name: 'conv1' type: CONVOLUTION bottom: 'data' top: 'conv1'
          convolution_param { num_output: 1 kernel_size: 1 }
          blobs { num: 1 channels: 1 height: 1 width: 1 data: 2 } blobs { num: 1 channels: 1 height: 1 width: 1 data: 0 } }
        """);
    Path model = CaffeTestNets.writeBinary(m, tmp.resolve("old.caffemodel"));
    FcnException e = fails(null, model, CaffeImportOptions.defaults());
    assertEquals(model + ": layer 'conv1' (Convolution) reads bottom 'data', which no layer"
        + " produces; the caffemodel's embedded net does not declare its inputs: give the deploy"
        + " prototxt too", e.getMessage());
  }

  @Test
  void cycleIsReportedWithLayerNames() throws Exception {
    Path p = write("c.prototxt", """
        layer { name: 'in' type: 'Input' top: 'data' input_param { shape { dim: 1 dim: 1 dim: 4 dim: 4 } } }
        layer { name: 'a' type: 'Eltwise' bottom: 'data' bottom: 'y' top: 'x' }
        layer { name: 'b' type: 'ReLU' bottom: 'x' top: 'y' }
        """);
    FcnException e = fails(p, null, RANDOM);
    assertTrue(e.getMessage().startsWith(p + ": the layers form a cycle: 'a' -> 'b' -> 'a'"),
        e.getMessage());
  }

  @Test
  void prototxtWithoutWeightsNeedsASeed() throws Exception {
    Path p = write("small.prototxt", SMALL);
    FcnException e = fails(p, null, CaffeImportOptions.defaults());
    assertTrue(e.getMessage().contains("no caffemodel given"), e.getMessage());
    Path m = CaffeTestNets.writeBinary(model("conv1", new BlobProto[] {
        blob(new long[] {4, 3, 3, 3}, 1), blob(new long[] {4}, 2)}), tmp.resolve("m.caffemodel"));
    e = fails(p, m, CaffeImportOptions.defaults());
    assertEquals(m + " has no weights for 1 layer of " + p + ": 'score' (Convolution); expected"
        + " every layer with parameters (or ask for random weights with a seed)", e.getMessage());
    Graph g = CaffeImporter.importNet(p, m, RANDOM);
    assertEquals("score", g.metadata().get("fcn.random_weight_layers"));
  }

  // ---- Weights -----------------------------------------------------------------------------

  @Test
  void weightShapeMismatchSaysWhatWasExpected() throws Exception {
    Path p = write("small.prototxt", SMALL);
    Path m = CaffeTestNets.writeBinary(model("conv1", new BlobProto[] {
        blob(new long[] {4, 3, 5, 5}, 1), blob(new long[] {4}, 2)},
        "score", new BlobProto[] {blob(new long[] {5, 4, 1, 1}, 3)}), tmp.resolve("m.caffemodel"));
    FcnException e = fails(p, m, CaffeImportOptions.defaults().withInputShape("data", 1, 3, 8, 8));
    assertEquals(p + ": layer 'conv1' (Convolution): blob 0 (weights) in " + m
        + " is 4x3x5x5, expected 4x3x3x3", e.getMessage());
    Path m2 = CaffeTestNets.writeBinary(model("conv1", new BlobProto[] {
        blob(new long[] {4, 3, 3, 3}, 1), blob(new long[] {4}, 2)},
        "score", new BlobProto[] {blob(new long[] {5, 4, 1, 1}, 3)}), tmp.resolve("m2.caffemodel"));
    e = fails(p, m2, CaffeImportOptions.defaults().withInputShape("data", 1, 3, 8, 8));
    assertEquals(p + ": layer 'score' (Convolution): " + m2 + " has 1 blob for this layer,"
        + " expected 2 (weights 5x4x1x1, bias 5)", e.getMessage());
  }

  @Test
  void legacyFourAxisInnerProductBlobsAreAcceptedLikeCaffe() throws Exception {
    Path p = write("ip.prototxt", """
        layer { name: 'in' type: 'Input' top: 'data' input_param { shape { dim: 2 dim: 3 dim: 2 dim: 2 } } }
        layer { name: 'fc' type: 'InnerProduct' bottom: 'data' top: 'fc' inner_product_param { num_output: 5 } }
        """);
    BlobProto w = V1Transcoder.legacy(blob(new long[] {5, 12}, 1));
    BlobProto b = V1Transcoder.legacy(blob(new long[] {5}, 2));
    assertEquals(1, w.getNum());
    assertEquals(5, w.getHeight());
    Path m = CaffeTestNets.writeBinary(model("fc", new BlobProto[] {w, b}), tmp.resolve("m.caffemodel"));
    Graph g = CaffeImporter.importNet(p, m, CaffeImportOptions.defaults());
    Node gemm = g.value("fc").producer();
    assertArrayEquals(new long[] {5, 12}, gemm.input(1).shape().toArray());
    assertArrayEquals(new long[] {5}, gemm.input(2).shape().toArray());
    float[] expected = new float[60];
    for (int i = 0; i < 60; i++) {
      expected[i] = w.getData(i);
    }
    assertArrayEquals(expected, ((fcn.ir.Constant) gemm.input(1)).data().floats());

    BlobProto wrong = w.toBuilder().setNum(5).setHeight(1).build(); // 5x1x1x12
    Path m2 = CaffeTestNets.writeBinary(model("fc", new BlobProto[] {wrong, b}), tmp.resolve("m2.caffemodel"));
    FcnException e = fails(p, m2, CaffeImportOptions.defaults());
    assertTrue(e.getMessage().contains("is 5x1x1x12 (legacy num/channels/height/width), expected 5x12"),
        e.getMessage());
  }

  @Test
  void truncatedCaffemodelIsOneLineNamingTheFile() throws Exception {
    Path p = write("small.prototxt", SMALL);
    byte[] full = model("conv1", new BlobProto[] {blob(new long[] {4, 3, 3, 3}, 1),
        blob(new long[] {4}, 2)}, "score", new BlobProto[] {blob(new long[] {5, 4, 1, 1}, 3),
        blob(new long[] {5}, 4)}).toByteArray();
    for (int cut : new int[] {1, 7, full.length / 3, full.length / 2, full.length - 1}) {
      Path m = Files.write(tmp.resolve("cut" + cut + ".caffemodel"), Arrays.copyOf(full, cut));
      FcnException e = fails(p, m, CaffeImportOptions.defaults());
      assertTrue(e.getMessage().startsWith(m + ": "), e.getMessage());
      assertTrue(e.getMessage().contains("truncated or corrupt")
          || e.getMessage().contains("not a caffemodel"), e.getMessage());
    }
  }

  @Test
  void garbageCaffemodelIsOneLineNamingTheFile() throws Exception {
    Path p = write("small.prototxt", SMALL);
    for (long seed = 0; seed < 20; seed++) {
      byte[] junk = new byte[4096];
      new SplittableRandom(seed).nextBytes(junk);
      Path m = Files.write(tmp.resolve("junk" + seed + ".caffemodel"), junk);
      FcnException e = fails(p, m, CaffeImportOptions.defaults());
      assertTrue(e.getMessage().startsWith(m + ": "), e.getMessage());
    }
    Path text = tmp.resolve("text.caffemodel");
    Files.writeString(text, SMALL);
    assertTrue(fails(p, text, CaffeImportOptions.defaults()).getMessage().startsWith(text + ": "));
    Path empty = Files.write(tmp.resolve("empty.caffemodel"), new byte[0]);
    assertEquals(empty + ": caffemodel is empty",
        fails(p, empty, CaffeImportOptions.defaults()).getMessage());
    Path none = tmp.resolve("none.caffemodel");
    assertEquals(none + ": caffemodel not found",
        fails(p, none, CaffeImportOptions.defaults()).getMessage());
  }

  // ---- Caffe-made weights, V1 and V2 -------------------------------------------------------

  static final String CLASSIFIER = """
      name: 'classifier'
      layer { name: 'in' type: 'Input' top: 'data' input_param { shape { dim: 1 dim: 3 dim: 21 dim: 19 } } }
      layer { name: 'conv1' type: 'Convolution' bottom: 'data' top: 'conv1' convolution_param { num_output: 8 kernel_size: 3 pad: 1 stride: 2
        weight_filler { type: 'gaussian' std: 0.2 } bias_filler { type: 'gaussian' std: 0.2 } } }
      layer { name: 'relu1' type: 'ReLU' bottom: 'conv1' top: 'conv1' }
      layer { name: 'norm1' type: 'LRN' bottom: 'conv1' top: 'norm1' lrn_param { local_size: 3 alpha: 0.1 } }
      layer { name: 'pool1' type: 'Pooling' bottom: 'norm1' top: 'pool1' pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
      layer { name: 'conv2' type: 'Convolution' bottom: 'pool1' top: 'conv2' convolution_param { num_output: 6 kernel_size: 3 pad: 1 group: 2
        weight_filler { type: 'gaussian' std: 0.2 } bias_filler { type: 'gaussian' std: 0.2 } } }
      layer { name: 'up' type: 'Deconvolution' bottom: 'conv2' top: 'up' convolution_param { num_output: 6 kernel_size: 2 stride: 2 bias_term: false
        weight_filler { type: 'gaussian' std: 0.2 } } }
      layer { name: 'cat' type: 'Concat' bottom: 'up' bottom: 'up' top: 'cat' }
      layer { name: 'sum' type: 'Eltwise' bottom: 'cat' bottom: 'cat' top: 'sum' eltwise_param { coeff: 1 coeff: -0.5 } }
      layer { name: 'fc6' type: 'InnerProduct' bottom: 'sum' top: 'fc6' inner_product_param { num_output: 10
        weight_filler { type: 'gaussian' std: 0.1 } bias_filler { type: 'gaussian' std: 0.1 } } }
      layer { name: 'drop6' type: 'Dropout' bottom: 'fc6' top: 'fc6' }
      layer { name: 'fc7' type: 'InnerProduct' bottom: 'fc6' top: 'fc7' inner_product_param { num_output: 4
        weight_filler { type: 'gaussian' std: 0.1 } bias_filler { type: 'gaussian' std: 0.1 } } }
      layer { name: 'prob' type: 'Softmax' bottom: 'fc7' top: 'prob' }
      """;

  @Test
  void v1AndV2FormsGiveIdenticalGraphs() throws Exception {
    Path v2 = write("v2.prototxt", CLASSIFIER);
    CaffeImporter.importNet(v2, null, RANDOM);
    Path v2model = tmp.resolve("v2.caffemodel");
    CaffeRef.writeCaffemodel(v2, v2model);
    NetParameter made = CaffeTestNets.readBinary(v2model);
    assertTrue(made.getLayerCount() > 0 && made.getLayersCount() == 0);
    NetParameter v1net = V1Transcoder.toV1(made);
    Path v1model = CaffeTestNets.writeBinary(v1net, tmp.resolve("v1.caffemodel"));
    NetParameter.Builder v1text = v1net.toBuilder();
    v1text.getLayersBuilderList().forEach(l -> l.clearBlobs());
    Path v1 = CaffeTestNets.writeText(v1text.build(), tmp.resolve("v1.prototxt"));
    assertTrue(Files.readString(v1).contains("type: CONVOLUTION"));
    assertTrue(Files.readString(v1).contains("input_dim: 21"));

    String ref = GraphDump.dump(CaffeImporter.importNet(v2, v2model, CaffeImportOptions.defaults()));
    assertEquals(ref, GraphDump.dump(CaffeImporter.importNet(v1, v1model, CaffeImportOptions.defaults())));
    assertEquals(ref, GraphDump.dump(CaffeImporter.importNet(v2, v1model, CaffeImportOptions.defaults())));
    assertEquals(ref, GraphDump.dump(CaffeImporter.importNet(v1, v2model, CaffeImportOptions.defaults())));
    // A caffemodel embeds its net: it converts alone, in either form.
    assertEquals(ref, GraphDump.dump(CaffeImporter.importNet(null, v2model, CaffeImportOptions.defaults())));
    assertEquals(ref, GraphDump.dump(CaffeImporter.importNet(null, v1model, CaffeImportOptions.defaults())));
    Graph g = CaffeImporter.importNet(v1, v1model, CaffeImportOptions.defaults());
    assertEquals("V1 layers", g.metadata().get("caffe.format"));
    assertEquals(List.of("data"), g.inputs().stream().map(Variable::name).toList());

    // And the converted graph computes what Caffe computes.
    Array x = Array.gaussian(3, 1f, 1, 3, 21, 19);
    try (CaffeRef caffe = new CaffeRef(v1, v1model)) {
      Array r = caffe.forward(Map.of("data", x), List.of("prob")).get("prob");
      Array o = TestOnnx.run(g, Map.of("data", x)).get("prob");
      assertTrue(o.maxAbsDiff(r) <= 1e-5 * r.maxAbs(), "max|err| " + o.maxAbsDiff(r));
    }
  }

  @Test
  void caffemodelStreamingKeepsTheFloatBytes() throws Exception {
    Path v2 = write("v2.prototxt", CLASSIFIER);
    Path model = tmp.resolve("v2.caffemodel");
    CaffeRef.writeCaffemodel(v2, model);
    CaffemodelReader.Result r = CaffemodelReader.read(model);
    NetParameter parsed = CaffeTestNets.readBinary(model);
    for (LayerParameter l : parsed.getLayerList()) {
      if (l.getBlobsCount() == 0) {
        continue;
      }
      List<WeightBlob> got = r.weights().get(l.getName());
      assertEquals(l.getBlobsCount(), got.size(), l.getName());
      for (int i = 0; i < got.size(); i++) {
        float[] want = new float[l.getBlobs(i).getDataCount()];
        for (int j = 0; j < want.length; j++) {
          want[j] = l.getBlobs(i).getData(j);
        }
        assertArrayEquals(want, got.get(i).data().floats(), l.getName() + " blob " + i);
        assertArrayEquals(l.getBlobs(i).getShape().getDimList().stream()
            .mapToLong(Long::longValue).toArray(), got.get(i).shape());
      }
    }
    for (LayerParameter l : r.net().getLayerList()) {
      assertEquals(0, l.getBlobsCount(), "blobs are not kept in the net definition");
    }
  }
}
