package fcn.ir;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One operator application. Inputs may contain null for an omitted optional input (ONNX's
 * empty name). Nodes are created and rewired only through {@link Graph}, which keeps the
 * producer/consumer links consistent.
 */
public final class Node {
  private final Op op;
  private final String name;
  private final Attrs attrs;
  final List<Value> inputs = new ArrayList<>();
  final List<Variable> outputs = new ArrayList<>();
  Graph graph;

  Node(Op op, String name, Attrs attrs) {
    this.op = op;
    this.name = name;
    this.attrs = attrs;
  }

  public Op op() {
    return op;
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

  @Override
  public String toString() {
    return op.onnxName() + " '" + name + "'";
  }
}
