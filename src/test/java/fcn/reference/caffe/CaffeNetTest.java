package fcn.reference.caffe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.models.NetBuilder;
import fcn.models.NetBuilder.Fcn;
import fcn.models.NetBuilder.Mode;
import fcn.models.Prototxt;
import fcn.proto.CaffeProto.ConvolutionParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CaffeNetTest {
  @TempDir Path tmp;

  private static final NetBuilder SMALL = new NetBuilder().widthDivisor(32).minWidth(4).classes(5).input(1, 40, 56);

  private Path write(NetParameter net, String name) {
    Path p = tmp.resolve(name);
    Prototxt.write(net, p);
    return p;
  }

  private static float[] randomInput(int n, long seed) {
    Random r = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextGaussian() * 50);
    }
    return v;
  }

  @Test
  void seededRandomWeightsAreDeterministicAndSaveReloadsExactly() throws Exception {
    Path proto = write(SMALL.fcn(Fcn.FCN8S, Mode.DEPLOY), "fcn8s.prototxt");
    Map<String, float[]> in = Map.of("data", randomInput(3 * 40 * 56, 7));
    Path model = tmp.resolve("w.caffemodel");
    float[] first;
    try (CaffeNet net = CaffeNet.open(proto, null, 42)) {
      assertEquals(List.of("data"), net.inputNames());
      assertArrayEquals(new long[] {1, 3, 40, 56}, net.inputShapes().get("data"));
      assertEquals(List.of("score"), net.outputNames());
      Blob score = net.forward(in).get("score");
      assertArrayEquals(new long[] {1, 5, 40, 56}, score.shape());
      first = score.data();
      assertTrue(Stream.of(net.blobNames().toArray()).anyMatch("fuse_pool3"::equals));
      assertArrayEquals(first, net.blob("score").data());
      net.save(model);
    }
    try (Stream<Path> files = Files.list(tmp)) {
      assertEquals(2, files.count(), "no temp file left beside the caffemodel");
    }
    try (CaffeNet again = CaffeNet.open(proto, null, 42);
        CaffeNet other = CaffeNet.open(proto, null, 43);
        CaffeNet loaded = CaffeNet.open(proto, model)) {
      assertArrayEquals(first, again.forward(in).get("score").data());
      assertFalse(java.util.Arrays.equals(first, other.forward(in).get("score").data()));
      assertArrayEquals(first, loaded.forward(in).get("score").data());
      float max = 0;
      for (float f : first) {
        max = Math.max(max, Math.abs(f));
      }
      assertTrue(max > 1e-3 && Float.isFinite(max), "random weights give a usable signal, max |score| = " + max);
    }
  }

  @Test
  void reshapeChangesOutputSize() {
    try (CaffeNet net = CaffeNet.open(write(SMALL.fcn(Fcn.FCN32S, Mode.DEPLOY), "a.prototxt"), null, 1)) {
      net.reshape(Map.of("data", new long[] {2, 3, 33, 21}));
      Blob score = net.forward(Map.of("data", randomInput(2 * 3 * 33 * 21, 1))).get("score");
      assertArrayEquals(new long[] {2, 5, 33, 21}, score.shape());
      assertArrayEquals(new long[] {2, 5, 33, 21}, net.shape("score"));
    }
  }

  /** Checks the blob/param plumbing (row-major NCHW, weight layout) against plain Java arithmetic. */
  @Test
  void oneByOneConvolutionMatchesJavaArithmetic() {
    NetParameter net = NetParameter.newBuilder()
        .addLayer(LayerParameter.newBuilder().setName("in").setType("Input").addTop("x")
            .setInputParam(fcn.proto.CaffeProto.InputParameter.newBuilder()
                .addShape(fcn.proto.CaffeProto.BlobShape.newBuilder().addDim(1).addDim(3).addDim(2).addDim(4))))
        .addLayer(LayerParameter.newBuilder().setName("c").setType("Convolution").addBottom("x").addTop("y")
            .setConvolutionParam(ConvolutionParameter.newBuilder().setNumOutput(2).addKernelSize(1)))
        .build();
    try (CaffeNet caffe = CaffeNet.open(net, null, 5, "1x1 conv")) {
      float[] x = randomInput(24, 3);
      float[] y = caffe.forward(Map.of("x", x)).get("y").data();
      List<Blob> p = caffe.params("c");
      assertArrayEquals(new long[] {2, 3, 1, 1}, p.get(0).shape());
      float[] w = p.get(0).data();
      float[] b = p.get(1).data();
      for (int o = 0; o < 2; o++) {
        for (int s = 0; s < 8; s++) {
          double acc = b[o];
          for (int c = 0; c < 3; c++) {
            acc += w[o * 3 + c] * x[c * 8 + s];
          }
          assertEquals(acc, y[o * 8 + s], 1e-3 * (1 + Math.abs(acc)));
        }
      }
      caffe.setParam("c", 1, new float[] {100, -100});
      float[] y2 = caffe.forward(Map.of("x", x)).get("y").data();
      assertEquals(y[0] - b[0] + 100, y2[0], 1e-3);
    }
  }

  @Test
  void foreseeableFailuresAreOneLineUserErrors() {
    Path proto = write(SMALL.fcn(Fcn.FCN8S, Mode.DEPLOY), "fcn8s.prototxt");
    try (CaffeNet net = CaffeNet.open(proto, null, 1)) {
      assertTrue(assertThrows(FcnException.class, () -> net.forward(Map.of())).getMessage().contains("'data'"));
      assertTrue(assertThrows(FcnException.class, () -> net.forward(Map.of("data", new float[3])))
          .getMessage().contains("got 3 values"));
      assertThrows(FcnException.class, () -> net.blob("nope"));
      assertThrows(FcnException.class, () -> net.reshape(Map.of("label", new long[] {1})));
    }
    // A wider net's weights do not fit: caught before Caffe's CHECK would abort the JVM.
    Path wide = write(new NetBuilder().widthDivisor(16).minWidth(4).classes(5).input(1, 40, 56)
        .fcn(Fcn.FCN8S, Mode.DEPLOY), "wide.prototxt");
    Path wideModel = tmp.resolve("wide.caffemodel");
    try (CaffeNet w = CaffeNet.open(wide, null, 1)) {
      w.save(wideModel);
    }
    FcnException e = assertThrows(FcnException.class, () -> CaffeNet.open(proto, wideModel));
    assertTrue(e.getMessage().contains("conv") && e.getMessage().contains("expects"), e.getMessage());
    assertTrue(assertThrows(FcnException.class, () -> CaffeNet.open(proto, tmp.resolve("missing.caffemodel")))
        .getMessage().contains("no such caffemodel"));
    Path garbage = tmp.resolve("garbage.caffemodel");
    fcn.core.AtomicFile.write(garbage, new byte[] {(byte) 0xff, 1, 2, 3});
    assertThrows(FcnException.class, () -> CaffeNet.open(proto, garbage));
    // The published val nets' Python data layer:
    NetParameter train = SMALL.fcn(Fcn.FCN32S, Mode.TRAIN);
    NetParameter python = train.toBuilder().setLayer(0, train.getLayer(0).toBuilder().setType("Python")
        .clearInputParam()).build();
    FcnException py = assertThrows(FcnException.class, () -> CaffeNet.open(python, null, 1, "val"));
    assertTrue(py.getMessage().contains("DeployNets.forCaffe"), py.getMessage());
  }

  @Test
  void closeIsIdempotent() {
    CaffeNet net = CaffeNet.open(write(SMALL.vgg16(), "vgg.prototxt"), null, 1);
    assertEquals(List.of("prob"), net.outputNames());
    net.close();
    net.close();
    assertThrows(IllegalStateException.class, net::inputNames);
  }
}
