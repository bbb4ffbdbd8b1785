package fcn.validate;

import fcn.core.FcnException;
import fcn.runtime.FloatTensor;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Default and per-output tolerances: atol, rtol (Polygraphy's per-element rule), an optional atol
 * scale and an optional minimum label agreement in percent for N×C×H×W score maps. Immutable;
 * build with the with* methods.
 *
 * <p>The atol scale makes atol follow the output's magnitude: compared with expected values e,
 * an output's atol is max(atol, scale × max|e|) (per set, over e's finite values). With atol 0
 * and rtol 0 ({@link #relative}) an output passes exactly when max|err| ≤ scale × max|e|.
 *
 * <p>{@link #defaults()}, the rule of {@code fcn validate}, {@code --against-caffe} and
 * {@code convert --verify} when no tolerance is given: max|err| ≤ 1e-4 × max|ref| per output,
 * plus, for score maps, at least {@value #DEFAULT_MIN_LABEL_AGREEMENT}% of pixels with the same
 * argmax. Scale-aware because outputs range from 1e-3 (probabilities) to 1e4 (raw FCN scores on
 * 0..255 inputs), where a fixed atol is either meaningless or stricter than float32 sums allow
 * near zero. {@link #polygraphy()} is Polygraphy's fixed per-element rule, for those who ask for it.
 */
public final class Tolerances {
  /** Polygraphy's defaults, used once --atol or --rtol asks for its per-element rule. */
  public static final double DEFAULT_ATOL = 1e-5;
  public static final double DEFAULT_RTOL = 1e-3;
  /** Scale of {@link #relative} used against a reference framework: max|err| ≤ 1e-4 × max|ref|. */
  public static final double REFERENCE_ATOL_SCALE = 1e-4;
  /**
   * Default minimum label agreement of score maps, percent. A faithful fp32 conversion flips a
   * pixel's label only at a near-tie (top-2 scores closer than the float error; measured: not
   * one flip in ~1.3 million pixels of the Caffe fixtures, the reduced voc-fcn8s nets and
   * torchvision's fcn_resnet50, docs/validate.md); one pixel in a thousand leaves room for such
   * ties on maps of 10^3 pixels and more, while a one-pixel crop shift agrees on only 84-89%.
   */
  public static final double DEFAULT_MIN_LABEL_AGREEMENT = 99.9;

  /** The tolerance applied to one output. minLabelAgreement is NaN when not required. */
  public record Tolerance(double atol, double rtol, double minLabelAgreement) {
    public boolean requiresLabels() {
      return !Double.isNaN(minLabelAgreement);
    }
  }

  private final double atol;
  private final double rtol;
  private final double minLabels;
  private final double atolScale;
  private final Map<String, Double> atolFor;
  private final Map<String, Double> rtolFor;
  private final Map<String, Double> labelsFor;
  private final Map<String, Double> scaleFor;

  private Tolerances(double atol, double rtol, double minLabels, double atolScale, Map<String, Double> atolFor,
      Map<String, Double> rtolFor, Map<String, Double> labelsFor, Map<String, Double> scaleFor) {
    this.atol = atol;
    this.rtol = rtol;
    this.minLabels = minLabels;
    this.atolScale = atolScale;
    this.atolFor = Collections.unmodifiableMap(atolFor);
    this.rtolFor = Collections.unmodifiableMap(rtolFor);
    this.labelsFor = Collections.unmodifiableMap(labelsFor);
    this.scaleFor = Collections.unmodifiableMap(scaleFor);
  }

  /** The default rule: max|err| ≤ 1e-4 × max|ref| per output; labels ≥ 99.9% on score maps. */
  public static Tolerances defaults() {
    return relative(REFERENCE_ATOL_SCALE).withMinLabelAgreement(DEFAULT_MIN_LABEL_AGREEMENT);
  }

  /** Polygraphy's per-element rule with its defaults (atol 1e-5, rtol 1e-3), no scale, no label minimum. */
  public static Tolerances polygraphy() {
    return new Tolerances(DEFAULT_ATOL, DEFAULT_RTOL, Double.NaN, 0, Map.of(), Map.of(), Map.of(), Map.of());
  }

  /** Polygraphy's per-element rule with this atol and rtol. */
  public static Tolerances of(double atol, double rtol) {
    return polygraphy().withAtol(atol).withRtol(rtol);
  }

  /** atol 0, rtol 0, atol scale {@code scale}: an output passes iff max|err| ≤ scale × max|expected|. */
  public static Tolerances relative(double scale) {
    return polygraphy().withAtol(0).withRtol(0).withAtolScale(scale);
  }

  public Tolerances withAtol(double v) {
    return new Tolerances(nonNegative("atol", v), rtol, minLabels, atolScale, atolFor, rtolFor, labelsFor, scaleFor);
  }

  public Tolerances withRtol(double v) {
    return new Tolerances(atol, nonNegative("rtol", v), minLabels, atolScale, atolFor, rtolFor, labelsFor, scaleFor);
  }

  public Tolerances withMinLabelAgreement(double percent) {
    return new Tolerances(atol, rtol, percent(percent), atolScale, atolFor, rtolFor, labelsFor, scaleFor);
  }

  /** atol becomes max(atol, {@code v} × max|expected|); 0 turns the scale off. */
  public Tolerances withAtolScale(double v) {
    return new Tolerances(atol, rtol, minLabels, nonNegative("atol-scale", v), atolFor, rtolFor, labelsFor, scaleFor);
  }

  public Tolerances withAtol(String output, double v) {
    return new Tolerances(atol, rtol, minLabels, atolScale, put(atolFor, output, nonNegative("atol", v)), rtolFor,
        labelsFor, scaleFor);
  }

  public Tolerances withRtol(String output, double v) {
    return new Tolerances(atol, rtol, minLabels, atolScale, atolFor, put(rtolFor, output, nonNegative("rtol", v)),
        labelsFor, scaleFor);
  }

  public Tolerances withMinLabelAgreement(String output, double percent) {
    return new Tolerances(atol, rtol, minLabels, atolScale, atolFor, rtolFor,
        put(labelsFor, output, percent(percent)), scaleFor);
  }

  public Tolerances withAtolScale(String output, double v) {
    return new Tolerances(atol, rtol, minLabels, atolScale, atolFor, rtolFor, labelsFor,
        put(scaleFor, output, nonNegative("atol-scale", v)));
  }

  /** The tolerance for {@code output}: its overrides, else the defaults; atol before scaling. */
  public Tolerance forOutput(String output) {
    return new Tolerance(atolFor.getOrDefault(output, atol), rtolFor.getOrDefault(output, rtol),
        labelsFor.getOrDefault(output, minLabels));
  }

  /** The atol scale of {@code output} (0 = none). */
  public double atolScale(String output) {
    return scaleFor.getOrDefault(output, atolScale);
  }

  /** The tolerance for {@code output} compared with {@code expected}: atol scaled by max|expected|. */
  public Tolerance forOutput(String output, FloatTensor expected) {
    Tolerance t = forOutput(output);
    double scale = atolScale(output);
    if (scale == 0) {
      return t;
    }
    double max = 0;
    for (float v : expected.data()) {
      double a = Math.abs((double) v);
      if (a > max && !Double.isInfinite(a)) {
        max = a;
      }
    }
    return new Tolerance(Math.max(t.atol(), scale * max), t.rtol(), t.minLabelAgreement());
  }

  /**
   * The rule in words, for the header of a report, e.g. "max|err| <= 0.0001 x max|ref| per output;
   * labels >= 99.9% for score maps (NxCxHxW, C >= 2)".
   */
  public String describe() {
    StringBuilder sb = new StringBuilder(rule(atol, rtol, atolScale));
    if (!Double.isNaN(minLabels)) {
      sb.append("; labels >= ").append(CompareResult.num(minLabels)).append("% for score maps (NxCxHxW, C >= 2)");
    }
    for (String o : overriddenOutputs()) {
      Tolerance t = forOutput(o);
      sb.append("; output '").append(o).append("': ").append(rule(t.atol(), t.rtol(), atolScale(o)));
      if (t.requiresLabels()) {
        sb.append(", labels >= ").append(CompareResult.num(t.minLabelAgreement())).append('%');
      }
    }
    return sb.toString();
  }

  private static String rule(double atol, double rtol, double scale) {
    String s = CompareResult.num(scale);
    if (scale > 0 && atol == 0 && rtol == 0) {
      return "max|err| <= " + s + " x max|ref| per output";
    }
    String a = scale > 0 ? "max(" + CompareResult.num(atol) + ", " + s + " x max|ref|)" : CompareResult.num(atol);
    if (rtol == 0) {
      return "|err| <= " + a + " per element";
    }
    return "per element |err| <= atol " + a + " or <= rtol " + CompareResult.num(rtol) + " x |ref| (Polygraphy's rule)";
  }

  /** Output names that have an override of any kind. */
  public Set<String> overriddenOutputs() {
    Set<String> s = new TreeSet<>(atolFor.keySet());
    s.addAll(rtolFor.keySet());
    s.addAll(labelsFor.keySet());
    s.addAll(scaleFor.keySet());
    return s;
  }

  private static Map<String, Double> put(Map<String, Double> m, String k, double v) {
    Map<String, Double> c = new LinkedHashMap<>(m);
    c.put(k, v);
    return c;
  }

  private static double nonNegative(String what, double v) {
    if (!(v >= 0) || Double.isInfinite(v)) {
      throw new FcnException("--" + what + " must be a finite number >= 0, got " + v);
    }
    return v;
  }

  private static double percent(double v) {
    if (!(v >= 0 && v <= 100)) {
      throw new FcnException("--min-label-agreement must be a percentage in [0, 100], got " + v);
    }
    return v;
  }
}
