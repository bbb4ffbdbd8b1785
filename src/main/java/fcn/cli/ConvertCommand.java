package fcn.cli;

import fcn.convert.ConvertRequest;
import fcn.convert.Converter;
import fcn.core.ExitCode;
import fcn.core.FcnException;
import fcn.export.OnnxExporter;
import fcn.passes.HeadOptions;
import fcn.reference.caffe.CaffeBackend;
import fcn.runtime.Device;
import fcn.runtime.OptLevel;
import fcn.runtime.Session;
import fcn.validate.AgainstReference;
import fcn.validate.Tolerances;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code fcn convert}: Caffe or ONNX in, ONNX out. Calls {@link Converter#convert}, then, with
 * --verify, {@link fcn.validate.AgainstReference} through {@link CaffeCheck}.
 */
@Command(name = "convert", mixinStandardHelpOptions = true,
    description = {"Convert a Caffe (prototxt + caffemodel, V1 or V2) or ONNX model to ONNX.",
        "Optionally rewrite fc6/fc7 into convolutions (--fully-conv) and add an FCN head.",
        "--verify then runs the written model (ONNX Runtime, CPU) and the Caffe original (real Caffe, which ./fcn "
            + "fetches the first time) on random inputs at the input size and, when fully convolutional, at 187x253; "
            + CaffeCheck.RULE + "."},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:converted (and verified)", "1:--verify found a mismatch (the table shows where; OUT.onnx is kept)",
        "2:bad usage or input", "70:internal error"})
public final class ConvertCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(arity = "1..2", paramLabel = "MODEL",
      description = "NET.prototxt [WEIGHTS.caffemodel], WEIGHTS.caffemodel alone, or MODEL.onnx")
  List<Path> sources;

  @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.onnx",
      description = "ONNX file to write (written to a temp file, then renamed).")
  Path output;

  @Option(names = "--opset", paramLabel = "N",
      description = "ONNX opset to write, " + OnnxExporter.MIN_OPSET + " to " + OnnxExporter.MAX_OPSET
          + " (or an ONNX source's own). Default: an ONNX source's own opset (nodes fcn does not"
          + " change are written as they came), " + OnnxExporter.DEFAULT_OPSET + " for Caffe.")
  Integer opset;

  @Option(names = "--outputs", split = ",", paramLabel = "NAME",
      description = "Graph outputs to keep (Caffe blob / ONNX tensor names). Default: the net's own.")
  List<String> outputs;

  @Option(names = "--input-shape", paramLabel = "NAME=D1,D2,...",
      description = "Input size, e.g. data=1,3,500,500 (repeatable). Default: the model's.")
  List<String> inputShapes;

  @Option(names = "--random-weights", paramLabel = "SEED",
      description = "Convert a prototxt without weights, with seeded random ones (for benchmarking an architecture).")
  Long randomWeights;

  @Option(names = "--fully-conv",
      description = "Rewrite fully-connected layers (fc6/fc7) into 7x7 and 1x1 convolutions.")
  boolean fullyConv;

  @Option(names = "--head", paramLabel = "fcn32s|fcn16s|fcn8s",
      description = "Add an FCN head: score_fr, bilinear upsampling, skips, crops.")
  String head;

  @Option(names = "--classes", paramLabel = "N", description = "Classes of the FCN head (e.g. 21).")
  Integer classes;

  @Option(names = "--pool4", paramLabel = "NAME", description = "Value for the stride-16 skip (default: auto).")
  String pool4;

  @Option(names = "--pool3", paramLabel = "NAME", description = "Value for the stride-8 skip (default: auto).")
  String pool3;

  @Option(names = "--keep-classifier", description = "Score with the classifier's last layer instead of a new score_fr.")
  boolean keepClassifier;

  @Option(names = "--input-pad", defaultValue = "100", paramLabel = "PIXELS",
      description = "With --head: pad the first convolution by at least this much, as FCN pads conv1_1 by 100 so the output covers any input. 0 keeps the classifier's pads. Default: ${DEFAULT-VALUE}.")
  int inputPad;

  @Option(names = "--dynamic", negatable = true,
      description = "Make H and W symbolic (--no-dynamic keeps them fixed). Default: symbolic when the net is fully convolutional (Caffe, --fully-conv, --head); ONNX inputs as they are.")
  Boolean dynamic;

  @Option(names = "--verify",
      description = "After converting a Caffe model, check the ONNX file against real Caffe (see above); exit 1 on a mismatch.")
  boolean verify;

  @Option(names = "--verify-tolerance", paramLabel = "F", defaultValue = "" + Tolerances.REFERENCE_ATOL_SCALE,
      description = "With --verify: pass when max|err| <= F x max|Caffe output|. Default: ${DEFAULT-VALUE}.")
  double verifyTolerance;

  @Option(names = "--precision", paramLabel = "fp32|fp16", defaultValue = "fp32",
      description = "fp16: weights and activations in float16, inputs and outputs float32 through Casts "
          + "(index/shape inputs keep their types; ops without float16 kernels stay float32). For GPUs; "
          + "int8 is fcn quantize. Default: ${DEFAULT-VALUE}.")
  String precision;

  @Override
  public Integer call() {
    // -o onto an input (or a link to one), a device, FIFO or folder: refused before converting.
    // fcn.core.AtomicFile checks again at the write; external data read by the importer is
    // registered there.
    for (Path p : sources) {
      fcn.core.FileChecks.input(p);
    }
    fcn.core.FileChecks.checkOutput(output.toAbsolutePath(), output);
    Path[] caffe = verify ? verifiable() : null;
    if (!(verifyTolerance >= 0) || Double.isInfinite(verifyTolerance)) {
      throw new FcnException("--verify-tolerance must be a finite number >= 0, got " + verifyTolerance);
    }
    HeadOptions headOptions = null;
    if (head != null) {
      headOptions = new HeadOptions(HeadOptions.Head.parse(head), classes == null ? 0 : classes,
          pool4, pool3, keepClassifier);
    } else if (classes != null || pool4 != null || pool3 != null || keepClassifier) {
      throw new FcnException("--classes, --pool4, --pool3 and --keep-classifier go with --head fcn32s|fcn16s|fcn8s");
    }
    Map<String, long[]> shapes = InputShapes.parse(inputShapes, null);
    if (opset != null && (opset < OnnxExporter.MIN_SOURCE_OPSET || opset > OnnxExporter.MAX_OPSET)) {
      throw FcnException.of("--opset %d is not supported: expected %d to %d", opset,
          OnnxExporter.MIN_OPSET, OnnxExporter.MAX_OPSET);
    }
    ConvertRequest req = new ConvertRequest(sources, output,
        opset == null ? ConvertRequest.SOURCE_OPSET : opset,
        outputs == null ? List.of() : outputs, shapes, randomWeights, fullyConv, headOptions, dynamic, inputPad);
    // The default rule of validate, with the scale --verify-tolerance gives.
    Tolerances tol = verify ? Tolerances.defaults().withAtolScale(verifyTolerance) : null;
    boolean fp16 = switch (precision.toLowerCase(Locale.ROOT)) {
      case "fp32", "float32" -> false;
      case "fp16", "float16" -> true;
      default -> throw new FcnException("--precision " + precision + ": expected fp32 or fp16 (int8: fcn quantize)");
    };
    if (fp16 && verify) {
      throw new FcnException("--verify compares float32 with Caffe; convert without --precision fp16 to verify");
    }
    fcn.quantize.Fp16Pass.Result[] half = new fcn.quantize.Fp16Pass.Result[1];
    Converter.Result r = Converter.convert(req, g -> {
      if (fp16) {
        half[0] = fcn.quantize.Fp16Pass.apply(g, sources.get(0).toString());
      }
    });
    PrintWriter out = spec.commandLine().getOut();
    print(r, out);
    if (half[0] != null) {
      out.print(fcn.quantize.Quantizer.report(output, half[0]));
      out.flush();
    }
    String batch = r.graph().metadata().get(fcn.frontend.caffe.CaffeImporter.BATCH_STATISTICS_KEY);
    if (batch != null) {
      PrintWriter err = spec.commandLine().getErr();
      String[] names = batch.split(",");
      String list = String.join(", ", java.util.Arrays.asList(names).subList(0,
          Math.min(3, names.length))) + (names.length > 3 ? " (and " + (names.length - 3)
          + " more)" : "");
      err.println("fcn: warning: BN layer" + (names.length > 1 ? "s " : " ") + list
          + " in bn_mode LEARN (caffe-segnet's default) normalise with the input batch's own"
          + " statistics, as Caffe does: outputs depend on the batch; published SegNet weights"
          + " use bn_mode: INFERENCE");
      err.flush();
    }
    if (!verify) {
      return ExitCode.OK;
    }
    out.println("verify against Caffe:");
    AgainstReference.Options d = AgainstReference.Options.defaults();
    AgainstReference.Options opts = new AgainstReference.Options(shapes, d.sets(), d.seed(), d.low(), d.high(), d.oddSize());
    try (Session session = Session.open(output, Device.CPU, 0, OptLevel.ALL)) {
      return CaffeCheck.run(session, caffe[0], caffe[1], tol, opts, null, out, spec.commandLine().getErr());
    }
  }

  /** The Caffe pair --verify compares with; refuses what Caffe cannot be a reference for. */
  private Path[] verifiable() {
    if (Converter.kind(sources) != Converter.SourceKind.CAFFE || sources.size() != 2) {
      throw new FcnException("--verify compares with real Caffe: give NET.prototxt WEIGHTS.caffemodel, got " + sources);
    }
    if (head != null || fullyConv) {
      throw new FcnException("--verify compares with the Caffe net as it is; --head and --fully-conv change its outputs");
    }
    Path[] pair = CaffeCheck.pair(sources, "--verify");
    CaffeBackend.require();
    return pair;
  }

  static void print(Converter.Result r, PrintWriter out) {
    out.printf(Locale.ROOT, "wrote %s (%s) in %.2f s%n", r.output(), human(r.bytes()), r.millis() / 1000);
    if (r.externalData() != null) {
      out.printf("  weights in %s (external data)%n", r.externalData());
    }
    out.printf("  inputs : %s%n", String.join(", ", r.inputs()));
    out.printf("  outputs: %s%n", String.join(", ", r.outputs()));
    List<String> ops = new ArrayList<>();
    r.opCounts().forEach((k, v) -> ops.add(k + " " + v));
    out.printf("  ops    : %s%n", String.join(", ", ops));
    out.printf(Locale.ROOT, "  params : %,d%n", r.parameters());
    if (!r.cropOffsets().isEmpty()) {
      List<String> crops = new ArrayList<>();
      r.cropOffsets().forEach((k, v) -> crops.add(k + " " + v[0] + (v.length > 1 && v[1] != v[0] ? "," + v[1] : "")));
      out.printf("  crops  : %s%n", String.join(", ", crops));
    }
    out.flush();
  }

  static String human(long bytes) {
    if (bytes >= 1 << 20) {
      return String.format(Locale.ROOT, "%.1f MB", bytes / 1048576.0);
    }
    if (bytes >= 1 << 10) {
      return String.format(Locale.ROOT, "%.1f KB", bytes / 1024.0);
    }
    return bytes + " B";
  }
}
