package fcn.validate;

import fcn.core.FcnException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One test_data_set_N folder: inputs and expected outputs, each in position order.
 *
 * <p>Layout (ONNX model zoo / onnx_test_runner): {@code DIR/test_data_set_N/input_K.pb} and
 * {@code output_K.pb} (serialized TensorProto). Also read: {@code input_K.npy}/{@code output_K.npy}
 * and {@code inputs.npz}/{@code outputs.npz}. A DIR that itself holds input files is one set.
 */
public record FixtureSet(String name, Path dir, List<LoadedTensor> inputs, List<LoadedTensor> outputs) {
  private static final Pattern SET_DIR = Pattern.compile("test_data_set_?(\\d*).*");
  private static final Pattern FILE = Pattern.compile("(input|output)_(\\d+)\\.(pb|npy)");

  /** Loads every set under {@code dir}, ordered by N. */
  public static List<FixtureSet> loadAll(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new FcnException("fixtures directory " + dir + " not found (expected a folder of test_data_set_N/)");
    }
    List<Path> setDirs;
    try (Stream<Path> s = Files.list(dir)) {
      setDirs = s.filter(Files::isDirectory)
          .filter(p -> SET_DIR.matcher(p.getFileName().toString()).matches())
          .sorted(Comparator.comparingLong(FixtureSet::setNumber).thenComparing(p -> p.getFileName().toString()))
          .toList();
    } catch (IOException e) {
      throw new FcnException("cannot list " + dir + ": " + e.getMessage(), e);
    }
    List<FixtureSet> sets = new ArrayList<>();
    if (setDirs.isEmpty()) {
      if (hasData(dir)) {
        sets.add(load(dir, dir.getFileName() == null ? dir.toString() : dir.getFileName().toString()));
        return sets;
      }
      throw new FcnException("no test_data_set_N/ folders in " + dir
          + "; expected DIR/test_data_set_0/input_0.pb and output_0.pb (ONNX test layout), or .npy/.npz");
    }
    for (Path p : setDirs) {
      sets.add(load(p, p.getFileName().toString()));
    }
    return sets;
  }

  private static long setNumber(Path p) {
    Matcher m = SET_DIR.matcher(p.getFileName().toString());
    return m.matches() && !m.group(1).isEmpty() ? Long.parseLong(m.group(1)) : Long.MAX_VALUE;
  }

  private static boolean hasData(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString())
          .anyMatch(n -> FILE.matcher(n).matches() || n.equals("inputs.npz"));
    } catch (IOException e) {
      return false;
    }
  }

  /** Loads one set folder. */
  public static FixtureSet load(Path setDir, String name) {
    List<Path> files;
    try (Stream<Path> s = Files.list(setDir)) {
      files = s.filter(Files::isRegularFile).toList();
    } catch (IOException e) {
      throw new FcnException("cannot list " + setDir + ": " + e.getMessage(), e);
    }
    List<LoadedTensor> inputs = read(files, "input", setDir);
    List<LoadedTensor> outputs = read(files, "output", setDir);
    if (inputs.isEmpty() || outputs.isEmpty()) {
      throw FcnException.of("%s has %s; expected input_K.pb and output_K.pb files (or .npy, or inputs.npz/outputs.npz)",
          setDir, inputs.isEmpty() ? "no input files" : "no output files");
    }
    return new FixtureSet(name, setDir, List.copyOf(inputs), List.copyOf(outputs));
  }

  private static List<LoadedTensor> read(List<Path> files, String kind, Path setDir) {
    record Numbered(long k, Path p) {}
    List<Numbered> numbered = new ArrayList<>();
    Path npz = null;
    for (Path p : files) {
      String fn = p.getFileName().toString();
      Matcher m = FILE.matcher(fn);
      if (m.matches() && m.group(1).equals(kind)) {
        numbered.add(new Numbered(Long.parseLong(m.group(2)), p));
      } else if (fn.equals(kind + "s.npz")) {
        npz = p;
      }
    }
    numbered.sort(Comparator.comparingLong(Numbered::k));
    for (int i = 1; i < numbered.size(); i++) {
      if (numbered.get(i).k() == numbered.get(i - 1).k()) {
        throw FcnException.of("%s has both %s and %s; keep one", setDir,
            numbered.get(i - 1).p().getFileName(), numbered.get(i).p().getFileName());
      }
    }
    List<LoadedTensor> out = new ArrayList<>();
    for (Numbered n : numbered) {
      String fn = n.p().getFileName().toString();
      out.add(fn.endsWith(".pb") ? TensorProtoIO.read(n.p()) : NpyIO.readNpy(n.p()));
    }
    if (npz != null) {
      out.addAll(NpyIO.readNpz(npz));
    }
    return out;
  }
}
