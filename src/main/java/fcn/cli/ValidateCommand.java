package fcn.cli;

import fcn.core.FcnException;
import fcn.reference.caffe.CaffeBackend;
import fcn.runtime.Session;
import fcn.validate.AgainstReference;
import fcn.validate.BlobFixtures;
import fcn.validate.FixtureGenerator;
import fcn.validate.PerLayer;
import fcn.validate.PerLayerReport;
import fcn.validate.ReportWriter;
import fcn.validate.Tolerances;
import fcn.validate.ValidationReport;
import fcn.validate.Validator;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Function;
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
          + "--atol-scale F then raises atol to F x max|expected|. NaN always fails. A 'rule:' line above the table states the rule applied.",
      "With --against REF.onnx: REF runs on seeded random inputs (--input-shape, --sets, --seed, --range; inputs in [-1, 1) "
          + "by default) and MODEL's outputs are compared with REF's of the same name.",
      "--per-layer compares every tensor of MODEL that has a reference blob of the same name (a Caffe blob, a tensor of "
          + "REF.onnx, or a tensor in fixtures from 'fcn fixtures ... --all-blobs'), in topological order, under the same rule "
          + "(labels on score maps only), and names the first diverging layer: the first tensor that fails while all the "
          + "tensors it was computed from pass. Memory is bounded: the tensors are compared in groups of at most --group-mb "
          + "MiB, each group one ONNX Runtime run of a temporary pruned copy of MODEL that outputs just that group, and the "
          + "reference blobs are written to and read back from a temporary folder one at a time; so memory grows with the "
          + "model and one group, not with the number of layers (the full voc-fcn8s at 500x500 runs within -Xmx6g)."
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:every output matches", "1:an output (with --per-layer: a tensor) mismatches", "2:bad usage or input (names, shapes, files)",
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

  @Option(names = "--against", paramLabel = "REF.onnx",
      description = "Compare with another ONNX model (e.g. fp32 for an int8 or fp16 copy), on random inputs made on the fly.")
  Path against;

  @Option(names = "--per-layer",
      description = "Compare every tensor with a reference counterpart of the same name and name the first diverging layer.")
  boolean perLayer;

  @Option(names = "--group-mb", paramLabel = "MIB",
      description = "With --per-layer: at most this many MiB of tensors per ONNX Runtime run (a larger tensor is a group of "
          + "its own). Default: 256.")
  Long groupMb;

  @Option(names = "--input-shape", paramLabel = "[NAME=]D1,D2,...",
      description = "With --against-caffe or --against: input size, e.g. data=1,3,500,500. Default: the prototxt's. Repeatable.")
  List<String> inputShapes;

  @Option(names = "--sets", paramLabel = "N", description = "With --against-caffe or --against: random input sets per size. Default: 1.")
  Integer sets;

  @Option(names = "--seed", paramLabel = "S", description = "With --against-caffe or --against: random seed of the inputs. Default: 0.")
  Long seed;

  @Option(names = "--range", paramLabel = "LOW,HIGH",
      description = "With --against-caffe or --against: inputs are uniform in [LOW, HIGH). Default: -128,128 (a mean-subtracted "
          + "0..255 image) against Caffe, -1,1 against ONNX.")
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
    int references = (fixtures != null ? 1 : 0) + (againstCaffe != null ? 1 : 0) + (against != null ? 1 : 0);
    if (references != 1) {
      throw new FcnException(references == 0
          ? "give either --fixtures DIR or --against-caffe NET.prototxt WEIGHTS.caffemodel (or --against REF.onnx)"
          : "give one reference: --fixtures DIR, --against-caffe NET.prototxt WEIGHTS.caffemodel or --against REF.onnx");
    }
    if (groupMb != null && !perLayer) {
      throw new FcnException("--group-mb goes with --per-layer");
    }
    if (groupMb != null && (groupMb < 1 || groupMb > 1 << 20)) {
      throw new FcnException("--group-mb must be 1 to " + (1 << 20) + " (MiB), got " + groupMb);
    }
    long budget = groupMb == null ? PerLayer.DEFAULT_BUDGET : groupMb << 20;
    Function<Path, Session> open = p -> runtime.open(p, err);
    if (against != null) {
      fcn.core.FileChecks.input(against);
      Tolerances tol = tolerances();
      FixtureGenerator.Options opts = onnxInputs(sessionInputs(against, open));
      if (perLayer) {
        return finish(PerLayer.againstOnnx(model, against, open, tol, opts, budget), out, err);
      }
      return againstOnnx(tol, opts, open, out, err);
    }
    if (againstCaffe != null) {
      Path[] caffe = CaffeCheck.pair(againstCaffe, "--against-caffe");
      CaffeBackend.require();
      Tolerances tol = tolerances();
      if (perLayer) {
        // --input-shape names Caffe's inputs, which are the converted model's; no model load just for them.
        AgainstReference.Options opts = caffeOptions(CaffeBackend.inputNames(caffe[0]));
        return finish(PerLayer.againstCaffe(model, caffe[0], caffe[1], open, tol, opts, budget), out, err);
      }
      try (Session session = runtime.open(model, err)) {
        return CaffeCheck.run(session, caffe[0], caffe[1], tol, caffeOptions(session.inputNames()), output, out, err);
      }
    }
    if (inputShapes != null || sets != null || seed != null || range != null) {
      throw new FcnException("--input-shape, --sets, --seed and --range go with --against-caffe or --against");
    }
    Tolerances tol = tolerances();
    if (perLayer) {
      return finish(PerLayer.compare(model, fixtures, fixtures.toString(), open, tol, budget,
          List.of("reference: " + fixtures + (BlobFixtures.isAllBlobs(fixtures) ? " (every blob)" : ""))), out, err);
    }
    if (BlobFixtures.isAllBlobs(fixtures)) {
      throw new FcnException(fixtures + " holds every blob of the reference ('fcn fixtures --all-blobs'): add --per-layer");
    }
    ValidationReport report;
    try (Session session = runtime.open(model, err)) {
      report = new Validator(session, tol).validate(fixtures);
    }
    out.print(ReportWriter.table(report));
    out.flush();
    return ValidationVerdict.finish(report, output, err);
  }

  private AgainstReference.Options caffeOptions(List<String> inputNames) {
    AgainstReference.Options d = AgainstReference.Options.defaults();
    float[] r = range == null ? new float[] {d.low(), d.high()} : FixturesCommand.range(range);
    return new AgainstReference.Options(InputShapes.parse(inputShapes, inputNames), sets == null ? d.sets() : sets,
        seed == null ? d.seed() : seed, r[0], r[1], d.oddSize());
  }

  private static List<String> sessionInputs(Path model, Function<Path, Session> open) {
    try (Session s = open.apply(model)) {
      return s.inputNames();
    }
  }

  private FixtureGenerator.Options onnxInputs(List<String> inputNames) {
    float[] r = range == null ? new float[] {-1, 1} : FixturesCommand.range(range);
    return new FixtureGenerator.Options(InputShapes.parse(inputShapes, inputNames), seed == null ? 0 : seed,
        sets == null ? 1 : sets, r[0], r[1], false);
  }

  /** {@code --against REF.onnx} without --per-layer: REF's outputs on random inputs are the fixtures. */
  private int againstOnnx(Tolerances tol, FixtureGenerator.Options opts, Function<Path, Session> open, PrintWriter out,
      PrintWriter err) {
    Path tmp = fcn.core.TempFiles.createScratchDirectory("fcn-against-onnx-");
    try {
      Path dir = tmp.resolve("fixtures");
      String reference;
      try (Session ref = open.apply(against)) {
        FixtureGenerator.generate(ref, dir, opts);
        reference = ref.describe();
      }
      ValidationReport report;
      try (Session session = open.apply(model)) {
        report = new Validator(session, tol).validate(dir);
      }
      out.println("reference: " + against + " (" + reference + ")");
      out.print(ReportWriter.table(report));
      out.flush();
      return ValidationVerdict.finish(report, output, err);
    } finally {
      fcn.core.TempFiles.delete(tmp);
    }
  }

  /** Prints a per-layer report, writes --report/--json, names the first divergence on stderr; the exit code. */
  private int finish(PerLayerReport report, PrintWriter out, PrintWriter err) {
    for (String note : report.notes()) {
      out.println(note);
    }
    out.print(report.table());
    out.flush();
    output.csv().ifPresent(report::writeCsv);
    output.json().ifPresent(report::writeJson);
    if (!report.passed()) {
      for (PerLayerReport.SetRows s : report.sets()) {
        if (!s.passed()) {
          err.println("fcn: " + s.name() + ": " + PerLayerReport.divergenceLine(s));
        }
      }
      err.flush();
      return fcn.core.ExitCode.CHECK_FAILED;
    }
    return fcn.core.ExitCode.OK;
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
