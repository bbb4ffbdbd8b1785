package fcn.cli;

import fcn.core.FcnException;
import fcn.reference.caffe.CaffeBackend;
import fcn.runtime.Session;
import fcn.validate.AgainstReference;
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

/**
 * {@code fcn validate}: run a model on reference fixtures, or on fixtures real Caffe makes on the
 * fly ({@code --against-caffe}, {@link AgainstReference}), and compare every output.
 */
@Command(name = "validate", mixinStandardHelpOptions = true,
    description = {
      "Run MODEL.onnx with ONNX Runtime on every DIR/test_data_set_N/ (input_K.pb, output_K.pb; "
          + "or .npy / inputs.npz + outputs.npz) and compare the outputs.",
      "With --against-caffe NET.prototxt WEIGHTS.caffemodel instead of --fixtures: real Caffe makes the fixtures "
          + "in a temporary folder, at the prototxt's input size and, for fully convolutional nets, also at 187x253 "
          + "(./fcn fetches Caffe the first time).",
      "Default rule (no tolerance flags, with --fixtures and --against-caffe alike): " + ValidateCommand.DEFAULT_RULE + ".",
      "--atol/--rtol switch to Polygraphy's per-element rule: an element fails only if |actual-expected| > atol AND "
          + "> rtol*|expected| (atol " + Tolerances.DEFAULT_ATOL + ", rtol " + Tolerances.DEFAULT_RTOL + " unless given), "
          + "with no atol scale and no label minimum unless --atol-scale / --min-label-agreement are given too; "
          + "--atol-scale F then raises atol to F x max|expected|. NaN always fails. A 'rule:' line above the table states the rule applied."
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:every output matches", "1:an output mismatches", "2:bad usage or input (names, shapes, files)",
        "70:internal error"})
public final class ValidateCommand implements Callable<Integer> {
  /** {@link Tolerances#defaults()} in words, for --help (a picocli format string: %% is one %). */
  static final String DEFAULT_RULE = "an output passes when max|err| <= 1e-4 x max|expected| (per set) and, for NxCxHxW "
      + "score maps (C >= 2), at least " + Tolerances.DEFAULT_MIN_LABEL_AGREEMENT + "%% of pixels have the expected argmax label";

  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "MODEL.onnx", description = "The model to validate.")
  Path model;

  @Option(names = "--fixtures", paramLabel = "DIR",
      description = "Folder of test_data_set_N/ folders (ONNX test layout).")
  Path fixtures;

  @Option(names = "--against-caffe", arity = "2", paramLabel = "NET.prototxt WEIGHTS.caffemodel", hideParamSyntax = true,
      description = "Compare with real Caffe running the original model, on fixtures made on the fly.")
  List<Path> againstCaffe;

  @Option(names = "--input-shape", paramLabel = "[NAME=]D1,D2,...",
      description = "With --against-caffe: input size, e.g. data=1,3,500,500. Default: the prototxt's. Repeatable.")
  List<String> inputShapes;

  @Option(names = "--sets", paramLabel = "N", description = "With --against-caffe: random input sets per size. Default: 1.")
  Integer sets;

  @Option(names = "--seed", paramLabel = "S", description = "With --against-caffe: random seed of the inputs. Default: 0.")
  Long seed;

  @Option(names = "--range", paramLabel = "LOW,HIGH",
      description = "With --against-caffe: inputs are uniform in [LOW, HIGH). Default: -128,128 (a mean-subtracted 0..255 image).")
  String range;

  @Mixin RuntimeOptions runtime;

  @Option(names = "--atol", paramLabel = "[NAME=]TOL",
      description = "Absolute tolerance: switches to Polygraphy's per-element rule (default atol " + Tolerances.DEFAULT_ATOL
          + "); NAME=TOL overrides one output. Repeatable.")
  List<String> atol;

  @Option(names = "--rtol", paramLabel = "[NAME=]TOL",
      description = "Relative tolerance: switches to Polygraphy's per-element rule (default rtol " + Tolerances.DEFAULT_RTOL
          + "); NAME=TOL overrides one output. Repeatable.")
  List<String> rtol;

  @Option(names = "--atol-scale", paramLabel = "[NAME=]F",
      description = "Pass when max|err| <= F x max|expected| (per set; default 1e-4); with --atol/--rtol: raise atol to "
          + "F x max|expected|. Repeatable.")
  List<String> atolScale;

  @Option(names = "--min-label-agreement", paramLabel = "[NAME=]PCT",
      description = "Require this %% of pixels to have the same argmax over C (NxCxHxW score maps); default "
          + Tolerances.DEFAULT_MIN_LABEL_AGREEMENT + ", none with --atol/--rtol; 0 turns it off. Repeatable.")
  List<String> minLabels;

  @Mixin OutputOptions output;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    fcn.core.FileChecks.input(model); // --report/--json onto the model would replace it
    if ((fixtures == null) == (againstCaffe == null)) {
      throw new FcnException("give either --fixtures DIR or --against-caffe NET.prototxt WEIGHTS.caffemodel");
    }
    if (againstCaffe != null) {
      Path[] caffe = CaffeCheck.pair(againstCaffe, "--against-caffe");
      CaffeBackend.require();
      Tolerances tol = tolerances();
      try (Session session = runtime.open(model, err)) {
        AgainstReference.Options d = AgainstReference.Options.defaults();
        float[] r = range == null ? new float[] {d.low(), d.high()} : FixturesCommand.range(range);
        AgainstReference.Options opts = new AgainstReference.Options(
            InputShapes.parse(inputShapes, session.inputNames()), sets == null ? d.sets() : sets,
            seed == null ? d.seed() : seed, r[0], r[1], d.oddSize());
        return CaffeCheck.run(session, caffe[0], caffe[1], tol, opts, output, out, err);
      }
    }
    if (inputShapes != null || sets != null || seed != null || range != null) {
      throw new FcnException("--input-shape, --sets, --seed and --range go with --against-caffe");
    }
    Tolerances tol = tolerances();
    ValidationReport report;
    try (Session session = runtime.open(model, err)) {
      report = new Validator(session, tol).validate(fixtures);
    }
    out.print(ReportWriter.table(report));
    out.flush();
    return ValidationVerdict.finish(report, output, err);
  }

  /**
   * The default rule unless --atol or --rtol (even for one output) asks for Polygraphy's: then
   * every output gets its per-element rule, and --atol-scale / --min-label-agreement add to it.
   */
  private Tolerances tolerances() {
    Tolerances t = atol != null || rtol != null ? Tolerances.polygraphy() : Tolerances.defaults();
    for (NamedValues.Entry e : NamedValues.parse("--atol", atol)) {
      t = e.name() == null ? t.withAtol(e.value()) : t.withAtol(e.name(), e.value());
    }
    for (NamedValues.Entry e : NamedValues.parse("--rtol", rtol)) {
      t = e.name() == null ? t.withRtol(e.value()) : t.withRtol(e.name(), e.value());
    }
    for (NamedValues.Entry e : NamedValues.parse("--atol-scale", atolScale)) {
      t = e.name() == null ? t.withAtolScale(e.value()) : t.withAtolScale(e.name(), e.value());
    }
    for (NamedValues.Entry e : NamedValues.parse("--min-label-agreement", minLabels)) {
      t = e.name() == null ? t.withMinLabelAgreement(e.value()) : t.withMinLabelAgreement(e.name(), e.value());
    }
    return t;
  }
}
