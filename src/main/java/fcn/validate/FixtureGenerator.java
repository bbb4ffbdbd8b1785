package fcn.validate;

import fcn.core.FcnException;
import fcn.ir.Shape;
import fcn.runtime.FloatTensor;
import fcn.runtime.ReferenceRunner;
import fcn.runtime.Session;
import fcn.runtime.TensorSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Writes regression fixtures: seeded random inputs (or given ones, e.g. from a photo), run
 * through a {@link ReferenceRunner} (ONNX Runtime, or real Caffe via fcn.reference.caffe), saved as DIR/test_data_set_N/
 * input_K.pb + output_K.pb with tensor names set. The same runner, shapes, seed and range give
 * the same input files. The whole directory appears at once (built beside it, then renamed).
 */
public final class FixtureGenerator {
  private FixtureGenerator() {}

  /** What to generate. {@code inputShapes} gives shapes for inputs with symbolic dims. */
  public record Options(Map<String, long[]> inputShapes, long seed, int sets, float low, float high,
      boolean replace) {
    public Options {
      inputShapes = Map.copyOf(inputShapes);
      if (sets < 1) {
        throw new FcnException("--sets must be >= 1, got " + sets);
      }
      if (!(low < high) || Float.isInfinite(low) || Float.isInfinite(high)) {
        throw new FcnException("--range must be LOW,HIGH with LOW < HIGH (finite), got " + low + "," + high);
      }
    }
  }

  /** Generates {@code opts.sets()} sets of random inputs into {@code outDir}; returns the set folders. */
  public static List<Path> generate(ReferenceRunner runner, Path outDir, Options opts) {
    return generate(runner, outDir, randomSets(runner.inputs(), opts), opts.replace());
  }

  /** {@code opts.sets()} sets of seeded random inputs for {@code specs} (shapes resolved as {@link #resolveShapes}). */
  public static List<Map<String, FloatTensor>> randomSets(List<TensorSpec> specs, Options opts) {
    Map<String, long[]> shapes = resolveShapes(specs, opts.inputShapes());
    SplittableRandom rng = new SplittableRandom(opts.seed());
    List<Map<String, FloatTensor>> sets = new ArrayList<>();
    for (int s = 0; s < opts.sets(); s++) {
      Map<String, FloatTensor> inputs = new LinkedHashMap<>();
      for (Map.Entry<String, long[]> e : shapes.entrySet()) {
        inputs.put(e.getKey(), random(e.getValue(), rng, opts.low(), opts.high()));
      }
      sets.add(inputs);
    }
    return sets;
  }

  /**
   * Runs each map of inputs (every input of the runner, e.g. from a photo) and writes it with
   * the runner's outputs as test_data_set_0, 1, ... into {@code outDir}; returns the set folders.
   */
  public static List<Path> generate(ReferenceRunner runner, Path outDir, List<Map<String, FloatTensor>> inputSets,
      boolean replace) {
    if (inputSets.isEmpty()) {
      throw new FcnException("no input sets to write to " + outDir);
    }
    return intoFolder(outDir, replace, tmp -> {
      for (int s = 0; s < inputSets.size(); s++) {
        Map<String, FloatTensor> inputs = inputSets.get(s);
        writeSet(tmp.resolve("test_data_set_" + s), inputs, runner.run(inputs));
      }
      return inputSets.size();
    });
  }

  /** Fills a fixtures folder under construction; returns how many test_data_set_N/ it wrote. */
  interface FolderWriter {
    int write(Path tmp) throws IOException;
  }

  /**
   * Builds a fixtures folder beside {@code outDir} with {@code writer}, then renames it into place
   * (replacing an existing one only when {@code replace}); removed on failure or signal. Returns
   * the set folders.
   */
  static List<Path> intoFolder(Path outDir, boolean replace, FolderWriter writer) {
    Path target = outDir.toAbsolutePath().normalize();
    checkTarget(target, replace);
    Path parent = target.getParent();
    Path tmp;
    try {
      Files.createDirectories(parent);
      // Not Files.createTempDirectory: its 0700 would become the output folder's mode. Registered
      // so that a signal mid-run removes it.
      tmp = fcn.core.TempFiles.createDirectory(parent, target.getFileName() + ".");
    } catch (IOException e) {
      throw new FcnException("cannot create " + target + ": " + e.getMessage(), e);
    }
    boolean done = false;
    try {
      int sets = writer.write(tmp);
      List<Path> setDirs = new ArrayList<>();
      for (int s = 0; s < sets; s++) {
        setDirs.add(target.resolve("test_data_set_" + s));
      }
      if (Files.exists(target)) {
        deleteTree(target);
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      fcn.core.TempFiles.unregister(tmp);
      done = true;
      return setDirs;
    } catch (IOException e) {
      throw new FcnException("cannot write fixtures to " + target + ": " + e.getMessage(), e);
    } finally {
      if (!done) {
        fcn.core.TempFiles.delete(tmp);
      }
    }
  }

  /** Writes input_K.pb / output_K.pb (named, raw float) into {@code setDir}, in map order. */
  public static void writeSet(Path setDir, Map<String, FloatTensor> inputs, Map<String, FloatTensor> outputs) {
    int k = 0;
    for (Map.Entry<String, FloatTensor> e : inputs.entrySet()) {
      TensorProtoIO.write(setDir.resolve("input_" + k++ + ".pb"), e.getKey(), e.getValue());
    }
    k = 0;
    for (Map.Entry<String, FloatTensor> e : outputs.entrySet()) {
      TensorProtoIO.write(setDir.resolve("output_" + k++ + ".pb"), e.getKey(), e.getValue());
    }
  }

  /** Uniform values in [low, high) from {@code rng}, row-major. */
  public static FloatTensor random(long[] shape, SplittableRandom rng, float low, float high) {
    float[] f = new float[Math.toIntExact(FloatTensor.numel(shape))];
    double span = (double) high - low;
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) (low + span * rng.nextDouble());
    }
    return new FloatTensor(f, shape);
  }

  /** Each input's shape: {@code given}, else its static shape; FcnException naming what is missing. */
  public static Map<String, long[]> resolveShapes(List<TensorSpec> specs, Map<String, long[]> given) {
    for (String name : given.keySet()) {
      if (specs.stream().noneMatch(s -> s.name().equals(name))) {
        throw FcnException.of("--input-shape names input '%s', which the model does not have; its inputs are: %s",
            name, Session.describe(specs));
      }
    }
    Map<String, long[]> out = new LinkedHashMap<>();
    for (TensorSpec spec : specs) {
      long[] dims = given.get(spec.name());
      if (dims != null) {
        if (!spec.accepts(dims)) {
          throw FcnException.of("--input-shape %s=%s does not fit input '%s' of shape %s",
              spec.name(), Shape.format(dims).replace('x', ','), spec.name(), spec.shape());
        }
      } else if (spec.shape().isStatic()) {
        dims = spec.shape().toArray();
      } else {
        throw FcnException.of("input '%s' has shape %s with symbolic dims; give --input-shape %s=%s",
            spec.name(), spec.shape(), spec.name(), example(spec.shape()));
      }
      out.put(spec.name(), dims);
    }
    return out;
  }

  private static String example(Shape s) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < s.rank(); i++) {
      sb.append(i == 0 ? "" : ",").append(s.dim(i).isStatic() ? Long.toString(s.dim(i).value())
          : i == 0 ? "1" : s.dim(i).param().toUpperCase(java.util.Locale.ROOT));
    }
    return sb.toString();
  }

  private static void checkTarget(Path target, boolean replace) {
    if (!Files.exists(target)) {
      return;
    }
    if (!Files.isDirectory(target)) {
      throw new FcnException(target + " exists and is not a directory; pick another -o");
    }
    if (replace) {
      return;
    }
    try (Stream<Path> s = Files.list(target)) {
      if (s.findAny().isPresent()) {
        throw new FcnException(target + " exists and is not empty; pass --force to replace it");
      }
    } catch (IOException e) {
      throw new FcnException("cannot list " + target + ": " + e.getMessage(), e);
    }
  }

  /** Removes a folder and everything in it (no-op when absent). */
  public static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new FcnException("cannot remove " + root + ": " + e.getMessage(), e);
    }
  }
}
