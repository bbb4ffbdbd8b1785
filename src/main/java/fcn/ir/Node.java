package fcn.ir;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * One operator application. Inputs may contain null for an omitted optional input (ONNX's
 * empty name). Nodes are created and rewired only through {@link Graph}, which keeps the
 * producer/consumer links consistent.
 *
 * <p>An {@link Op#OPAQUE} node carries its own op type and domain. A node read from a file may
 * also keep its {@linkplain #sourceFormIfUnchanged source form}, so that a node no pass touched
 * is written back exactly as it came even when the IR holds it in a normalised form.
 */
public final class Node {
  private final Op op;
  private final String opType;
  private final String domain;
  private final String name;
  private final Attrs attrs;
  final List<Value> inputs = new ArrayList<>();
  final List<Variable> outputs = new ArrayList<>();
  Graph graph;
  private SourceForm source;

  Node(Op op, String opType, String domain, String name, Attrs attrs) {
    this.op = op;
    this.opType = op == Op.OPAQUE ? opType : op.onnxName();
    this.domain = op == Op.OPAQUE ? domain : "";
    this.name = name;
    this.attrs = attrs;
  }

  public Op op() {
    return op;
  }

  /** The ONNX op_type: {@code op().onnxName()}, or an opaque node's own. */
  public String opType() {
    return opType;
  }

  /** The operator's domain: "" (ai.onnx) except for opaque nodes of another domain. */
  public String domain() {
    return domain;
  }

  public String name() {
    return name;
  }

  /** The live attribute map: passes may change attributes that do not alter arity. */
  public Attrs attrs() {
    return attrs;
  }

  public List<Value> inputs() {
    return Collections.unmodifiableList(inputs);
  }

  public Value input(int i) {
    return i < inputs.size() ? inputs.get(i) : null;
  }

  public List<Variable> outputs() {
    return Collections.unmodifiableList(outputs);
  }

  public Variable output(int i) {
    return outputs.get(i);
  }

  /** Replaces input slot i, keeping consumer links right. */
  public void setInput(int i, Value v) {
    Value old = inputs.get(i);
    if (old != null) {
      old.consumers.remove(this);
    }
    inputs.set(i, v);
    if (v != null) {
      v.consumers.add(this);
    }
  }

  /**
   * The node's source encoding (opaque bytes; the frontend that read it knows the format)
   * with the helper nodes its normalised form was spelled with, and a fingerprint of them all.
   */
  record SourceForm(byte[] bytes, List<Node> helpers, String fingerprint) {}

  void keepSourceForm(byte[] bytes, List<Node> helpers) {
    List<Node> group = new ArrayList<>(helpers);
    source = new SourceForm(bytes, List.copyOf(group), fingerprint(group));
  }

  /**
   * The source form when this node and its helpers are as the frontend built them (same op,
   * attributes, inputs and outputs, helpers still in the graph and read by nobody else), else
   * null: a node some pass touched is written from the IR.
   */
  public byte[] sourceFormIfUnchanged() {
    if (source == null || graph == null) {
      return null;
    }
    for (Node h : source.helpers()) {
      if (h.graph != graph) {
        return null;
      }
      for (Variable out : h.outputs) {
        if (graph.outputs().contains(out)) {
          return null;
        }
        for (Node c : out.consumers) {
          if (c != this && !source.helpers().contains(c)) {
            return null;
          }
        }
      }
    }
    return fingerprint(source.helpers()).equals(source.fingerprint()) ? source.bytes() : null;
  }

  /** The nodes that the source form stands for besides this one (empty when none). */
  public List<Node> sourceFormHelpers() {
    return source == null ? List.of() : source.helpers();
  }

  private String fingerprint(List<Node> helpers) {
    StringBuilder sb = new StringBuilder();
    List<Node> group = new ArrayList<>(helpers);
    group.add(this);
    for (Node n : group) {
      sb.append(n.opType).append('|').append(n.domain).append('|').append(n.name).append('|');
      for (Map.Entry<String, Object> e : n.attrs.asMap().entrySet()) {
        Object v = e.getValue();
        String text = v instanceof long[] l ? Arrays.toString(l)
            : v instanceof float[] f ? Arrays.toString(f)
            : v instanceof String[] st ? Arrays.toString(st)
            : v instanceof Tensor ? "tensor@" + System.identityHashCode(v) : String.valueOf(v);
        sb.append(e.getKey()).append('=').append(text).append(';');
      }
      for (Value v : n.inputs) {
        sb.append(v == null ? "-" : v.name() + "@" + System.identityHashCode(v)).append(',');
      }
      sb.append("->");
      for (Variable v : n.outputs) {
        sb.append(v.name()).append('@').append(System.identityHashCode(v)).append(',');
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  @Override
  public String toString() {
    return opType + " '" + name + "'";
  }
}
