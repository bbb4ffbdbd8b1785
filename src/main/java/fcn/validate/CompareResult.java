package fcn.validate;

import fcn.ir.Shape;
import fcn.runtime.FloatTensor;
import fcn.validate.Tolerances.Tolerance;
import java.util.Locale;

/**
 * The comparison of one output with its expected values (Polygraphy's OutputCompareResult, plus
 * label statistics for score maps). Immutable.
 *
 * <p>Error statistics skip element pairs where either side is NaN (those are counted in
 * {@link #nanActual}/{@link #nanExpected} and always fail). Relative errors are |a−b|/|b| over the
 * pairs whose expected value b is non-zero; NaN when there is none. Label statistics are present
 * (not NaN / -1) only for rank-4 N×C×H×W outputs with C ≥ 2.
 *
 * @param output the output name
 * @param shape its shape
 * @param count element count
 * @param failed elements failing the per-element rule (NaN elements included)
 * @param maxAbsError largest |a−b|
 * @param meanAbsError mean |a−b|
 * @param maxRelError largest |a−b|/|b|
 * @param meanRelError mean |a−b|/|b|
 * @param cosineSimilarity a·b / (|a||b|) over the non-NaN pairs (1 when both are all zero)
 * @param labelAgreement percent of pixels whose argmax over C agrees; NaN when not a score map
 * @param disagreeingPixels pixels whose argmax differs; -1 when not a score map
 * @param pixels N·H·W; 0 when not a score map
 * @param worstIndex multi-index of the worst element: the failing element with the largest
 *     |a−b| (a NaN one first), or, when none fails, the largest |a−b| overall
 * @param worstActual the actual value there
 * @param worstExpected the expected value there
 * @param nanActual NaN count in the actual output
 * @param nanExpected NaN count in the expected output
 * @param tolerance the tolerance applied
 * @param labelsChecked true when a minimum label agreement applied to this output
 * @param passed no element failed, and label agreement met its minimum where one applied
 */
public record CompareResult(
    String output,
    long[] shape,
    long count,
    long failed,
    double maxAbsError,
    double meanAbsError,
    double maxRelError,
    double meanRelError,
    double cosineSimilarity,
    double labelAgreement,
    long disagreeingPixels,
    long pixels,
    long[] worstIndex,
    float worstActual,
    float worstExpected,
    long nanActual,
    long nanExpected,
    Tolerance tolerance,
    boolean labelsChecked,
    boolean passed) {

  public boolean isScoreMap() {
    return disagreeingPixels >= 0;
  }

  public String shapeString() {
    return Shape.format(shape);
  }

  public String worstIndexString() {
    return FloatTensor.formatIndex(worstIndex);
  }

  /** True when the per-element rule failed somewhere (as opposed to only label agreement). */
  public boolean elementsFailed() {
    return failed > 0;
  }

  /** One line naming the output, what failed and the worst index; for messages. */
  public String summary() {
    StringBuilder sb = new StringBuilder();
    sb.append("output '").append(output).append("' ").append(passed ? "matches" : "MISMATCH").append(": ");
    if (failed > 0) {
      sb.append(String.format(Locale.ROOT, "%d of %d elements exceed atol=%s and rtol=%s",
          failed, count, num(tolerance.atol()), num(tolerance.rtol())));
    } else {
      sb.append(String.format(Locale.ROOT, "all %d elements within atol=%s or rtol=%s",
          count, num(tolerance.atol()), num(tolerance.rtol())));
    }
    if (count > 0) {
      sb.append(String.format(Locale.ROOT, "; worst at %s: actual %s, expected %s (|diff| %s)",
          worstIndexString(), num(worstActual), num(worstExpected),
          num(Math.abs((double) worstActual - worstExpected))));
    }
    if (nanActual > 0 || nanExpected > 0) {
      sb.append(String.format(Locale.ROOT, "; NaN: %d actual, %d expected", nanActual, nanExpected));
    }
    if (labelsChecked) {
      sb.append(String.format(Locale.ROOT, "; label agreement %s%% (min %s%%, %d of %d pixels differ)",
          num(labelAgreement), num(tolerance.minLabelAgreement()), disagreeingPixels, pixels));
    }
    return sb.toString();
  }

  static String num(double v) {
    if (Double.isNaN(v)) {
      return "NaN";
    }
    if (Double.isInfinite(v)) {
      return v > 0 ? "inf" : "-inf";
    }
    if (v == 0) {
      return "0";
    }
    // %g without its padding zeros: 1e-05, 0.001, 3.75
    String s = String.format(Locale.ROOT, "%.6g", v);
    int e = s.indexOf('e');
    String mant = e < 0 ? s : s.substring(0, e);
    if (mant.indexOf('.') >= 0) {
      mant = mant.replaceAll("0+$", "").replaceAll("\\.$", "");
    }
    return e < 0 ? mant : mant + s.substring(e);
  }
}
