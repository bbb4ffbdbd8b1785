package fcn.cli;

import fcn.core.ExitCode;
import fcn.core.FcnException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;

/**
 * The {@code fcn} command. Subcommands are thin: they parse options and call one library entry
 * point. This class owns the one mapping from exceptions to exit codes: a {@link FcnException}
 * prints its message only (exit 2), anything else is a bug (exit 70, stack trace under
 * --verbose).
 */
@Command(
    name = "fcn",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Convert, validate and benchmark Fully Convolutional Networks (Caffe/ONNX -> ONNX).",
    subcommands = {ConvertCommand.class, ValidateCommand.class, FixturesCommand.class,
        BenchCommand.class, ScoreCommand.class, GateCommand.class, QuantizeCommand.class,
        DoctorCommand.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:ok",
      "1:a check failed (validate mismatch, gate regression)",
      "2:bad usage or bad input",
      "70:internal error (a bug; --verbose shows the stack trace)"
    })
public final class Main implements Runnable {
  @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
      description = "Print stack traces for errors.")
  boolean verbose;

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Builds the command line with fcn's error handling; tests use this too. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    cl.setExecutionExceptionHandler(new ErrorHandler());
    // Inputs registered by one command must not block the outputs of the next (tests run many
    // commands in one JVM).
    cl.setExecutionStrategy(parsed -> {
      fcn.core.FileChecks.clearInputs();
      return new CommandLine.RunLast().execute(parsed);
    });
    cl.setParameterExceptionHandler((ex, args) -> {
      PrintWriter err = ex.getCommandLine().getErr();
      err.println("fcn: " + ex.getMessage());
      err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
      err.flush();
      return ExitCode.BAD_INPUT;
    });
    return cl;
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  static final class ErrorHandler implements IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, ParseResult parsed) {
      PrintWriter err = cl.getErr();
      boolean verbose = parsed.hasMatchedOption("--verbose")
          || (parsed.subcommand() != null && hasVerbose(parsed));
      if (ex instanceof FcnException) {
        err.println("fcn: " + ex.getMessage());
        if (verbose && ((FcnException) ex).detail() != null) {
          err.println(((FcnException) ex).detail());
        }
        if (verbose) {
          ex.printStackTrace(err);
        }
        err.flush();
        return ExitCode.BAD_INPUT;
      }
      err.println("fcn: internal error: " + ex + (verbose ? "" : " (run with --verbose for the stack trace)"));
      if (verbose) {
        ex.printStackTrace(err);
      }
      err.flush();
      return ExitCode.INTERNAL;
    }

    private static boolean hasVerbose(ParseResult p) {
      for (ParseResult r = p; r != null; r = r.subcommand()) {
        if (r.hasMatchedOption("--verbose")) {
          return true;
        }
      }
      return false;
    }
  }

  /** Reads the version Maven filtered into fcn-version.properties. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() throws Exception {
      var props = new java.util.Properties();
      try (var in = Main.class.getResourceAsStream("/fcn-version.properties")) {
        if (in != null) {
          props.load(in);
        }
      }
      String ort;
      try {
        fcn.runtime.OrtNatives.prepare();
        ort = ai.onnxruntime.OrtEnvironment.getEnvironment().getVersion();
      } catch (Throwable t) {
        ort = "unavailable (" + t.getMessage() + ")";
      }
      return new String[] {
        "fcn " + props.getProperty("version", "dev"),
        "ONNX Runtime " + ort + " (" + props.getProperty("ort.artifact", "?") + ")",
        "Java " + System.getProperty("java.version")
      };
    }
  }
}
