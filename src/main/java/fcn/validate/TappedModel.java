package fcn.validate;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import fcn.core.FcnException;
import fcn.frontend.onnx.ModelGate;
import fcn.proto.OnnxProto.GraphProto;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.NodeProto;
import fcn.proto.OnnxProto.TensorProto;
import fcn.proto.OnnxProto.TypeProto;
import fcn.proto.OnnxProto.ValueInfoProto;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An ONNX model read once for per-layer comparison: the tensors its nodes compute, in
 * topological order, which of them hold floating-point values, what each was computed from, and
 * temporary copies ({@link #writeCut}) that expose a chosen group of tensors as graph outputs,
 * pruned to the nodes and weights those outputs need. The user's file is never written. Holds
 * the parsed model (weights included) for its lifetime; models with external data are refused
 * (a copy would have to carry or link the data files).
 */
final class TappedModel {
  private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
  private static final int INT64 = TensorProto.DataType.INT64_VALUE;

  private final Path file;
  private final ModelProto model;
  /** Nodes in a topological order. */
  private final List<NodeProto> nodes;
  /** Tensor name -> index in {@link #nodes} of its producer. */
  private final Map<String, Integer> producer = new HashMap<>();
  /** Tensor name -> ONNX element type (0 when unknown). */
  private final Map<String, Integer> types = new HashMap<>();
  private final Set<String> initializers = new HashSet<>();
  private final List<String> inputs = new ArrayList<>();

  private TappedModel(Path file, ModelProto model) {
    this.file = file;
    this.model = model;
    GraphProto g = model.getGraph();
    for (TensorProto t : g.getInitializerList()) {
      initializers.add(t.getName());
      types.put(t.getName(), t.getDataType());
      if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL || t.getExternalDataCount() > 0) {
        throw FcnException.of("%s: --per-layer needs a self-contained .onnx, but initializer '%s' keeps its data"
            + " in an external file", file, t.getName());
      }
    }
    for (ValueInfoProto v : g.getInputList()) {
      declare(v);
      if (!initializers.contains(v.getName())) {
        inputs.add(v.getName());
      }
    }
    for (ValueInfoProto v : g.getValueInfoList()) {
      declare(v);
    }
    for (ValueInfoProto v : g.getOutputList()) {
      declare(v);
    }
    nodes = topological(g.getNodeList(), file);
    for (int i = 0; i < nodes.size(); i++) {
      NodeProto n = nodes.get(i);
      for (int k = 0; k < n.getOutputCount(); k++) {
        String out = n.getOutput(k);
        if (!out.isEmpty()) {
          producer.put(out, i);
          types.putIfAbsent(out, outputType(n, k));
        }
      }
    }
  }

  /** Reads {@code file} after fcn's model checks ({@link ModelGate#check}). */
  static TappedModel read(Path file) {
    ModelGate.check(file);
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 20)) {
      CodedInputStream cin = CodedInputStream.newInstance(in);
      cin.setSizeLimit(Integer.MAX_VALUE);
      return new TappedModel(file, ModelProto.parseFrom(cin));
    } catch (InvalidProtocolBufferException e) {
      throw new FcnException(file + ": not a valid ONNX model (" + e.getMessage() + ")");
    } catch (IOException e) {
      throw new FcnException(file + ": cannot read: " + e.getMessage(), e);
    }
  }

  Path file() {
    return file;
  }

  /** The graph inputs that are fed (initializers excluded), in model order. */
  List<String> inputs() {
    return List.copyOf(inputs);
  }

  /** The graph outputs, in model order. */
  List<String> outputs() {
    return model.getGraph().getOutputList().stream().map(ValueInfoProto::getName).toList();
  }

  /** Floating-point tensors computed by nodes, in topological order (inputs and weights excluded). */
  List<String> floatTensors() {
    List<String> out = new ArrayList<>();
    for (NodeProto n : nodes) {
      for (String o : n.getOutputList()) {
        if (!o.isEmpty() && isFloat(o)) {
          out.add(o);
        }
      }
    }
    return out;
  }

  /** True when a node of the model computes {@code tensor}. */
  boolean computes(String tensor) {
    return producer.containsKey(tensor);
  }

  boolean isFloat(String tensor) {
    int t = types.getOrDefault(tensor, 0);
    return t == 0 || t == FLOAT || t == TensorProto.DataType.FLOAT16_VALUE || t == TensorProto.DataType.DOUBLE_VALUE
        || t == TensorProto.DataType.BFLOAT16_VALUE;
  }

  /** Position of {@code tensor}'s producer in topological order; -1 for inputs and weights. */
  int order(String tensor) {
    return producer.getOrDefault(tensor, -1);
  }

  /**
   * What {@code tensor} was computed from: the nearest tensors of {@code compared} (or graph
   * inputs) on every path back from it, and the float-producing nodes in between (the "layer").
   */
  record Ancestry(List<String> inputs, List<NodeProto> nodes) {}

  Ancestry ancestry(String tensor, Set<String> compared) {
    Set<String> from = new LinkedHashSet<>();
    Set<Integer> seen = new HashSet<>();
    Deque<String> todo = new ArrayDeque<>();
    todo.add(tensor);
    boolean first = true;
    while (!todo.isEmpty()) {
      String t = todo.pop();
      if (!first && (compared.contains(t) || inputs.contains(t))) {
        from.add(t);
        continue;
      }
      first = false;
      Integer p = producer.get(t);
      if (p == null || !seen.add(p)) {
        continue;
      }
      for (String in : nodes.get(p).getInputList()) {
        if (!in.isEmpty() && !initializers.contains(in)) {
          todo.add(in);
        }
      }
    }
    List<NodeProto> between = new ArrayList<>();
    for (int i : seen.stream().sorted().toList()) {
      NodeProto n = nodes.get(i);
      if (n.getOutputList().stream().anyMatch(o -> !o.isEmpty() && isFloat(o))) {
        between.add(n);
      }
    }
    return new Ancestry(List.copyOf(from), between);
  }

  /**
   * Writes a copy that outputs exactly {@code outputs} (float tensors of this model), keeping only
   * the nodes they depend on and the weights those nodes read; every graph input stays.
   */
  void writeCut(List<String> outputs, Path target) {
    GraphProto g = model.getGraph();
    Set<Integer> keep = new HashSet<>();
    Deque<String> todo = new ArrayDeque<>(outputs);
    Set<String> used = new HashSet<>();
    while (!todo.isEmpty()) {
      String t = todo.pop();
      if (!used.add(t)) {
        continue;
      }
      Integer p = producer.get(t);
      if (p != null && keep.add(p)) {
        nodes.get(p).getInputList().forEach(todo::add);
      }
    }
    GraphProto.Builder cut = g.toBuilder().clearNode().clearInitializer().clearOutput().clearValueInfo();
    for (int i = 0; i < nodes.size(); i++) {
      if (keep.contains(i)) {
        cut.addNode(nodes.get(i));
      }
    }
    Set<String> declaredInputs = new HashSet<>();
    g.getInputList().forEach(v -> declaredInputs.add(v.getName()));
    for (TensorProto t : g.getInitializerList()) {
      if (used.contains(t.getName()) || declaredInputs.contains(t.getName())) {
        cut.addInitializer(t);
      }
    }
    for (ValueInfoProto v : g.getValueInfoList()) {
      if (used.contains(v.getName())) {
        cut.addValueInfo(v);
      }
    }
    // Element type only: a declared shape may hold the sizes of another input size.
    for (String o : outputs) {
      int type = types.getOrDefault(o, 0);
      cut.addOutput(ValueInfoProto.newBuilder().setName(o)
          .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(type == 0 ? FLOAT : type)))
          .build());
    }
    ModelProto copy = model.toBuilder().setGraph(cut).build();
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(target), 1 << 20)) {
      copy.writeTo(out);
    } catch (IOException e) {
      throw new FcnException("cannot write a temporary copy of " + file + " to " + target + ": " + e.getMessage(), e);
    }
  }

  private void declare(ValueInfoProto v) {
    if (v.getType().hasTensorType() && v.getType().getTensorType().getElemType() != 0) {
      types.put(v.getName(), v.getType().getTensorType().getElemType());
    }
  }

  /**
   * The element type of output {@code k} of {@code n}, as far as the common operators say (0 when
   * unknown): integer shape arithmetic (Shape, Size, ArgMax...) and quantized tensors are told
   * apart from the float activations that per-layer comparison is about.
   */
  private int outputType(NodeProto n, int k) {
    String op = n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx") ? n.getOpType() : n.getDomain() + "." + n.getOpType();
    return switch (op) {
      case "Shape", "Size", "ArgMax", "ArgMin", "NonZero", "NonMaxSuppression" -> INT64;
      case "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf" ->
          TensorProto.DataType.BOOL_VALUE;
      case "Cast" -> n.getAttributeList().stream().filter(a -> a.getName().equals("to")).mapToInt(a -> (int) a.getI())
          .findFirst().orElse(0);
      case "Constant" -> n.getAttributeList().stream().filter(a -> a.getName().equals("value") && a.hasT())
          .mapToInt(a -> a.getT().getDataType()).findFirst().orElse(0);
      case "QuantizeLinear" -> n.getInputCount() > 2 && !n.getInput(2).isEmpty()
          ? types.getOrDefault(n.getInput(2), TensorProto.DataType.UINT8_VALUE) : TensorProto.DataType.UINT8_VALUE;
      case "DequantizeLinear" -> n.getInputCount() > 1 ? types.getOrDefault(n.getInput(1), FLOAT) : FLOAT;
      case "DynamicQuantizeLinear" -> k == 1 ? FLOAT : TensorProto.DataType.UINT8_VALUE;
      case "ConvInteger", "MatMulInteger" -> TensorProto.DataType.INT32_VALUE;
      case "QLinearConv", "QLinearMatMul" -> n.getInputCount() > 7 ? types.getOrDefault(n.getInput(7), 0) : 0;
      case "MaxPool" -> k == 1 ? INT64 : firstInputType(n);
      case "Gather", "GatherElements", "GatherND", "ScatterElements", "ScatterND", "Reshape", "Expand", "Tile", "Slice",
          "Squeeze", "Unsqueeze", "Transpose", "Identity", "Flatten", "Concat", "Split", "Pad", "Resize" -> firstInputType(n);
      default -> firstInputType(n);
    };
  }

  private int firstInputType(NodeProto n) {
    return n.getInputCount() == 0 || n.getInput(0).isEmpty() ? 0 : types.getOrDefault(n.getInput(0), 0);
  }

  /** Kahn's order, keeping the file's order among ready nodes (the file's order when it is already sorted). */
  private static List<NodeProto> topological(List<NodeProto> nodes, Path file) {
    Map<String, Integer> made = new HashMap<>();
    for (int i = 0; i < nodes.size(); i++) {
      for (String o : nodes.get(i).getOutputList()) {
        if (!o.isEmpty()) {
          made.put(o, i);
        }
      }
    }
    int[] waiting = new int[nodes.size()];
    List<List<Integer>> readers = new ArrayList<>();
    for (int i = 0; i < nodes.size(); i++) {
      readers.add(new ArrayList<>());
    }
    for (int i = 0; i < nodes.size(); i++) {
      for (String in : new LinkedHashSet<>(nodes.get(i).getInputList())) {
        Integer p = made.get(in);
        if (p != null && p != i) {
          waiting[i]++;
          readers.get(p).add(i);
        }
      }
    }
    java.util.PriorityQueue<Integer> ready = new java.util.PriorityQueue<>();
    for (int i = 0; i < nodes.size(); i++) {
      if (waiting[i] == 0) {
        ready.add(i);
      }
    }
    List<NodeProto> out = new ArrayList<>();
    while (!ready.isEmpty()) {
      int i = ready.poll();
      out.add(nodes.get(i));
      for (int r : readers.get(i)) {
        if (--waiting[r] == 0) {
          ready.add(r);
        }
      }
    }
    if (out.size() != nodes.size()) {
      throw FcnException.of("%s: the graph has a cycle; expected a DAG of nodes", file);
    }
    return out;
  }
}
