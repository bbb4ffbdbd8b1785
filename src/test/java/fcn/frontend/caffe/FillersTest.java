package fcn.frontend.caffe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.proto.CaffeProto.FillerParameter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Random weights have the scale their filler asks for. */
class FillersTest {
  private static double[] meanStd(float[] v) {
    double s = 0;
    double s2 = 0;
    for (float x : v) {
      s += x;
      s2 += (double) x * x;
    }
    double m = s / v.length;
    return new double[] {m, Math.sqrt(s2 / v.length - m * m)};
  }

  @Test
  void gaussianMsraXavierAndConstantHaveTheirScale() {
    long[] shape = {64, 32, 3, 3}; // fan-in 288
    double[] g = meanStd(Fillers.fill(shape, Fillers.gaussian(0.5f), 1, "l", 0).floats());
    assertEquals(0, g[0], 0.01);
    assertEquals(0.5, g[1], 0.01);
    double[] m = meanStd(Fillers.fill(shape,
        FillerParameter.newBuilder().setType("msra").build(), 1, "l", 0).floats());
    assertEquals(Math.sqrt(2.0 / 288), m[1], 0.002);
    float[] x = Fillers.fill(shape, FillerParameter.newBuilder().setType("xavier").build(), 1,
        "l", 0).floats();
    double limit = Math.sqrt(3.0 / 288);
    for (float v : x) {
      assertTrue(Math.abs(v) <= limit);
    }
    assertEquals(limit / Math.sqrt(3), meanStd(x)[1], 0.002);
    for (float v : Fillers.fill(new long[] {5}, Fillers.constant(0.25f), 1, "l", 0).floats()) {
      assertEquals(0.25f, v);
    }
  }

  @Test
  void bilinearIsCaffesUpsamplingKernel(@TempDir Path tmp) throws Exception {
    for (int k : new int[] {4, 3, 16}) {
      Path proto = Files.writeString(tmp.resolve("b" + k + ".prototxt"),
          "layer { name: 'in' type: 'Input' top: 'data' input_param { shape { dim: 1 dim: 2"
              + " dim: 5 dim: 5 } } }\nlayer { name: 'up' type: 'Deconvolution' bottom: 'data'"
              + " top: 'up' convolution_param { num_output: 3 kernel_size: " + k + " stride: 2"
              + " bias_term: false weight_filler { type: 'bilinear' } } }\n");
      Path model = tmp.resolve("b" + k + ".caffemodel");
      CaffeRef.writeCaffemodel(proto, model);
      WeightBlob caffe = CaffemodelReader.read(model).weights().get("up").get(0);
      float[] ours = Fillers.fill(caffe.shape(),
          FillerParameter.newBuilder().setType("bilinear").build(), 1, "up", 0).floats();
      assertArrayEquals(caffe.data().floats(), ours, 1e-6f, "kernel " + k);
    }
  }
}
