package fcn.validate;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import fcn.core.AtomicFile;
import fcn.core.FcnException;
import fcn.reference.caffe.AllBlobsRunner;
import fcn.runtime.FloatTensor;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Fixtures that hold every blob (or every float tensor) of a reference run, for per-layer
 * comparison: {@code fcn fixtures ... --all-blobs} writes them, {@code validate --per-layer}
 * reads them. The layout is the usual one (DIR/test_data_set_N/input_K.pb, output_K.pb, named
 * TensorProtos, outputs in the reference's topological order) plus {@value #INDEX} in DIR: one
 * line per blob, tab-separated: name, the layers that wrote it and their types (joined by '+'),
 * and a note ("input", or "split:BLOB" for Caffe's automatic Split copies, which are not written).
 *
 * <p>Reading is lazy: {@link #scan} reads each file's name and shape only, {@link BlobSet#load}
 * one tensor when it is compared, so memory holds one reference tensor at a time. Writing goes
 * one blob at a time too (from Caffe's own memory, or one group of ONNX tensors at a time).
 */
public final class BlobFixtures {
  /** The index file beside the set folders. */
  public static final String INDEX = "blobs.tsv";

  private BlobFixtures() {}

  /** One line of {@value #INDEX}. */
  public record BlobMeta(String name, String layers, String types, String note) {
    public boolean isInput() {
      return "input".equals(note);
    }

    /** The blob that this Split copy copies, or null. */
    public String splitOf() {
      return note != null && note.startsWith("split:") ? note.substring(6) : null;
    }
  }

  /** A stored tensor: its file and shape (data not read). */
  public record Entry(String name, Path file, long[] shape) {
    public long bytes() {
      return 4 * FloatTensor.numel(shape);
    }
  }

  /** One set: its inputs (loaded) and every stored output (not loaded), in file order. */
  public record BlobSet(String name, Path dir, Map<String, FloatTensor> inputs, Map<String, Entry> blobs) {
    public FloatTensor load(String blob) {
      Entry e = blobs.get(blob);
      return TensorProtoIO.read(e.file()).tensor();
    }
  }

  /** True when {@code dir} was written with every blob (it has {@value #INDEX}). */
  public static boolean isAllBlobs(Path dir) {
    return Files.isRegularFile(dir.resolve(INDEX));
  }

  /** {@value #INDEX} of {@code dir}, by blob name, in file order; empty when there is none. */
  public static Map<String, BlobMeta> meta(Path dir) {
    Map<String, BlobMeta> out = new LinkedHashMap<>();
    Path index = dir.resolve(INDEX);
    if (!Files.isRegularFile(index)) {
      return out;
    }
    List<String> lines;
    try {
      lines = Files.readAllLines(index, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new FcnException("cannot read " + index + ": " + e.getMessage(), e);
    }
    for (int i = 1; i < lines.size(); i++) {
      String[] f = lines.get(i).split("\t", -1);
      if (f.length != 4) {
        throw FcnException.of("%s line %d: expected 4 tab-separated fields (blob, layers, types, note), got %d",
            index, i + 1, f.length);
      }
      out.put(f[0], new BlobMeta(f[0], f[1], f[2], f[3]));
    }
    return out;
  }

  /** Every set under {@code dir} (test_data_set_N/ folders, by N), outputs scanned, not loaded. */
  public static List<BlobSet> scan(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new FcnException("fixtures directory " + dir + " not found (expected a folder of test_data_set_N/)");
    }
    List<Path> setDirs;
    try (Stream<Path> s = Files.list(dir)) {
      setDirs = s.filter(Files::isDirectory).filter(p -> p.getFileName().toString().matches("test_data_set_\\d+"))
          .sorted(java.util.Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString().substring(14))))
          .toList();
    } catch (IOException e) {
      throw new FcnException("cannot list " + dir + ": " + e.getMessage(), e);
    }
    if (setDirs.isEmpty()) {
      throw new FcnException("no test_data_set_N/ folders in " + dir + "; --per-layer reads fixtures from "
          + "'fcn fixtures ... --all-blobs' (named input_K.pb / output_K.pb)");
    }
    List<BlobSet> sets = new ArrayList<>();
    for (Path setDir : setDirs) {
      sets.add(scanSet(setDir));
    }
    return sets;
  }

  private static BlobSet scanSet(Path setDir) {
    List<Path> files;
    try (Stream<Path> s = Files.list(setDir)) {
      files = s.filter(Files::isRegularFile).toList();
    } catch (IOException e) {
      throw new FcnException("cannot list " + setDir + ": " + e.getMessage(), e);
    }
    Map<String, FloatTensor> inputs = new LinkedHashMap<>();
    List<Path> ins = numbered(files, "input");
    for (Path p : ins) {
      LoadedTensor t = TensorProtoIO.read(p);
      if (!t.hasName()) {
        throw FcnException.of("%s has no tensor name; --per-layer matches tensors by name", p);
      }
      inputs.put(t.name(), t.tensor());
    }
    Map<String, Entry> blobs = new LinkedHashMap<>();
    for (Path p : numbered(files, "output")) {
      Entry e = header(p);
      if (e.name().isEmpty()) {
        throw FcnException.of("%s has no tensor name; --per-layer matches tensors by name", p);
      }
      if (blobs.put(e.name(), e) != null) {
        throw FcnException.of("%s: two output files hold tensor '%s'", setDir, e.name());
      }
    }
    if (inputs.isEmpty() || blobs.isEmpty()) {
      throw FcnException.of("%s has %s; expected named input_K.pb and output_K.pb files", setDir,
          inputs.isEmpty() ? "no input_K.pb" : "no output_K.pb");
    }
    return new BlobSet(setDir.getFileName().toString(), setDir, inputs, blobs);
  }

  private static List<Path> numbered(List<Path> files, String kind) {
    Pattern p = Pattern.compile(kind + "_(\\d+)\\.pb");
    return files.stream().filter(f -> p.matcher(f.getFileName().toString()).matches())
        .sorted(java.util.Comparator.comparingLong(f -> {
          Matcher m = p.matcher(f.getFileName().toString());
          m.matches();
          return Long.parseLong(m.group(1));
        })).toList();
  }

  /** Name and dims of a TensorProto file, skipping its data. */
  static Entry header(Path file) {
    String name = "";
    List<Long> dims = new ArrayList<>();
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      CodedInputStream c = CodedInputStream.newInstance(in);
      c.setSizeLimit(Integer.MAX_VALUE);
      while (true) {
        int tag = c.readTag();
        if (tag == 0) {
          break;
        }
        int field = WireFormat.getTagFieldNumber(tag);
        int wire = WireFormat.getTagWireType(tag);
        if (field == 1 && wire == WireFormat.WIRETYPE_VARINT) {
          dims.add(c.readInt64());
        } else if (field == 1 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
          int limit = c.pushLimit(c.readRawVarint32());
          while (c.getBytesUntilLimit() > 0) {
            dims.add(c.readInt64());
          }
          c.popLimit(limit);
        } else if (field == 8 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
          name = c.readStringRequireUtf8();
        } else if (!c.skipField(tag)) {
          break;
        }
      }
    } catch (IOException e) {
      throw new FcnException(file + " is not a readable ONNX TensorProto: " + e.getMessage(), e);
    }
    return new Entry(name, file, dims.stream().mapToLong(Long::longValue).toArray());
  }

  /**
   * Writes every blob of real Caffe for each input set into {@code outDir} (atomically, like
   * {@link FixtureGenerator}): one forward pass per set, then one blob at a time from Caffe's
   * memory to its file. Input blobs are inputs; Split copies are listed in the index only.
   */
  public static List<Path> writeCaffe(AllBlobsRunner caffe, Path outDir, List<Map<String, FloatTensor>> inputSets,
      boolean replace) {
    List<AllBlobsRunner.BlobInfo> blobs = caffe.blobInfo();
    return FixtureGenerator.intoFolder(outDir, replace, tmp -> {
      List<Path> dirs = new ArrayList<>();
      for (int s = 0; s < inputSets.size(); s++) {
        Map<String, FloatTensor> inputs = inputSets.get(s);
        caffe.forward(inputs);
        Path setDir = tmp.resolve("test_data_set_" + s);
        FixtureGenerator.writeSet(setDir, inputs, Map.of());
        int k = 0;
        for (AllBlobsRunner.BlobInfo b : blobs) {
          if (!b.input() && b.splitOf() == null) {
            TensorProtoIO.write(setDir.resolve("output_" + k++ + ".pb"), b.name(), caffe.blob(b.name()));
          }
        }
        dirs.add(setDir);
      }
      StringBuilder sb = new StringBuilder("blob\tlayers\ttypes\tnote\n");
      for (AllBlobsRunner.BlobInfo b : blobs) {
        sb.append(b.name()).append('\t').append(String.join("+", b.layers())).append('\t')
            .append(String.join("+", b.types())).append('\t')
            .append(b.input() ? "input" : b.splitOf() != null ? "split:" + b.splitOf() : "").append('\n');
      }
      AtomicFile.write(tmp.resolve(INDEX), sb.toString().getBytes(StandardCharsets.UTF_8));
      return dirs.size();
    });
  }

  /**
   * Writes {@code tensors} (float tensors of an ONNX model, in its topological order) for each
   * input set into {@code outDir}: the model runs once per group of {@link PerLayer#groups} and
   * set, through a pruned copy exposing that group. {@code open} opens a copy with ONNX Runtime.
   */
  static List<Path> writeOnnx(TappedModel model, List<String> tensors, Map<String, Long> bytes, long budget,
      Function<Path, fcn.runtime.Session> open, Path outDir, List<Map<String, FloatTensor>> inputSets,
      boolean replace) {
    return FixtureGenerator.intoFolder(outDir, replace, tmp -> {
      for (int s = 0; s < inputSets.size(); s++) {
        FixtureGenerator.writeSet(tmp.resolve("test_data_set_" + s), inputSets.get(s), Map.of());
      }
      Map<String, Integer> index = new LinkedHashMap<>();
      tensors.forEach(t -> index.put(t, index.size()));
      PerLayer.forEachGroup(model, PerLayer.groups(tensors, bytes, budget), open, (group, session) -> {
        for (int s = 0; s < inputSets.size(); s++) {
          Map<String, FloatTensor> out = session.run(inputSets.get(s));
          for (String t : group) {
            TensorProtoIO.write(tmp.resolve("test_data_set_" + s).resolve("output_" + index.get(t) + ".pb"), t, out.get(t));
          }
        }
      });
      StringBuilder sb = new StringBuilder("blob\tlayers\ttypes\tnote\n");
      for (String in : model.inputs()) {
        sb.append(in).append("\t\t\tinput\n");
      }
      for (String t : tensors) {
        TappedModel.Ancestry a = model.ancestry(t, new java.util.HashSet<>(tensors));
        sb.append(t).append('\t').append(String.join("+", a.nodes().stream().map(n -> n.getName()).toList()))
            .append('\t').append(String.join("+", a.nodes().stream().map(n -> n.getOpType()).toList())).append("\t\n");
      }
      AtomicFile.write(tmp.resolve(INDEX), sb.toString().getBytes(StandardCharsets.UTF_8));
      return inputSets.size();
    });
  }
}
