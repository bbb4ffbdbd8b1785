package fcn.quantize;

import fcn.ir.Constant;
import fcn.ir.DataType;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The element type of every value of a graph, propagated from the inputs and initializers in
 * execution order, because the IR only records types where a file declared them (graph inputs
 * and outputs). Quantization and fp16 conversion use it to touch float tensors only: the int64
 * shape arithmetic of FCN's crops (Shape, Add, Slice bounds) must keep its type. A value whose
 * type cannot be told (an opaque operator's output) maps to null.
 */
final class ElementTypes {
  private ElementTypes() {}

  static Map<Value, DataType> infer(Graph g) {
    Map<Value, DataType> t = new IdentityHashMap<>();
    for (Variable in : g.inputs()) {
      t.put(in, in.type());
    }
    for (Constant c : g.constants()) {
      t.put(c, c.type());
    }
    for (Node n : g.topologicalOrder()) {
      DataType first = n.inputs().isEmpty() || n.input(0) == null ? null : t.get(n.input(0));
      for (int i = 0; i < n.outputs().size(); i++) {
        t.put(n.output(i), outputType(n, i, first, t));
      }
    }
    return t;
  }

  private static DataType outputType(Node n, int i, DataType first, Map<Value, DataType> t) {
    Op op = n.op();
    switch (op) {
      case SHAPE, ARG_MAX:
        return DataType.INT64;
      case EQUAL, GREATER, LESS, NOT:
        return DataType.BOOL;
      case MAX_POOL:
        return i == 0 ? first : DataType.INT64;
      case CAST:
        return DataType.fromOnnx((int) n.attrs().getInt("to", DataType.FLOAT.onnxCode()));
      case CONSTANT: {
        Tensor v = n.attrs().getTensor("value");
        if (v != null) {
          return v.type();
        }
        return n.attrs().has("value_int") || n.attrs().has("value_ints") ? DataType.INT64
            : n.attrs().has("value_float") || n.attrs().has("value_floats") ? DataType.FLOAT : null;
      }
      case CONSTANT_OF_SHAPE: {
        Tensor v = n.attrs().getTensor("value");
        return v == null ? DataType.FLOAT : v.type();
      }
      case WHERE:
        return n.input(1) == null ? null : t.get(n.input(1));
      case DROPOUT:
        return i == 0 ? first : DataType.BOOL;
      case OPAQUE:
        return null;
      default:
        return first;
    }
  }
}
