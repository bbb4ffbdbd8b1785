package fcn.cli;

import fcn.core.ExitCode;
import fcn.core.FcnException;
import fcn.ir.Shape;
import fcn.runtime.ReferenceRunner;
import fcn.validate.FixtureGenerator;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code fcn fixtures}: run a reference model on seeded random inputs and write
 * test_data_set_N/ regression fixtures for {@code fcn validate}.
 */
@Command(name = "fixtures", mixinStandardHelpOptions = true,
    description = {
      "Run a reference model on seeded random inputs and write DIR/test_data_set_N/{input,output}_K.pb "
          + "(named ONNX TensorProto files) for 'fcn validate'.",
      "SOURCE is MODEL.onnx (run with ONNX Runtime). NET.prototxt WEIGHTS.caffemodel (real Caffe) is planned."
    })
public final class FixturesCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(arity = "1..2", paramLabel = "SOURCE", description = "MODEL.onnx")
  List<Path> sources;

  @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR", description = "Folder to write.")
  Path outDir;

  @Option(names = "--input-shape", paramLabel = "[NAME=]D1,D2,...",
      description = "Shape of an input with symbolic dims, e.g. data=1,3,500,500 (NAME may be left out "
          + "when the model has one input). Repeatable.")
  List<String> inputShapes;

  @Option(names = "--seed", defaultValue = "0", description = "Random seed. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--sets", defaultValue = "1", paramLabel = "N", description = "Number of test_data_set_N folders. Default: ${DEFAULT-VALUE}.")
  int sets;

  @Option(names = "--range", defaultValue = "-1,1", paramLabel = "LOW,HIGH",
      description = "Inputs are uniform in [LOW, HIGH). Default: ${DEFAULT-VALUE}.")
  String range;

  @Option(names = "--force", description = "Replace DIR if it exists and is not empty.")
  boolean force;

  @Mixin RuntimeOptions runtime;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    try (ReferenceRunner runner = openReference(sources, runtime, spec.commandLine().getErr())) {
      FixtureGenerator.Options opts = new FixtureGenerator.Options(
          shapes(runner), seed, sets, bound(0), bound(1), force);
      List<Path> written = FixtureGenerator.generate(runner, outDir, opts);
      out.printf("wrote %d set(s) to %s (%d input(s), %d output(s), seed %d) with %s%n",
          written.size(), outDir, runner.inputs().size(), runner.outputs().size(), seed, runner.describe());
    }
    out.flush();
    return ExitCode.OK;
  }

  /**
   * The reference for SOURCE: ONNX Runtime for an .onnx file. The Caffe variant
   * (NET.prototxt WEIGHTS.caffemodel) plugs in here as another {@link ReferenceRunner}.
   */
  static ReferenceRunner openReference(List<Path> sources, RuntimeOptions runtime, PrintWriter err) {
    Path first = sources.get(0);
    String name = first.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
    if (name.endsWith(".prototxt")) {
      throw new FcnException("fixtures from a Caffe model (" + first
          + ") need the Caffe reference backend (fcn.reference.caffe), which this build does not have yet; "
          + "convert to ONNX first and pass MODEL.onnx");
    }
    if (sources.size() != 1) {
      throw new FcnException("expected one MODEL.onnx, got " + sources.size() + " files: " + sources);
    }
    return runtime.open(first, err);
  }

  private Map<String, long[]> shapes(ReferenceRunner runner) {
    return InputShapes.parse(inputShapes, runner.inputs().stream().map(t -> t.name()).toList());
  }

  private float bound(int i) {
    String[] parts = range.split(",");
    if (parts.length != 2) {
      throw new FcnException("--range " + range + ": expected LOW,HIGH, e.g. -1,1");
    }
    try {
      return Float.parseFloat(parts[i].trim());
    } catch (NumberFormatException e) {
      throw new FcnException("--range " + range + ": '" + parts[i].trim() + "' is not a number");
    }
  }
}
