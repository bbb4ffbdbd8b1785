package fcn.frontend.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import fcn.core.FcnException;
import fcn.core.FileChecks;
import fcn.ir.Attrs;
import fcn.ir.Constant;
import fcn.ir.DataType;
import fcn.ir.Dim;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.OpaqueAttr;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.proto.OnnxProto.AttributeProto;
import fcn.proto.OnnxProto.GraphProto;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.NodeProto;
import fcn.proto.OnnxProto.OperatorSetIdProto;
import fcn.proto.OnnxProto.StringStringEntryProto;
import fcn.proto.OnnxProto.TensorProto;
import fcn.proto.OnnxProto.TensorShapeProto;
import fcn.proto.OnnxProto.TypeProto;
import fcn.proto.OnnxProto.ValueInfoProto;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads an ONNX model (default-domain opsets 9 to 21) into the IR. Operators the IR knows are
 * normalised to its canonical form, ONNX opset 17 semantics: attributes that later opsets
 * turned into inputs become constant inputs (Squeeze/Unsqueeze/ReduceSum axes, Split sizes,
 * Pad pads and value, Clip min/max, Slice starts/ends/axes), Upsample and opset-10 Resize
 * become Resize, attributes that opset 17 no longer has are dropped (Dropout ratio/is_test,
 * BatchNormalization spatial), opset-18 ReduceMean/ReduceMax axes inputs become attributes and
 * pre-13 Softmax/LogSoftmax keep their 2-D coercion explicitly. Each such node also keeps its
 * source form, so that the exporter writes a node no pass touched back as it came. Every other
 * operator (any op type or domain) becomes an {@link Op#OPAQUE} node with its attributes kept
 * as bytes; operators with subgraphs are refused, all of them in one summarised line. The
 * model's opset imports are recorded on the graph.
 *
 * <p>Tensor names are kept; initializers keep their exact type and bytes (also when they are
 * listed as graph inputs, which makes them constants); Constant nodes stay nodes; nodes keep
 * the file's order when it is topological. External data is read only from inside the model's
 * folder. Every problem with the file is an {@link FcnException} whose one-line message starts
 * with the file name. Stateless.
 */
public final class OnnxImporter {
  public static final int MIN_OPSET = 9;
  public static final int MAX_OPSET = 21;
  /** Nodes up to this size keep their source form (large Constant nodes are written from the IR). */
  private static final int MAX_SOURCE_FORM_BYTES = 1 << 20;

  private final Path file;
  private final String label;
  private final int opset;
  private final Graph g;
  /** Every name the model uses: generated names must avoid them (they may be claimed later). */
  private final Set<String> reserved = new HashSet<>();
  private final Set<String> consumed = new HashSet<>();
  private int unknownDims;

  private OnnxImporter(Path file, int opset, String graphName) {
    this.file = file;
    // Messages give the path as the user typed it; the written metadata keeps only the base name.
    this.label = String.valueOf(file);
    this.opset = opset;
    this.g = new Graph(graphName == null || graphName.isEmpty() ? "graph" : graphName);
  }

  /** {@link #importModel(Path, OnnxImportOptions)} with {@link OnnxImportOptions#defaults()}. */
  public static Graph importModel(Path model) {
    return importModel(model, OnnxImportOptions.defaults());
  }

  /**
   * Imports {@code model}.
   *
   * @throws FcnException for an unreadable, truncated or malformed file, an unsupported opset,
   *     unknown operators (all of them listed), unsafe or missing external data, or options
   *     naming outputs or inputs the model lacks
   */
  public static Graph importModel(Path model, OnnxImportOptions options) {
    ModelProto proto = read(model);
    int opset = defaultOpset(proto, model);
    OnnxImporter im = new OnnxImporter(model, opset, proto.getGraph().getName());
    im.build(proto, options);
    return im.g;
  }

  /** Parses the file as a ModelProto, with a one-line error for anything that is not one. */
  static ModelProto read(Path model) {
    String name = String.valueOf(model);
    ModelGate.requireReadableModel(model);
    ModelProto m;
    try (InputStream in = new BufferedInputStream(Files.newInputStream(model), 1 << 20)) {
      CodedInputStream cin = CodedInputStream.newInstance(in);
      cin.setSizeLimit(Integer.MAX_VALUE);
      m = ModelProto.parseFrom(cin);
    } catch (InvalidProtocolBufferException e) {
      throw new FcnException(name + ": not a valid ONNX model (truncated or corrupt protobuf: "
          + oneLine(e.getMessage()) + ")");
    } catch (IOException e) {
      throw new FcnException(model + ": cannot read: " + oneLine(e.getMessage()));
    }
    // Random bytes can parse as a message made only of unknown fields.
    if (!m.hasGraph() || m.getOpsetImportCount() == 0 || m.getIrVersion() <= 0) {
      throw new FcnException(name + ": not a valid ONNX model (no graph, ir_version or"
          + " opset_import; truncated or not an .onnx file?)");
    }
    return m;
  }

  private static int defaultOpset(ModelProto m, Path model) {
    for (OperatorSetIdProto o : m.getOpsetImportList()) {
      if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) {
        long v = o.getVersion();
        if (v < MIN_OPSET || v > MAX_OPSET) {
          throw FcnException.of("%s: ONNX opset %d is not supported, expected %d to %d"
              + " (convert it with onnx.version_converter first)", model, v,
              MIN_OPSET, MAX_OPSET);
        }
        return (int) v;
      }
    }
    throw FcnException.of("%s: imports no default-domain (ai.onnx) opset, expected one of %d"
        + " to %d", model, MIN_OPSET, MAX_OPSET);
  }

  // ---- Graph -------------------------------------------------------------------------------

  private void build(ModelProto m, OnnxImportOptions options) {
    GraphProto gp = m.getGraph();
    ModelGate.checkGraph(gp, label);
    checkOperators(gp);
    if (gp.getSparseInitializerCount() > 0) {
      throw fail("sparse initializer '%s' is not supported, expected dense initializers",
          gp.getSparseInitializer(0).getValues().getName());
    }
    for (TensorProto t : gp.getInitializerList()) {
      reserved.add(t.getName());
    }
    for (ValueInfoProto v : gp.getInputList()) {
      reserved.add(v.getName());
    }
    for (NodeProto n : gp.getNodeList()) {
      reserved.addAll(n.getOutputList());
      consumed.addAll(n.getInputList());
    }
    for (ValueInfoProto v : gp.getOutputList()) {
      consumed.add(v.getName());
    }

    Set<String> initNames = new HashSet<>();
    for (TensorProto t : gp.getInitializerList()) {
      if (!initNames.add(t.getName())) {
        throw fail("initializer '%s' appears twice", t.getName());
      }
      g.addConstant(t.getName(), tensor(t, "initializer '" + t.getName() + "'"));
    }
    for (ValueInfoProto v : gp.getInputList()) {
      if (initNames.contains(v.getName())) {
        continue; // an initializer listed as an input (IR < 4 style) is a constant
      }
      if (g.hasValue(v.getName())) {
        throw fail("graph input '%s' is declared twice", v.getName());
      }
      Shape shape = options.inputShapes().containsKey(v.getName())
          ? options.inputShapes().get(v.getName()) : shape(v);
      g.addInput(v.getName(), elemType(v), shape);
    }
    for (String n : options.inputShapes().keySet()) {
      if (!(g.value(n) instanceof Variable var) || !g.inputs().contains(var)) {
        throw fail("input shape given for '%s', but the graph inputs are %s", n, inputNames());
      }
    }

    for (NodeProto np : topologicalOrder(gp)) {
      addNode(np);
    }

    for (ValueInfoProto v : gp.getValueInfoList()) {
      annotate(v);
    }
    List<Value> outs = new ArrayList<>();
    for (ValueInfoProto v : gp.getOutputList()) {
      Value val = g.value(v.getName());
      if (val == null) {
        throw fail("graph output '%s' is produced by no node, input or initializer", v.getName());
      }
      annotate(v);
      outs.add(val);
    }
    g.setOutputs(outs);
    if (!options.outputs().isEmpty()) {
      selectOutputs(options.outputs());
    }
    g.checkConnected();
    g.metadata().put("source", String.valueOf(file.getFileName()));
    g.metadata().put("source.format", "onnx");
    g.metadata().put("source.opset", Integer.toString(opset));
    for (OperatorSetIdProto o : m.getOpsetImportList()) {
      String domain = o.getDomain().equals("ai.onnx") ? "" : o.getDomain();
      g.opsetImports().putIfAbsent(domain, o.getVersion());
    }
    if (!m.getProducerName().isEmpty()) {
      g.metadata().put("source.producer", (m.getProducerName() + " " + m.getProducerVersion()).trim());
    }
  }

  private void selectOutputs(List<String> names) {
    List<Value> keep = new ArrayList<>();
    List<String> available = new ArrayList<>();
    for (Value v : g.outputs()) {
      available.add(v.name());
    }
    for (String n : names) {
      Value v = g.value(n);
      if (v == null || !g.outputs().contains(v)) {
        throw fail("--outputs names '%s', but the model's outputs are %s", n, available);
      }
      keep.add(v);
    }
    g.setOutputs(keep);
    g.removeUnused();
  }

  private List<String> inputNames() {
    List<String> out = new ArrayList<>();
    for (Variable v : g.inputs()) {
      out.add(v.name());
    }
    return out;
  }

  /**
   * Refuses the nodes fcn cannot carry (operators with subgraphs: their bodies read outer
   * values that the IR cannot see), all of them in one message: summarised by op type in one
   * line, the full list as the exception's detail (printed under --verbose).
   */
  private void checkOperators(GraphProto gp) {
    Map<String, List<String>> byOp = new LinkedHashMap<>();
    for (NodeProto n : gp.getNodeList()) {
      boolean subgraph = false;
      for (AttributeProto ap : n.getAttributeList()) {
        subgraph |= ap.hasG() || ap.getGraphsCount() > 0
            || ap.getType() == AttributeProto.AttributeType.GRAPH
            || ap.getType() == AttributeProto.AttributeType.GRAPHS;
      }
      if (subgraph) {
        String d = n.getDomain();
        String op = (d.isEmpty() || d.equals("ai.onnx") ? "" : d + ":") + n.getOpType();
        byOp.computeIfAbsent(op, k -> new ArrayList<>()).add(n.getName().isEmpty()
            ? "#" + gp.getNodeList().indexOf(n) : n.getName());
      }
    }
    if (!byOp.isEmpty()) {
      throw manyNodes(label, byOp, "use subgraphs (If, Loop, Scan), which fcn cannot carry");
    }
  }

  /**
   * "LABEL: N nodes WHAT: Op xK (a, ...), ..." in about 200 characters at most, with every
   * node named in the detail. {@code what} is plural ("use ...", "are ..."); one node gets the
   * singular. Public for the other places that refuse many nodes at once.
   */
  public static FcnException manyNodes(String label, Map<String, List<String>> byOp, String what) {
    int total = byOp.values().stream().mapToInt(List::size).sum();
    String head = label + ": " + total + (total == 1 ? " node " : " nodes ")
        + (total == 1 ? what.replaceFirst("^use ", "uses ").replaceFirst("^are ", "is ") : what) + ": ";
    StringBuilder full = new StringBuilder(head);
    List<String> parts = new ArrayList<>();
    byOp.forEach((op, names) -> {
      parts.add(op + " x" + names.size());
      full.append(full.length() == head.length() ? "" : "; ").append(op).append(" x")
          .append(names.size()).append(": ").append(String.join(", ", names));
    });
    StringBuilder line = new StringBuilder(head);
    int i = 0;
    for (Map.Entry<String, List<String>> e : byOp.entrySet()) {
      String part = (i > 0 ? ", " : "") + e.getKey() + " x" + e.getValue().size();
      List<String> names = e.getValue();
      String withNames = part + " (" + names.get(0) + (names.size() > 1 ? ", ..." : "") + ")";
      int left = byOp.size() - i - 1;
      String more = left > 0 ? ", and " + left + " more op types" : "";
      if (line.length() + withNames.length() + more.length() <= 190) {
        line.append(withNames);
      } else if (line.length() + part.length() + more.length() <= 190) {
        line.append(part);
      } else {
        line.append(i > 0 ? ", and " : "").append(byOp.size() - i).append(" more op types");
        break;
      }
      i++;
    }
    if (line.length() > 200) {
      line.setLength(197);
      line.append("...");
    }
    return new FcnException(line.toString(), full.toString());
  }

  private List<NodeProto> topologicalOrder(GraphProto gp) {
    Map<String, Integer> producer = new HashMap<>();
    List<NodeProto> nodes = gp.getNodeList();
    for (int i = 0; i < nodes.size(); i++) {
      for (String o : nodes.get(i).getOutputList()) {
        if (o.isEmpty()) {
          continue;
        }
        if (producer.put(o, i) != null || g.hasValue(o)) {
          throw fail("value '%s' is produced twice (node '%s')", o, nodes.get(i).getName());
        }
      }
    }
    int[] pending = new int[nodes.size()];
    Map<Integer, List<Integer>> users = new HashMap<>();
    // Lowest index first: a file already in topological order keeps its node order.
    java.util.PriorityQueue<Integer> ready = new java.util.PriorityQueue<>();
    for (int i = 0; i < nodes.size(); i++) {
      Set<Integer> deps = new HashSet<>();
      for (String in : nodes.get(i).getInputList()) {
        if (in.isEmpty()) {
          continue;
        }
        Integer p = producer.get(in);
        if (p == null) {
          if (!g.hasValue(in)) {
            throw fail("node '%s' (%s) reads '%s', which no node, input or initializer provides",
                nodes.get(i).getName(), nodes.get(i).getOpType(), in);
          }
        } else if (deps.add(p)) {
          users.computeIfAbsent(p, k -> new ArrayList<>()).add(i);
        }
      }
      pending[i] = deps.size();
      if (deps.isEmpty()) {
        ready.add(i);
      }
    }
    List<NodeProto> order = new ArrayList<>(nodes.size());
    while (!ready.isEmpty()) {
      int i = ready.poll();
      order.add(nodes.get(i));
      for (int u : users.getOrDefault(i, List.of())) {
        if (--pending[u] == 0) {
          ready.add(u);
        }
      }
    }
    if (order.size() != nodes.size()) {
      for (int i = 0; i < nodes.size(); i++) {
        if (pending[i] > 0) {
          throw fail("the graph has a cycle through node '%s' (%s)", nodes.get(i).getName(),
              nodes.get(i).getOpType());
        }
      }
    }
    return order;
  }

  // ---- Nodes -------------------------------------------------------------------------------

  /**
   * Adds one node: an operator the IR knows in its canonical form (keeping how the file spelled
   * it, so an untouched node is written back as it came), anything else as an opaque node.
   */
  private void addNode(NodeProto np) {
    int before = g.nodes().size();
    String d = np.getDomain();
    Op op = d.isEmpty() || d.equals("ai.onnx") ? Op.fromOnnx(np.getOpType()) : null;
    if (op == null || !knowsAttributes(op, np)) {
      addOpaque(np);
    } else {
      addKnown(np, op);
    }
    List<Node> added = g.nodes().subList(before, g.nodes().size());
    if (!added.isEmpty() && np.getSerializedSize() <= MAX_SOURCE_FORM_BYTES) {
      Node main = added.get(added.size() - 1);
      g.keepSourceForm(main, List.copyOf(added.subList(0, added.size() - 1)), np.toByteArray());
    }
  }

  /**
   * Whether the IR's spec of {@code op} has every attribute the node uses. One it does not
   * know (a newer opset's, an exporter's own) makes the node opaque rather than refused: it is
   * carried as it came, and no pass relies on it.
   */
  private static boolean knowsAttributes(Op op, NodeProto np) {
    for (AttributeProto ap : np.getAttributeList()) {
      if (!op.attributes().containsKey(ap.getName()) && !ap.getName().equals("consumed_inputs")) {
        return false;
      }
    }
    return true;
  }

  /** A node name for the IR: the file's, or one made from the op and first output. */
  private static String nodeName(NodeProto np) {
    return np.getName().isEmpty()
        ? np.getOpType() + "_" + firstNonEmpty(np.getOutputList()) : np.getName();
  }

  private List<Value> inputs(NodeProto np) {
    List<Value> in = new ArrayList<>();
    for (String s : np.getInputList()) {
      in.add(s.isEmpty() ? null : g.value(s));
    }
    return in;
  }

  /** Empty output names (ONNX's "not needed") get fresh names that nothing reads. */
  private List<String> outputNames(List<String> outs, String name) {
    List<String> out = new ArrayList<>(outs);
    for (int i = 0; i < out.size(); i++) {
      if (out.get(i).isEmpty()) {
        out.set(i, fresh(name + "_unused" + i));
      }
    }
    return out;
  }

  private void addOpaque(NodeProto np) {
    String name = nodeName(np);
    Attrs a = new Attrs();
    for (AttributeProto ap : np.getAttributeList()) {
      a.set(ap.getName(), new OpaqueAttr(ap.toByteArray(), plainValue(ap, name)));
    }
    List<String> outs = outputNames(np.getOutputList(), name);
    try {
      Node n = g.addOpaqueNode(np.getOpType(), np.getDomain(), name, inputs(np), outs, a);
      checkOutputNames(n, outs, name);
    } catch (IllegalArgumentException e) {
      throw new FcnException(label + ": " + oneLine(e.getMessage()));
    }
  }

  /** An opaque attribute's value for shape rules: plain kinds only (no tensors, graphs, types). */
  private Object plainValue(AttributeProto ap, String node) {
    AttributeProto.AttributeType t = ap.getType() == AttributeProto.AttributeType.UNDEFINED
        ? guessType(ap) : ap.getType();
    return switch (t) {
      case FLOAT, INT, STRING, FLOATS, INTS, STRINGS -> attribute(ap, node);
      default -> null;
    };
  }

  private void checkOutputNames(Node n, List<String> outs, String name) {
    for (int i = 0; i < outs.size(); i++) {
      if (!n.output(i).name().equals(outs.get(i))) {
        throw fail("value '%s' is produced twice (node '%s')", outs.get(i), name);
      }
    }
  }

  private void addKnown(NodeProto np, Op op) {
    String name = nodeName(np);
    List<Value> in = inputs(np);
    List<String> outs = new ArrayList<>(np.getOutputList());
    Attrs a = new Attrs();
    for (AttributeProto ap : np.getAttributeList()) {
      a.set(ap.getName(), attribute(ap, name));
    }
    try {
      switch (op) {
        case SQUEEZE, UNSQUEEZE -> moveIntsToInput(a, "axes", in, 1, name);
        case REDUCE_SUM -> moveIntsToInput(a, "axes", in, 1, name);
        case REDUCE_MEAN, REDUCE_MAX -> moveInputToInts(in, 1, a, "axes", name);
        case SPLIT -> {
          moveIntsToInput(a, "split", in, 1, name);
          // Opset 18's num_outputs means an equal split over the outputs, opset 17's default.
          a.set("num_outputs", null);
        }
        case SLICE -> {
          if (a.has("starts") || a.has("ends")) {
            long[] starts = require(a, "starts", name);
            long[] ends = require(a, "ends", name);
            long[] axes = a.getInts("axes");
            a.set("starts", null).set("ends", null).set("axes", null);
            in = new ArrayList<>(List.of(in.get(0)));
            in.add(intsConst(name + "_starts", starts));
            in.add(intsConst(name + "_ends", ends));
            if (axes != null) {
              in.add(intsConst(name + "_axes", axes));
            }
          }
        }
        case PAD -> {
          if (a.has("pads")) {
            long[] pads = a.getInts("pads");
            float value = a.getFloat("value", 0f);
            a.set("pads", null).set("value", null);
            in = new ArrayList<>(List.of(in.get(0)));
            in.add(intsConst(name + "_pads", pads));
            if (value != 0f) {
              in.add(g.addConstant(fresh(name + "_value"), Tensor.scalar(value)));
            }
          }
        }
        case CLIP -> {
          if (a.has("min") || a.has("max")) {
            Float min = a.has("min") ? a.getFloat("min", 0f) : null;
            Float max = a.has("max") ? a.getFloat("max", 0f) : null;
            a.set("min", null).set("max", null);
            in = new ArrayList<>(List.of(in.get(0)));
            in.add(min == null ? null : g.addConstant(fresh(name + "_min"), Tensor.scalar(min)));
            if (max != null) {
              in.add(g.addConstant(fresh(name + "_max"), Tensor.scalar(max)));
            }
          }
        }
        case UPSAMPLE -> {
          op = Op.RESIZE;
          Value scales = in.size() > 1 ? in.get(1) : null;
          if (a.has("scales")) {
            float[] s = a.getFloats("scales");
            scales = g.addConstant(fresh(name + "_scales"), Tensor.ofFloats(new long[] {s.length}, s));
          }
          if (scales == null) {
            throw fail("Upsample node '%s' has no scales, expected a scales input or attribute", name);
          }
          in = new ArrayList<>(Arrays.asList(in.get(0), null, scales));
          a = legacyResizeAttrs(a);
        }
        case RESIZE -> {
          if (opset < 11) {
            // Resize-10 is (X, scales) with Upsample's asymmetric coordinates.
            in = new ArrayList<>(Arrays.asList(in.get(0), null, in.get(1)));
            a = legacyResizeAttrs(a);
          }
        }
        case DROPOUT -> a.set("ratio", null).set("is_test", null);
        case BATCH_NORMALIZATION -> {
          a.set("spatial", null).set("consumed_inputs", null);
          if (opset < 14 && outs.size() > 1) {
            // Opset 9's extra outputs are training statistics; inference has only Y.
            for (String extra : outs.subList(1, outs.size())) {
              if (!extra.isEmpty() && consumed.contains(extra)) {
                throw fail("BatchNormalization node '%s': training output '%s' is used, expected"
                    + " an inference graph", name, extra);
              }
            }
            outs = new ArrayList<>(outs.subList(0, 1));
          }
        }
        case SOFTMAX, LOG_SOFTMAX -> {
          if (opset < 13) {
            legacySoftmax(op, name, in.get(0), a.getInt("axis", 1), outs);
            return;
          }
        }
        default -> { }
      }
    } catch (ClassCastException e) {
      throw fail("%s node '%s': an attribute has the wrong kind (%s)", np.getOpType(), name,
          oneLine(e.getMessage()));
    }
    while (!in.isEmpty() && in.get(in.size() - 1) == null) {
      in.remove(in.size() - 1);
    }
    while (outs.size() > 1 && outs.get(outs.size() - 1).isEmpty()) {
      outs.remove(outs.size() - 1);
    }
    outs = outputNames(outs, name);
    try {
      Node n = g.addNode(op, name, in, outs, a);
      checkOutputNames(n, outs, name);
    } catch (IllegalArgumentException e) {
      throw new FcnException(label + ": " + oneLine(e.getMessage()));
    }
  }

  /** Upsample / Resize-10 semantics in Resize-13 terms. */
  private static Attrs legacyResizeAttrs(Attrs old) {
    String mode = old.getString("mode", "nearest");
    if (mode.equals("bilinear")) {
      mode = "linear";
    }
    Attrs a = Attrs.of("mode", mode, "coordinate_transformation_mode", "asymmetric");
    if (mode.equals("nearest")) {
      a.set("nearest_mode", "floor");
    }
    return a;
  }

  /**
   * Pre-13 Softmax flattens to 2-D at axis; opset 13 works on one axis. Equal when axis is the
   * last one, which holds for rank-2 producers (Gemm, Flatten, MatMul of 2-D); otherwise spell
   * out Flatten, Softmax, Reshape back.
   */
  private void legacySoftmax(Op op, String name, Value x, long axis, List<String> outs) {
    Node p = x.producer();
    boolean rank2 = p != null && (p.op() == Op.GEMM || p.op() == Op.FLATTEN);
    if (!rank2 && x.shape() != null && (axis == x.shape().rank() - 1 || axis == -1)) {
      rank2 = true;
    }
    if (rank2 || axis == -1) {
      g.addNode(op, name, List.of(x), outs.subList(0, 1), Attrs.of("axis", rank2 ? -1L : axis));
      return;
    }
    Variable flat = g.add(Op.FLATTEN, name + "_flatten", List.of(x), fresh(name + "_2d"),
        Attrs.of("axis", axis));
    Variable sm = g.add(op, name, List.of(flat), fresh(name + "_2d_out"), Attrs.of("axis", 1L));
    Variable shape = g.add(Op.SHAPE, name + "_shape", List.of(x), fresh(name + "_shape"), null);
    g.addNode(Op.RESHAPE, name + "_reshape", List.of(sm, shape), outs.subList(0, 1), null);
  }

  private void moveIntsToInput(Attrs a, String attr, List<Value> in, int slot, String name) {
    if (!a.has(attr)) {
      return;
    }
    long[] v = a.getInts(attr);
    a.set(attr, null);
    while (in.size() <= slot) {
      in.add(null);
    }
    in.set(slot, intsConst(name + "_" + attr, v));
  }

  private void moveInputToInts(List<Value> in, int slot, Attrs a, String attr, String name) {
    if (in.size() <= slot || in.get(slot) == null) {
      return;
    }
    Tensor t = constantData(in.get(slot));
    if (t == null) {
      throw fail("node '%s': %s input '%s' must be a constant to express it in opset 17", name,
          attr, in.get(slot).name());
    }
    a.set(attr, t.longs());
    in.remove(slot);
  }

  /** The data of an initializer or of a Constant node's output, else null. */
  private static Tensor constantData(Value v) {
    if (v instanceof Constant c) {
      return c.data();
    }
    Node p = v.producer();
    return p != null && p.op() == Op.CONSTANT ? p.attrs().getTensor("value") : null;
  }

  private Constant intsConst(String base, long[] values) {
    return g.addConstant(fresh(base), Tensor.vector(values));
  }

  private static long[] require(Attrs a, String attr, String node) {
    long[] v = a.getInts(attr);
    if (v == null) {
      throw new FcnException("Slice node '" + node + "' has no '" + attr + "' attribute");
    }
    return v;
  }

  private String fresh(String base) {
    String n = base;
    for (int i = 1; g.hasValue(n) || reserved.contains(n); i++) {
      n = base + "_" + i;
    }
    reserved.add(n);
    return n;
  }

  private static String firstNonEmpty(List<String> names) {
    for (String s : names) {
      if (!s.isEmpty()) {
        return s;
      }
    }
    return "out";
  }

  private Object attribute(AttributeProto ap, String node) {
    AttributeProto.AttributeType t = ap.getType();
    if (t == AttributeProto.AttributeType.UNDEFINED) {
      t = guessType(ap);
    }
    return switch (t) {
      case FLOAT -> ap.getF();
      case INT -> ap.getI();
      case STRING -> ap.getS().toStringUtf8();
      case TENSOR -> tensor(ap.getT(), "attribute '" + ap.getName() + "' of node '" + node + "'");
      case FLOATS -> {
        float[] f = new float[ap.getFloatsCount()];
        for (int i = 0; i < f.length; i++) {
          f[i] = ap.getFloats(i);
        }
        yield f;
      }
      case INTS -> ap.getIntsList().stream().mapToLong(Long::longValue).toArray();
      case STRINGS -> ap.getStringsList().stream().map(b -> b.toStringUtf8()).toArray(String[]::new);
      default -> throw fail("node '%s': attribute '%s' of kind %s is not supported", node,
          ap.getName(), t);
    };
  }

  private static AttributeProto.AttributeType guessType(AttributeProto ap) {
    if (ap.hasT()) {
      return AttributeProto.AttributeType.TENSOR;
    }
    if (ap.hasS()) {
      return AttributeProto.AttributeType.STRING;
    }
    if (ap.hasF()) {
      return AttributeProto.AttributeType.FLOAT;
    }
    if (ap.getFloatsCount() > 0) {
      return AttributeProto.AttributeType.FLOATS;
    }
    if (ap.getStringsCount() > 0) {
      return AttributeProto.AttributeType.STRINGS;
    }
    if (ap.getIntsCount() > 0) {
      return AttributeProto.AttributeType.INTS;
    }
    return AttributeProto.AttributeType.INT;
  }

  // ---- Types and shapes --------------------------------------------------------------------

  private DataType elemType(ValueInfoProto v) {
    if (!v.getType().hasTensorType()) {
      throw fail("value '%s' is not a tensor (%s), expected tensor inputs and outputs", v.getName(),
          v.getType().getValueCase());
    }
    int code = v.getType().getTensorType().getElemType();
    DataType t = DataType.fromOnnx(code);
    if (t == null) {
      throw fail("value '%s' has element type %d, which fcn does not support", v.getName(), code);
    }
    return t;
  }

  private Shape shape(ValueInfoProto v) {
    TypeProto.Tensor tt = v.getType().getTensorType();
    if (!tt.hasShape()) {
      return null;
    }
    List<Dim> dims = new ArrayList<>();
    for (TensorShapeProto.Dimension d : tt.getShape().getDimList()) {
      if (d.hasDimValue() && d.getDimValue() >= 0) {
        dims.add(Dim.of(d.getDimValue()));
      } else if (d.hasDimParam() && !d.getDimParam().isEmpty()) {
        dims.add(Dim.symbol(d.getDimParam()));
      } else {
        dims.add(Dim.symbol("unk__" + unknownDims++));
      }
    }
    return new Shape(dims);
  }

  private void annotate(ValueInfoProto v) {
    if (g.value(v.getName()) instanceof Variable var && v.getType().hasTensorType()) {
      DataType t = DataType.fromOnnx(v.getType().getTensorType().getElemType());
      if (t != null) {
        var.setType(t);
      }
      Shape s = shape(v);
      if (s != null && (var.shape() == null || !g.inputs().contains(var))) {
        var.setShape(s);
      }
    }
  }

  // ---- Tensors -----------------------------------------------------------------------------

  private Tensor tensor(TensorProto t, String what) {
    DataType type = DataType.fromOnnx(t.getDataType());
    if (type == null || type == DataType.STRING) {
      throw fail("%s has data type %d, which fcn does not support", what, t.getDataType());
    }
    if (t.hasSegment()) {
      throw fail("%s is a segmented tensor, which fcn does not support", what);
    }
    long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
    long n = 1;
    for (long d : dims) {
      if (d < 0) {
        throw fail("%s has negative dimension %d", what, d);
      }
      n = Math.multiplyExact(n, d);
    }
    long bytes = n * type.size();
    if (bytes > Integer.MAX_VALUE - 8) {
      throw fail("%s needs %d bytes, over the 2 GB that one tensor may hold", what, bytes);
    }
    byte[] raw;
    if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
      raw = external(t, what, bytes);
    } else if (t.hasRawData()) {
      raw = t.getRawData().toByteArray();
    } else {
      raw = typedData(t, type, (int) n, what);
    }
    if (raw.length != bytes) {
      throw fail("%s of %s %s holds %d bytes, expected %d", what, type, Shape.format(dims),
          raw.length, bytes);
    }
    return new Tensor(type, dims, raw);
  }

  /** The typed *_data fields as little-endian bytes: the same bits as raw_data would hold. */
  private byte[] typedData(TensorProto t, DataType type, int n, String what) {
    ByteBuffer b = ByteBuffer.allocate(n * type.size()).order(ByteOrder.LITTLE_ENDIAN);
    int have;
    switch (type) {
      case FLOAT -> {
        have = t.getFloatDataCount();
        for (int i = 0; i < Math.min(have, n); i++) {
          b.putFloat(t.getFloatData(i));
        }
      }
      case DOUBLE -> {
        have = t.getDoubleDataCount();
        for (int i = 0; i < Math.min(have, n); i++) {
          b.putDouble(t.getDoubleData(i));
        }
      }
      case INT64 -> {
        have = t.getInt64DataCount();
        for (int i = 0; i < Math.min(have, n); i++) {
          b.putLong(t.getInt64Data(i));
        }
      }
      case UINT32, UINT64 -> {
        have = t.getUint64DataCount();
        for (int i = 0; i < Math.min(have, n); i++) {
          long v = t.getUint64Data(i);
          if (type == DataType.UINT32) {
            b.putInt((int) v);
          } else {
            b.putLong(v);
          }
        }
      }
      default -> {
        // int32_data carries int32 and every narrower type, one element per entry.
        have = t.getInt32DataCount();
        for (int i = 0; i < Math.min(have, n); i++) {
          int v = t.getInt32Data(i);
          switch (type.size()) {
            case 1 -> b.put((byte) v);
            case 2 -> b.putShort((short) v);
            default -> b.putInt(v);
          }
        }
      }
    }
    if (have != n) {
      throw fail("%s has %d values, expected %d for its dims", what, have, n);
    }
    return b.array();
  }

  private byte[] external(TensorProto t, String what, long expected) {
    Map<String, String> kv = new LinkedHashMap<>();
    for (StringStringEntryProto e : t.getExternalDataList()) {
      kv.put(e.getKey(), e.getValue());
    }
    String location = kv.get("location");
    if (location == null || location.isEmpty()) {
      throw fail("%s is stored externally but has no location", what);
    }
    Path data = externalPath(location, what);
    FileChecks.input(data); // an output must never replace a file the model reads
    long offset = parseLong(kv.getOrDefault("offset", "0"), "offset", what);
    long fileSize;
    try {
      fileSize = Files.size(data);
    } catch (IOException e) {
      throw fail("%s: cannot read external data '%s': %s", what, location, oneLine(e.getMessage()));
    }
    long length = kv.containsKey("length") ? parseLong(kv.get("length"), "length", what)
        : fileSize - offset;
    if (offset < 0 || length < 0 || offset + length > fileSize) {
      throw fail("%s: external data '%s' has offset %d and length %d, but the file has %d bytes",
          what, location, offset, length, fileSize);
    }
    if (length != expected) {
      throw fail("%s: external data '%s' has length %d, expected %d bytes for its type and dims",
          what, location, length, expected);
    }
    byte[] raw = new byte[(int) length];
    try (FileChannel ch = FileChannel.open(data, StandardOpenOption.READ)) {
      ByteBuffer buf = ByteBuffer.wrap(raw);
      long pos = offset;
      while (buf.hasRemaining()) {
        int r = ch.read(buf, pos);
        if (r < 0) {
          throw fail("%s: external data '%s' ended early", what, location);
        }
        pos += r;
      }
    } catch (IOException e) {
      throw fail("%s: cannot read external data '%s': %s", what, location, oneLine(e.getMessage()));
    }
    return raw;
  }

  /** Resolves an external-data location inside the model's folder: {@link ModelGate}'s rules. */
  private Path externalPath(String location, String what) {
    return ModelGate.externalFile(file, location, what, label);
  }

  private long parseLong(String s, String key, String what) {
    try {
      return Long.parseLong(s.trim());
    } catch (NumberFormatException e) {
      throw fail("%s: external data %s '%s' is not a number", what, key, s);
    }
  }

  private FcnException fail(String format, Object... args) {
    return new FcnException(label + ": " + oneLine(String.format(java.util.Locale.ROOT, format, args)));
  }

  private static String oneLine(String s) {
    return s == null ? "" : s.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim();
  }
}
