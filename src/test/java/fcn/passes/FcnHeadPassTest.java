package fcn.passes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.ir.Attrs;
import fcn.ir.Constant;
import fcn.ir.DataType;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.passes.HeadOptions.Head;
import fcn.testing.TestNets;
import fcn.testing.TestOnnx;
import fcn.testing.TestOnnx.Array;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FcnHeadPassTest {
  static final Shape DYNAMIC = Shape.parse("1,3,height,width");

  static Graph vgg(String poolPrefix) {
    return TestNets.vgg16(true, 16, 5, 11, DYNAMIC, poolPrefix);
  }

  @Test
  void cropOffsetsFollowCoordMapForVgg16WithPad100() {
    FcnHeadPass.Result r32 = FcnHeadPass.apply(vgg("pool"), HeadOptions.of(Head.FCN32S, 21));
    assertEquals(List.of("score"), List.copyOf(r32.cropOffsets().keySet()));
    assertArrayEquals(new long[] {19, 19}, r32.cropOffsets().get("score"));
    assertEquals("fc8", r32.classifier());

    FcnHeadPass.Result r16 = FcnHeadPass.apply(vgg("pool"), HeadOptions.of(Head.FCN16S, 21));
    assertArrayEquals(new long[] {5, 5}, r16.cropOffsets().get("score_pool4c"));
    assertArrayEquals(new long[] {27, 27}, r16.cropOffsets().get("score"));
    assertEquals("pool4", r16.pool4());

    FcnHeadPass.Result r8 = FcnHeadPass.apply(vgg("pool"), HeadOptions.of(Head.FCN8S, 21));
    assertArrayEquals(new long[] {5, 5}, r8.cropOffsets().get("score_pool4c"));
    assertArrayEquals(new long[] {9, 9}, r8.cropOffsets().get("score_pool3c"));
    assertArrayEquals(new long[] {31, 31}, r8.cropOffsets().get("score"));
    assertEquals("pool3", r8.pool3());
  }

  @Test
  void poolsAreFoundStructurallyOrByOption() {
    FcnHeadPass.Result r = FcnHeadPass.apply(vgg("p"), HeadOptions.of(Head.FCN8S, 3));
    assertEquals("p4", r.pool4());
    assertEquals("p3", r.pool3());
    assertArrayEquals(new long[] {31, 31}, r.cropOffsets().get("score"));

    r = FcnHeadPass.apply(vgg("p"), HeadOptions.of(Head.FCN16S, 3).withPools("p4", null));
    assertEquals("p4", r.pool4());
    FcnException e = assertThrows(FcnException.class,
        () -> FcnHeadPass.apply(vgg("p"), HeadOptions.of(Head.FCN16S, 3).withPools("pool9", null)));
    assertEquals("--pool4 'pool9' is not a value of the graph", e.getMessage());
  }

  @Test
  void headGraphShape() {
    Graph g = vgg("pool");
    FcnHeadPass.apply(g, HeadOptions.of(Head.FCN8S, 21));
    assertEquals(List.of("score"), TestOnnx.outputNames(g));
    assertFalse(g.hasValue("fc8"), "the classifier is dropped");
    assertFalse(g.hasValue("prob"));
    Node up = g.value("upscore8").producer();
    assertEquals(Op.CONV_TRANSPOSE, up.op());
    assertEquals(2, up.inputs().size(), "no bias");
    assertArrayEquals(new long[] {8, 8}, up.attrs().getInts("strides"));
    Node sp4 = g.value("score_pool4").producer();
    for (float f : ((Constant) sp4.input(1)).data().floats()) {
      assertEquals(0f, f);
    }
    Node fr = g.value("score_fr").producer();
    assertEquals(g.value("drop7"), fr.input(0));
    assertArrayEquals(new long[] {21, 4096 / 16, 1, 1}, fr.input(1).shape().toArray());
  }

  /** upsample_filt as FCN's surgery.py computes it, recorded by tools/make-torch-fixtures.py. */
  @ParameterizedTest
  @ValueSource(ints = {3, 4, 16, 32, 64})
  void bilinearKernelsEqualUpsampleFilt(int k) throws IOException {
    Array ref = TestOnnx.readPb(Path.of("src/test/resources/torch/upsample_filt/filt_" + k + ".pb"));
    assertArrayEquals(new long[] {k, k}, ref.shape());
    assertArrayEquals(ref.data(), FcnHeadPass.upsampleFilt(k));

    int n = 3;
    float[] w = FcnHeadPass.bilinearWeights(n, k).floats();
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        for (int p = 0; p < k * k; p++) {
          float expected = i == j ? ref.data()[p] : 0f;
          assertEquals(expected, w[((i * n) + j) * k * k + p], "W[" + i + "," + j + "]");
        }
      }
    }
  }

  /**
   * Zero-initialised skips add exactly nothing: an untrained 16s/8s head computes what the
   * same head computes with the skip branches cut off (run in ONNX Runtime, at two sizes that
   * also exercise the Shape-based crops).
   */
  @ParameterizedTest
  @ValueSource(strings = {"fcn16s", "fcn8s"})
  void zeroSkipsAddNothing(String head) {
    for (long[] hw : new long[][] {{64, 80}, {45, 70}}) {
      Graph g = vgg("pool");
      HeadOptions opt = new HeadOptions(Head.parse(head), 0, null, null, true);
      FcnHeadPass.apply(g, opt);
      Array x = new Array(new long[] {1, 3, hw[0], hw[1]}, TestOnnx.random(5, (int) (3 * hw[0] * hw[1])));
      Array full = TestOnnx.run(g, Map.of("data", x)).get("score");
      assertArrayEquals(new long[] {1, 5, hw[0], hw[1]}, full.shape());
      assertTrue(full.maxAbs() > 0, "keep-classifier gives a non-zero score");

      Graph cut = vgg("pool");
      FcnHeadPass.apply(cut, opt);
      cut.replaceAllUses(cut.value("fuse_pool4"), cut.value("upscore2"));
      if (cut.hasValue("fuse_pool3")) {
        cut.replaceAllUses(cut.value("fuse_pool3"), cut.value("upscore_pool4"));
      }
      cut.removeUnused();
      assertFalse(cut.hasValue("score_pool4"));
      Array noSkip = TestOnnx.run(cut, Map.of("data", x)).get("score");
      assertEquals(0f, full.maxAbsDiff(noSkip), head + " at " + hw[0] + "x" + hw[1]);

      // The coarse FCN-32s prediction of the same net: equal up to how the bilinear steps
      // compose (x2 then x16 is not exactly x32 at the kinks of the interpolant).
      Graph g32 = vgg("pool");
      FcnHeadPass.apply(g32, new HeadOptions(Head.FCN32S, 0, null, null, true));
      Array s32 = TestOnnx.run(g32, Map.of("data", x)).get("score");
      double rel = full.maxAbsDiff(s32) / s32.maxAbs();
      System.out.printf("%s vs fcn32s at %dx%d: max|diff|/max|32s| = %.3g%n", head, hw[0], hw[1], rel);
      assertTrue(rel < 0.25f, "same coarse prediction, upsampled: " + rel);
    }
  }

  /**
   * Alignment check for the crops: bilinear upsampling reproduces a linear ramp exactly, so
   * when the coarse score map is a ramp the 32s, 16s and 8s paths (different kernels, strides
   * and crop offsets) must agree, and match the ramp itself mapped to input pixels through
   * coord_map (score_fr pixel i sits at input pixel 32i + 12.5). Compared where every
   * upsampling stage has samples on both sides (half a coarse pixel in from the outer ones);
   * at the borders deconvolution fades towards zero, as in FCN.
   */
  @Test
  void headsAgreeOnALinearScoreMap() {
    long h = 128;
    long w = 160;
    Array x = new Array(new long[] {1, 3, h, w}, TestOnnx.random(5, (int) (3 * h * w)));
    float[] expect = null;
    for (Head head : Head.values()) {
      Graph g = TestNets.vgg16(true, 16, 2, 11, Shape.of(1, 3, h, w), "pool");
      FcnHeadPass.apply(g, new HeadOptions(head, 0, null, null, true));
      long[] fs = ShapeInference.infer(g, Map.of()).get("fc8");
      float[] ramp = new float[(int) (fs[1] * fs[2] * fs[3])];
      for (int c = 0; c < fs[1]; c++) {
        for (int i = 0; i < fs[2]; i++) {
          for (int j = 0; j < fs[3]; j++) {
            ramp[(int) ((c * fs[2] + i) * fs[3] + j)] = (float) value(c, i, j);
          }
        }
      }
      Constant r = g.addConstant("ramp", Tensor.ofFloats(fs, ramp));
      g.replaceAllUses(g.value("fc8"), r);
      g.removeUnused();
      Array s = TestOnnx.run(g, Map.of("data", x)).get("score");
      assertArrayEquals(new long[] {1, 2, h, w}, s.shape());
      long y0 = 29;
      long y1 = (long) Math.floor(32 * (fs[2] - 1.5) + 12.5);
      long x1 = (long) Math.floor(32 * (fs[3] - 1.5) + 12.5);
      assertTrue(y1 > y0 + 32 && x1 > y0 + 32, "window " + y1 + "x" + x1);
      float err = 0;
      float max = 0;
      for (int c = 0; c < 2; c++) {
        for (long y = y0; y <= Math.min(y1, h - 1); y++) {
          for (long xx = y0; xx <= Math.min(x1, w - 1); xx++) {
            double e = value(c, (y - 12.5) / 32, (xx - 12.5) / 32);
            float got = s.data()[(int) ((c * h + y) * w + xx)];
            err = Math.max(err, (float) Math.abs(got - e));
            max = Math.max(max, (float) Math.abs(e));
          }
        }
      }
      assertTrue(err <= 1e-4f * max, head + " vs the ramp: max|err| " + err + ", max " + max);
    }
  }

  private static double value(int c, double i, double j) {
    return c == 0 ? 0.5 * i - 0.25 * j : 3 * j + 1;
  }

  @Test
  void untrainedScoreFrIsZero() {
    Graph g = vgg("pool");
    FcnHeadPass.apply(g, HeadOptions.of(Head.FCN32S, 4));
    Array x = new Array(new long[] {1, 3, 40, 50}, TestOnnx.random(9, 3 * 40 * 50));
    Array s = TestOnnx.run(g, Map.of("data", x)).get("score");
    assertArrayEquals(new long[] {1, 4, 40, 50}, s.shape());
    assertEquals(0f, s.maxAbs());
  }

  // ---- Bad input ---------------------------------------------------------------------------

  @Test
  void headWithoutPool4IsRefused() {
    Graph g = new Graph("small");
    Value x = g.addInput("data", DataType.FLOAT, Shape.of(1, 3, 32, 32));
    for (int i = 1; i <= 2; i++) {
      x = conv(g, x, "conv" + i, i == 1 ? 3 : 4, 4, 3, 1);
      x = g.add(Op.MAX_POOL, "mp" + i, List.of(x), "mp" + i,
          Attrs.of("kernel_shape", new long[] {2, 2}, "strides", new long[] {2, 2}));
    }
    x = conv(g, x, "cls", 4, 3, 1, 0);
    g.setOutputs(List.of(x));
    FcnException e = assertThrows(FcnException.class,
        () -> FcnHeadPass.apply(g, HeadOptions.of(Head.FCN16S, 3)));
    assertEquals("--head fcn16s needs pool4: the graph has no value named 'pool4' and 2 strided"
        + " MaxPool node(s) (expected at least 4, as in VGG16); name it with --pool4 NAME", e.getMessage());
  }

  @Test
  void headOnDenseClassifierIsRefused() {
    Graph g = new Graph("dense");
    Value x = g.addInput("data", DataType.FLOAT, Shape.of(1, 3, 8, 8));
    x = conv(g, x, "conv1", 3, 4, 3, 1);
    x = g.add(Op.FLATTEN, "flat", List.of(x), "flat", Attrs.of("axis", 1L));
    Constant w = g.addConstant("fc_W", Tensor.ofFloats(new long[] {2, 256}, new float[512]));
    x = g.add(Op.GEMM, "fc", List.of(x, w), "fc", Attrs.of("transB", 1L));
    g.setOutputs(List.of(x));
    FcnException e = assertThrows(FcnException.class,
        () -> FcnHeadPass.apply(g, HeadOptions.of(Head.FCN32S, 3)));
    assertEquals("--head needs a fully convolutional classifier: output 'fc' comes from Gemm 'fc',"
        + " expected a Conv (e.g. fc8); convert dense layers first with --fully-conv", e.getMessage());
  }

  @Test
  void badOptionsAreRefused() {
    assertThrows(FcnException.class, () -> Head.parse("fcn4s"));
    FcnException e = assertThrows(FcnException.class, () -> HeadOptions.of(Head.FCN8S, 0));
    assertTrue(e.getMessage().startsWith("--classes 0 is not a class count"), e.getMessage());
  }

  private static Value conv(Graph g, Value x, String name, long cin, long cout, long k, long pad) {
    Constant w = g.addConstant(name + "_W", Tensor.ofFloats(new long[] {cout, cin, k, k},
        TestOnnx.random(name.hashCode(), (int) (cout * cin * k * k))));
    return g.add(Op.CONV, name, List.of(x, w), name, Attrs.of("kernel_shape", new long[] {k, k},
        "pads", new long[] {pad, pad, pad, pad}));
  }
}
