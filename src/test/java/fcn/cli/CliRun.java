package fcn.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** One run of {@code fcn ARGS...} through {@link Main#commandLine()}, both streams captured. */
record CliRun(int code, String out, String err) {
  /** Both streams, for assertion messages. */
  String all() {
    return out + err;
  }

  static CliRun fcn(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var cl = Main.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new CliRun(code, out.toString(), err.toString());
  }
}
