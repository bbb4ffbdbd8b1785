package fcn.validate;

import fcn.core.FcnException;
import fcn.runtime.FloatTensor;
import fcn.validate.Tolerances.Tolerance;
import java.util.Arrays;

/**
 * Compares an output with its expected values.
 *
 * <p>Per-element rule, exactly Polygraphy's: element i fails only if |a−b| > atol AND
 * |a−b| > rtol·|b| (b = expected); a NaN on either side always fails. Equal infinities match;
 * an infinite difference (inf vs finite, +inf vs −inf) always fails, whatever rtol·|b| is.
 * Statistics are accumulated in double. Shapes must be equal.
 */
public final class Comparator {
  private Comparator() {}

  /** Compares with a plain atol/rtol and no label requirement. */
  public static CompareResult compare(String output, FloatTensor actual, FloatTensor expected,
      double atol, double rtol) {
    return compare(output, actual, expected, new Tolerance(atol, rtol, Double.NaN));
  }

  public static CompareResult compare(String output, FloatTensor actual, FloatTensor expected, Tolerance tol) {
    if (!Arrays.equals(actual.shape(), expected.shape())) {
      throw FcnException.of("output '%s' has shape %s but the expected tensor has shape %s",
          output, actual.shapeString(), expected.shapeString());
    }
    float[] a = actual.data();
    float[] b = expected.data();
    int n = a.length;
    double atol = tol.atol();
    double rtol = tol.rtol();

    long failed = 0;
    long nanA = 0;
    long nanB = 0;
    long finitePairs = 0;
    long relPairs = 0;
    double sumAbs = 0;
    double maxAbs = 0;
    double sumRel = 0;
    double maxRel = Double.NaN;
    double dot = 0;
    double na = 0;
    double nb = 0;
    int worstFail = -1;
    double worstFailDiff = -1;
    boolean worstFailNan = false;
    int worstAny = n > 0 ? 0 : -1;
    double worstAnyDiff = -1;

    for (int i = 0; i < n; i++) {
      float x = a[i];
      float y = b[i];
      boolean xNan = Float.isNaN(x);
      boolean yNan = Float.isNaN(y);
      if (xNan || yNan) {
        if (xNan) {
          nanA++;
        }
        if (yNan) {
          nanB++;
        }
        failed++;
        if (!worstFailNan) {
          worstFailNan = true;
          worstFail = i;
        }
        continue;
      }
      double d = x == y ? 0.0 : Math.abs((double) x - (double) y);
      double absY = Math.abs((double) y);
      finitePairs++;
      sumAbs += d;
      if (d > maxAbs) {
        maxAbs = d;
      }
      if (d > worstAnyDiff) {
        worstAnyDiff = d;
        worstAny = i;
      }
      if (absY > 0) {
        double r = d / absY;
        relPairs++;
        sumRel += r;
        if (Double.isNaN(maxRel) || r > maxRel) {
          maxRel = r;
        }
      }
      if ((d > atol && d > rtol * absY) || d == Double.POSITIVE_INFINITY) {
        failed++;
        if (!worstFailNan && d > worstFailDiff) {
          worstFailDiff = d;
          worstFail = i;
        }
      }
      if (!Float.isInfinite(x) && !Float.isInfinite(y)) {
        dot += (double) x * y;
        na += (double) x * x;
        nb += (double) y * y;
      }
    }

    double cosine;
    if (na == 0 && nb == 0) {
      cosine = 1.0;
    } else if (na == 0 || nb == 0) {
      cosine = 0.0;
    } else {
      cosine = dot / (Math.sqrt(na) * Math.sqrt(nb));
    }

    int worst = worstFail >= 0 ? worstFail : worstAny;
    long[] worstIndex = worst >= 0 ? actual.index(worst) : new long[0];

    double agreement = Double.NaN;
    long disagree = -1;
    long pixels = 0;
    long[] shape = actual.shape();
    if (shape.length == 4 && shape[1] >= 2) {
      long[] lab = labelStats(a, b, shape);
      pixels = lab[0];
      disagree = lab[1];
      agreement = pixels == 0 ? 100.0 : 100.0 * (pixels - disagree) / pixels;
    }
    boolean labelsChecked = tol.requiresLabels() && disagree >= 0;
    boolean passed = failed == 0 && (!labelsChecked || agreement >= tol.minLabelAgreement());

    return new CompareResult(output, shape, n, failed,
        finitePairs > 0 ? maxAbs : Double.NaN,
        finitePairs > 0 ? sumAbs / finitePairs : Double.NaN,
        maxRel,
        relPairs > 0 ? sumRel / relPairs : Double.NaN,
        cosine, agreement, disagree, pixels, worstIndex,
        worst >= 0 ? a[worst] : Float.NaN, worst >= 0 ? b[worst] : Float.NaN,
        nanA, nanB, tol, labelsChecked, passed);
  }

  /**
   * {pixels, disagreeing pixels} of N×C×H×W score maps: argmax over C (first maximum wins, as
   * numpy) at every (n, h, w); a pixel with a NaN score on either side disagrees.
   */
  static long[] labelStats(float[] a, float[] b, long[] shape) {
    int nBatch = (int) shape[0];
    int c = (int) shape[1];
    int hw = (int) (shape[2] * shape[3]);
    float[] bestA = new float[hw];
    float[] bestB = new float[hw];
    int[] argA = new int[hw];
    int[] argB = new int[hw];
    boolean[] nan = new boolean[hw];
    long disagree = 0;
    for (int n = 0; n < nBatch; n++) {
      Arrays.fill(argA, 0);
      Arrays.fill(argB, 0);
      Arrays.fill(nan, false);
      int base = n * c * hw;
      // Channel-outer keeps the reads sequential; the running maxima live in per-pixel arrays.
      for (int p = 0; p < hw; p++) {
        bestA[p] = a[base + p];
        bestB[p] = b[base + p];
        nan[p] = Float.isNaN(bestA[p]) || Float.isNaN(bestB[p]);
      }
      for (int ch = 1; ch < c; ch++) {
        int off = base + ch * hw;
        for (int p = 0; p < hw; p++) {
          float x = a[off + p];
          float y = b[off + p];
          if (x > bestA[p]) {
            bestA[p] = x;
            argA[p] = ch;
          }
          if (y > bestB[p]) {
            bestB[p] = y;
            argB[p] = ch;
          }
          if (x != x || y != y) {
            nan[p] = true;
          }
        }
      }
      for (int p = 0; p < hw; p++) {
        if (nan[p] || argA[p] != argB[p]) {
          disagree++;
        }
      }
    }
    return new long[] {(long) nBatch * hw, disagree};
  }
}
