package fcn.validate;

import fcn.core.FcnException;
import fcn.ir.Shape;
import fcn.runtime.FloatTensor;
import fcn.runtime.Session;
import fcn.validate.PerLayerReport.Row;
import fcn.validate.Tolerances.Tolerance;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Per-layer comparison, the library side of {@code fcn validate --per-layer}: compares every
 * tensor of an ONNX model that has a counterpart of the same name in fixtures holding every
 * reference blob ({@link BlobFixtures}: from real Caffe, or from another ONNX model), in the
 * model's topological order, under the rule of the final outputs, and names the first diverging
 * layer.
 *
 * <p>Memory is bounded by groups: the compared tensors are split, in topological order, into
 * groups of at most {@code budget} bytes (a larger tensor is a group of its own); each group is
 * exposed as the outputs of a temporary, pruned copy of the model, run once per set, and the
 * reference tensors are read from disk one at a time. So the heap holds the parsed model, one
 * group of outputs and one reference tensor, whatever the net's size. Does not own the
 * sessions' options: {@code open} opens each copy (and closes nothing else).
 */
public final class PerLayer {
  /** Default group size: 256 MiB of float32 tensors per ONNX Runtime run. */
  public static final long DEFAULT_BUDGET = 256L << 20;

  private PerLayer() {}

  /**
   * Compares {@code model} with the all-blob fixtures in {@code dir}.
   *
   * @param reference what made the fixtures, for the report ("BVLC Caffe 1.0 ...", a model path)
   * @param open opens a model file with ONNX Runtime (the caller's device and threads)
   */
  public static PerLayerReport compare(Path model, Path dir, String reference, Function<Path, Session> open,
      Tolerances tolerances, long budget, List<String> notes) {
    List<BlobFixtures.BlobSet> sets = BlobFixtures.scan(dir);
    Map<String, BlobFixtures.BlobMeta> meta = BlobFixtures.meta(dir);
    TappedModel m = TappedModel.read(model);
    return compare(m, sets, meta, reference, open, tolerances, budget, notes);
  }

  /**
   * {@code validate MODEL --against-caffe NET WEIGHTS --per-layer}: real Caffe runs once per set
   * (at the sizes of {@link AgainstReference}: Caffe's and, for fully convolutional nets, 187x253)
   * and every blob goes to a temporary all-blob fixtures folder, one blob at a time; Caffe is
   * closed before the model runs. The folder is removed afterwards.
   */
  public static PerLayerReport againstCaffe(Path model, Path prototxt, Path caffemodel, Function<Path, Session> open,
      Tolerances tolerances, AgainstReference.Options opts, long budget) {
    List<String> notes = new ArrayList<>();
    Path tmp = tempDir("fcn-per-layer-caffe-");
    try {
      List<Path> dirs = new ArrayList<>();
      String describe;
      try (fcn.reference.caffe.AllBlobsRunner caffe =
          fcn.reference.caffe.CaffeBackend.openAllBlobs(prototxt, caffemodel, opts.inputShapes())) {
        List<Map<String, long[]>> sizes;
        try (Session s = open.apply(model)) {
          sizes = AgainstReference.sizes(caffe, s, opts, notes);
        }
        for (Map<String, long[]> shapes : sizes) {
          Path dir = tmp.resolve(AgainstReference.label(shapes));
          BlobFixtures.writeCaffe(caffe, dir, AgainstReference.randomInputs(shapes, opts), false);
          dirs.add(dir);
          notes.add(String.format(java.util.Locale.ROOT, "%d set(s) at %s, inputs uniform in [%s, %s), seed %d",
              opts.sets(), AgainstReference.format(shapes), CompareResult.num(opts.low()), CompareResult.num(opts.high()),
              opts.seed()));
        }
        describe = caffe.describe();
      }
      notes.add(0, "reference: " + describe + ", " + prototxt + " (every blob kept)");
      return compareDirs(model, dirs, describe, open, tolerances, budget, notes);
    } finally {
      fcn.core.TempFiles.delete(tmp);
    }
  }

  /**
   * {@code validate MODEL --against REF.onnx --per-layer}: every float tensor of {@code reference}
   * that {@code model} also computes (matched by name) is written to a temporary all-blob
   * fixtures folder, a group at a time, then compared.
   */
  public static PerLayerReport againstOnnx(Path model, Path reference, Function<Path, Session> open,
      Tolerances tolerances, FixtureGenerator.Options inputs, long budget) {
    List<String> notes = new ArrayList<>();
    Path tmp = tempDir("fcn-per-layer-onnx-");
    try {
      Path dir = tmp.resolve("fixtures");
      List<Map<String, FloatTensor>> sets = randomInputs(reference, open, inputs);
      Map<String, long[]> shapes = new LinkedHashMap<>();
      sets.get(0).forEach((k, v) -> shapes.put(k, v.shape()));
      TappedModel m = TappedModel.read(model);
      {
        TappedModel ref = TappedModel.read(reference);
        List<String> tensors = ref.floatTensors().stream().filter(m::computes).toList();
        if (tensors.isEmpty()) {
          throw FcnException.of("%s and %s have no computed tensor name in common; --per-layer matches tensors by name",
              model, reference);
        }
        BlobFixtures.writeOnnx(ref, tensors, estimateBytes(reference, shapes), budget, open, dir, sets, false);
      }
      notes.add("reference: " + reference + " (ONNX Runtime), tensors matched by name");
      notes.add(String.format(java.util.Locale.ROOT, "%d set(s) at %s, inputs uniform in [%s, %s), seed %d",
          inputs.sets(), format(shapes), CompareResult.num(inputs.low()), CompareResult.num(inputs.high()), inputs.seed()));
      return compare(m, BlobFixtures.scan(dir), BlobFixtures.meta(dir), reference.toString(), open, tolerances, budget,
          notes);
    } finally {
      fcn.core.TempFiles.delete(tmp);
    }
  }

  /** Seeded random inputs for an ONNX model (its static shapes, or the given ones). */
  static List<Map<String, FloatTensor>> randomInputs(Path model, Function<Path, Session> open,
      FixtureGenerator.Options opts) {
    try (Session s = open.apply(model)) {
      return FixtureGenerator.randomSets(s.inputs(), opts);
    }
  }

  /**
   * {@code fixtures MODEL.onnx --all-blobs}: every float tensor the model computes, for each set,
   * a group at a time.
   */
  public static List<Path> writeAllTensors(Path model, Function<Path, Session> open, Path outDir,
      List<Map<String, FloatTensor>> sets, boolean replace, long budget) {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    sets.get(0).forEach((k, v) -> shapes.put(k, v.shape()));
    TappedModel m = TappedModel.read(model);
    return BlobFixtures.writeOnnx(m, m.floatTensors(), estimateBytes(model, shapes), budget, open, outDir, sets, replace);
  }

  /** All-blob fixture folders, one per input size, as one list of sets named "SIZE/test_data_set_N". */
  private static PerLayerReport compareDirs(Path model, List<Path> dirs, String reference, Function<Path, Session> open,
      Tolerances tolerances, long budget, List<String> notes) {
    List<BlobFixtures.BlobSet> sets = new ArrayList<>();
    for (Path d : dirs) {
      for (BlobFixtures.BlobSet s : BlobFixtures.scan(d)) {
        sets.add(new BlobFixtures.BlobSet(d.getFileName() + "/" + s.name(), s.dir(), s.inputs(), s.blobs()));
      }
    }
    return compare(TappedModel.read(model), sets, BlobFixtures.meta(dirs.get(0)), reference, open, tolerances, budget,
        notes);
  }

  private static Path tempDir(String prefix) {
    return fcn.core.TempFiles.createScratchDirectory(prefix); // removed on SIGTERM/Ctrl-C too
  }

  static PerLayerReport compare(TappedModel m, List<BlobFixtures.BlobSet> sets, Map<String, BlobFixtures.BlobMeta> meta,
      String reference, Function<Path, Session> open, Tolerances tolerances, long budget, List<String> notes) {
    for (BlobFixtures.BlobSet s : sets) {
      for (String in : m.inputs()) {
        if (!s.inputs().containsKey(in)) {
          throw FcnException.of("%s has no value for input '%s' of %s; its inputs: %s", s.dir(), in, m.file(),
              String.join(", ", s.inputs().keySet()));
        }
      }
    }
    // Reference blobs, in the reference's order: those the model computes are compared.
    Map<String, long[]> refShape = new LinkedHashMap<>();
    Map<String, Long> bytes = new HashMap<>();
    for (BlobFixtures.BlobSet s : sets) {
      for (BlobFixtures.Entry e : s.blobs().values()) {
        refShape.putIfAbsent(e.name(), e.shape());
        bytes.merge(e.name(), e.bytes(), Math::max);
      }
    }
    List<String> compared = new ArrayList<>(refShape.keySet().stream().filter(m::computes).toList());
    compared.sort(java.util.Comparator.comparingInt(m::order));
    Set<String> comparedSet = new HashSet<>(compared);
    for (String t : tolerances.overriddenOutputs()) {
      if (!comparedSet.contains(t)) {
        throw FcnException.of("a tolerance names '%s', which is not a tensor compared per layer; compared: %s",
            t, compared.size() > 20 ? String.join(", ", compared.subList(0, 20)) + ", ..." : String.join(", ", compared));
      }
    }

    // Score maps: N x C x H x W blobs with the class count of one of the model's N x C x H x W outputs.
    Set<Long> classes = new HashSet<>();
    for (String o : m.outputs()) {
      long[] s = refShape.get(o);
      if (s != null && s.length == 4 && s[1] >= 2) {
        classes.add(s[1]);
      }
    }

    List<List<String>> groups = groups(compared, bytes, budget);
    List<Map<String, CompareResult>> results = new ArrayList<>();
    List<Map<String, Double>> ratios = new ArrayList<>();
    List<Map<String, String>> skipped = new ArrayList<>();
    List<Set<String>> mismatched = new ArrayList<>();
    for (int i = 0; i < sets.size(); i++) {
      results.add(new HashMap<>());
      ratios.add(new HashMap<>());
      skipped.add(new HashMap<>());
      mismatched.add(new HashSet<>());
    }
    String[] runtime = {null};
    forEachGroup(m, groups, open, (group, session) -> {
      runtime[0] = session.describe();
      for (int s = 0; s < sets.size(); s++) {
        BlobFixtures.BlobSet set = sets.get(s);
        Map<String, FloatTensor> feeds = new LinkedHashMap<>();
        for (String in : m.inputs()) {
          feeds.put(in, set.inputs().get(in));
        }
        Map<String, FloatTensor> actual = session.run(feeds);
        for (String t : group) {
          if (!set.blobs().containsKey(t)) {
            skipped.get(s).put(t, "not in " + set.name());
            continue;
          }
          FloatTensor want = set.load(t);
          FloatTensor got = actual.remove(t);
          if (got.size() != want.size()) {
            skipped.get(s).put(t, "shape " + got.shapeString() + " in the model, " + want.shapeString() + " in the reference");
            mismatched.get(s).add(t);
            continue;
          }
          if (!Arrays.equals(got.shape(), want.shape())) {
            got = new FloatTensor(got.data(), want.shape()); // same elements, e.g. N x K vs N x K x 1 x 1
          }
          Tolerance tol = tolerances.forOutput(t, want);
          if (!isScoreMap(want.shape(), classes)) {
            tol = new Tolerance(tol.atol(), tol.rtol(), Double.NaN);
          }
          CompareResult r = Comparator.compare(t, got, want, tol);
          double maxRef = maxAbs(want);
          results.get(s).put(t, r);
          ratios.get(s).put(t, maxRef > 0 ? r.maxAbsError() / maxRef
              : r.maxAbsError() == 0 ? 0 : Double.POSITIVE_INFINITY);
        }
      }
    });

    List<PerLayerReport.SetRows> out = new ArrayList<>();
    for (int s = 0; s < sets.size(); s++) {
      BlobFixtures.BlobSet set = sets.get(s);
      List<Row> rows = new ArrayList<>();
      for (String t : compared) {
        CompareResult r = results.get(s).get(t);
        TappedModel.Ancestry a = m.ancestry(t, comparedSet);
        String[] lt = layerAndType(t, meta, a);
        long[] shape = set.blobs().containsKey(t) ? set.blobs().get(t).shape() : refShape.get(t);
        double ratio = r == null ? Double.NaN : ratios.get(s).get(t);
        rows.add(new Row(lt[0], lt[1], t, shape, r, ratio, a.inputs(),
            r == null ? skipped.get(s).getOrDefault(t, "not compared") : null, isScoreMap(shape, classes),
            mismatched.get(s).contains(t)));
      }
      // Reference blobs the model lacks, and why.
      List<Row> notCompared = new ArrayList<>();
      for (BlobFixtures.BlobMeta b : meta.values()) {
        if (comparedSet.contains(b.name())) {
          continue;
        }
        String why = b.isInput() ? "input: fed to both"
            : b.splitOf() != null ? PerLayerReport.SPLIT + b.splitOf() + " (no tensor of its own in the model)"
            : m.inputs().contains(b.name()) ? "input of the model"
            : "no tensor named '" + b.name() + "' in the model" + (refShape.containsKey(b.name()) ? "" : " (nor in the fixtures)");
        notCompared.add(new Row(b.layers(), b.types(), b.name(), refShape.get(b.name()), null, Double.NaN, List.of(), why, false,
            false));
      }
      for (String t : refShape.keySet()) {
        if (!comparedSet.contains(t) && !meta.containsKey(t)) {
          notCompared.add(new Row("", "", t, refShape.get(t), null, Double.NaN, List.of(),
              m.inputs().contains(t) ? "input of the model" : "no tensor named '" + t + "' in the model", false, false));
        }
      }
      out.add(new PerLayerReport.SetRows(set.name(), rows, notCompared));
    }
    // Model tensors the reference does not hold (versions an in-place Caffe layer overwrote, helpers).
    List<String> unmatched = m.floatTensors().stream().filter(t -> !refShape.containsKey(t)).toList();
    List<String> allNotes = new ArrayList<>(notes);
    allNotes.add(String.format(java.util.Locale.ROOT,
        "compared %d tensor(s) per set in %d group(s) of at most %d MiB (one ONNX Runtime run of a pruned copy each)",
        compared.size(), groups.size(), budget >> 20));
    if (!unmatched.isEmpty()) {
      allNotes.add(unmatched.size() + " model tensor(s) without a reference blob of the same name, not compared"
          + " (e.g. versions an in-place layer overwrites in Caffe): " + (unmatched.size() > 8
              ? String.join(", ", unmatched.subList(0, 8)) + ", ..." : String.join(", ", unmatched)));
    }
    return new PerLayerReport(m.file().toString(), runtime[0] == null ? Session.ortVersion() : runtime[0], reference,
        tolerances.describe().replace("per output", "per tensor")
            .replace("score maps (NxCxHxW, C >= 2)", "score maps (NxCxHxW blobs with C = the output's class count)"),
        allNotes, out);
  }

  /** Caffe's layers and types from the index when it has them, else the model's nodes in between. */
  private static String[] layerAndType(String t, Map<String, BlobFixtures.BlobMeta> meta, TappedModel.Ancestry a) {
    BlobFixtures.BlobMeta b = meta.get(t);
    if (b != null && !b.layers().isEmpty()) {
      return new String[] {b.layers(), b.types()};
    }
    List<String> names = a.nodes().stream().map(n -> n.getName().isEmpty() ? n.getOpType() : n.getName()).toList();
    List<String> types = a.nodes().stream().map(n -> n.getOpType()).toList();
    return new String[] {String.join("+", names), String.join("+", types)};
  }

  private static boolean isScoreMap(long[] shape, Set<Long> classes) {
    return shape != null && shape.length == 4 && classes.contains(shape[1]);
  }

  private static double maxAbs(FloatTensor t) {
    double max = 0;
    for (float v : t.data()) {
      double a = Math.abs((double) v);
      if (a > max && !Double.isInfinite(a)) {
        max = a;
      }
    }
    return max;
  }

  /** Splits {@code tensors} (in order) into runs of at most {@code budget} bytes; unknown sizes count as the largest known. */
  static List<List<String>> groups(List<String> tensors, Map<String, Long> bytes, long budget) {
    if (budget < 1) {
      throw new FcnException("--group-mb must be >= 1, got " + budget);
    }
    long largest = bytes.values().stream().mapToLong(Long::longValue).max().orElse(budget);
    List<List<String>> out = new ArrayList<>();
    List<String> cur = new ArrayList<>();
    long sum = 0;
    for (String t : tensors) {
      long b = bytes.getOrDefault(t, largest);
      if (!cur.isEmpty() && sum + b > budget) {
        out.add(cur);
        cur = new ArrayList<>();
        sum = 0;
      }
      cur.add(t);
      sum += b;
    }
    if (!cur.isEmpty()) {
      out.add(cur);
    }
    return out;
  }

  /** What to do with one group's session. */
  interface GroupAction {
    void run(List<String> group, Session session);
  }

  /** Writes each group's pruned copy to a temporary folder, opens it, runs {@code action}, removes it. */
  static void forEachGroup(TappedModel m, List<List<String>> groups, Function<Path, Session> open, GroupAction action) {
    Path tmp = tempDir("fcn-per-layer-");
    try {
      for (int g = 0; g < groups.size(); g++) {
        Path copy = tmp.resolve("group-" + g + ".onnx");
        m.writeCut(groups.get(g), copy);
        try (Session s = open.apply(copy)) {
          action.run(groups.get(g), s);
        }
        try {
          Files.deleteIfExists(copy);
        } catch (IOException e) {
          // removed with the folder below
        }
      }
    } finally {
      fcn.core.TempFiles.delete(tmp);
    }
  }

  /** Sizes of a model's tensors at given input sizes from fcn's shape inference; empty where unknown. */
  static Map<String, Long> estimateBytes(Path model, Map<String, long[]> inputShapes) {
    Map<String, Long> out = new HashMap<>();
    try {
      fcn.ir.Graph g = fcn.frontend.onnx.OnnxImporter.importModel(model);
      fcn.passes.ShapeInference.infer(g, inputShapes).forEach((k, v) -> out.put(k, 4 * FloatTensor.numel(v)));
    } catch (FcnException e) {
      // Unknown sizes count as the largest known (or a whole group): the groups just get smaller.
    }
    return out;
  }

  static String format(Map<String, long[]> shapes) {
    List<String> parts = new ArrayList<>();
    shapes.forEach((k, v) -> parts.add(k + "=" + Shape.format(v)));
    return String.join(" ", parts);
  }
}
