package fcn.runtime;

import java.util.List;
import java.util.Map;

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

  /** A short description for reports, e.g. "ONNX Runtime 1.23.2 (CPUExecutionProvider)". */
  String describe();

  @Override
  void close();
}
