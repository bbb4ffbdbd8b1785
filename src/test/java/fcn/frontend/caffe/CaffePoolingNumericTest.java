package fcn.frontend.caffe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.ir.Graph;
import fcn.testing.TestOnnx;
import fcn.testing.TestOnnx.Array;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Caffe pooling against ONNX Runtime running the converted graph with symbolic H and W, at
 * many odd sizes: Caffe's ceil rounding, its "last window starts inside the image or left
 * pad" rule and its AVE divisor (padding counted, ceil overflow not) must hold at every size.
 */
class CaffePoolingNumericTest {
  @TempDir Path tmp;

  private static String net(String pool, int kh, int kw, int sh, int sw, int ph, int pw,
      int h, int w) {
    return "name: 'pool'\n"
        + "layer { name: 'in' type: 'Input' top: 'data' input_param { shape { dim: 1 dim: 2 dim: "
        + h + " dim: " + w + " } } }\n"
        + "layer { name: 'pool' type: 'Pooling' bottom: 'data' top: 'out' pooling_param { pool: "
        + pool + " kernel_h: " + kh + " kernel_w: " + kw + " stride_h: " + sh + " stride_w: " + sw
        + " pad_h: " + ph + " pad_w: " + pw + " } }\n";
  }

  @Test
  void maxAndAveMatchCaffeAtManySizesWithDynamicShapes() throws Exception {
    List<String> failures = new ArrayList<>();
    int cases = 0;
    for (String pool : List.of("MAX", "AVE")) {
      for (int k = 2; k <= 4; k++) {
        for (int s = 1; s <= 3; s++) {
          for (int p = 0; p < k; p++) {
            if (s > k && p == 0) {
              continue; // Caffe makes windows outside the input there: rejected, tested below
            }
            // The width uses other parameters than the height, so both axes are exercised.
            int kw = k == 4 ? 3 : k + 1;
            int pw = Math.min(p, kw - 1);
            int sw = s == 3 ? 1 : s + 1;
            if (sw > kw && pw == 0) {
              sw = kw;
            }
            Path proto = Files.writeString(tmp.resolve("p" + cases + ".prototxt"),
                net(pool, k, kw, s, sw, p, pw, 11, 12));
            Graph g = CaffeImporter.importNet(proto, null,
                CaffeImportOptions.defaults().withRandomWeightsSeed(1L));
            TestOnnx.makeSpatialDynamic(g);
            try (CaffeRef caffe = new CaffeRef(proto, null)) {
              for (int h : new int[] {Math.max(1, k - 2 * p), 5, 6, 7, 8, 13}) {
                int w = Math.max(Math.max(1, kw - 2 * pw), h + 3);
                Array x = Array.gaussian(cases * 100L + h, 1f, 1, 2, h, w);
                Array ref = caffe.forward(Map.of("data", x), List.of("out")).get("out");
                Array got = TestOnnx.run(g, Map.of("data", x)).get("out");
                double err = got.maxAbsDiff(ref);
                cases++;
                if (!(err <= 1e-5 * Math.max(1, ref.maxAbs()))) {
                  failures.add(String.format("%s k=%dx%d s=%dx%d p=%dx%d in=%dx%d: caffe %s ort %s err %g",
                      pool, k, kw, s, sw, p, pw, h, w, ref.shapeString(), got.shapeString(), err));
                }
              }
            }
          }
        }
      }
    }
    assertTrue(cases > 300, "only " + cases + " cases ran");
    assertTrue(failures.isEmpty(), failures.size() + " of " + cases + " differ:\n"
        + String.join("\n", failures));
  }

  @Test
  void globalPoolingMatchesCaffe() throws Exception {
    for (String pool : List.of("MAX", "AVE")) {
      String text = "layer { name: 'in' type: 'Input' top: 'data' input_param { shape { dim: 2"
          + " dim: 3 dim: 7 dim: 9 } } }\n layer { name: 'gp' type: 'Pooling' bottom: 'data'"
          + " top: 'out' pooling_param { pool: " + pool + " global_pooling: true } }\n";
      Path proto = Files.writeString(tmp.resolve("g" + pool + ".prototxt"), text);
      Graph g = CaffeImporter.importNet(proto, null,
          CaffeImportOptions.defaults().withRandomWeightsSeed(1L));
      assertArrayEquals(new long[] {2, 3, 1, 1}, g.value("out").shape().toArray());
      TestOnnx.makeSpatialDynamic(g);
      try (CaffeRef caffe = new CaffeRef(proto, null)) {
        for (int h : new int[] {7, 10}) {
          Array x = Array.gaussian(h, 1f, 2, 3, h, h + 2);
          Array ref = caffe.forward(Map.of("data", x), List.of("out")).get("out");
          Array got = TestOnnx.run(g, Map.of("data", x)).get("out");
          assertTrue(got.maxAbsDiff(ref) <= 1e-5 * ref.maxAbs(), pool + " at " + h);
        }
      }
    }
  }

  @Test
  void windowsOutsideTheInputAreRejected() throws Exception {
    // kernel 1, stride 2, no pad at an even size: Caffe's ceil rounding adds a window that
    // starts past the input (it holds -FLT_MAX), which no ONNX pooling reproduces.
    Path proto = Files.writeString(tmp.resolve("bad.prototxt"), net("MAX", 1, 1, 2, 2, 0, 0, 8, 8));
    FcnException e = org.junit.jupiter.api.Assertions.assertThrows(FcnException.class,
        () -> CaffeImporter.importNet(proto, null,
            CaffeImportOptions.defaults().withRandomWeightsSeed(1L)));
    assertTrue(e.getMessage().contains("layer 'pool' (Pooling)"), e.getMessage());
    assertTrue(e.getMessage().contains("outside the 8x8 input"), e.getMessage());
  }
}
