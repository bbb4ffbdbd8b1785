package fcn.testing;

import fcn.core.ExitCode;
import fcn.core.FcnException;
import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/**
 * Runs a subcommand the way Main will: output captured, FcnException mapped to its one-line
 * message on stderr and exit 2. Test-only; the real mapping lives in fcn.cli.Main.
 */
public final class SubcommandHarness {
  private SubcommandHarness() {}

  /** Exit code and captured streams of one run. */
  public record Result(int exit, String out, String err) {
    @Override
    public String toString() {
      return "exit " + exit + "\n--- out\n" + out + "--- err\n" + err;
    }
  }

  public static Result run(Object command, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(command);
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
      if (ex instanceof FcnException) {
        commandLine.getErr().println(ex.getMessage());
        return ExitCode.BAD_INPUT;
      }
      throw ex;
    });
    int exit = cl.execute(args);
    return new Result(exit, out.toString(), err.toString());
  }
}
