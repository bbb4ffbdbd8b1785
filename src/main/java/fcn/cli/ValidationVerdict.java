package fcn.cli;

import fcn.core.ExitCode;
import fcn.validate.ReportWriter;
import fcn.validate.ValidationReport;
import java.io.PrintWriter;

/**
 * The end of every command that validates ({@code validate}, {@code validate --against-caffe},
 * {@code convert --verify}): writes --report/--json, prints each mismatch on stderr and turns
 * the report into the exit code, the same way for all of them.
 */
final class ValidationVerdict {
  private ValidationVerdict() {}

  /**
   * @param output the --report/--json options, or null when the command has none
   * @return {@link ExitCode#OK} or {@link ExitCode#CHECK_FAILED}
   */
  static int finish(ValidationReport report, OutputOptions output, PrintWriter err) {
    if (output != null) {
      output.csv().ifPresent(p -> ReportWriter.writeCsv(report, p));
      output.json().ifPresent(p -> ReportWriter.writeJson(report, p));
    }
    if (!report.passed()) {
      for (ValidationReport.Failure f : report.failures()) {
        err.println("fcn: " + f.message());
      }
      err.flush();
      return ExitCode.CHECK_FAILED;
    }
    return ExitCode.OK;
  }
}
