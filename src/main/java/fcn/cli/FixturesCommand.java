package fcn.cli;

import fcn.core.ExitCode;
import fcn.core.FcnException;
import fcn.data.Preprocess;
import fcn.reference.caffe.AllBlobsRunner;
import fcn.reference.caffe.CaffeBackend;
import fcn.runtime.FloatTensor;
import fcn.runtime.ReferenceRunner;
import fcn.runtime.TensorSpec;
import fcn.validate.BlobFixtures;
import fcn.validate.FixtureGenerator;
import fcn.validate.ImageInputs;
import fcn.validate.PerLayer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code fcn fixtures}: run a reference model (ONNX Runtime, or real Caffe) on seeded random
 * inputs or on photos and write test_data_set_N/ regression fixtures for {@code fcn validate}.
 */
@Command(name = "fixtures", mixinStandardHelpOptions = true,
    description = {
      "Run a reference model on seeded random inputs (or photos, --image) and write "
          + "DIR/test_data_set_N/{input,output}_K.pb (named ONNX TensorProto files) for 'fcn validate'.",
      "SOURCE is MODEL.onnx (run with ONNX Runtime) or NET.prototxt WEIGHTS.caffemodel (run with real BVLC Caffe, "
          + "which ./fcn fetches with Maven the first time)."
    })
public final class FixturesCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(arity = "1..2", paramLabel = "SOURCE", description = "MODEL.onnx, or NET.prototxt WEIGHTS.caffemodel")
  List<Path> sources;

  @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR", description = "Folder to write.")
  Path outDir;

  @Option(names = "--input-shape", paramLabel = "[NAME=]D1,D2,...",
      description = "Input size, e.g. data=1,3,500,500 (NAME may be left out when the model has one input): "
          + "needed for symbolic dims; for a Caffe net it replaces the prototxt's. Repeatable.")
  List<String> inputShapes;

  @Option(names = "--seed", paramLabel = "S", description = "Random seed. Default: 0.")
  Long seed;

  @Option(names = "--sets", paramLabel = "N", description = "Number of test_data_set_N folders. Default: 1.")
  Integer sets;

  @Option(names = "--range", paramLabel = "LOW,HIGH",
      description = "Inputs are uniform in [LOW, HIGH). Default: -1,1 for ONNX, -128,128 for Caffe "
          + "(a mean-subtracted 0..255 image).")
  String range;

  @Option(names = "--image", paramLabel = "PHOTO",
      description = "Make the input from this photo (one set per --image) instead of random numbers; "
          + "resized to --input-shape when given. Repeatable.")
  List<Path> images;

  @Option(names = "--preprocess", paramLabel = "caffe|torchvision",
      description = "With --image: caffe (BGR, 0..255 minus the VGG mean, FCN's nets) or torchvision (RGB, /255, ImageNet mean/std).")
  String preprocess;

  @Option(names = "--all-blobs",
      description = "Write every blob of the reference run (Caffe: every blob, one at a time from Caffe's memory; ONNX: every "
          + "float tensor, a group at a time) and DIR/" + BlobFixtures.INDEX + " naming the layers, for "
          + "'fcn validate MODEL --fixtures DIR --per-layer'.")
  boolean allBlobs;

  @Option(names = "--force", description = "Replace DIR if it exists and is not empty.")
  boolean force;

  @Mixin RuntimeOptions runtime;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    if (images != null && (preprocess == null || seed != null || sets != null || range != null)) {
      throw new FcnException(preprocess == null ? "--image needs --preprocess caffe|torchvision"
          : "--seed, --sets and --range are for random inputs, not --image");
    }
    if (images == null && preprocess != null) {
      throw new FcnException("--preprocess goes with --image PHOTO");
    }
    boolean caffe = isCaffe(sources);
    PrintWriter err = spec.commandLine().getErr();
    try (ReferenceRunner runner = allBlobs && caffe ? openAllBlobs(sources, inputShapes)
        : openReference(sources, inputShapes, runtime, err)) {
      Map<String, long[]> shapes = InputShapes.parse(inputShapes, runner.inputs().stream().map(TensorSpec::name).toList());
      List<Map<String, FloatTensor>> inputs = new ArrayList<>();
      String what;
      if (images != null) {
        Preprocess pre = Preprocess.preset(preprocess);
        for (Path image : images) {
          inputs.add(ImageInputs.forRunner(runner, image, pre, shapes));
        }
        what = "from " + images.size() + " image(s), preprocess " + preprocess.toLowerCase(Locale.ROOT)
            + ", input " + fcn.ir.Shape.format(inputs.get(0).values().iterator().next().shape());
      } else {
        float[] r = range != null ? range(range) : caffe ? new float[] {-128, 128} : new float[] {-1, 1};
        long s = seed == null ? 0 : seed;
        FixtureGenerator.Options opts = new FixtureGenerator.Options(shapes, s, sets == null ? 1 : sets, r[0], r[1], force);
        inputs = FixtureGenerator.randomSets(runner.inputs(), opts);
        what = "seed " + s;
      }
      List<Path> written;
      String outputs;
      String by = runner.describe();
      if (!allBlobs) {
        written = FixtureGenerator.generate(runner, outDir, inputs, force);
        outputs = runner.outputs().size() + " output(s)";
      } else if (runner instanceof AllBlobsRunner all) {
        written = BlobFixtures.writeCaffe(all, outDir, inputs, force);
        outputs = "every blob";
      } else {
        Path model = sources.get(0);
        runner.close(); // the groups open their own copies
        written = PerLayer.writeAllTensors(model, p -> runtime.open(p, err), outDir, inputs, force, PerLayer.DEFAULT_BUDGET);
        outputs = "every float tensor";
      }
      out.printf("wrote %d set(s) to %s (%d input(s), %s, %s) with %s%n",
          written.size(), outDir, inputs.get(0).size(), outputs, what, by);
    }
    out.flush();
    return ExitCode.OK;
  }

  private static AllBlobsRunner openAllBlobs(List<Path> sources, List<String> rawShapes) {
    Path[] caffe = CaffeCheck.pair(sources, "fixtures from a Caffe model");
    CaffeBackend.require();
    Map<String, long[]> shapes = InputShapes.parse(rawShapes, CaffeBackend.inputNames(caffe[0]));
    return CaffeBackend.openAllBlobs(caffe[0], caffe[1], shapes);
  }

  /**
   * The reference for SOURCE: ONNX Runtime for an .onnx file; real Caffe, through the
   * {@link CaffeBackend} facade, for NET.prototxt WEIGHTS.caffemodel (the Caffe input sizes
   * come from {@code rawShapes} or the prototxt). Without Caffe on the class path the facade
   * throws its one-line message, which says that ./fcn fetches it.
   */
  static ReferenceRunner openReference(List<Path> sources, List<String> rawShapes, RuntimeOptions runtime,
      PrintWriter err) {
    if (isCaffe(sources)) {
      Path[] caffe = CaffeCheck.pair(sources, "fixtures from a Caffe model");
      CaffeBackend.require();
      Map<String, long[]> shapes = InputShapes.parse(rawShapes, CaffeBackend.inputNames(caffe[0]));
      return CaffeBackend.open(caffe[0], caffe[1], shapes, List.of());
    }
    if (sources.size() != 1) {
      throw new FcnException("expected one MODEL.onnx, or NET.prototxt WEIGHTS.caffemodel; got " + sources);
    }
    return runtime.open(sources.get(0), err);
  }

  private static boolean isCaffe(List<Path> sources) {
    return sources.stream().map(p -> p.getFileName().toString().toLowerCase(Locale.ROOT))
        .anyMatch(n -> n.endsWith(".prototxt") || n.endsWith(".caffemodel"));
  }

  /** Parses --range LOW,HIGH. */
  static float[] range(String text) {
    String[] parts = text.split(",");
    if (parts.length != 2) {
      throw new FcnException("--range " + text + ": expected LOW,HIGH, e.g. -1,1");
    }
    float[] out = new float[2];
    for (int i = 0; i < 2; i++) {
      try {
        out[i] = Float.parseFloat(parts[i].trim());
      } catch (NumberFormatException e) {
        throw new FcnException("--range " + text + ": '" + parts[i].trim() + "' is not a number");
      }
    }
    return out;
  }
}
