package fcn.runtime;

import fcn.ir.Shape;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Something that maps named float inputs to named float outputs: an ONNX Runtime {@link Session},
 * or real Caffe (fcn.reference.caffe). Fixture generation and comparisons are written against
 * this interface so that either can be the reference. Implementations own native resources and
 * must have an idempotent close().
 */
public interface ReferenceRunner extends AutoCloseable {
  /** The inputs, in model order; dims may be symbolic. */
  List<TensorSpec> inputs();

  /** The outputs, in model order. */
  List<TensorSpec> outputs();

  /**
   * Runs once. Every input must be given; the result holds every output, in {@link #outputs()}
   * order. Bad names or shapes throw {@link fcn.core.FcnException} listing what is expected.
   */
  Map<String, FloatTensor> run(Map<String, FloatTensor> inputs);

  /**
   * Why {@link #run} cannot take inputs of these shapes (inputs left out keep theirs), or empty
   * when it can. Lets callers skip a size instead of failing; runners whose native code aborts
   * the process on a misfit (Caffe) check here what they can. Default: the shapes fit
   * {@link #inputs()}' (possibly symbolic) dims.
   */
  default Optional<String> checkShapes(Map<String, long[]> shapes) {
    List<TensorSpec> specs = inputs();
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      TensorSpec spec = specs.stream().filter(s -> s.name().equals(e.getKey())).findFirst().orElse(null);
      if (spec == null) {
        return Optional.of("no input named '" + e.getKey() + "'; inputs: " + Session.describe(specs));
      }
      if (!spec.accepts(e.getValue())) {
        return Optional.of("input '" + e.getKey() + "' has shape " + spec.shape() + ", which does not take "
            + Shape.format(e.getValue()));
      }
    }
    return Optional.empty();
  }

  /** A short description for reports, e.g. "ONNX Runtime 1.23.2 (CPUExecutionProvider)". */
  String describe();

  @Override
  void close();
}
