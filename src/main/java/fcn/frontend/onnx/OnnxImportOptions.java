package fcn.frontend.onnx;

import fcn.ir.Shape;
import java.util.List;
import java.util.Map;

/**
 * What {@link OnnxImporter} should do besides a faithful import.
 *
 * @param outputs graph outputs to keep, in this order (empty: all); the others are dropped
 *     with every node that only fed them ({@code --outputs})
 * @param inputShapes shapes that replace the declared shapes of named graph inputs
 *     (e.g. to fix a symbolic batch), empty for none
 */
public record OnnxImportOptions(List<String> outputs, Map<String, Shape> inputShapes) {
  public OnnxImportOptions {
    outputs = List.copyOf(outputs);
    inputShapes = Map.copyOf(inputShapes);
  }

  /** A faithful import: every output, declared shapes. */
  public static OnnxImportOptions defaults() {
    return new OnnxImportOptions(List.of(), Map.of());
  }

  public OnnxImportOptions withOutputs(List<String> names) {
    return new OnnxImportOptions(names, inputShapes);
  }

  public OnnxImportOptions withInputShapes(Map<String, Shape> shapes) {
    return new OnnxImportOptions(outputs, shapes);
  }
}
