package fcn.cli;

import fcn.core.FcnException;
import fcn.ir.Shape;
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
      Shape shape = Shape.parse(s.substring(eq + 1));
      if (name.isEmpty() || !shape.isStatic() || shape.rank() == 0) {
        throw new FcnException("--input-shape " + s + ": expected NAME=D1,D2,... with positive integers");
      }
      m.put(name, shape.toArray());
    }
    return m;
  }
}
