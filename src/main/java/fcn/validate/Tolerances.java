package fcn.validate;

import fcn.core.FcnException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Default and per-output tolerances: atol, rtol (Polygraphy's per-element rule) and an optional
 * minimum label agreement in percent for N×C×H×W score maps. Immutable; build with the with*
 * methods.
 */
public final class Tolerances {
  /** Defaults of {@code fcn validate}. */
  public static final double DEFAULT_ATOL = 1e-5;
  public static final double DEFAULT_RTOL = 1e-3;

  /** The tolerance applied to one output. minLabelAgreement is NaN when not required. */
  public record Tolerance(double atol, double rtol, double minLabelAgreement) {
    public boolean requiresLabels() {
      return !Double.isNaN(minLabelAgreement);
    }
  }

  private final double atol;
  private final double rtol;
  private final double minLabels;
  private final Map<String, Double> atolFor;
  private final Map<String, Double> rtolFor;
  private final Map<String, Double> labelsFor;

  private Tolerances(double atol, double rtol, double minLabels, Map<String, Double> atolFor,
      Map<String, Double> rtolFor, Map<String, Double> labelsFor) {
    this.atol = atol;
    this.rtol = rtol;
    this.minLabels = minLabels;
    this.atolFor = Collections.unmodifiableMap(atolFor);
    this.rtolFor = Collections.unmodifiableMap(rtolFor);
    this.labelsFor = Collections.unmodifiableMap(labelsFor);
  }

  public static Tolerances defaults() {
    return new Tolerances(DEFAULT_ATOL, DEFAULT_RTOL, Double.NaN, Map.of(), Map.of(), Map.of());
  }

  public static Tolerances of(double atol, double rtol) {
    return defaults().withAtol(atol).withRtol(rtol);
  }

  public Tolerances withAtol(double v) {
    return new Tolerances(nonNegative("atol", v), rtol, minLabels, atolFor, rtolFor, labelsFor);
  }

  public Tolerances withRtol(double v) {
    return new Tolerances(atol, nonNegative("rtol", v), minLabels, atolFor, rtolFor, labelsFor);
  }

  public Tolerances withMinLabelAgreement(double percent) {
    return new Tolerances(atol, rtol, percent(percent), atolFor, rtolFor, labelsFor);
  }

  public Tolerances withAtol(String output, double v) {
    return new Tolerances(atol, rtol, minLabels, put(atolFor, output, nonNegative("atol", v)), rtolFor, labelsFor);
  }

  public Tolerances withRtol(String output, double v) {
    return new Tolerances(atol, rtol, minLabels, atolFor, put(rtolFor, output, nonNegative("rtol", v)), labelsFor);
  }

  public Tolerances withMinLabelAgreement(String output, double percent) {
    return new Tolerances(atol, rtol, minLabels, atolFor, rtolFor, put(labelsFor, output, percent(percent)));
  }

  /** The tolerance for {@code output}: its overrides, else the defaults. */
  public Tolerance forOutput(String output) {
    return new Tolerance(atolFor.getOrDefault(output, atol), rtolFor.getOrDefault(output, rtol),
        labelsFor.getOrDefault(output, minLabels));
  }

  /** Output names that have an override of any kind. */
  public Set<String> overriddenOutputs() {
    Set<String> s = new TreeSet<>(atolFor.keySet());
    s.addAll(rtolFor.keySet());
    s.addAll(labelsFor.keySet());
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
