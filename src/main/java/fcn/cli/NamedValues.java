package fcn.cli;

import fcn.core.FcnException;
import java.util.List;

/** Parses repeatable "[NAME=]VALUE" options such as --atol 1e-5 --atol score=1e-3. */
final class NamedValues {
  /** One parsed occurrence; name is null for the default. */
  record Entry(String name, double value) {}

  private NamedValues() {}

  static List<Entry> parse(String option, List<String> raw) {
    if (raw == null) {
      return List.of();
    }
    return raw.stream().map(s -> parseOne(option, s)).toList();
  }

  static Entry parseOne(String option, String s) {
    int eq = s.lastIndexOf('=');
    String name = eq < 0 ? null : s.substring(0, eq).trim();
    String num = (eq < 0 ? s : s.substring(eq + 1)).trim();
    if (name != null && name.isEmpty()) {
      throw new FcnException(option + " '" + s + "': empty output name; expected NUMBER or NAME=NUMBER");
    }
    try {
      return new Entry(name, Double.parseDouble(num));
    } catch (NumberFormatException e) {
      throw new FcnException(option + " '" + s + "': '" + num + "' is not a number; expected NUMBER or NAME=NUMBER");
    }
  }
}
