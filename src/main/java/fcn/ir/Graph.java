package fcn.ir;

import fcn.core.FcnException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A small SSA graph of ONNX operators: the one representation between frontends, passes and
 * the exporter. It owns its values and nodes, keeps producer and consumer links, and is the
 * one place where unique value and node names are made ({@link #uniqueValueName},
 * {@link #uniqueNodeName}). Not thread-safe.
 */
public final class Graph {
  private String name;
  private final List<Variable> inputs = new ArrayList<>();
  private final List<Value> outputs = new ArrayList<>();
  private final Map<String, Value> values = new LinkedHashMap<>();
  private final List<Node> nodes = new ArrayList<>();
  private final Set<String> nodeNames = new HashSet<>();
  private final Map<String, String> metadata = new LinkedHashMap<>();
  private final Map<String, Long> opsetImports = new LinkedHashMap<>();

  public Graph(String name) {
    this.name = name;
  }

  public String name() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  /** Free-form key/value pairs written as ONNX metadata_props (source file, converter...). */
  public Map<String, String> metadata() {
    return metadata;
  }

  /**
   * The operator sets the source model imported, domain ("" for ai.onnx) to version; empty
   * for sources that have none (Caffe). The exporter writes the other domains back as they
   * are, and writes nodes in their source form only at the source's own default opset.
   */
  public Map<String, Long> opsetImports() {
    return opsetImports;
  }

  public List<Variable> inputs() {
    return Collections.unmodifiableList(inputs);
  }

  public List<Value> outputs() {
    return Collections.unmodifiableList(outputs);
  }

  /** Nodes in insertion order; see {@link #topologicalOrder()} for execution order. */
  public List<Node> nodes() {
    return Collections.unmodifiableList(nodes);
  }

  public Collection<Value> values() {
    return Collections.unmodifiableCollection(values.values());
  }

  public Value value(String name) {
    return values.get(name);
  }

  public boolean hasValue(String name) {
    return values.containsKey(name);
  }

  /** All constants (initializers), in creation order. */
  public List<Constant> constants() {
    List<Constant> out = new ArrayList<>();
    for (Value v : values.values()) {
      if (v instanceof Constant c) {
        out.add(c);
      }
    }
    return out;
  }

  // ---- Names -------------------------------------------------------------------------------

  /** {@code base} if no value has that name yet, else base_1, base_2, ... */
  public String uniqueValueName(String base) {
    return unique(base, values::containsKey);
  }

  /** {@code base} if no node has that name yet, else base_1, base_2, ... */
  public String uniqueNodeName(String base) {
    return unique(base, nodeNames::contains);
  }

  private static String unique(String base, Predicate<String> taken) {
    if (!taken.test(base)) {
      return base;
    }
    for (int i = 1; ; i++) {
      String n = base + "_" + i;
      if (!taken.test(n)) {
        return n;
      }
    }
  }

  // ---- Building ----------------------------------------------------------------------------

  public Variable addInput(String name, DataType type, Shape shape) {
    Variable v = register(new Variable(claim(name), type, shape));
    inputs.add(v);
    return v;
  }

  public Constant addConstant(String name, Tensor data) {
    return register(new Constant(claim(name), data));
  }

  /** A fresh variable with no producer yet, for nodes built later. */
  public Variable addVariable(String name) {
    return register(new Variable(claim(name), DataType.FLOAT, null));
  }

  private String claim(String name) {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("value name must not be empty");
    }
    if (values.containsKey(name)) {
      throw new IllegalArgumentException("value name '" + name + "' is already used");
    }
    values.put(name, null); // placeholder; replaced by register()
    return name;
  }

  private <V extends Value> V register(V v) {
    values.put(v.name(), v);
    return v;
  }

  /**
   * Adds a node whose outputs are new variables with the given names (made unique if taken).
   *
   * @return the node; its outputs are {@code node.outputs()}
   */
  public Node addNode(Op op, String nodeName, List<? extends Value> in, List<String> outNames,
      Attrs attrs) {
    List<Variable> outs = new ArrayList<>();
    for (String n : outNames) {
      outs.add(new Variable(claim(uniqueValueName(n)), DataType.FLOAT, null));
    }
    return attach(op, "", "", nodeName, in, outs, attrs);
  }

  /**
   * Adds an {@link Op#OPAQUE} node: an operator no pass understands, kept with its op type,
   * domain and {@link OpaqueAttr} attributes.
   */
  public Node addOpaqueNode(String opType, String domain, String nodeName,
      List<? extends Value> in, List<String> outNames, Attrs attrs) {
    if (opType == null || opType.isEmpty()) {
      throw new IllegalArgumentException("node '" + nodeName + "' has no op_type");
    }
    List<Variable> outs = new ArrayList<>();
    for (String n : outNames) {
      outs.add(new Variable(claim(uniqueValueName(n)), DataType.FLOAT, null));
    }
    return attach(Op.OPAQUE, opType, domain == null ? "" : domain, nodeName, in, outs, attrs);
  }

  /**
   * Records how the source spelled {@code node} (with the {@code helpers} the frontend added
   * to express it), so that it is written back that way while no pass changes any of them.
   */
  public void keepSourceForm(Node node, List<Node> helpers, byte[] bytes) {
    if (node.graph != this) {
      throw new IllegalArgumentException(node + " is not in this graph");
    }
    node.keepSourceForm(bytes.clone(), helpers);
  }

  /** Shorthand for a one-output node whose output is named {@code outName}. */
  public Variable add(Op op, String nodeName, List<? extends Value> in, String outName,
      Attrs attrs) {
    return addNode(op, nodeName, in, List.of(outName), attrs).output(0);
  }

  /**
   * Adds a node that produces existing variables (which must have no producer), e.g. after
   * {@link #removeNode} so that a pass can rebuild a computation without renaming its outputs.
   */
  public Node addNodeProducing(Op op, String nodeName, List<? extends Value> in,
      List<Variable> outs, Attrs attrs) {
    for (Variable v : outs) {
      if (v.producer != null) {
        throw new IllegalArgumentException("'" + v.name() + "' already has producer " + v.producer);
      }
      if (values.get(v.name()) != v) {
        throw new IllegalArgumentException("'" + v.name() + "' is not a value of this graph");
      }
    }
    return attach(op, "", "", nodeName, in, outs, attrs);
  }

  private Node attach(Op op, String opType, String domain, String nodeName,
      List<? extends Value> in, List<Variable> outs, Attrs attrs) {
    Attrs a = attrs == null ? new Attrs() : attrs;
    if (op == Op.OPAQUE && opType.isEmpty()) {
      throw new IllegalArgumentException("an opaque node needs its op_type: use addOpaqueNode");
    }
    String unique = uniqueNodeName(nodeName);
    op.check(unique, in.size(), outs.size(), a);
    Node node = new Node(op, opType, domain, unique, a);
    node.graph = this;
    for (Value v : in) {
      if (v != null && values.get(v.name()) != v) {
        throw new IllegalArgumentException(node + ": input '" + v.name() + "' is not a value of this graph");
      }
      node.inputs.add(v);
      if (v != null) {
        v.consumers.add(node);
      }
    }
    for (Variable v : outs) {
      register(v);
      v.producer = node;
      node.outputs.add(v);
    }
    nodeNames.add(unique);
    nodes.add(node);
    return node;
  }

  // ---- Editing -----------------------------------------------------------------------------

  /**
   * Removes a node. Its outputs stay in the graph without a producer (so consumers and graph
   * outputs keep referring to them) until another node produces them or they are dropped by
   * {@link #removeUnused()}.
   */
  public void removeNode(Node node) {
    if (!nodes.remove(node)) {
      throw new IllegalArgumentException(node + " is not in this graph");
    }
    for (Value v : node.inputs) {
      if (v != null) {
        v.consumers.remove(node);
      }
    }
    for (Variable v : node.outputs) {
      v.producer = null;
    }
    nodeNames.remove(node.name());
    node.graph = null;
  }

  /** Points every consumer of {@code from} at {@code to}. Graph outputs are not touched. */
  public void replaceAllUses(Value from, Value to) {
    for (Node n : new ArrayList<>(from.consumers)) {
      for (int i = 0; i < n.inputs.size(); i++) {
        if (n.inputs.get(i) == from) {
          n.setInput(i, to);
        }
      }
    }
  }

  /** Renames a value. Frontends use this for Caffe's in-place layers; passes must not. */
  public void rename(Value v, String newName) {
    if (values.get(v.name()) != v) {
      throw new IllegalArgumentException("'" + v.name() + "' is not a value of this graph");
    }
    if (values.containsKey(newName)) {
      throw new IllegalArgumentException("value name '" + newName + "' is already used");
    }
    // Values are immutable in name; rebuild the map entry through a shadow variable.
    Value renamed;
    if (v instanceof Constant c) {
      renamed = new Constant(newName, c.data());
    } else {
      Variable old = (Variable) v;
      renamed = new Variable(newName, old.type(), old.shape());
    }
    renamed.producer = v.producer;
    renamed.consumers.addAll(v.consumers);
    LinkedHashMap<String, Value> copy = new LinkedHashMap<>();
    for (Map.Entry<String, Value> e : values.entrySet()) {
      if (e.getValue() == v) {
        copy.put(newName, renamed);
      } else {
        copy.put(e.getKey(), e.getValue());
      }
    }
    values.clear();
    values.putAll(copy);
    if (v.producer != null) {
      List<Variable> outs = v.producer.outputs;
      outs.set(outs.indexOf(v), (Variable) renamed);
    }
    for (Node n : v.consumers) {
      for (int i = 0; i < n.inputs.size(); i++) {
        if (n.inputs.get(i) == v) {
          n.inputs.set(i, renamed);
        }
      }
    }
    int idx = inputs.indexOf(v);
    if (idx >= 0) {
      inputs.set(idx, (Variable) renamed);
    }
    idx = outputs.indexOf(v);
    if (idx >= 0) {
      outputs.set(idx, renamed);
    }
  }

  public void setOutputs(List<? extends Value> outs) {
    for (Value v : outs) {
      if (values.get(v.name()) != v) {
        throw new IllegalArgumentException("output '" + v.name() + "' is not a value of this graph");
      }
    }
    outputs.clear();
    outputs.addAll(outs);
  }

  public void removeInput(Variable v) {
    inputs.remove(v);
    if (v.consumers.isEmpty() && !outputs.contains(v)) {
      values.remove(v.name());
    }
  }

  /**
   * Drops nodes that no graph output depends on, then values nothing refers to. Graph inputs
   * are kept (removing one changes the model's interface; callers do that explicitly).
   */
  public void removeUnused() {
    Set<Node> live = Collections.newSetFromMap(new IdentityHashMap<>());
    Deque<Value> work = new ArrayDeque<>(outputs);
    Set<Value> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    while (!work.isEmpty()) {
      Value v = work.pop();
      if (v == null || !seen.add(v)) {
        continue;
      }
      Node p = v.producer;
      if (p != null && live.add(p)) {
        for (Value in : p.inputs) {
          if (in != null) {
            work.push(in);
          }
        }
      }
    }
    for (Node n : new ArrayList<>(nodes)) {
      if (!live.contains(n)) {
        removeNode(n);
      }
    }
    values.values().removeIf(v -> v.producer == null && v.consumers.isEmpty()
        && !outputs.contains(v) && !inputs.contains(v));
  }

  // ---- Order and checks --------------------------------------------------------------------

  /**
   * Nodes in an execution order that is deterministic (ties broken by insertion order).
   *
   * @throws FcnException naming the nodes on a cycle
   */
  public List<Node> topologicalOrder() {
    Map<Node, Integer> index = new IdentityHashMap<>();
    for (int i = 0; i < nodes.size(); i++) {
      index.put(nodes.get(i), i);
    }
    Map<Node, Integer> pending = new IdentityHashMap<>();
    java.util.PriorityQueue<Node> ready =
        new java.util.PriorityQueue<>(java.util.Comparator.comparingInt(index::get));
    for (Node n : nodes) {
      int deps = 0;
      for (Value v : n.inputs) {
        if (v != null && v.producer != null && v.producer.graph == this) {
          deps++;
        }
      }
      pending.put(n, deps);
      if (deps == 0) {
        ready.add(n);
      }
    }
    List<Node> order = new ArrayList<>(nodes.size());
    while (!ready.isEmpty()) {
      Node n = ready.poll();
      order.add(n);
      for (Variable out : n.outputs) {
        for (Node c : out.consumers) {
          int left = pending.merge(c, -1, Integer::sum);
          if (left == 0) {
            ready.add(c);
          }
        }
      }
    }
    if (order.size() != nodes.size()) {
      throw new FcnException("the graph has a cycle through " + describeCycle(pending));
    }
    return order;
  }

  private String describeCycle(Map<Node, Integer> pending) {
    // Walk back from a blocked node along blocked producers until a node repeats.
    Node start = null;
    for (Node n : nodes) {
      if (pending.get(n) > 0) {
        start = n;
        break;
      }
    }
    List<Node> path = new ArrayList<>();
    Map<Node, Integer> pos = new HashMap<>();
    Node cur = start;
    while (cur != null && !pos.containsKey(cur)) {
      pos.put(cur, path.size());
      path.add(cur);
      Node next = null;
      for (Value v : cur.inputs) {
        if (v != null && v.producer != null && pending.getOrDefault(v.producer, 0) > 0) {
          next = v.producer;
          break;
        }
      }
      cur = next;
    }
    List<Node> cycle = cur == null ? path : path.subList(pos.get(cur), path.size());
    List<String> names = new ArrayList<>();
    for (int i = cycle.size() - 1; i >= 0; i--) {
      names.add("'" + cycle.get(i).name() + "'");
    }
    if (!names.isEmpty()) {
      names.add(names.get(0));
    }
    return String.join(" -> ", names);
  }

  /**
   * Checks that every input of every node is a graph input, a constant or produced by a node,
   * and that every graph output is computable.
   *
   * @throws FcnException naming the first dangling value
   */
  public void checkConnected() {
    for (Node n : nodes) {
      for (Value v : n.inputs) {
        if (v != null && v.producer == null && !(v instanceof Constant) && !inputs.contains(v)) {
          throw new FcnException(n + " reads '" + v.name() + "', which nothing produces");
        }
      }
    }
    for (Value v : outputs) {
      if (v.producer == null && !(v instanceof Constant) && !inputs.contains(v)) {
        throw new FcnException("graph output '" + v.name() + "' is produced by nothing");
      }
    }
  }
}
