package fcn.reference.caffe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.models.NetBuilder;
import fcn.models.NetBuilder.Fcn;
import fcn.models.NetBuilder.Mode;
import fcn.models.Prototxt;
import fcn.proto.OnnxProto.TensorProto;
import fcn.runtime.FloatTensor;
import fcn.validate.CompareResult;
import fcn.validate.Comparator;
import fcn.validate.Tolerances;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The checked-in fixtures/caffe still are what the builder and real Caffe make: the prototxts
 * exactly, the outputs under the rule of {@code --against-caffe} (they were made on another CPU).
 */
class FixturesCaffeTest {
  private static final Path DIR = Path.of("fixtures", "caffe");

  private static float[] floats(TensorProto t) {
    float[] f = new float[t.getRawData().size() / 4];
    ByteBuffer.wrap(t.getRawData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
    return f;
  }

  @Test
  void prototxtsAreTheBuildersAndCaffeReproducesTheOutputs() throws Exception {
    NetBuilder b = new NetBuilder().widthDivisor(32).minWidth(4);
    Map<String, fcn.proto.CaffeProto.NetParameter> expected = Map.of(
        "vgg16", b.input(1, 224, 224).vgg16(),
        "fcn32s", b.classes(21).input(1, 48, 64).fcn(Fcn.FCN32S, Mode.DEPLOY),
        "fcn16s", b.classes(21).input(1, 48, 64).fcn(Fcn.FCN16S, Mode.DEPLOY),
        "fcn8s", b.classes(21).input(1, 48, 64).fcn(Fcn.FCN8S, Mode.DEPLOY));
    for (String name : List.of("vgg16", "fcn32s", "fcn16s", "fcn8s")) {
      Path dir = DIR.resolve(name);
      assertEquals(expected.get(name), Prototxt.read(dir.resolve("deploy.prototxt")), name);
      TensorProto in = TensorProto.parseFrom(Files.readAllBytes(dir.resolve("test_data_set_0/input_0.pb")));
      TensorProto out = TensorProto.parseFrom(Files.readAllBytes(dir.resolve("test_data_set_0/output_0.pb")));
      try (CaffeNet net = CaffeNet.open(dir.resolve("deploy.prototxt"), dir.resolve("weights.caffemodel"))) {
        assertEquals(List.of(in.getName()), net.inputNames());
        Blob got = net.forward(Map.of(in.getName(), floats(in))).get(out.getName());
        assertArrayEquals(out.getDimsList().stream().mapToLong(Long::longValue).toArray(), got.shape(), name);
        // Caffe's sums depend on the CPU's OpenBLAS kernel and thread count, so this is the rule of
        // --against-caffe (max|err| <= 1e-4 x max|ref|, labels), not bytes.
        FloatTensor want = new FloatTensor(floats(out), got.shape());
        CompareResult r = Comparator.compare(out.getName(), new FloatTensor(got.data(), got.shape()), want,
            Tolerances.defaults().forOutput(out.getName(), want));
        System.out.printf("fixtures/caffe/%s %s: max|err| %.3g, atol %.3g, labels %s%n", name, out.getName(),
            r.maxAbsError(), r.tolerance().atol(), r.isScoreMap() ? r.labelAgreement() + "%" : "-");
        assertTrue(r.passed(), name + ": " + r.summary());
      }
    }
  }
}
