package fcn.ir;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A named tensor in a {@link Graph}: either a {@link Variable} (computed or fed at run time)
 * or a {@link Constant} (an initializer). Names are unique in the graph and become the ONNX
 * tensor names, so Caffe blob names survive conversion. The graph maintains the producer and
 * consumer links; passes change them only through Graph and Node methods.
 */
public abstract sealed class Value permits Variable, Constant {
  private final String name;
  Node producer;
  final List<Node> consumers = new ArrayList<>();

  Value(String name) {
    this.name = name;
  }

  public String name() {
    return name;
  }

  public abstract DataType type();

  /** The shape when known (may have symbolic dims), else null. */
  public abstract Shape shape();

  /** The node computing this value; null for graph inputs and constants. */
  public Node producer() {
    return producer;
  }

  /** Nodes reading this value, in graph order of attachment (one entry per input slot). */
  public List<Node> consumers() {
    return Collections.unmodifiableList(consumers);
  }

  @Override
  public String toString() {
    return name;
  }
}
