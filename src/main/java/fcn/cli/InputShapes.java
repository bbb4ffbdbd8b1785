package fcn.cli;

import fcn.core.FcnException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Parses repeatable {@code --input-shape [NAME=]D1,D2,...} options into sizes by input name. */
final class InputShapes {
  private InputShapes() {}

  /**
   * @param inputNames the model's inputs when known (an unnamed shape then applies to the only
   *     one); null when they are not known yet, and every shape must be named
   */
  static Map<String, long[]> parse(List<String> raw, List<String> inputNames) {
    Map<String, long[]> m = new LinkedHashMap<>();
    if (raw == null) {
      return m;
    }
    for (String s : raw) {
      int eq = s.lastIndexOf('=');
      String name;
      if (eq >= 0) {
        name = s.substring(0, eq).trim();
      } else if (inputNames != null && inputNames.size() == 1) {
        name = inputNames.get(0);
      } else {
        throw new FcnException("--input-shape " + s + ": "
            + (inputNames == null ? "name the input" : "the model has " + inputNames.size() + " inputs")
            + "; write NAME=D1,D2,... (e.g. data=1,3,500,500)");
      }
      if (name.isEmpty()) {
        throw new FcnException("--input-shape " + s + ": empty input name; expected NAME=D1,D2,... (e.g. data=1,3,500,500)");
      }
      m.put(name, dims(s, s.substring(eq + 1)));
    }
    return m;
  }

  /** Largest single dimension: ONNX Runtime and Caffe index tensors with 32-bit ints. */
  static final long MAX_DIM = Integer.MAX_VALUE;

  /**
   * Strictly parses "1,3,500,500" or "1x3x500x500": every part a positive integer up to
   * {@link #MAX_DIM}. An empty part ("1,,3") is an error, not skipped: the user meant something.
   *
   * @param option the whole option value, for the message
   */
  static long[] dims(String option, String text) {
    String[] parts = text.strip().split("\\s*[,xX]\\s*", -1);
    long[] dims = new long[parts.length];
    for (int i = 0; i < parts.length; i++) {
      String p = parts[i].strip();
      long d;
      try {
        d = p.matches("\\d{1,19}") ? Long.parseLong(p) : -1;
      } catch (NumberFormatException e) {
        d = -1;
      }
      if (d <= 0 || d > MAX_DIM) {
        throw new FcnException("--input-shape '" + option + "': "
            + (p.isEmpty() ? "empty dimension " + (i + 1) : "'" + p + "' is not a size from 1 to " + MAX_DIM)
            + "; expected e.g. 1,3,500,500 or data=1,3,500,500");
      }
      dims[i] = d;
    }
    return dims;
  }
}
