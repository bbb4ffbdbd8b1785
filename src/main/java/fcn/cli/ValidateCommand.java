package fcn.cli;

import fcn.core.ExitCode;
import fcn.runtime.Session;
import fcn.validate.ReportWriter;
import fcn.validate.Tolerances;
import fcn.validate.ValidationReport;
import fcn.validate.Validator;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code fcn validate}: run a model on reference fixtures and compare every output. */
@Command(name = "validate", mixinStandardHelpOptions = true,
    description = {
      "Run MODEL.onnx with ONNX Runtime on every DIR/test_data_set_N/ (input_K.pb, output_K.pb; "
          + "or .npy / inputs.npz + outputs.npz) and compare the outputs.",
      "An element fails only if |actual-expected| > atol AND > rtol*|expected| (Polygraphy's rule); NaN always fails."
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:every output matches", "1:an output mismatches", "2:bad usage or input (names, shapes, files)",
        "70:internal error"})
public final class ValidateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "MODEL.onnx", description = "The model to validate.")
  Path model;

  @Option(names = "--fixtures", required = true, paramLabel = "DIR",
      description = "Folder of test_data_set_N/ folders (ONNX test layout).")
  Path fixtures;

  @Mixin RuntimeOptions runtime;

  @Option(names = "--atol", paramLabel = "[NAME=]TOL",
      description = "Absolute tolerance, default " + Tolerances.DEFAULT_ATOL + "; NAME=TOL overrides one output. Repeatable.")
  List<String> atol;

  @Option(names = "--rtol", paramLabel = "[NAME=]TOL",
      description = "Relative tolerance, default " + Tolerances.DEFAULT_RTOL + "; NAME=TOL overrides one output. Repeatable.")
  List<String> rtol;

  @Option(names = "--min-label-agreement", paramLabel = "[NAME=]PCT",
      description = "Also require this %% of pixels to have the same argmax over C (NxCxHxW score maps). Repeatable.")
  List<String> minLabels;

  @Mixin OutputOptions output;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Tolerances tol = tolerances();
    ValidationReport report;
    try (Session session = runtime.open(model, err)) {
      report = new Validator(session, tol).validate(fixtures);
    }
    out.print(ReportWriter.table(report));
    out.flush();
    output.csv().ifPresent(p -> ReportWriter.writeCsv(report, p));
    output.json().ifPresent(p -> ReportWriter.writeJson(report, p));
    if (!report.passed()) {
      for (ValidationReport.Failure f : report.failures()) {
        err.println("fcn: " + f.message());
      }
      err.flush();
      return ExitCode.CHECK_FAILED;
    }
    return ExitCode.OK;
  }

  private Tolerances tolerances() {
    Tolerances t = Tolerances.defaults();
    for (NamedValues.Entry e : NamedValues.parse("--atol", atol)) {
      t = e.name() == null ? t.withAtol(e.value()) : t.withAtol(e.name(), e.value());
    }
    for (NamedValues.Entry e : NamedValues.parse("--rtol", rtol)) {
      t = e.name() == null ? t.withRtol(e.value()) : t.withRtol(e.name(), e.value());
    }
    for (NamedValues.Entry e : NamedValues.parse("--min-label-agreement", minLabels)) {
      t = e.name() == null ? t.withMinLabelAgreement(e.value()) : t.withMinLabelAgreement(e.name(), e.value());
    }
    return t;
  }
}
