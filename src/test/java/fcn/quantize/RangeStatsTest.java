package fcn.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The calibration methods' ranges against ranges computed by hand from the same values. */
class RangeStatsTest {
  /** A ReLU-like activation: many zeros, a smooth body and a few outliers far out. */
  static float[][] images() {
    SplittableRandom r = new SplittableRandom(7);
    float[][] out = new float[3][20000];
    for (float[] img : out) {
      for (int i = 0; i < img.length; i++) {
        img[i] = i % 3 == 0 ? 0f : (float) (r.nextDouble() * 10 - 1);
      }
    }
    out[1][5] = 400f; // outliers
    out[2][7] = -60f;
    return out;
  }

  static RangeStats collect(float[][] imgs) {
    RangeStats s = new RangeStats();
    for (float[] img : imgs) {
      s.observe(img);
    }
    for (float[] img : imgs) {
      s.histogram(img);
    }
    return s;
  }

  @Test
  void minMaxIsTheExtremes() {
    assertArrayEquals(new double[] {-60, 400}, collect(images()).minMax());
  }

  @Test
  void percentileCutsTheTailsAtBinEdges() {
    float[][] imgs = images();
    RangeStats s = collect(imgs);
    double p = 99.99;
    // By hand: the 2048 bin edges over [-60, 400]; the upper bound is the first right edge
    // with at least p% of the values below it, the lower the last left edge with p% at or above.
    double lo = -60;
    double hi = 400;
    double width = (hi - lo) / RangeStats.BINS;
    long n = 3L * 20000;
    double need = p / 100 * n;
    double upper = Double.NaN;
    for (int k = 1; k <= RangeStats.BINS; k++) {
      double e = k == RangeStats.BINS ? hi : lo + k * width;
      long below = 0;
      for (float[] img : imgs) {
        for (float v : img) {
          below += k == RangeStats.BINS || binOf(v, lo, width) < k ? 1 : 0;
        }
      }
      if (below >= need) {
        upper = e;
        break;
      }
    }
    double lower = Double.NaN;
    for (int k = RangeStats.BINS - 1; k >= 0; k--) {
      long above = 0;
      for (float[] img : imgs) {
        for (float v : img) {
          above += binOf(v, lo, width) >= k ? 1 : 0;
        }
      }
      if (above >= need) {
        lower = lo + k * width;
        break;
      }
    }
    double[] got = s.percentile(p);
    assertEquals(lower, got[0], 1e-9);
    assertEquals(upper, got[1], 1e-9);
    // The outliers no longer set the range: the body is within -1..9.
    assertTrue(got[1] < 10 && got[1] > 8.5, "upper " + got[1]);
    assertTrue(got[0] > -1.5 && got[0] <= -0.9, "lower " + got[0]);
  }

  private static int binOf(float v, double lo, double width) {
    return Math.max(0, Math.min(RangeStats.BINS - 1, (int) ((v - lo) / width)));
  }

  @Test
  void uint8ParamsIncludeZeroExactly() {
    QuantParams q = QuantParams.uint8(0, 9.5);
    assertEquals(0, q.zeroPoint());
    assertEquals(0f, q.dequantize(q.quantize(-3f)), 0f); // saturation is the ReLU
    QuantParams signed = QuantParams.uint8(-1, 9);
    assertEquals(0f, signed.dequantize(signed.quantize(0f)), 0f);
    assertEquals(9f / 255 + 1f / 255, signed.scale(), 1e-7);
  }
}
