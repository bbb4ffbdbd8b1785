package fcn.passes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import fcn.convert.ConvertRequest;
import fcn.convert.Converter;
import fcn.export.OnnxExporter;
import fcn.models.NetBuilder;
import fcn.models.Prototxt;
import fcn.passes.HeadOptions.Head;
import fcn.proto.CaffeProto.CropParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.NodeProto;
import fcn.proto.OnnxProto.TensorProto;
import fcn.reference.caffe.Blob;
import fcn.reference.caffe.CaffeNet;
import fcn.reference.caffe.DeployNets;
import fcn.reference.caffe.WidthReducer;
import fcn.testing.TestOnnx;
import fcn.testing.TestOnnx.Array;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Acceptance: {@code fcn convert VGG --head fcn32s|fcn16s|fcn8s --classes 21 --keep-classifier}
 * (the library entry, {@link Converter}) on a narrow VGG16 classifier (conv1_1 padded to 100 by
 * the default --input-pad) computes what real Caffe computes running FCN's PUBLISHED
 * voc-fcn32s/16s/8s nets, at the same width divisor, holding the same weights: the VGG's
 * convolutions, fc6/fc7 as 7x7/1x1 convolutions (FCN's net surgery: same bytes), fc8 as
 * score_fr, seeded random skip scores (the pass makes them zero, which would hide a wrong
 * skip crop) and FCN's bilinear upsampling kernels. Checked at an even and an odd input size,
 * and shown to catch a Crop offset that is off by one.
 */
class FcnHeadVsCaffeTest {
  static final Path SHARED = Path.of("..", "shared");
  static final int DIVISOR = 16;
  static final int CLASSES = 21;
  static final double TOL = 1e-4;
  /** The sizes checked: an even one and one with odd H and W not multiples of 32. */
  static final int[][] SIZES = {{64, 80}, {75, 101}};

  @TempDir Path tmp;

  @ParameterizedTest
  @CsvSource({"fcn32s, voc-fcn32s/val.prototxt", "fcn16s, voc-fcn16s/val.prototxt",
      "fcn8s, voc-fcn8s/deploy.prototxt"})
  void convertedHeadMatchesPublishedNetInCaffe(String headName, String published) throws Exception {
    Path fcnProto = SHARED.resolve("caffe/fcn-berkeley").resolve(published);
    Assumptions.assumeTrue(Files.isDirectory(SHARED),
        "../shared not found: skipping the " + headName + " head against Caffe's " + published);
    Head head = Head.parse(headName);

    // 1. The narrow VGG16 classifier, with weights made by real Caffe.
    NetParameter vgg = new NetBuilder().widthDivisor(DIVISOR).classes(CLASSES).input(1, 224, 224).vgg16();
    Path vggProto = tmp.resolve("vgg.prototxt");
    Path vggModel = tmp.resolve("vgg.caffemodel");
    Prototxt.write(vgg, vggProto);
    Map<String, List<Blob>> vggParams = new LinkedHashMap<>();
    try (CaffeNet net = CaffeNet.open(vggProto, null, 7)) {
      net.save(vggModel);
      for (String layer : net.layerNames()) {
        List<Blob> p = net.params(layer);
        if (!p.isEmpty()) {
          vggParams.put(layer, p);
        }
      }
    }

    // 2. fcn convert VGG --head H --classes 21 --keep-classifier (default --input-pad 100).
    Path onnx = tmp.resolve(headName + ".onnx");
    Converter.Result conv = Converter.convert(new ConvertRequest(List.of(vggProto, vggModel), onnx,
        OnnxExporter.DEFAULT_OPSET, List.of(), Map.of(), null, false,
        new HeadOptions(head, CLASSES, null, null, true), null, 100));
    ModelProto model = ModelProto.parseFrom(Files.readAllBytes(onnx));
    // The skip scores start at zero; give them seeded random values, the same in both nets.
    Map<String, float[][]> skips = new LinkedHashMap<>();
    if (head != Head.FCN32S) {
      skips.put("score_pool4", heNormal(11, CLASSES, width(512)));
    }
    if (head == Head.FCN8S) {
      skips.put("score_pool3", heNormal(12, CLASSES, width(256)));
    }
    model = withConvParams(model, skips);
    byte[] modelBytes = model.toByteArray();

    // 3. The published net, same divisor, Input instead of the Python data layer, no loss.
    NetParameter small = new WidthReducer(DIVISOR, 1).reduce(Prototxt.read(fcnProto));
    Map<String, Long> publishedCrops = new LinkedHashMap<>();
    for (LayerParameter l : small.getLayerList()) {
      if (l.getType().equals("Crop")) {
        publishedCrops.put(l.getName(), (long) l.getCropParam().getOffset(0));
      }
    }
    // The pass names its crops as FCN does (score_pool4c, score_pool3c, score) and finds FCN's offsets.
    assertEquals(publishedCrops.keySet(), conv.cropOffsets().keySet());
    publishedCrops.forEach((k, v) -> assertArrayEquals(new long[] {v, v}, conv.cropOffsets().get(k), k));

    for (int[] hw : SIZES) {
      long[] shape = {1, 3, hw[0], hw[1]};
      Array x = Array.gaussian(100L * hw[0] + hw[1], 1f, shape);
      Array got = TestOnnx.run(modelBytes, Map.of("data", x)).get("score");
      String what = headName + " at " + hw[0] + "x" + hw[1];

      Array ref = caffeScore(small, shape, vggParams, skips, x, null);
      assertArrayEquals(new long[] {1, CLASSES, hw[0], hw[1]}, ref.shape(), what);
      double maxRef = ref.maxAbs();
      double err = got.maxAbsDiff(ref);
      System.out.printf("%s: max|err| %.3g, max|ref| %.3g, ratio %.3g%n", what, err, maxRef, err / maxRef);
      assertTrue(maxRef > 0, what + ": Caffe's score is all zero");
      assertTrue(err <= TOL * maxRef, what + ": max|err| " + err + " > " + TOL + " x max|ref| " + maxRef);

      // The comparison sees a crop that is off by one: every Crop of the published net, in turn.
      if (hw == SIZES[0]) {
        for (String crop : publishedCrops.keySet()) {
          Array wrong = caffeScore(small, shape, vggParams, skips, x, crop);
          double e = got.maxAbsDiff(wrong);
          System.out.printf("%s with Caffe's %s offset - 1: max|err| %.3g, ratio %.3g%n", what, crop, e,
              e / maxRef);
          assertTrue(e > TOL * maxRef, what + ": shifting " + crop + " went unnoticed, max|err| " + e);
        }
      }
    }
  }

  static int width(int published) {
    return new WidthReducer(DIVISOR, 1).reduced(published);
  }

  /**
   * Caffe's "score" for the published net holding the VGG's weights; {@code shiftedCrop} names a
   * Crop layer whose offset is lowered by one (null: as published).
   */
  static Array caffeScore(NetParameter net, long[] shape, Map<String, List<Blob>> vgg,
      Map<String, float[][]> skips, Array x, String shiftedCrop) {
    NetParameter.Builder b = net.toBuilder();
    if (shiftedCrop != null) {
      for (LayerParameter.Builder l : b.getLayerBuilderList()) {
        if (l.getName().equals(shiftedCrop)) {
          CropParameter c = l.getCropParam();
          l.setCropParam(c.toBuilder().setOffset(0, c.getOffset(0) - 1));
        }
      }
    }
    NetParameter deploy = DeployNets.rewrite(b.build(), Map.of("data", shape));
    try (CaffeNet caffe = CaffeNet.open(deploy, null, 3, "published FCN, widths / " + DIVISOR)) {
      List<String> set = new ArrayList<>();
      for (String layer : caffe.layerNames()) {
        if (caffe.params(layer).isEmpty()) {
          continue;
        }
        if (layer.startsWith("upscore")) {
          long k = caffe.params(layer).get(0).shape()[2];
          caffe.setParam(layer, 0, FcnHeadPass.bilinearWeights(CLASSES, (int) k).floats());
        } else if (skips.containsKey(layer)) {
          caffe.setParam(layer, 0, skips.get(layer)[0]);
          caffe.setParam(layer, 1, skips.get(layer)[1]);
        } else {
          // FCN's surgery: fc6/fc7 as convolutions hold the InnerProduct bytes; score_fr is fc8.
          List<Blob> from = vgg.get(layer.equals("score_fr") ? "fc8" : layer);
          assertTrue(from != null, "no VGG weights for Caffe layer " + layer);
          assertEquals(from.size(), caffe.params(layer).size(), layer);
          for (int i = 0; i < from.size(); i++) {
            caffe.setParam(layer, i, from.get(i).data());
          }
        }
        set.add(layer);
      }
      assertTrue(set.containsAll(List.of("conv1_1", "conv5_3", "fc6", "fc7", "score_fr")), "set: " + set);
      Blob score = caffe.forward(Map.of("data", x.data())).get("score");
      assertTrue(score != null, "Caffe net has no output 'score'");
      return new Array(score.shape(), score.data());
    }
  }

  /** {weights O×C×1×1, bias O}: He-normal weights and small biases from a seed. */
  static float[][] heNormal(long seed, int out, int in) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] w = new float[out * in];
    double std = Math.sqrt(2.0 / in);
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) (std * r.nextGaussian());
    }
    float[] bias = new float[out];
    for (int i = 0; i < out; i++) {
      bias[i] = (float) (0.2 * r.nextDouble() - 0.1);
    }
    return new float[][] {w, bias};
  }

  /** Replaces the weight and bias initializers of the named Conv nodes (same shapes). */
  static ModelProto withConvParams(ModelProto m, Map<String, float[][]> params) {
    Map<String, float[]> byInit = new LinkedHashMap<>();
    for (NodeProto n : m.getGraph().getNodeList()) {
      float[][] p = params.get(n.getName());
      if (p != null) {
        assertEquals("Conv", n.getOpType(), n.getName());
        assertEquals(3, n.getInputCount(), n.getName() + " has no bias input");
        byInit.put(n.getInput(1), p[0]);
        byInit.put(n.getInput(2), p[1]);
      }
    }
    assertEquals(2 * params.size(), byInit.size(), "Conv nodes " + params.keySet() + " in the ONNX graph");
    ModelProto.Builder b = m.toBuilder();
    int replaced = 0;
    for (TensorProto.Builder t : b.getGraphBuilder().getInitializerBuilderList()) {
      float[] v = byInit.get(t.getName());
      if (v == null) {
        continue;
      }
      long n = t.getDimsList().stream().mapToLong(Long::longValue).reduce(1, (p, q) -> p * q);
      assertEquals(v.length, n, t.getName());
      assertEquals(TensorProto.DataType.FLOAT_VALUE, t.getDataType(), t.getName());
      ByteBuffer buf = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
      buf.asFloatBuffer().put(v);
      t.clearFloatData().setRawData(ByteString.copyFrom(buf.array()));
      replaced++;
    }
    assertEquals(byInit.size(), replaced, "initializers " + byInit.keySet());
    return b.build();
  }
}
