package fcn.frontend.caffe;

import fcn.ir.Constant;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Value;
import fcn.ir.Variable;
import java.util.Arrays;
import java.util.stream.Collectors;

/** A canonical text form of a graph (structure, shapes, constant bytes) for equality checks. */
final class GraphDump {
  private GraphDump() {}

  static String dump(Graph g) {
    StringBuilder sb = new StringBuilder();
    for (Variable in : g.inputs()) {
      sb.append("input ").append(in.name()).append(' ').append(in.shape()).append('\n');
    }
    for (Node n : g.topologicalOrder()) {
      sb.append(n.op().onnxName()).append(' ').append(n.name()).append(" (")
          .append(n.inputs().stream().map(v -> v == null ? "" : v.name())
              .collect(Collectors.joining(", ")))
          .append(") -> ")
          .append(n.outputs().stream().map(v -> v.name() + ":" + v.type() + ":" + v.shape())
              .collect(Collectors.joining(", ")))
          .append(' ').append(n.attrs()).append('\n');
    }
    for (Constant c : g.constants()) {
      sb.append("const ").append(c.name()).append(' ').append(c.data())
          .append(" #").append(Arrays.hashCode(c.data().rawBytes())).append('\n');
    }
    for (Value out : g.outputs()) {
      sb.append("output ").append(out.name()).append(' ').append(out.shape()).append('\n');
    }
    return sb.toString();
  }
}
