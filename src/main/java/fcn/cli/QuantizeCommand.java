package fcn.cli;

import fcn.core.ExitCode;
import fcn.core.FcnException;
import fcn.quantize.Calibration;
import fcn.quantize.Fp16Pass;
import fcn.quantize.Quantizer;
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

/** {@code fcn quantize}: static int8 QDQ (or float16) from a float32 ONNX model; calls {@link Quantizer}. */
@Command(name = "quantize", mixinStandardHelpOptions = true,
    description = {
      "Static int8 quantization in ONNX Runtime's QDQ format: QuantizeLinear/DequantizeLinear on the activations "
          + "of Conv, Gemm/MatMul, Add, Mul, Concat, pooling and data-movement ops (uint8, asymmetric, ranges "
          + "calibrated with ONNX Runtime on DATASET's images), int8 weights symmetric per output channel "
          + "(scale max|w|/127), int32 biases. ConvTranspose and ops without int8 kernels in ONNX Runtime stay float. "
          + "The report says what was quantized and what stayed float, and why.",
      "Defaults chosen by measurement on the embedded default (README, 'Quantizing'): --method "
          + QuantizeCommand.DEFAULT_METHOD + ", 8-bit weights (--reduce-range for 7-bit).",
      "--fp16 instead writes a float16 model (inputs and outputs stay float32; index and shape inputs keep their "
          + "types); no dataset needed."},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:written", "2:bad usage or input (not an ONNX model, already quantized, empty dataset, "
        + "unknown --keep-float node)", "70:internal error"})
public final class QuantizeCommand implements Callable<Integer> {
  /** Measured on fixtures/default (README): see the table there. */
  static final String DEFAULT_METHOD = "percentile";

  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "MODEL.onnx", description = "The float32 model.")
  Path model;

  @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.onnx",
      description = "ONNX file to write (written to a temp file, then renamed).")
  Path output;

  @Option(names = "--calibrate", paramLabel = "DATASET",
      description = "Calibration images: a VOCdevkit folder, a list file of 'IMAGE LABEL' lines, or a folder "
          + "with images/ and labels/ (as fcn bench --dataset). Use images outside the split you evaluate on.")
  Path dataset;

  @Option(names = "--split", paramLabel = "S", description = "Dataset split (VOC: ImageSets/Segmentation/S.txt).")
  String split;

  @Option(names = "--images", paramLabel = "N", defaultValue = "100",
      description = "Calibrate on the first N images, in the dataset's order. Default: ${DEFAULT-VALUE}.")
  int images;

  @Option(names = "--method", paramLabel = "minmax|percentile", defaultValue = DEFAULT_METHOD,
      description = "Activation ranges: minmax (all values seen) or percentile (cut the --percentile tails). "
          + "Default: ${DEFAULT-VALUE}.")
  String method;

  @Option(names = "--percentile", paramLabel = "P", defaultValue = "" + Quantizer.DEFAULT_PERCENTILE,
      description = "With --method percentile: keep P%% of the values at each end, 50 < P <= 100. Default: ${DEFAULT-VALUE}.")
  double percentile;

  @Option(names = "--keep-float", split = ",", paramLabel = "NODE",
      description = "Nodes (Caffe layer / ONNX node names) to leave in float, e.g. score_fr,upscore8.")
  List<String> keepFloat;

  @Option(names = "--per-tensor-weights", description = "One weight scale per tensor instead of per output channel.")
  boolean perTensorWeights;

  @Option(names = "--reduce-range", description = "7-bit weights (scale max|w|/63), ONNX Runtime's remedy for "
      + "u8 x s8 saturation on x86 CPUs without VNNI.")
  boolean reduceRange;

  @Option(names = "--fp16", description = "Write a float16 model instead (no calibration).")
  boolean fp16;

  @Option(names = "--threads", paramLabel = "N", defaultValue = "0", converter = Limits.Threads.class,
      description = "ONNX Runtime intra-op threads for calibration, 0 = ONNX Runtime's default.")
  int threads;

  @Mixin PreprocessOptions preprocess;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    if (fp16) {
      if (dataset != null || keepFloat != null || perTensorWeights || reduceRange) {
        throw new FcnException("--fp16 converts without calibration: --calibrate, --keep-float, "
            + "--per-tensor-weights and --reduce-range are for int8");
      }
      Fp16Pass.Result r = Quantizer.toFp16(model, output);
      out.println("wrote " + output + " (float16)");
      out.print(Quantizer.report(output, r));
      out.flush();
      return ExitCode.OK;
    }
    if (dataset == null) {
      throw new FcnException("fcn quantize needs --calibrate DATASET (images to measure activation ranges on),"
          + " or --fp16");
    }
    if (images < 1) {
      throw new FcnException("--images must be at least 1, got " + images);
    }
    Quantizer.Options o = new Quantizer.Options(model, output, dataset, split, preprocess.build(), images,
        Calibration.Method.parse(method), percentile, keepFloat == null ? List.of() : keepFloat,
        perTensorWeights, reduceRange, threads);
    Quantizer.Result r = Quantizer.quantize(o, spec.commandLine().getErr());
    out.print(Quantizer.report(r));
    out.flush();
    return ExitCode.OK;
  }
}
