package fcn.runtime;

import fcn.ir.DataType;
import fcn.ir.Shape;

/**
 * A model input or output as the runtime reports it: name, element type (null when ONNX Runtime
 * reports a type fcn does not know) and shape, whose dims may be symbolic ("N", "H", or "?" for
 * an unnamed unknown dim).
 */
public record TensorSpec(String name, DataType type, Shape shape) {
  /** "data: float 1x3xHxW", the form used in error messages. */
  public String describe() {
    return name + ": " + (type == null ? "?" : type.name().toLowerCase(java.util.Locale.ROOT)) + " " + shape;
  }

  /** True when {@code dims} has this spec's rank and equals every static dim. */
  public boolean accepts(long[] dims) {
    if (dims.length != shape.rank()) {
      return false;
    }
    for (int i = 0; i < dims.length; i++) {
      if (shape.dim(i).isStatic() && shape.dim(i).value() != dims[i]) {
        return false;
      }
    }
    return true;
  }
}
