package fcn.runtime;

import ai.onnxruntime.OrtSession.SessionOptions;
import fcn.core.FcnException;
import java.util.Locale;

/** ONNX Runtime graph optimization level (perf_test's -o 99/2/1/0). */
public enum OptLevel {
  ALL(SessionOptions.OptLevel.ALL_OPT),
  EXTENDED(SessionOptions.OptLevel.EXTENDED_OPT),
  BASIC(SessionOptions.OptLevel.BASIC_OPT),
  NONE(SessionOptions.OptLevel.NO_OPT);

  private final SessionOptions.OptLevel ort;

  OptLevel(SessionOptions.OptLevel ort) {
    this.ort = ort;
  }

  SessionOptions.OptLevel ort() {
    return ort;
  }

  /** Parses "all", "extended", "basic" or "none" (any case). */
  public static OptLevel parse(String text) {
    try {
      return valueOf(text.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new FcnException("unknown optimization level '" + text
          + "'; expected all, extended, basic or none");
    }
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
