package fcn.frontend.caffe;

import fcn.core.FcnException;
import fcn.ir.Attrs;
import fcn.ir.Constant;
import fcn.ir.DataType;
import fcn.ir.Graph;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.proto.CaffeProto.FillerParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Builds the IR graph from an upgraded (V2, TEST-phase) NetParameter. One instance per import.
 * Layers are visited in prototxt order, which in Caffe is also execution order; a blob name
 * maps to its current version, and when a layer writes a blob that already exists (in-place
 * layers) the older version is renamed so that the last version keeps the Caffe name. Each
 * layer is converted by its {@link LayerConverter} from {@link LayerRegistry}, to which this
 * builder is the {@link LayerContext}; the builder itself knows no layer type.
 */
final class GraphBuilder implements LayerContext {

  /** Default spatial size of image inputs whose size the net does not give. */
  static final long DEFAULT_HW = 500;
  static final long DEFAULT_CHANNELS = 3;

  private final NetParameter net;
  private final Map<String, List<WeightBlob>> weights;
  private final String weightsFile;
  private final CaffeImportOptions opts;
  private final String source;
  private final Graph g;

  /** Caffe blob name -> the value holding its current version. */
  private final Map<String, Value> blobs = new HashMap<>();
  /** Value name -> the Caffe layer that produced it (for naming superseded versions). */
  private final Map<String, String> producerLayer = new HashMap<>();
  /** Every blob name in the net: generated names avoid them. */
  private final Set<String> caffeNames = new HashSet<>();
  /** Blob names in order of their last production, for picking graph outputs. */
  private final LinkedHashSet<String> produced = new LinkedHashSet<>();
  /** Blobs whose current version some converted layer reads (Caffe's notion of consumed). */
  private final Set<String> consumed = new HashSet<>();
  /** Training-only layer that produced a blob (so a kept reader can say why it is missing). */
  private final Map<String, LayerParameter> droppedProducer = new HashMap<>();
  private final Set<String> guessedInputs = new LinkedHashSet<>();
  private final List<String> randomLayers = new ArrayList<>();

  private LayerParameter layer; // the layer being converted, for messages
  private List<String> outNames = List.of(); // its claimed top names

  GraphBuilder(NetParameter net, Map<String, List<WeightBlob>> weights, String weightsFile,
      CaffeImportOptions opts, String source) {
    this.net = net;
    this.weights = weights;
    this.weightsFile = weightsFile;
    this.opts = opts;
    this.source = source;
    this.g = new Graph(net.getName().isEmpty() ? "caffe" : net.getName());
  }

  List<String> randomLayers() {
    return randomLayers;
  }

  // ---- Classification ----------------------------------------------------------------------

  static boolean isData(LayerParameter l) {
    return DataLayers.isData(l);
  }

  static boolean isTrainingOnly(LayerParameter l) {
    return DataLayers.isTrainingOnly(l);
  }

  /** Whether a caffemodel must hold blobs for {@code l} (or random weights must be asked for). */
  private static boolean hasParams(LayerParameter l) {
    LayerConverter c = LayerRegistry.get(l.getType());
    return c != null && c.blobCount().applyAsInt(l) > 0;
  }

  /** Why a layer cannot be converted, or null when it can. */
  static String unsupportedReason(LayerParameter l) {
    if (isTrainingOnly(l) || isData(l)) {
      return null;
    }
    String t = l.getType();
    if (t.equals("Python")) {
      return DataLayers.pythonReason(l);
    }
    LayerConverter c = LayerRegistry.get(t);
    if (c == null) {
      return t.isEmpty() ? "no type" : t;
    }
    return c.refuse().apply(l);
  }

  // ---- Build -------------------------------------------------------------------------------

  Graph build() {
    List<LayerParameter> layers = net.getLayerList();
    for (LayerParameter l : layers) {
      caffeNames.addAll(l.getTopList());
      caffeNames.addAll(l.getBottomList());
    }
    Set<String> keptDataTops = analyseDataflow(layers);
    Map<String, long[]> inputShapes = inputShapes(layers, keptDataTops);
    checkMissingWeights(layers);

    for (LayerParameter l : layers) {
      layer = l;
      if (isTrainingOnly(l)) {
        for (String t : l.getTopList()) {
          droppedProducer.put(t, l);
        }
        continue;
      }
      if (isData(l)) {
        for (int i = 0; i < l.getTopCount(); i++) {
          String top = l.getTop(i);
          if (keptDataTops.contains(l.getName() + "\u0000" + i)) {
            String name = claimTop(top, l.getName());
            Variable in = g.addInput(name, DataType.FLOAT, Shape.of(inputShapes.get(top)));
            defineTop(top, in, l);
          } else {
            droppedProducer.put(top, l);
            blobs.remove(top);
          }
        }
        continue;
      }
      convertLayer(l);
    }
    layer = null;
    selectOutputs();
    g.removeUnused();
    g.checkConnected();
    g.topologicalOrder();
    return g;
  }

  /**
   * Checks that every bottom is produced by an earlier layer (reporting cycles with layer
   * names) and returns the data-layer tops that some converted layer reads, keyed
   * "layer\0topIndex"; the other data tops (labels) are dropped.
   */
  private Set<String> analyseDataflow(List<LayerParameter> layers) {
    Map<String, Integer> current = new HashMap<>(); // blob -> producing layer index
    Map<String, String> currentKey = new HashMap<>(); // blob -> data-top key, when from a data layer
    Set<String> used = new HashSet<>();
    for (int li = 0; li < layers.size(); li++) {
      LayerParameter l = layers.get(li);
      for (String b : l.getBottomList()) {
        if (!current.containsKey(b)) {
          throw missingBottom(layers, li, b);
        }
        String key = currentKey.get(b);
        if (key != null && !isTrainingOnly(l) && !isData(l)) {
          used.add(key);
        }
      }
      for (int i = 0; i < l.getTopCount(); i++) {
        String t = l.getTop(i);
        current.put(t, li);
        if (isData(l)) {
          currentKey.put(t, l.getName() + "\u0000" + i);
        } else {
          currentKey.remove(t);
        }
      }
    }
    return used;
  }

  private FcnException missingBottom(List<LayerParameter> layers, int li, String blob) {
    LayerParameter l = layers.get(li);
    int later = -1;
    for (int j = li; j < layers.size(); j++) {
      if (layers.get(j).getTopList().contains(blob)) {
        later = j;
        break;
      }
    }
    if (later < 0) {
      return FcnException.of("%s: layer '%s' (%s) reads bottom '%s', which no layer produces%s",
          source, l.getName(), l.getType(), blob, source.equals(weightsFile)
              ? "; the caffemodel's embedded net does not declare its inputs: give the deploy"
                  + " prototxt too" : "");
    }
    List<String> cycle = findCycle(layers, li);
    if (cycle != null) {
      return FcnException.of("%s: the layers form a cycle: %s (layer '%s' reads '%s', produced"
          + " by layer '%s')", source, String.join(" -> ", cycle), l.getName(), blob,
          layers.get(later).getName());
    }
    return FcnException.of("%s: layer '%s' (%s) reads bottom '%s' before layer '%s' produces it;"
        + " Caffe needs layers in execution order", source, l.getName(), l.getType(), blob,
        layers.get(later).getName());
  }

  /** A cycle through layer {@code start} in the blob-name dependency graph, as layer names. */
  private static List<String> findCycle(List<LayerParameter> layers, int start) {
    Map<String, List<Integer>> producers = new HashMap<>();
    for (int i = 0; i < layers.size(); i++) {
      for (String t : layers.get(i).getTopList()) {
        producers.computeIfAbsent(t, k -> new ArrayList<>()).add(i);
      }
    }
    // DFS from start along "reads a blob produced by" edges, ignoring a layer's own tops.
    Map<Integer, Integer> parent = new HashMap<>();
    java.util.ArrayDeque<Integer> stack = new java.util.ArrayDeque<>();
    stack.push(start);
    parent.put(start, -1);
    while (!stack.isEmpty()) {
      int cur = stack.pop();
      for (String b : layers.get(cur).getBottomList()) {
        for (int p : producers.getOrDefault(b, List.of())) {
          if (p == cur) {
            continue;
          }
          if (p == start) {
            // parent links run against the data flow: parent[p] = c means c reads p.
            List<String> chain = new ArrayList<>();
            for (int n = cur; n != -1; n = parent.get(n)) {
              chain.add("'" + layers.get(n).getName() + "'");
            }
            List<String> flow = new ArrayList<>();
            flow.add(chain.get(chain.size() - 1));
            flow.addAll(chain.subList(0, chain.size() - 1));
            flow.add(chain.get(chain.size() - 1));
            return flow;
          }
          if (!parent.containsKey(p)) {
            parent.put(p, cur);
            stack.push(p);
          }
        }
      }
    }
    return null;
  }

  // ---- Inputs ------------------------------------------------------------------------------

  /**
   * Shapes for the kept data tops: an override wins; then what the layer gives (Input shape,
   * DummyData shape, MemoryData dims); otherwise N=1, C from the first consuming convolution's
   * weights when a caffemodel gives them (or 1 channel for a grayscale ImageData, else 3),
   * H x W from ImageData new_height/new_width or a transform crop_size, else 500 x 500.
   */
  private Map<String, long[]> inputShapes(List<LayerParameter> layers, Set<String> keptKeys) {
    Map<String, long[]> overrides = opts.inputShapes();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    List<String> inputNames = new ArrayList<>();
    for (LayerParameter l : layers) {
      if (!isData(l)) {
        continue;
      }
      for (int i = 0; i < l.getTopCount(); i++) {
        if (!keptKeys.contains(l.getName() + "\u0000" + i)) {
          continue;
        }
        String top = l.getTop(i);
        inputNames.add(top);
        long[] shape = overrides.get(top);
        if (shape == null) {
          shape = DataLayers.declaredShape(l, i, source);
        }
        if (shape == null) {
          shape = defaultShape(l, top, layers);
          guessedInputs.add(top);
        }
        for (long d : shape) {
          if (d <= 0 || d > LayerChecks.MAX) {
            throw FcnException.of("%s: input '%s' has shape %s; expected sizes 1 to %d (Caffe"
                + " keeps sizes in an int)", source, top, Shape.format(shape), LayerChecks.MAX);
          }
        }
        checkCount(top, shape);
        shapes.put(top, shape);
      }
    }
    for (String k : overrides.keySet()) {
      if (!shapes.containsKey(k)) {
        throw FcnException.of("%s: --input-shape names '%s', which is not an input of the net;"
            + " inputs: %s", source, k, inputNames.isEmpty() ? "(none)" : String.join(", ", inputNames));
      }
    }
    return shapes;
  }

  private long[] defaultShape(LayerParameter l, String top, List<LayerParameter> layers) {
    long h = DEFAULT_HW;
    long w = DEFAULT_HW;
    long c = -1;
    if (l.getType().equals("ImageData")) {
      var p = l.getImageDataParam();
      if (p.getNewHeight() > 0 && p.getNewWidth() > 0) {
        h = p.getNewHeight();
        w = p.getNewWidth();
      }
      if (!p.getIsColor()) {
        c = 1;
      }
    }
    if (l.getTransformParam().getCropSize() > 0) {
      h = w = l.getTransformParam().getCropSize();
    }
    if (c < 0) {
      c = channelsFromWeights(top, layers);
    }
    return new long[] {1, c < 0 ? DEFAULT_CHANNELS : c, h, w};
  }

  /** C of the first convolution that reads {@code top} directly, from the caffemodel. */
  private long channelsFromWeights(String top, List<LayerParameter> layers) {
    for (LayerParameter l : layers) {
      if (!l.getBottomList().contains(top) || isTrainingOnly(l)) {
        continue;
      }
      if (l.getBottomCount() == 1 && (l.getType().equals("Convolution")
          || l.getType().equals("Deconvolution"))) {
        List<WeightBlob> w = weights.get(l.getName());
        if (w == null || w.isEmpty() || w.get(0).shape().length < 2) {
          return -1;
        }
        long[] s = w.get(0).shape();
        if (w.get(0).legacy()) {
          return l.getType().equals("Convolution")
              ? s[1] * l.getConvolutionParam().getGroup() : s[0];
        }
        return l.getType().equals("Convolution")
            ? s[1] * l.getConvolutionParam().getGroup() : s[0];
      }
      return -1; // the first reader is not a convolution: no evidence
    }
    return -1;
  }

  private void checkMissingWeights(List<LayerParameter> layers) {
    if (opts.randomWeightsSeed() != null) {
      return;
    }
    List<String> missing = new ArrayList<>();
    for (LayerParameter l : layers) {
      if (!isTrainingOnly(l) && !isData(l) && hasParams(l) && !weights.containsKey(l.getName())) {
        missing.add("'" + l.getName() + "' (" + l.getType() + ")");
      }
    }
    if (!missing.isEmpty()) {
      throw FcnException.of("%s has no weights for %d layer%s of %s: %s; expected every layer"
          + " with parameters (or ask for random weights with a seed)", weightsFile,
          missing.size(), missing.size() == 1 ? "" : "s", source, String.join(", ", missing));
    }
  }

  // ---- Names and values --------------------------------------------------------------------

  /** A value name that is free in the graph and is not a Caffe blob name. */
  private String fresh(String base) {
    String n = base;
    for (int i = 1; g.hasValue(n) || caffeNames.contains(n); i++) {
      n = base + "_" + i;
    }
    return n;
  }

  /**
   * The name for a new version of blob {@code top}: the blob name itself, after renaming the
   * current version (if it holds the name) to "top/producing-layer". Graph inputs keep their
   * names (they are what users feed), so a layer writing in place over an input gets
   * "top/layer" instead.
   */
  private String claimTop(String top, String layerName) {
    Value cur = g.value(top);
    if (cur != null && blobs.get(top) == cur) {
      if (cur instanceof Variable v && g.inputs().contains(v)) {
        return fresh(top + "/" + layerName);
      }
      String old = fresh(top + "/" + producerLayer.getOrDefault(top, "old"));
      g.rename(cur, old);
      Value renamed = g.value(old);
      blobs.replaceAll((k, v) -> v == cur ? renamed : v);
      producerLayer.put(old, producerLayer.remove(top));
      return top;
    }
    return cur == null ? top : fresh(top + "/" + layerName);
  }

  private void defineTop(String top, Value v, LayerParameter l) {
    blobs.put(top, v);
    producerLayer.put(v.name(), l.getName());
    produced.remove(top);
    produced.add(top);
    consumed.remove(top);
  }

  @Override
  public Value bottom(int i) {
    String b = layer.getBottom(i);
    Value v = blobs.get(b);
    consumed.add(b);
    if (v == null) {
      LayerParameter from = droppedProducer.get(b);
      String why = from == null ? "no converted layer produces it"
          : isData(from) ? "it is a label top of data layer '" + from.getName() + "'"
          : "it comes from training-only layer '" + from.getName() + "' (" + from.getType() + ")";
      throw fail("reads bottom '%s', but %s", b, why);
    }
    return v;
  }

  @Override
  public long[] shape(Value v) {
    return v.shape().toArray();
  }

  /**
   * Refuses a blob of more than 2^31 - 1 elements, Caffe's limit (Blob::Reshape CHECKs it and
   * aborts): such a size comes from user numbers (an input shape, a pad), not from a real net.
   */
  private void checkCount(String blob, long[] shape) {
    long n = 1;
    for (long d : shape) {
      n = d <= 0 ? 0 : n > LayerChecks.MAX || d > LayerChecks.MAX ? LayerChecks.MAX + 1 : n * d;
    }
    if (n > LayerChecks.MAX) {
      String what = "blob '" + blob + "' would be " + Shape.format(shape) + ", over "
          + LayerChecks.MAX + " elements, Caffe's limit for one blob";
      if (layer == null) {
        throw new FcnException(source + ": " + what);
      }
      throw fail("%s", what);
    }
  }

  @Override
  public FcnException fail(String fmt, Object... args) {
    return new FcnException(source + ": layer '" + layer.getName() + "' (" + layer.getType()
        + "): " + String.format(Locale.ROOT, fmt, args));
  }

  @Override
  public Variable op(Op op, String nodeName, List<? extends Value> in, String outName,
      Attrs attrs, long[] outShape) {
    checkCount(outName, outShape);
    Variable v = g.add(op, nodeName, in, outName, attrs);
    v.setShape(Shape.of(outShape));
    return v;
  }

  @Override
  public List<Variable> ops(Op op, String nodeName, List<? extends Value> in,
      List<String> outNames, Attrs attrs, long[][] outShapes, DataType[] outTypes) {
    for (int i = 0; i < outNames.size(); i++) {
      checkCount(outNames.get(i), outShapes[i]);
    }
    List<Variable> outs = g.addNode(op, nodeName, in, outNames, attrs).outputs();
    for (int i = 0; i < outs.size(); i++) {
      outs.get(i).setShape(Shape.of(outShapes[i]));
      outs.get(i).setType(outTypes[i]);
    }
    return outs;
  }

  /** An auxiliary node of the current layer, with a generated output name. */
  @Override
  public Variable aux(Op op, String what, List<? extends Value> in, Attrs attrs,
      long[] outShape) {
    return op(op, layer.getName() + "." + what, in, fresh(layer.getName() + "." + what), attrs,
        outShape);
  }

  @Override
  public Variable auxInt(Op op, String what, List<? extends Value> in, Attrs attrs,
      long[] outShape) {
    Variable v = aux(op, what, in, attrs, outShape);
    v.setType(DataType.INT64);
    return v;
  }

  @Override
  public Constant constant(String what, Tensor t) {
    return g.addConstant(fresh(layer.getName() + "." + what), t);
  }

  @Override
  public Constant ints(String what, long... values) {
    return constant(what, Tensor.vector(values));
  }

  @Override
  public Constant scalar(String what, float v) {
    return constant(what, Tensor.scalar(v));
  }

  // ---- Weights -----------------------------------------------------------------------------

  /**
   * The layer's learned blobs, checked against the shapes the prototxt implies, or random
   * ones when the caffemodel lacks the layer and a seed is set. Tensors come back with the
   * expected dims (legacy 4-D blobs are reshaped, same bytes).
   */
  @Override
  public Tensor[] params(String[] names, long[][] expected, FillerParameter[] fillers) {
    List<WeightBlob> got = weights.get(layer.getName());
    Tensor[] out = new Tensor[expected.length];
    for (int i = 0; i < expected.length; i++) {
      long n = 1;
      for (long d : expected[i]) {
        n = n > LayerChecks.MAX || d > LayerChecks.MAX ? LayerChecks.MAX + 1 : n * d;
      }
      // A float tensor lives in one Java array: 2^31 - 8 bytes at most.
      if (n > (Integer.MAX_VALUE - 8) / 4) {
        throw fail("blob %d (%s) would be %s, over the 2 GB fcn holds in one tensor", i,
            names[i], Shape.format(expected[i]));
      }
    }
    if (got == null) {
      Long seed = opts.randomWeightsSeed();
      if (seed == null) {
        throw fail("%s has no weights for this layer", weightsFile);
      }
      for (int i = 0; i < expected.length; i++) {
        out[i] = Fillers.fill(expected[i], fillers[i], seed, layer.getName(), i);
      }
      randomLayers.add(layer.getName());
      return out;
    }
    if (got.size() != expected.length) {
      throw fail("%s has %d blob%s for this layer, expected %d (%s)", weightsFile, got.size(),
          got.size() == 1 ? "" : "s", expected.length, describe(names, expected));
    }
    for (int i = 0; i < expected.length; i++) {
      WeightBlob b = got.get(i);
      if (!b.matches(expected[i])) {
        throw fail("blob %d (%s) in %s is %s, expected %s%s", i, names[i], weightsFile,
            b.describe(), Shape.format(expected[i]), inputHint());
      }
      out[i] = b.data().reshape(expected[i]);
    }
    return out;
  }

  private static String describe(String[] names, long[][] shapes) {
    List<String> parts = new ArrayList<>();
    for (int i = 0; i < shapes.length; i++) {
      parts.add(names[i] + " " + Shape.format(shapes[i]));
    }
    return String.join(", ", parts);
  }

  private String inputHint() {
    if (guessedInputs.isEmpty()) {
      return "";
    }
    List<String> parts = new ArrayList<>();
    for (String n : guessedInputs) {
      parts.add(n + "=" + g.value(n).shape().toString().replace('x', ','));
    }
    return " (the net does not give its input size, so fcn assumed " + String.join(" ", parts)
        + "; pass --input-shape NAME=N,C,H,W if that is wrong)";
  }

  // ---- Layers ------------------------------------------------------------------------------

  /** Converts one layer through its registered converter, then records its tops. */
  private void convertLayer(LayerParameter l) {
    LayerConverter c = LayerRegistry.get(l.getType());
    if (c == null) { // checked before the build: only a caller skipping the check gets here
      throw new IllegalStateException("no converter for " + l.getType());
    }
    // Layers that only alias a blob: no node, no new version.
    if (c.aliases().test(l)) {
      requireBottoms(1, 1);
      Value in = bottom(0);
      for (String top : l.getTopList()) {
        blobs.put(top, in);
        produced.remove(top);
        produced.add(top);
        consumed.remove(top);
      }
      return;
    }
    List<String> names = new ArrayList<>();
    for (String top : l.getTopList()) {
      names.add(claimTop(top, l.getName()));
    }
    outNames = names;
    List<Variable> outs = c.build().build(this);
    if (outs.size() != l.getTopCount()) {
      throw fail("has %d tops, expected %d", l.getTopCount(), outs.size());
    }
    for (int i = 0; i < outs.size(); i++) {
      defineTop(l.getTop(i), outs.get(i), l);
    }
  }

  @Override
  public LayerParameter layer() {
    return layer;
  }

  @Override
  public String out(int i) {
    return outNames.get(i);
  }

  @Override
  public void requireBottoms(int min, int max) {
    int n = layer.getBottomCount();
    if (n < min || n > max) {
      throw fail("has %d bottoms, expected %s", n,
          min == max ? String.valueOf(min) : max == Integer.MAX_VALUE ? min + " or more"
              : min + " to " + max);
    }
  }

  @Override
  public void requireTops(int n) {
    if (layer.getTopCount() != n) {
      throw fail("has %d tops, expected %d", layer.getTopCount(), n);
    }
  }

  @Override
  public Value soleBottom() {
    requireBottoms(1, 1);
    requireTops(1);
    return bottom(0);
  }

  @Override
  public int canonicalAxis(int axis, int rank) {
    int a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) {
      throw fail("axis %d is out of range for a %d-axis bottom", axis, rank);
    }
    return a;
  }

  // ---- Outputs -----------------------------------------------------------------------------

  private void selectOutputs() {
    List<Value> outs = new ArrayList<>();
    List<String> requested = opts.outputs();
    if (requested.isEmpty()) {
      for (String blob : produced) {
        Value v = blobs.get(blob);
        if (v != null && !consumed.contains(blob)
            && !(v instanceof Variable var && g.inputs().contains(var))) {
          outs.add(outputValue(blob, v));
        }
      }
      if (outs.isEmpty()) {
        throw FcnException.of("%s: the net computes nothing (no blob is produced and left"
            + " unconsumed once training-only layers are dropped)", source);
      }
    } else {
      for (String blob : requested) {
        Value v = blobs.get(blob);
        if (v == null) {
          List<String> known = new ArrayList<>(produced);
          throw FcnException.of("%s: output '%s' is not a blob of the converted net; blobs: %s",
              source, blob, known.size() > 40
                  ? String.join(", ", known.subList(0, 40)) + ", ..." : String.join(", ", known));
        }
        outs.add(outputValue(blob, v));
      }
    }
    g.setOutputs(outs);
  }

  /**
   * The value to expose for {@code blob}: under the blob's own name (an Identity for aliases
   * such as Split tops), unless a graph input holds that name (a layer wrote in place over
   * the input), in which case the value keeps its "blob/layer" name.
   */
  private Value outputValue(String blob, Value v) {
    if (v.name().equals(blob) || g.hasValue(blob)) {
      return v;
    }
    Variable id = g.add(Op.IDENTITY, blob, List.of(v), blob, null);
    id.setShape(v.shape());
    return id;
  }

  /** For messages: "a (T), b (U)". */
  static String list(List<LayerParameter> ls) {
    return ls.stream().map(l -> "'" + l.getName() + "' (" + unsupportedReason(l) + ")")
        .collect(Collectors.joining(", "));
  }
}
