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
import fcn.proto.CaffeProto.BlobShape;
import fcn.proto.CaffeProto.ConvolutionParameter;
import fcn.proto.CaffeProto.EltwiseParameter;
import fcn.proto.CaffeProto.FillerParameter;
import fcn.proto.CaffeProto.LRNParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.proto.CaffeProto.PoolingParameter;
import fcn.proto.CaffeProto.ReshapeParameter;
import java.util.ArrayList;
import java.util.Arrays;
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
 * layers) the older version is renamed so that the last version keeps the Caffe name.
 */
final class GraphBuilder {

  /** Layers that feed data from outside the net; their tops become graph inputs. */
  private static final Set<String> DATA_TYPES = Set.of("Input", "Data", "ImageData",
      "MemoryData", "HDF5Data", "DummyData", "WindowData", "Python");

  private static final Set<String> TRAINING_ONLY = Set.of("Accuracy", "Silence", "HDF5Output");

  private static final Set<String> SUPPORTED = Set.of("Convolution", "Deconvolution", "Pooling",
      "ReLU", "Dropout", "InnerProduct", "Crop", "Eltwise", "Scale", "Bias", "BatchNorm", "LRN",
      "Concat", "Softmax", "Sigmoid", "TanH", "Power", "Flatten", "Reshape", "Split", "Slice",
      "ArgMax", "AbsVal", "ELU", "PReLU", "Exp", "Log", "Threshold", "Clip", "Swish");

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
    return DATA_TYPES.contains(l.getType())
        && !(l.getType().equals("Python") && l.getBottomCount() > 0);
  }

  static boolean isTrainingOnly(LayerParameter l) {
    return l.getType().endsWith("Loss") || TRAINING_ONLY.contains(l.getType());
  }

  private static boolean hasParams(LayerParameter l) {
    return switch (l.getType()) {
      case "Convolution", "Deconvolution", "InnerProduct", "BatchNorm", "PReLU" -> true;
      case "Scale" -> l.getBottomCount() == 1 || l.getScaleParam().getBiasTerm();
      case "Bias" -> l.getBottomCount() == 1;
      default -> false;
    };
  }

  /** Why a layer cannot be converted, or null when it can. */
  static String unsupportedReason(LayerParameter l) {
    if (isTrainingOnly(l) || isData(l)) {
      return null;
    }
    String t = l.getType();
    if (t.equals("Python")) {
      return "Python " + l.getPythonParam().getModule() + "." + l.getPythonParam().getLayer()
          + " with bottoms";
    }
    if (!SUPPORTED.contains(t)) {
      return t.isEmpty() ? "no type" : t;
    }
    switch (t) {
      case "Pooling" -> {
        PoolingParameter p = l.getPoolingParam();
        if (p.getPool() == PoolingParameter.PoolMethod.STOCHASTIC) {
          return "Pooling: STOCHASTIC";
        }
        if (l.getTopCount() > 1) {
          return "Pooling with a mask top";
        }
      }
      case "Convolution", "Deconvolution" -> {
        if (l.getConvolutionParam().getAxis() != 1) {
          return t + " with axis " + l.getConvolutionParam().getAxis();
        }
      }
      case "ArgMax" -> {
        if (l.getArgmaxParam().getOutMaxVal() || l.getArgmaxParam().getTopK() != 1) {
          return "ArgMax with out_max_val or top_k > 1";
        }
      }
      default -> { }
    }
    return null;
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
          shape = declaredShape(l, i);
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

  private long[] declaredShape(LayerParameter l, int top) {
    switch (l.getType()) {
      case "Input" -> {
        var ip = l.getInputParam();
        if (ip.getShapeCount() == 1) {
          return dims(ip.getShape(0));
        }
        if (ip.getShapeCount() > top) {
          return dims(ip.getShape(top));
        }
        if (ip.getShapeCount() > 0) {
          throw FcnException.of("%s: Input layer '%s' has %d tops but %d shapes; expected one"
              + " shape, or one per top", source, l.getName(), l.getTopCount(), ip.getShapeCount());
        }
      }
      case "DummyData" -> {
        var d = l.getDummyDataParam();
        if (d.getShapeCount() > 0) {
          return dims(d.getShape(d.getShapeCount() == 1 ? 0 : top));
        }
        if (d.getNumCount() > 0) {
          int j = d.getNumCount() == 1 ? 0 : top;
          return new long[] {d.getNum(j), d.getChannels(j), d.getHeight(j), d.getWidth(j)};
        }
      }
      case "MemoryData" -> {
        var m = l.getMemoryDataParam();
        if (top == 0 && m.getHeight() > 0 && m.getWidth() > 0) {
          return new long[] {Math.max(1, m.getBatchSize()), Math.max(1, m.getChannels()),
              m.getHeight(), m.getWidth()};
        }
      }
      default -> { }
    }
    return null;
  }

  private static long[] dims(BlobShape s) {
    return s.getDimList().stream().mapToLong(Long::longValue).toArray();
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

  private Value bottom(int i) {
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

  private long[] shape(Value v) {
    return v.shape().toArray();
  }

  /** a x b for sizes, capped just above Caffe's limit so that it cannot overflow. */
  private static long saturatedProduct(long a, long b) {
    return a == 0 || b == 0 ? 0 : Math.min(Math.min(a, LayerChecks.MAX + 1) * Math.min(b, LayerChecks.MAX + 1),
        LayerChecks.MAX + 1);
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

  private FcnException fail(String fmt, Object... args) {
    return new FcnException(source + ": layer '" + layer.getName() + "' (" + layer.getType()
        + "): " + String.format(Locale.ROOT, fmt, args));
  }

  private Variable op(Op op, String nodeName, List<? extends Value> in, String outName,
      Attrs attrs, long[] outShape) {
    checkCount(outName, outShape);
    Variable v = g.add(op, nodeName, in, outName, attrs);
    v.setShape(Shape.of(outShape));
    return v;
  }

  /** An auxiliary node of the current layer, with a generated output name. */
  private Variable aux(Op op, String what, List<? extends Value> in, Attrs attrs,
      long[] outShape) {
    return op(op, layer.getName() + "." + what, in, fresh(layer.getName() + "." + what), attrs,
        outShape);
  }

  private Variable auxInt(Op op, String what, List<? extends Value> in, Attrs attrs,
      long[] outShape) {
    Variable v = aux(op, what, in, attrs, outShape);
    v.setType(DataType.INT64);
    return v;
  }

  private Constant constant(String what, Tensor t) {
    return g.addConstant(fresh(layer.getName() + "." + what), t);
  }

  private Constant ints(String what, long... values) {
    return constant(what, Tensor.vector(values));
  }

  private Constant scalar(String what, float v) {
    return constant(what, Tensor.scalar(v));
  }

  // ---- Weights -----------------------------------------------------------------------------

  /**
   * The layer's learned blobs, checked against the shapes the prototxt implies, or random
   * ones when the caffemodel lacks the layer and a seed is set. Tensors come back with the
   * expected dims (legacy 4-D blobs are reshaped, same bytes).
   */
  private Tensor[] params(String[] names, long[][] expected, FillerParameter[] fillers) {
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

  private static FillerParameter filler(boolean has, FillerParameter f, FillerParameter dflt) {
    return has ? f : dflt;
  }

  private static final FillerParameter WEIGHT_DEFAULT = Fillers.gaussian(0.01f);
  private static final FillerParameter BIAS_DEFAULT = Fillers.gaussian(0.01f);

  // ---- Layers ------------------------------------------------------------------------------

  private void convertLayer(LayerParameter l) {
    String t = l.getType();
    // Layers that only alias a blob: no node, no new version.
    if (t.equals("Split") || (t.equals("Dropout") && l.getTop(0).equals(l.getBottom(0)))) {
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
    List<String> outNames = new ArrayList<>();
    for (String top : l.getTopList()) {
      outNames.add(claimTop(top, l.getName()));
    }
    List<Variable> outs = switch (t) {
      case "Convolution" -> List.of(convolution(outNames.get(0), false));
      case "Deconvolution" -> List.of(convolution(outNames.get(0), true));
      case "Pooling" -> List.of(pooling(outNames.get(0)));
      case "InnerProduct" -> List.of(innerProduct(outNames.get(0)));
      case "Crop" -> List.of(crop(outNames.get(0)));
      case "Eltwise" -> List.of(eltwise(outNames.get(0)));
      case "Scale" -> List.of(scaleOrBias(outNames.get(0), true));
      case "Bias" -> List.of(scaleOrBias(outNames.get(0), false));
      case "BatchNorm" -> List.of(batchNorm(outNames.get(0)));
      case "LRN" -> List.of(lrn(outNames.get(0)));
      case "Concat" -> List.of(concat(outNames.get(0)));
      case "Flatten" -> List.of(flatten(outNames.get(0)));
      case "Reshape" -> List.of(reshape(outNames.get(0)));
      case "Slice" -> slice(outNames);
      case "Power" -> List.of(power(outNames.get(0)));
      case "ArgMax" -> List.of(argMax(outNames.get(0)));
      case "Exp", "Log" -> List.of(expLog(outNames.get(0), t.equals("Exp")));
      case "PReLU" -> List.of(prelu(outNames.get(0)));
      default -> List.of(elementwise(outNames.get(0)));
    };
    if (outs.size() != l.getTopCount()) {
      throw fail("has %d tops, expected %d", l.getTopCount(), outs.size());
    }
    for (int i = 0; i < outs.size(); i++) {
      defineTop(l.getTop(i), outs.get(i), l);
    }
  }

  private void requireBottoms(int min, int max) {
    int n = layer.getBottomCount();
    if (n < min || n > max) {
      throw fail("has %d bottoms, expected %s", n,
          min == max ? String.valueOf(min) : max == Integer.MAX_VALUE ? min + " or more"
              : min + " to " + max);
    }
  }

  private void requireTops(int n) {
    if (layer.getTopCount() != n) {
      throw fail("has %d tops, expected %d", layer.getTopCount(), n);
    }
  }

  /** The bottom of a layer that must have exactly one bottom and one top. */
  private Value soleBottom() {
    requireBottoms(1, 1);
    requireTops(1);
    return bottom(0);
  }

  private int canonicalAxis(int axis, int rank) {
    int a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) {
      throw fail("axis %d is out of range for a %d-axis bottom", axis, rank);
    }
    return a;
  }

  /** One-input, shape-preserving layers. */
  private Variable elementwise(String out) {
    Value x = soleBottom();
    long[] s = shape(x);
    String name = layer.getName();
    return switch (layer.getType()) {
      case "ReLU" -> {
        float slope = layer.getReluParam().getNegativeSlope();
        yield slope == 0 ? op(Op.RELU, name, List.of(x), out, null, s)
            : op(Op.LEAKY_RELU, name, List.of(x), out, Attrs.of("alpha", slope), s);
      }
      case "Dropout" -> op(Op.IDENTITY, name, List.of(x), out, null, s); // TEST phase: identity
      case "Sigmoid" -> op(Op.SIGMOID, name, List.of(x), out, null, s);
      case "TanH" -> op(Op.TANH, name, List.of(x), out, null, s);
      case "AbsVal" -> op(Op.ABS, name, List.of(x), out, null, s);
      case "ELU" -> op(Op.ELU, name, List.of(x), out,
          Attrs.of("alpha", layer.getEluParam().getAlpha()), s);
      case "Softmax" -> op(Op.SOFTMAX, name, List.of(x), out,
          Attrs.of("axis", canonicalAxis(layer.getSoftmaxParam().getAxis(), s.length)), s);
      case "Clip" -> op(Op.CLIP, name, List.of(x, scalar("min", layer.getClipParam().getMin()),
          scalar("max", layer.getClipParam().getMax())), out, null, s);
      case "Threshold" -> {
        Variable gt = aux(Op.GREATER, "greater",
            List.of(x, scalar("threshold", layer.getThresholdParam().getThreshold())), null, s);
        gt.setType(DataType.BOOL);
        yield op(Op.CAST, name, List.of(gt), out, Attrs.of("to", DataType.FLOAT.onnxCode()), s);
      }
      case "Swish" -> {
        float beta = layer.getSwishParam().getBeta();
        Value arg = beta == 1 ? x
            : aux(Op.MUL, "beta_x", List.of(x, scalar("beta", beta)), null, s);
        Variable sig = aux(Op.SIGMOID, "sigmoid", List.of(arg), null, s);
        yield op(Op.MUL, name, List.of(x, sig), out, null, s);
      }
      default -> throw new IllegalStateException("no converter for " + layer.getType());
    };
  }

  // Convolution geometry, following BaseConvolutionLayer::LayerSetUp.
  private long[] convGeom(ConvolutionParameter p, int nsp, String what) {
    long[] out = new long[nsp];
    switch (what) {
      case "kernel" -> {
        if (p.hasKernelH() || p.hasKernelW()) {
          if (nsp != 2 || !p.hasKernelH() || !p.hasKernelW() || p.getKernelSizeCount() > 0) {
            throw fail("kernel_h/kernel_w need a 2-D convolution, both set and no kernel_size");
          }
          return new long[] {p.getKernelH(), p.getKernelW()};
        }
        fillRepeated(out, p.getKernelSizeList(), -1, "kernel_size");
        for (long k : out) {
          if (k <= 0) {
            throw fail("kernel size must be > 0, got %s", Arrays.toString(out));
          }
        }
      }
      case "pad" -> {
        if (p.hasPadH() || p.hasPadW()) {
          if (nsp != 2 || p.getPadCount() > 0) {
            throw fail("pad_h/pad_w need a 2-D convolution and no pad");
          }
          return new long[] {p.getPadH(), p.getPadW()};
        }
        fillRepeated(out, p.getPadList(), 0, "pad");
      }
      case "stride" -> {
        if (p.hasStrideH() || p.hasStrideW()) {
          if (nsp != 2 || p.getStrideCount() > 0) {
            throw fail("stride_h/stride_w need a 2-D convolution and no stride");
          }
          return new long[] {p.getStrideH(), p.getStrideW()};
        }
        fillRepeated(out, p.getStrideList(), 1, "stride");
      }
      default -> fillRepeated(out, p.getDilationList(), 1, "dilation");
    }
    return out;
  }

  private void fillRepeated(long[] out, List<Integer> values, long dflt, String field) {
    if (values.isEmpty()) {
      if (dflt < 0) {
        throw fail("%s is missing", field);
      }
      Arrays.fill(out, dflt);
    } else if (values.size() == 1) {
      Arrays.fill(out, Integer.toUnsignedLong(values.get(0)));
    } else if (values.size() == out.length) {
      for (int i = 0; i < out.length; i++) {
        out[i] = Integer.toUnsignedLong(values.get(i));
      }
    } else {
      throw fail("%s has %d values, expected 1 or %d (one per spatial axis)", field,
          values.size(), out.length);
    }
  }

  private Variable convolution(String out, boolean deconv) {
    Value x = soleBottom();
    long[] in = shape(x);
    ConvolutionParameter p = layer.getConvolutionParam();
    int nsp = in.length - 2;
    if (nsp < 1) {
      throw fail("bottom is %s, expected N x C x spatial", Shape.format(in));
    }
    long[] k = convGeom(p, nsp, "kernel");
    long[] s = convGeom(p, nsp, "stride");
    long[] pad = convGeom(p, nsp, "pad");
    long[] d = convGeom(p, nsp, "dilation");
    long group = p.getGroup();
    long o = p.getNumOutput();
    long c = in[1];
    if (o <= 0) {
      throw fail("num_output must be > 0");
    }
    if (group <= 0 || c % group != 0 || o % group != 0) {
      throw fail("group %d must divide the %d input channels and num_output %d", group, c, o);
    }
    long[] w = new long[2 + nsp];
    w[0] = deconv ? c : o;
    w[1] = deconv ? o / group : c / group;
    System.arraycopy(k, 0, w, 2, nsp);
    boolean bias = p.getBiasTerm();
    long[][] expected = bias ? new long[][] {w, {o}} : new long[][] {w};
    String[] names = bias ? new String[] {"weights", "bias"} : new String[] {"weights"};
    FillerParameter[] fillers = {
        filler(p.hasWeightFiller(), p.getWeightFiller(), WEIGHT_DEFAULT),
        filler(p.hasBiasFiller(), p.getBiasFiller(), BIAS_DEFAULT)};
    long[] os = new long[in.length];
    os[0] = in[0];
    os[1] = o;
    for (int i = 0; i < nsp; i++) {
      // Sizes first, weights after: a misfit must not cost (or overflow) a weight allocation.
      if (in[2 + i] + 2 * pad[i] > LayerChecks.MAX) {
        throw fail("pad %d on spatial axis %d makes the padded bottom %d, over %d (Caffe keeps"
            + " sizes in an int)", pad[i], i, in[2 + i] + 2 * pad[i], LayerChecks.MAX);
      }
      os[2 + i] = deconv ? CaffeShapes.deconvOut(in[2 + i], k[i], s[i], pad[i], d[i])
          : CaffeShapes.convOut(in[2 + i], k[i], s[i], pad[i], d[i]);
      if (os[2 + i] <= 0 || os[2 + i] > LayerChecks.MAX) {
        throw fail("output size %d along spatial axis %d for bottom %s (kernel %s, stride %s,"
            + " pad %s, dilation %s); expected 1 to %d", os[2 + i], i, Shape.format(in),
            Shape.format(k), Shape.format(s), Shape.format(pad), Shape.format(d), LayerChecks.MAX);
      }
    }
    Tensor[] t = params(names, expected, fillers);
    List<Value> ins = new ArrayList<>();
    ins.add(x);
    ins.add(constant("weight", t[0]));
    if (bias) {
      ins.add(constant("bias", t[1]));
    }
    long[] pads = new long[2 * nsp];
    System.arraycopy(pad, 0, pads, 0, nsp);
    System.arraycopy(pad, 0, pads, nsp, nsp);
    Attrs a = Attrs.of("kernel_shape", k, "strides", s, "pads", pads, "dilations", d, "group",
        group);
    return op(deconv ? Op.CONV_TRANSPOSE : Op.CONV, layer.getName(), ins, out, a, os);
  }

  /**
   * Caffe pooling as ONNX pooling in floor mode with asymmetric pads (see
   * {@link CaffeShapes#poolCeilExtraPad}): every runtime agrees on floor mode, and the windows
   * match Caffe's for every input size, not just the import size. AVE pads explicitly with
   * zeros and uses count_include_pad=0, which makes the divisor Caffe's: the window clipped to
   * the input plus its pad, never counting the overflow of the ceil rounding.
   */
  private Variable pooling(String out) {
    Value x = soleBottom();
    long[] in = shape(x);
    if (in.length != 4) {
      throw fail("bottom is %s, expected 4 axes (N x C x H x W)", Shape.format(in));
    }
    PoolingParameter p = layer.getPoolingParam();
    boolean max = p.getPool() == PoolingParameter.PoolMethod.MAX;
    if (p.getGlobalPooling()) {
      if (p.hasKernelSize() || p.hasKernelH() || p.hasKernelW()) {
        throw fail("global_pooling takes no kernel size");
      }
      long ph = p.hasPadH() ? p.getPadH() : p.getPad();
      long pw = p.hasPadW() ? p.getPadW() : p.getPad();
      long sh = p.hasStrideH() ? p.getStrideH() : p.getStride();
      long sw = p.hasStrideW() ? p.getStrideW() : p.getStride();
      if (ph != 0 || pw != 0 || sh != 1 || sw != 1) {
        throw fail("global_pooling needs pad 0 and stride 1");
      }
      return op(max ? Op.GLOBAL_MAX_POOL : Op.GLOBAL_AVERAGE_POOL, layer.getName(), List.of(x),
          out, null, new long[] {in[0], in[1], 1, 1});
    }
    long kh;
    long kw;
    if (p.hasKernelSize()) {
      if (p.hasKernelH() || p.hasKernelW()) {
        throw fail("give kernel_size or kernel_h/kernel_w, not both");
      }
      kh = kw = p.getKernelSize();
    } else if (p.hasKernelH() && p.hasKernelW()) {
      kh = p.getKernelH();
      kw = p.getKernelW();
    } else {
      throw fail("kernel_size (or both kernel_h and kernel_w) is required");
    }
    long ph = p.hasPadH() ? p.getPadH() : p.getPad();
    long pw = p.hasPadW() ? p.getPadW() : p.getPad();
    long sh = p.hasStrideH() ? p.getStrideH() : p.getStride();
    long sw = p.hasStrideW() ? p.getStrideW() : p.getStride();
    if (kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0) {
      throw fail("kernel and stride must be > 0");
    }
    if (ph >= kh || pw >= kw) {
      throw fail("pad %dx%d must be smaller than the kernel %dx%d", ph, pw, kh, kw);
    }
    if (in[2] + 2 * ph > LayerChecks.MAX || in[3] + 2 * pw > LayerChecks.MAX) {
      throw fail("pad %dx%d makes the padded bottom over %d (Caffe keeps sizes in an int)", ph, pw,
          LayerChecks.MAX);
    }
    boolean ceil = p.getRoundMode() == PoolingParameter.RoundMode.CEIL;
    long oh = ceil ? CaffeShapes.poolOutCeil(in[2], kh, sh, ph)
        : CaffeShapes.poolOutFloor(in[2], kh, sh, ph);
    long ow = ceil ? CaffeShapes.poolOutCeil(in[3], kw, sw, pw)
        : CaffeShapes.poolOutFloor(in[3], kw, sw, pw);
    if (in[2] + 2 * ph < kh || in[3] + 2 * pw < kw) {
      throw fail("kernel %dx%d is larger than the padded bottom %s", kh, kw, Shape.format(in));
    }
    long eh = ceil ? CaffeShapes.poolCeilExtraPad(kh, sh, ph) : 0;
    long ew = ceil ? CaffeShapes.poolCeilExtraPad(kw, sw, pw) : 0;
    long onnxH = Math.floorDiv(in[2] + 2 * ph + eh - kh, sh) + 1;
    long onnxW = Math.floorDiv(in[3] + 2 * pw + ew - kw, sw) + 1;
    if (onnxH != oh || onnxW != ow) {
      // Only with stride > kernel and no pad: Caffe's ceil rounding then adds windows lying
      // wholly outside the input, whose values are not defined by the input.
      throw fail("with kernel %dx%d, stride %dx%d and no pad, Caffe's ceil rounding makes"
          + " windows outside the %dx%d input; expected an input size where they fit",
          kh, kw, sh, sw, in[2], in[3]);
    }
    long[] os = {in[0], in[1], oh, ow};
    Attrs a = Attrs.of("kernel_shape", new long[] {kh, kw}, "strides", new long[] {sh, sw},
        "ceil_mode", 0L);
    if (max) {
      a.set("pads", new long[] {ph, pw, ph + eh, pw + ew});
      return op(Op.MAX_POOL, layer.getName(), List.of(x), out, a, os);
    }
    Value src = x;
    if (ph > 0 || pw > 0) {
      src = aux(Op.PAD, "pad", List.of(x, ints("pads", 0, 0, ph, pw, 0, 0, ph, pw)), null,
          new long[] {in[0], in[1], in[2] + 2 * ph, in[3] + 2 * pw});
    }
    a.set("pads", new long[] {0, 0, eh, ew}).set("count_include_pad", 0L);
    return op(Op.AVERAGE_POOL, layer.getName(), List.of(src), out, a, os);
  }

  /** Flatten(axis) + Gemm, the form {@code fcn.passes.ClassifierHeadPass} recognises. */
  private Variable innerProduct(String out) {
    Value x = soleBottom();
    long[] in = shape(x);
    var p = layer.getInnerProductParam();
    int axis = canonicalAxis(p.getAxis(), in.length);
    long outer = 1;
    for (int i = 0; i < axis; i++) {
      outer *= in[i];
    }
    long k = 1;
    for (int i = axis; i < in.length; i++) {
      k *= in[i];
    }
    long n = p.getNumOutput();
    if (n <= 0) {
      throw fail("num_output must be > 0");
    }
    boolean transpose = p.getTranspose();
    long[] w = transpose ? new long[] {k, n} : new long[] {n, k};
    boolean bias = p.getBiasTerm();
    long[][] expected = bias ? new long[][] {w, {n}} : new long[][] {w};
    String[] names = bias ? new String[] {"weights", "bias"} : new String[] {"weights"};
    FillerParameter[] fillers = {
        filler(p.hasWeightFiller(), p.getWeightFiller(), WEIGHT_DEFAULT),
        filler(p.hasBiasFiller(), p.getBiasFiller(), BIAS_DEFAULT)};
    Tensor[] t = params(names, expected, fillers);
    long[] os = new long[axis + 1];
    System.arraycopy(in, 0, os, 0, axis);
    os[axis] = n;
    Variable flat = aux(Op.FLATTEN, "flatten", List.of(x), Attrs.of("axis", (long) axis),
        new long[] {outer, k});
    List<Value> ins = new ArrayList<>(List.of(flat, constant("weight", t[0])));
    if (bias) {
      ins.add(constant("bias", t[1]));
    }
    Attrs a = Attrs.of("transB", transpose ? 0L : 1L);
    if (axis == 1) {
      return op(Op.GEMM, layer.getName(), ins, out, a, os);
    }
    Variable mm = aux(Op.GEMM, "gemm", ins, a, new long[] {outer, n});
    Variable lead = auxInt(Op.SHAPE, "lead_shape", List.of(x), Attrs.of("end", (long) axis),
        new long[] {axis});
    Variable target = auxInt(Op.CONCAT, "shape", List.of(lead, ints("n", n)),
        Attrs.of("axis", 0L), new long[] {axis + 1});
    return op(Op.RESHAPE, layer.getName(), List.of(mm, target), out, null, os);
  }

  /**
   * Crop bottom 0 to bottom 1's size on the axes from {@code axis}: a Slice whose ends are
   * offset + Shape(reference), so the crop follows the reference at any input size.
   */
  private Variable crop(String out) {
    requireBottoms(2, 2);
    requireTops(1);
    Value x = bottom(0);
    Value ref = bottom(1);
    long[] in = shape(x);
    long[] rs = shape(ref);
    if (in.length != rs.length) {
      throw fail("bottoms have %d and %d axes, expected the same", in.length, rs.length);
    }
    var p = layer.getCropParam();
    int axis = canonicalAxis(p.getAxis(), in.length);
    int n = in.length - axis;
    long[] offsets = new long[n];
    if (p.getOffsetCount() == 1) {
      Arrays.fill(offsets, Integer.toUnsignedLong(p.getOffset(0)));
    } else if (p.getOffsetCount() == n) {
      for (int i = 0; i < n; i++) {
        offsets[i] = Integer.toUnsignedLong(p.getOffset(i));
      }
    } else if (p.getOffsetCount() != 0) {
      throw fail("%d offsets for %d cropped axes, expected 0, 1 or %d", p.getOffsetCount(), n, n);
    }
    long[] os = in.clone();
    long[] axes = new long[n];
    for (int i = 0; i < n; i++) {
      int d = axis + i;
      axes[i] = d;
      if (in[d] < offsets[i] + rs[d]) {
        throw fail("cannot crop axis %d of %s at offset %d to the reference's %d",
            d, Shape.format(in), offsets[i], rs[d]);
      }
      os[d] = rs[d];
    }
    Variable refShape = auxInt(Op.SHAPE, "ref_shape", List.of(ref),
        Attrs.of("start", (long) axis), new long[] {n});
    Constant starts = ints("starts", offsets);
    Variable ends = auxInt(Op.ADD, "ends", List.of(starts, refShape), null, new long[] {n});
    return op(Op.SLICE, layer.getName(), List.of(x, starts, ends, ints("axes", axes)), out, null,
        os);
  }

  private Variable eltwise(String out) {
    requireBottoms(2, Integer.MAX_VALUE);
    requireTops(1);
    EltwiseParameter p = layer.getEltwiseParam();
    List<Value> ins = new ArrayList<>();
    long[] s = shape(bottom(0));
    for (int i = 0; i < layer.getBottomCount(); i++) {
      Value b = bottom(i);
      if (!Arrays.equals(shape(b), s)) {
        throw fail("bottom '%s' is %s, expected %s like bottom '%s'", layer.getBottom(i),
            Shape.format(shape(b)), Shape.format(s), layer.getBottom(0));
      }
      ins.add(b);
    }
    String name = layer.getName();
    switch (p.getOperation()) {
      case PROD -> {
        if (p.getCoeffCount() > 0) {
          throw fail("coeff is only for SUM");
        }
        Value acc = ins.get(0);
        for (int i = 1; i < ins.size(); i++) {
          boolean last = i == ins.size() - 1;
          acc = last ? op(Op.MUL, name, List.of(acc, ins.get(i)), out, null, s)
              : aux(Op.MUL, "prod" + i, List.of(acc, ins.get(i)), null, s);
        }
        return (Variable) acc;
      }
      case MAX -> {
        if (p.getCoeffCount() > 0) {
          throw fail("coeff is only for SUM");
        }
        return op(Op.MAX, name, ins, out, null, s);
      }
      default -> {
        if (p.getCoeffCount() > 0 && p.getCoeffCount() != ins.size()) {
          throw fail("%d coeffs for %d bottoms, expected one per bottom", p.getCoeffCount(),
              ins.size());
        }
        List<Value> terms = new ArrayList<>();
        for (int i = 0; i < ins.size(); i++) {
          float c = p.getCoeffCount() > 0 ? p.getCoeff(i) : 1f;
          terms.add(c == 1f ? ins.get(i)
              : aux(Op.MUL, "coeff" + i, List.of(ins.get(i), scalar("coeff" + i, c)), null, s));
        }
        return terms.size() == 2 ? op(Op.ADD, name, terms, out, null, s)
            : op(Op.SUM, name, terms, out, null, s);
      }
    }
  }

  /**
   * Scale and Bias: a per-slice factor/offset over axes [axis, axis + num_axes) of bottom 0,
   * from a learned blob or from bottom 1; broadcast by giving it trailing 1-axes.
   */
  private Variable scaleOrBias(String out, boolean isScale) {
    requireBottoms(1, 2);
    requireTops(1);
    Value x = bottom(0);
    long[] in = shape(x);
    int axisParam = isScale ? layer.getScaleParam().getAxis() : layer.getBiasParam().getAxis();
    int numAxes = isScale ? layer.getScaleParam().getNumAxes() : layer.getBiasParam().getNumAxes();
    boolean twoBottoms = layer.getBottomCount() == 2;
    long[] ps;
    int axis;
    if (twoBottoms) {
      ps = shape(bottom(1));
      // Caffe: a scalar second bottom may use axis 0 even when it would be out of range.
      axis = ps.length == 0 ? 0 : canonicalAxis(axisParam, in.length);
    } else {
      axis = canonicalAxis(axisParam, in.length);
      int end = numAxes == -1 ? in.length : axis + numAxes;
      if (numAxes < -1 || end > in.length) {
        throw fail("num_axes %d does not fit a %d-axis bottom from axis %d", numAxes, in.length,
            axis);
      }
      ps = Arrays.copyOfRange(in, axis, end);
    }
    if (axis + ps.length > in.length
        || !Arrays.equals(ps, Arrays.copyOfRange(in, axis, axis + ps.length))) {
      throw fail("parameter shape %s does not match bottom %s from axis %d", Shape.format(ps),
          Shape.format(in), axis);
    }
    int trailing = in.length - axis - ps.length;
    long[] bshape = Arrays.copyOf(ps, ps.length + trailing);
    Arrays.fill(bshape, ps.length, bshape.length, 1);
    boolean bias = isScale && layer.getScaleParam().getBiasTerm();
    List<String> names = new ArrayList<>();
    List<long[]> expected = new ArrayList<>();
    List<FillerParameter> fillers = new ArrayList<>();
    if (!twoBottoms) {
      names.add(isScale ? "scale" : "bias");
      expected.add(ps);
      if (isScale) {
        var sp = layer.getScaleParam();
        fillers.add(filler(sp.hasFiller(), sp.getFiller(), Fillers.constant(1)));
      } else {
        var bp = layer.getBiasParam();
        fillers.add(filler(bp.hasFiller(), bp.getFiller(), Fillers.constant(0)));
      }
    }
    if (bias) {
      names.add("bias");
      expected.add(ps);
      var sp = layer.getScaleParam();
      fillers.add(filler(sp.hasBiasFiller(), sp.getBiasFiller(), Fillers.constant(0)));
    }
    Tensor[] t = expected.isEmpty() ? new Tensor[0]
        : params(names.toArray(new String[0]), expected.toArray(new long[0][]),
            fillers.toArray(new FillerParameter[0]));
    Value factor;
    if (twoBottoms) {
      factor = bottom(1);
      if (trailing > 0) {
        long[] axes = new long[trailing];
        for (int i = 0; i < trailing; i++) {
          axes[i] = ps.length + i;
        }
        factor = aux(Op.UNSQUEEZE, "unsqueeze", List.of(factor, ints("axes", axes)), null,
            bshape);
      }
    } else {
      factor = constant(isScale ? "scale" : "bias", t[0].reshape(bshape));
    }
    String name = layer.getName();
    if (!isScale) {
      return op(Op.ADD, name, List.of(x, factor), out, null, in);
    }
    if (!bias) {
      return op(Op.MUL, name, List.of(x, factor), out, null, in);
    }
    Variable scaled = aux(Op.MUL, "scaled", List.of(x, factor), null, in);
    Constant b = constant("bias", t[t.length - 1].reshape(bshape));
    return op(Op.ADD, name, List.of(scaled, b), out, null, in);
  }

  /**
   * Caffe BatchNorm (no affine): y = (x - mean/f) / sqrt(var/f + eps), where f is the third
   * blob (a moving-average normaliser; 0 means the statistics are zero). Without
   * use_global_stats (explicitly false in TEST), Caffe normalises with the batch's own mean
   * and variance over N and the spatial axes.
   */
  private Variable batchNorm(String out) {
    Value x = soleBottom();
    long[] in = shape(x);
    if (in.length < 2) {
      throw fail("bottom is %s, expected N x C x ...", Shape.format(in));
    }
    long c = in[1];
    var p = layer.getBatchNormParam();
    float eps = p.getEps();
    boolean global = !p.hasUseGlobalStats() || p.getUseGlobalStats(); // TEST-phase default
    String name = layer.getName();
    if (!global) {
      long[] axes = new long[in.length - 1];
      axes[0] = 0;
      for (int i = 2; i < in.length; i++) {
        axes[i - 1] = i;
      }
      long[] rs = new long[in.length];
      Arrays.fill(rs, 1);
      rs[1] = c;
      Attrs r = Attrs.of("axes", axes, "keepdims", 1L);
      Variable mean = aux(Op.REDUCE_MEAN, "batch_mean", List.of(x), r, rs);
      Variable centered = aux(Op.SUB, "centered", List.of(x, mean), null, in);
      Variable sq = aux(Op.MUL, "squared", List.of(centered, centered), null, in);
      Variable var = aux(Op.REDUCE_MEAN, "batch_var", List.of(sq), r.copy(), rs);
      Variable ve = aux(Op.ADD, "var_eps", List.of(var, scalar("eps", eps)), null, rs);
      Variable sd = aux(Op.SQRT, "std", List.of(ve), null, rs);
      return op(Op.DIV, name, List.of(centered, sd), out, null, in);
    }
    Tensor[] t = params(new String[] {"mean", "variance", "scale factor"},
        new long[][] {{c}, {c}, {1}},
        new FillerParameter[] {Fillers.gaussian(0.1f), Fillers.uniform(0.5f, 1.5f),
            Fillers.constant(1)});
    float f = t[2].floats()[0];
    float inv = f == 0 ? 0 : 1 / f;
    float[] mean = t[0].floats();
    float[] var = t[1].floats();
    for (int i = 0; i < c; i++) {
      mean[i] *= inv;
      var[i] *= inv;
    }
    float[] ones = new float[(int) c];
    Arrays.fill(ones, 1f);
    long[] cs = {c};
    return op(Op.BATCH_NORMALIZATION, name, List.of(x, constant("gamma", Tensor.ofFloats(cs, ones)),
        constant("beta", Tensor.ofFloats(cs, new float[(int) c])),
        constant("mean", Tensor.ofFloats(cs, mean)), constant("var", Tensor.ofFloats(cs, var))),
        out, Attrs.of("epsilon", eps), in);
  }

  /**
   * ACROSS_CHANNELS is ONNX LRN (same formula; Caffe requires an odd size, where the windows
   * agree). WITHIN_CHANNEL is Caffe's own composition: x * (1 + alpha * avgpool(x^2))^-beta,
   * the average over a size x size window with zero padding counted (k is not used).
   */
  private Variable lrn(String out) {
    Value x = soleBottom();
    long[] in = shape(x);
    if (in.length != 4) {
      throw fail("bottom is %s, expected 4 axes", Shape.format(in));
    }
    LRNParameter p = layer.getLrnParam();
    long size = p.getLocalSize();
    if (size % 2 != 1) {
      throw fail("local_size %d must be odd", size);
    }
    if (p.getNormRegion() == LRNParameter.NormRegion.ACROSS_CHANNELS) {
      return op(Op.LRN, layer.getName(), List.of(x), out, Attrs.of("size", size, "alpha",
          p.getAlpha(), "beta", p.getBeta(), "bias", p.getK()), in);
    }
    long pad = (size - 1) / 2;
    Variable sq = aux(Op.MUL, "square", List.of(x, x), null, in);
    Variable avg = aux(Op.AVERAGE_POOL, "window_mean", List.of(sq), Attrs.of(
        "kernel_shape", new long[] {size, size}, "strides", new long[] {1, 1},
        "pads", new long[] {pad, pad, pad, pad}, "count_include_pad", 1L), in);
    Variable scaled = aux(Op.MUL, "scaled", List.of(avg, scalar("alpha", p.getAlpha())), null, in);
    Variable shifted = aux(Op.ADD, "shifted", List.of(scaled, scalar("one", 1f)), null, in);
    Variable pw = aux(Op.POW, "power", List.of(shifted, scalar("neg_beta", -p.getBeta())), null,
        in);
    return op(Op.MUL, layer.getName(), List.of(x, pw), out, null, in);
  }

  private Variable concat(String out) {
    requireBottoms(1, Integer.MAX_VALUE);
    requireTops(1);
    long[] s0 = shape(bottom(0));
    var p = layer.getConcatParam();
    int axis = canonicalAxis(p.hasConcatDim() ? p.getConcatDim() : p.getAxis(), s0.length);
    long[] os = s0.clone();
    os[axis] = 0;
    List<Value> ins = new ArrayList<>();
    for (int i = 0; i < layer.getBottomCount(); i++) {
      long[] s = shape(bottom(i));
      for (int d = 0; d < s0.length; d++) {
        if (s.length != s0.length || (d != axis && s[d] != s0[d])) {
          throw fail("bottom '%s' is %s, expected %s except on axis %d", layer.getBottom(i),
              Shape.format(s), Shape.format(s0), axis);
        }
      }
      os[axis] += s[axis];
      ins.add(bottom(i));
    }
    return op(Op.CONCAT, layer.getName(), ins, out, Attrs.of("axis", (long) axis), os);
  }

  private Variable flatten(String out) {
    Value x = soleBottom();
    long[] in = shape(x);
    var p = layer.getFlattenParam();
    int axis = canonicalAxis(p.getAxis(), in.length);
    int end = canonicalAxis(p.getEndAxis(), in.length);
    if (end < axis) {
      throw fail("end_axis %d is before axis %d", end, axis);
    }
    long flat = 1;
    for (int i = axis; i <= end; i++) {
      flat *= in[i];
    }
    long[] os = new long[in.length - (end - axis)];
    System.arraycopy(in, 0, os, 0, axis);
    os[axis] = flat;
    System.arraycopy(in, end + 1, os, axis + 1, in.length - end - 1);
    if (axis == 1 && end == in.length - 1) {
      return op(Op.FLATTEN, layer.getName(), List.of(x), out, Attrs.of("axis", 1L), os);
    }
    long[] spec = new long[axis + 1];
    spec[axis] = -1; // leading zeros copy the input's dims
    Value target = ints("shape", spec);
    if (end < in.length - 1) {
      Variable tail = auxInt(Op.SHAPE, "tail_shape", List.of(x), Attrs.of("start", (long) end + 1),
          new long[] {in.length - end - 1});
      target = auxInt(Op.CONCAT, "target_shape", List.of(target, tail), Attrs.of("axis", 0L),
          new long[] {os.length});
    }
    return op(Op.RESHAPE, layer.getName(), List.of(x, target), out, null, os);
  }

  /**
   * Caffe Reshape: dims [axis, axis + num_axes) are replaced by the spec, where 0 copies the
   * bottom's dim at the same position and -1 is inferred; ONNX Reshape's 0 means the same
   * once the spec is placed at the same position, so the prefix is all zeros and the suffix
   * is read with Shape.
   */
  private Variable reshape(String out) {
    Value x = soleBottom();
    long[] in = shape(x);
    ReshapeParameter p = layer.getReshapeParam();
    int start = p.getAxis() >= 0 ? p.getAxis() : in.length + p.getAxis() + 1;
    if (start < 0 || start > in.length) {
      throw fail("axis %d is out of range for a %d-axis bottom", p.getAxis(), in.length);
    }
    int end = p.getNumAxes() == -1 ? in.length : start + p.getNumAxes();
    if (p.getNumAxes() < -1 || end > in.length) {
      throw fail("num_axes %d does not fit a %d-axis bottom from axis %d", p.getNumAxes(),
          in.length, start);
    }
    long[] spec = p.getShape().getDimList().stream().mapToLong(Long::longValue).toArray();
    long[] os = new long[start + spec.length + in.length - end];
    System.arraycopy(in, 0, os, 0, start);
    int infer = -1;
    long known = 1;
    for (int i = 0; i < spec.length; i++) {
      long d = spec[i];
      if (d == 0) {
        if (start + i >= in.length) {
          throw fail("shape dim %d is 0 (copy) but the bottom has no axis %d", i, start + i);
        }
        d = in[start + i];
      } else if (d == -1) {
        if (infer >= 0) {
          throw fail("shape has more than one -1");
        }
        infer = start + i;
        continue;
      } else if (d < -1 || d > LayerChecks.MAX) {
        throw fail("shape dim %d is %d, expected -1 to %d", i, d, LayerChecks.MAX);
      }
      os[start + i] = d;
      known = saturatedProduct(known, d);
    }
    System.arraycopy(in, end, os, start + spec.length, in.length - end);
    long total = 1;
    for (long d : in) {
      total *= d;
    }
    for (int i = 0; i < os.length; i++) {
      if (i < start || i >= start + spec.length) {
        known = saturatedProduct(known, os[i]);
      }
    }
    if (infer >= 0) {
      if (known == 0 || total % known != 0) {
        throw fail("cannot infer the -1 dim of %s from %s", Arrays.toString(spec),
            Shape.format(in));
      }
      os[infer] = total / known;
    } else if (known != total) {
      throw fail("shape %s has %d elements, the bottom %s has %d", Arrays.toString(spec), known,
          Shape.format(in), total);
    }
    long[] head = new long[start + spec.length];
    System.arraycopy(spec, 0, head, start, spec.length);
    Value target = ints("shape", head);
    if (end < in.length) {
      Variable tail = auxInt(Op.SHAPE, "tail_shape", List.of(x), Attrs.of("start", (long) end),
          new long[] {in.length - end});
      target = auxInt(Op.CONCAT, "target_shape", List.of(target, tail), Attrs.of("axis", 0L),
          new long[] {os.length});
    }
    return op(Op.RESHAPE, layer.getName(), List.of(x, target), out, null, os);
  }

  /** Caffe Slice: consecutive pieces along an axis, one Slice node per top. */
  private List<Variable> slice(List<String> outs) {
    requireBottoms(1, 1);
    Value x = bottom(0);
    long[] in = shape(x);
    var p = layer.getSliceParam();
    int axis = canonicalAxis(p.hasSliceDim() && !p.hasAxis() ? p.getSliceDim() : p.getAxis(),
        in.length);
    int n = layer.getTopCount();
    long[] bounds = new long[n + 1];
    if (p.getSlicePointCount() > 0) {
      if (p.getSlicePointCount() != n - 1) {
        throw fail("%d slice points for %d tops, expected %d", p.getSlicePointCount(), n, n - 1);
      }
      for (int i = 0; i < n - 1; i++) {
        bounds[i + 1] = Integer.toUnsignedLong(p.getSlicePoint(i));
      }
    } else {
      if (in[axis] % n != 0) {
        throw fail("axis %d of size %d does not split evenly into %d tops", axis, in[axis], n);
      }
      for (int i = 1; i < n; i++) {
        bounds[i] = i * (in[axis] / n);
      }
    }
    bounds[n] = in[axis];
    List<Variable> res = new ArrayList<>();
    Constant axes = ints("axes", axis);
    for (int i = 0; i < n; i++) {
      if (bounds[i + 1] <= bounds[i] || bounds[i + 1] > in[axis]) {
        throw fail("slice points %s do not increase within the axis size %d",
            p.getSlicePointList(), in[axis]);
      }
      long[] os = in.clone();
      os[axis] = bounds[i + 1] - bounds[i];
      long end = i == n - 1 ? Long.MAX_VALUE : bounds[i + 1];
      res.add(op(Op.SLICE, n == 1 ? layer.getName() : layer.getName() + "." + i,
          List.of(x, ints("starts" + i, bounds[i]), ints("ends" + i, end), axes), outs.get(i),
          null, os));
    }
    return res;
  }

  /** (shift + scale * x) ^ power, skipping the trivial steps like Caffe's PowerLayer. */
  private Variable power(String out) {
    Value x = soleBottom();
    long[] s = shape(x);
    var p = layer.getPowerParam();
    List<Object[]> steps = new ArrayList<>();
    if (p.getScale() != 1) {
      steps.add(new Object[] {Op.MUL, "scale", p.getScale()});
    }
    if (p.getShift() != 0) {
      steps.add(new Object[] {Op.ADD, "shift", p.getShift()});
    }
    if (p.getPower() != 1) {
      steps.add(new Object[] {Op.POW, "power", p.getPower()});
    }
    if (steps.isEmpty()) {
      return op(Op.IDENTITY, layer.getName(), List.of(x), out, null, s);
    }
    Value acc = x;
    for (int i = 0; i < steps.size(); i++) {
      Op o = (Op) steps.get(i)[0];
      String what = (String) steps.get(i)[1];
      List<Value> ins = List.of(acc, scalar(what, (Float) steps.get(i)[2]));
      acc = i == steps.size() - 1 ? op(o, layer.getName(), ins, out, null, s)
          : aux(o, what + "d", ins, null, s);
    }
    return (Variable) acc;
  }

  /** Exp: base^(shift + scale x); Log: log_base(shift + scale x); base -1 means e. */
  private Variable expLog(String out, boolean isExp) {
    Value x = soleBottom();
    long[] s = shape(x);
    float base = isExp ? layer.getExpParam().getBase() : layer.getLogParam().getBase();
    float scale = isExp ? layer.getExpParam().getScale() : layer.getLogParam().getScale();
    float shift = isExp ? layer.getExpParam().getShift() : layer.getLogParam().getShift();
    if (base != -1 && base <= 0) {
      throw fail("base %s must be -1 (e) or > 0", base);
    }
    double lnBase = base == -1 ? 1 : Math.log(base);
    String name = layer.getName();
    if (isExp) {
      // Caffe: y = base^shift * exp(ln(base) * scale * x).
      float inner = (float) (lnBase * scale);
      float outer = shift == 0 ? 1 : (float) Math.pow(base == -1 ? Math.E : base, shift);
      Value arg = inner == 1 ? x : aux(Op.MUL, "inner", List.of(x, scalar("inner_scale", inner)),
          null, s);
      if (outer == 1) {
        return op(Op.EXP, name, List.of(arg), out, null, s);
      }
      Variable e = aux(Op.EXP, "exp", List.of(arg), null, s);
      return op(Op.MUL, name, List.of(e, scalar("outer_scale", outer)), out, null, s);
    }
    Value arg = x;
    if (scale != 1) {
      arg = aux(Op.MUL, "scaled", List.of(arg, scalar("scale", scale)), null, s);
    }
    if (shift != 0) {
      arg = aux(Op.ADD, "shifted", List.of(arg, scalar("shift", shift)), null, s);
    }
    if (base == -1) {
      return op(Op.LOG, name, List.of(arg), out, null, s);
    }
    Variable ln = aux(Op.LOG, "ln", List.of(arg), null, s);
    return op(Op.MUL, name, List.of(ln, scalar("inv_ln_base", (float) (1 / lnBase))), out, null,
        s);
  }

  private Variable prelu(String out) {
    Value x = soleBottom();
    long[] in = shape(x);
    if (in.length < 2) {
      throw fail("bottom is %s, expected N x C x ...", Shape.format(in));
    }
    var p = layer.getPreluParam();
    long c = p.getChannelShared() ? 1 : in[1];
    Tensor[] t = params(new String[] {"slope"}, new long[][] {{c}},
        new FillerParameter[] {filler(p.hasFiller(), p.getFiller(), Fillers.constant(0.25f))});
    long[] bs = new long[in.length - 1];
    Arrays.fill(bs, 1);
    bs[0] = c;
    return op(Op.PRELU, layer.getName(), List.of(x, constant("slope", t[0].reshape(bs))), out,
        null, in);
  }

  /**
   * ArgMax with top_k 1: the index along {@code axis}, or over each item's flattened dims
   * (shape N x 1 x 1) without one; Caffe returns indices as floats and breaks ties towards the
   * larger index (it sorts (value, index) pairs descending).
   */
  private Variable argMax(String out) {
    Value x = soleBottom();
    long[] in = shape(x);
    var p = layer.getArgmaxParam();
    Attrs a = Attrs.of("keepdims", 1L, "select_last_index", 1L);
    Variable idx;
    long[] os;
    if (p.hasAxis()) {
      int axis = canonicalAxis(p.getAxis(), in.length);
      os = in.clone();
      os[axis] = 1;
      idx = auxInt(Op.ARG_MAX, "index", List.of(x), a.set("axis", (long) axis), os);
    } else {
      long rest = 1;
      for (int i = 1; i < in.length; i++) {
        rest *= in[i];
      }
      Variable flat = aux(Op.FLATTEN, "flatten", List.of(x), Attrs.of("axis", 1L),
          new long[] {in[0], rest});
      Variable am = auxInt(Op.ARG_MAX, "index", List.of(flat), a.set("axis", 1L),
          new long[] {in[0], 1});
      os = new long[] {in[0], 1, 1};
      idx = auxInt(Op.UNSQUEEZE, "unsqueeze", List.of(am, ints("axes", 2)), null, os);
    }
    return op(Op.CAST, layer.getName(), List.of(idx), out,
        Attrs.of("to", (long) DataType.FLOAT.onnxCode()), os);
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
