package fcn.cli;

import fcn.bench.Bench;
import fcn.bench.SideBySide;
import fcn.bench.Timing;
import fcn.core.ExitCode;
import fcn.core.FcnException;
import fcn.data.Preprocess;
import fcn.runtime.ProviderReport;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code fcn bench}: time a model with ONNX Runtime, optionally scoring it on a dataset. */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = {
      "Time MODEL.onnx with ONNX Runtime: session creation, first run, then latency statistics "
          + "over the timed runs, the execution provider used, FLOPs and achieved GFLOP/s.",
      "With --dataset, every image runs once at its own size and the predictions (argmax over the "
          + "class channel) are scored as FCN's score.py does; pure inference and end-to-end times are both shown.",
      "Without MODEL, benchmarks the embedded default model (fixtures/default/model.onnx) on its dataset; "
          + "with --input-shape, --iterations or --duration it times the default on random inputs instead.",
      "With several models (fcn bench A.onnx B.onnx ...), runs each in turn on the same inputs and prints one "
          + "table: model, precision (fp32/fp16/int8, read from the graph), load time, median latency and "
          + "speed-up against the first model, mean IU and its change in points, pixel accuracy, and label "
          + "agreement with the first model's predictions. Each model appends its own --report row."
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:ok", "1:--strict and a compute node ran off the provider in use",
        "2:bad usage or input", "70:internal error"})
public final class BenchCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(arity = "0..*", paramLabel = "MODEL.onnx",
      description = "The model(s) to time; several are compared side by side with the first. "
          + "Default: the embedded default model.")
  List<Path> models;

  @Mixin RuntimeOptions runtime;

  @Option(names = "--input-shape", paramLabel = "[NAME=]N,C,H,W",
      description = "Input size for the timed runs, e.g. 1,3,500,500 (needed when the model's input "
          + "has symbolic dims). NAME= picks an input of a multi-input model. Repeatable.")
  List<String> inputShapes;

  @Option(names = "--strict",
      description = "Fail (exit 1) when any compute node (Conv, ConvTranspose, Gemm, MatMul, pooling, Resize) "
          + "ran off the execution provider in use, e.g. on the CPU under --device cuda; read from ONNX Runtime's "
          + "profile of the first run, before the timed runs. Shape ops on the CPU are ORT's choice and pass.")
  boolean strict;

  @Option(names = "--warmup", paramLabel = "N", defaultValue = "5", converter = Limits.Warmup.class,
      description = "Untimed runs after the first run, 0 to " + Limits.MAX_WARMUP + ". Default: ${DEFAULT-VALUE}.")
  int warmup;

  @ArgGroup(exclusive = true)
  Amount amount;

  static final class Amount {
    @Option(names = "--iterations", paramLabel = "N", converter = Limits.Iterations.class,
        description = "Timed runs, 1 to " + Limits.MAX_ITERATIONS + " (default 100).")
    Integer iterations;

    @Option(names = "--duration", paramLabel = "TIME",
        description = "Time runs for this long instead, e.g. 30s, 500ms, 2m (at most 24h).")
    String duration;
  }

  @Option(names = "--dataset", paramLabel = "PATH",
      description = "Also score on a dataset: a VOCdevkit folder, a list file of 'IMAGE LABEL' lines, "
          + "or a folder with images/ and labels/.")
  Path dataset;

  @Option(names = "--split", paramLabel = "S", description = "Dataset split (VOC: ImageSets/Segmentation/S.txt).")
  String split;

  @Option(names = "--ignore-label", paramLabel = "N", converter = Limits.Label.class,
      description = "Label value left out of scoring, 0 to 255 (VOC default 255; e.g. 11 for CamVid).")
  Integer ignoreLabel;

  @Mixin PreprocessOptions preprocessing;

  @Option(names = "--save-predictions", paramLabel = "DIR",
      description = "Write DIR/ID.png palette class maps (scorable by fcn score) and DIR/overlay/ID.png.")
  Path savePredictions;

  @Option(names = "--classes", paramLabel = "FILE",
      description = "Class names, one a line (default: the dataset's classes.txt).")
  Path classes;

  @Option(names = "--io-threads", paramLabel = "N", defaultValue = "0", converter = Limits.IoThreads.class,
      description = "Threads that decode, preprocess and score images beside the session with --dataset, 0 to "
          + Limits.MAX_IO_THREADS + "; 0 = half the cores, 2 to 4. Default: ${DEFAULT-VALUE}.")
  int ioThreads;

  @Option(names = "--report", paramLabel = "FILE.csv",
      description = "Append one row to this CSV report (plus FILE-classes.csv and FILE-confusion.csv "
          + "with a dataset).")
  Path report;

  @Option(names = "--model-name", paramLabel = "NAME",
      description = "The report's model key (the gate matches rows by it); default: the file's stem, less a "
          + "-int8/-fp16 suffix that names its own precision (the folder's name for model.onnx).")
  String modelName;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Path modelPath = models == null || models.isEmpty() ? null : models.get(0);
    Path datasetPath = dataset;
    boolean defaultTimingOnly = false;
    if (modelPath == null) {
      Path dir = Bench.locateDefault(Bench.defaultSearchRoots());
      Path cwd = Path.of("").toAbsolutePath();
      if (dir.startsWith(cwd)) {
        dir = cwd.relativize(dir); // reports made in the project then name no machine's folders
      }
      modelPath = dir.resolve(Bench.DEFAULT_MODEL.getFileName());
      Path ds = dir.resolve(Bench.DEFAULT_DATASET.getFileName());
      // Asking for a shape or a number of runs means timing; the dataset would refuse both.
      boolean timing = (inputShapes != null && !inputShapes.isEmpty()) || amount != null;
      if (datasetPath == null && !timing && java.nio.file.Files.isDirectory(ds)) {
        datasetPath = ds;
      }
      defaultTimingOnly = datasetPath == null;
      out.println("default model: " + modelPath + (datasetPath == null
          ? " (timing on random inputs)" : " on " + datasetPath));
    }
    if (datasetPath == null && preprocessing.anyTuning()) {
      throw new FcnException("--mean/--std/--scale/--bgr/--rgb/--resize need --dataset "
          + "(the timed runs without one feed random inputs of --input-shape)");
    }
    Path ds = datasetPath;
    boolean defaultShape = defaultTimingOnly;
    try {
      if (models != null && models.size() > 1) {
        SideBySide.Result r = SideBySide.run(models, m -> options(m, ds, defaultShape), err);
        out.print(r.table());
        out.flush();
        return ExitCode.OK;
      }
      Bench.Result r = Bench.run(options(modelPath, ds, defaultShape), err);
      out.print(Bench.summary(r));
      out.flush();
      return ExitCode.OK;
    } catch (ProviderReport.Violation v) {
      // A failed check, not bad input: the model ran, partly off the provider asked for.
      err.println("fcn: " + v.getMessage());
      err.flush();
      return ExitCode.CHECK_FAILED;
    }
  }

  /** The bench options for one model; every model of a side-by-side run gets the same ones. */
  private Bench.Options options(Path modelPath, Path datasetPath, boolean defaultTimingOnly) {
    Bench.Options o = new Bench.Options(modelPath)
        .device(runtime.prepare(spec.commandLine().getErr()))
        .threads(runtime.threads())
        .optLevel(runtime.optLevel())
        .warmup(warmup)
        .dataset(datasetPath)
        .split(split)
        .ignoreLabel(ignoreLabel)
        .savePredictions(savePredictions)
        .classes(classes)
        .report(report)
        .modelName(modelName)
        .decodeThreads(ioThreads)
        .strict(strict)
        .progress(System.console() != null);
    if (amount != null) {
      o.iterations(amount.iterations);
      if (amount.duration != null) {
        o.duration(Timing.parseDuration(amount.duration));
      }
    }
    if (defaultTimingOnly && (inputShapes == null || inputShapes.isEmpty())) {
      o.inputShape(null, Bench.DEFAULT_INPUT.clone());
    }
    for (String s : inputShapes == null ? List.<String>of() : inputShapes) {
      int eq = s.indexOf('=');
      o.inputShape(eq < 0 ? null : s.substring(0, eq).trim(), InputShapes.dims(s, s.substring(eq + 1)));
    }
    if (datasetPath != null) {
      o.preprocess(preprocessing.build());
    }
    return o;
  }

  /** "360x480" -> {360, 480} (height, width). */
  static int[] parseSize(String text) {
    String[] parts = text.trim().toLowerCase(java.util.Locale.ROOT).split("x");
    if (parts.length == 2) {
      try {
        int h = Integer.parseInt(parts[0].trim());
        int w = Integer.parseInt(parts[1].trim());
        if (h > 0 && w > 0 && h <= Preprocess.MAX_SIDE && w <= Preprocess.MAX_SIDE) {
          return new int[] {h, w};
        }
      } catch (NumberFormatException ignored) {
        // Reported below.
      }
    }
    throw new FcnException("--resize '" + text + "': expected HEIGHTxWIDTH with sides 1 to " + Preprocess.MAX_SIDE
        + ", e.g. 360x480");
  }
}
