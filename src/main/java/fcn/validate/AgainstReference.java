package fcn.validate;

import fcn.core.FcnException;
import fcn.ir.Shape;
import fcn.reference.caffe.CaffeBackend;
import fcn.runtime.FloatTensor;
import fcn.runtime.ReferenceRunner;
import fcn.runtime.Session;
import fcn.runtime.TensorSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The one-command proof that a converted model computes what real Caffe computes: the library
 * entry of {@code fcn validate MODEL.onnx --against-caffe} and {@code fcn convert --verify}.
 *
 * <p>Fixtures are made on the fly with real BVLC Caffe (through {@link CaffeBackend}, so this
 * class loads without Caffe) in a temporary folder: {@link Options#sets} sets of seeded random
 * inputs at the prototxt's input size (or the given one), and, when both the Caffe net and the
 * model take other sizes (fully convolutional, symbolic H/W), as many again at an odd size
 * ({@link #ODD_SIZE}, 187×253), where crop offsets and ceil-mode poolings show mistakes that a
 * square size hides. The model runs on every set and each output is compared with the Caffe
 * blob of the same name. The folder is removed afterwards. Does not own the model session.
 */
public final class AgainstReference {
  /** H, W of the second check for fully convolutional nets. */
  public static final long[] ODD_SIZE = {187, 253};

  private AgainstReference() {}

  /**
   * How to check.
   *
   * @param inputShapes input sizes by name (empty: the prototxt's)
   * @param sets random input sets per size
   * @param seed random seed of the inputs
   * @param low inputs are uniform in [low, high)
   * @param high see low
   * @param oddSize also check at {@link #ODD_SIZE} when the nets allow it
   */
  public record Options(Map<String, long[]> inputShapes, int sets, long seed, float low, float high, boolean oddSize) {
    public Options {
      inputShapes = Map.copyOf(inputShapes);
      if (sets < 1) {
        throw new FcnException("--sets must be >= 1, got " + sets);
      }
    }

    /** The prototxt's size plus the odd size, one set each, inputs in [-128, 128) like a mean-subtracted image. */
    public static Options defaults() {
      return new Options(Map.of(), 1, 0, -128, 128, true);
    }
  }

  /**
   * The outcome: the report (set names prefixed by their input size, e.g. "187x253/test_data_set_0")
   * and notes for the user (what was checked, what was skipped and why).
   */
  public record Result(ValidationReport report, List<String> notes) {
    public Result {
      notes = List.copyOf(notes);
    }
  }

  /**
   * Runs the check. {@code prototxt} and {@code caffemodel} are the Caffe original; {@code model}
   * is its conversion, opened by the caller. Bad input (missing Caffe, files, names, shapes the
   * model cannot take) is a {@link FcnException}; a numerical mismatch is a failed report.
   */
  public static Result check(Session model, Path prototxt, Path caffemodel, Tolerances tolerances, Options opts) {
    List<String> notes = new ArrayList<>();
    List<String> outputs = model.outputs().stream().map(TensorSpec::name).toList();
    try (ReferenceRunner caffe = CaffeBackend.open(prototxt, caffemodel, opts.inputShapes(), outputs)) {
      List<Map<String, long[]>> sizes = sizes(caffe, model, opts, notes);
      Path tmp = fcn.core.TempFiles.createScratchDirectory("fcn-against-caffe-"); // removed on SIGTERM/Ctrl-C too
      try {
        List<ValidationReport.SetResult> results = new ArrayList<>();
        Validator validator = new Validator(model, tolerances);
        for (Map<String, long[]> shapes : sizes) {
          String label = label(shapes);
          Path dir = tmp.resolve(label);
          FixtureGenerator.generate(caffe, dir, randomInputs(shapes, opts), false);
          for (ValidationReport.SetResult r : validator.validate(dir).sets()) {
            results.add(new ValidationReport.SetResult(label + "/" + r.name(), r.runMillis(), r.outputs()));
          }
          notes.add(String.format(Locale.ROOT, "%d set(s) at %s, inputs uniform in [%s, %s), seed %d",
              opts.sets(), format(shapes), CompareResult.num(opts.low()), CompareResult.num(opts.high()), opts.seed()));
        }
        notes.add(0, "reference: " + caffe.describe() + ", " + prototxt);
        return new Result(new ValidationReport(model.model().toString(),
            model.describe() + " vs " + caffe.describe(), model.loadMillis(), results, tolerances.describe()), notes);
      } finally {
        fcn.core.TempFiles.delete(tmp);
      }
    }
  }

  /**
   * The input sizes to check: Caffe's (or the given) size, and the odd size when both nets take
   * it (else a note says why not). A model that cannot take Caffe's size is bad input.
   */
  static List<Map<String, long[]>> sizes(ReferenceRunner caffe, Session model, Options opts, List<String> notes) {
    Map<String, long[]> primary = new LinkedHashMap<>();
    caffe.inputs().forEach(s -> primary.put(s.name(), s.shape().toArray()));
    model.checkShapes(primary).ifPresent(p -> {
      throw new FcnException(model.model() + " cannot run at the Caffe net's input size " + format(primary)
          + ": " + p + (opts.inputShapes().isEmpty() ? "; give --input-shape" : ""));
    });
    List<Map<String, long[]>> sizes = new ArrayList<>();
    sizes.add(primary);
    if (opts.oddSize()) {
      Map<String, long[]> odd = oddSize(primary);
      if (odd == null) {
        notes.add("not checked at " + ODD_SIZE[0] + "x" + ODD_SIZE[1] + ": the inputs are not N,C,H,W images");
      } else if (!sameShapes(odd, primary)) {
        String why = caffe.checkShapes(odd)
            .or(() -> model.checkShapes(odd).map(p -> model.model() + ": " + p)).orElse(null);
        if (why == null) {
          sizes.add(odd);
        } else {
          notes.add("not checked at " + ODD_SIZE[0] + "x" + ODD_SIZE[1] + ": " + why);
        }
      }
    }
    return sizes;
  }

  // FixtureGenerator's own random sets check shapes against the runner's current (Caffe: static) ones.
  static List<Map<String, FloatTensor>> randomInputs(Map<String, long[]> shapes, Options opts) {
    if (!(opts.low() < opts.high())) {
      throw new FcnException("--range must be LOW,HIGH with LOW < HIGH, got " + opts.low() + "," + opts.high());
    }
    SplittableRandom rng = new SplittableRandom(opts.seed());
    List<Map<String, FloatTensor>> sets = new ArrayList<>();
    for (int s = 0; s < opts.sets(); s++) {
      Map<String, FloatTensor> in = new LinkedHashMap<>();
      shapes.forEach((k, v) -> in.put(k, FixtureGenerator.random(v, rng, opts.low(), opts.high())));
      sets.add(in);
    }
    return sets;
  }

  /** The primary shapes with H, W of every N,C,H,W input set to the odd size; null if an input is not rank 4. */
  static Map<String, long[]> oddSize(Map<String, long[]> primary) {
    Map<String, long[]> out = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : primary.entrySet()) {
      long[] s = e.getValue();
      if (s.length != 4) {
        return null;
      }
      out.put(e.getKey(), new long[] {s[0], s[1], ODD_SIZE[0], ODD_SIZE[1]});
    }
    return out;
  }

  private static boolean sameShapes(Map<String, long[]> a, Map<String, long[]> b) {
    return a.keySet().equals(b.keySet()) && a.entrySet().stream().allMatch(e -> Arrays.equals(e.getValue(), b.get(e.getKey())));
  }

  /** "500x500" (H x W of the first input), used as the set-name prefix. */
  static String label(Map<String, long[]> shapes) {
    long[] s = shapes.values().iterator().next();
    return s.length >= 2 ? s[s.length - 2] + "x" + s[s.length - 1] : Shape.format(s);
  }

  static String format(Map<String, long[]> shapes) {
    List<String> parts = new ArrayList<>();
    shapes.forEach((k, v) -> parts.add(k + "=" + Shape.format(v)));
    return String.join(" ", parts);
  }
}
