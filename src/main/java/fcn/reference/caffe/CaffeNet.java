package fcn.reference.caffe;

import fcn.core.FcnException;
import fcn.models.Prototxt;
import fcn.proto.CaffeProto.NetParameter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A real BVLC Caffe 1.0 net (CPU mode, TEST phase) through JavaCPP: the numerical ground truth
 * that converted models are compared against.
 *
 * <p>Weights come from a caffemodel, or, when none is given, from a seeded random generator
 * (same seed, same weights, on every machine). Owns the native net: close it (idempotent);
 * not thread-safe. Blob values follow Caffe's semantics: an in-place layer (ReLU, Dropout)
 * overwrites its bottom, so blob "conv1_1" holds the post-ReLU values after a forward.
 *
 * <p>Caffe aborts the process on a failed CHECK; what can be checked beforehand (prototxt
 * syntax, layer types, caffemodel blob counts and shapes, input sizes) is checked here and
 * reported as {@link FcnException}. Shape errors inside layers (a Crop larger than its input)
 * cannot be foreseen and still abort, as in Caffe itself.
 *
 * <p>This class's own code never names a JavaCPP type: it can be loaded without Caffe on the
 * class path, and {@link #open} then fails with {@link CaffeBackend}'s one-line message.
 */
public final class CaffeNet implements AutoCloseable {
  /** Seed used when a caller asks for random weights without choosing one. */
  public static final long DEFAULT_SEED = 1337;

  private final String source;
  private NativeNet impl;

  private CaffeNet(NativeNet impl, String source) {
    this.impl = impl;
    this.source = source;
  }

  /** Opens a prototxt with trained weights, or seeded random weights when {@code caffemodel} is null. */
  public static CaffeNet open(Path prototxt, Path caffemodel, long seed) {
    CaffeBackend.require();
    return open(Prototxt.read(prototxt), caffemodel, seed, prototxt.toString());
  }

  /** {@link #open(Path, Path, long)} with {@link #DEFAULT_SEED}. */
  public static CaffeNet open(Path prototxt, Path caffemodel) {
    return open(prototxt, caffemodel, DEFAULT_SEED);
  }

  /** Opens an in-memory net definition; {@code source} names it in messages. */
  public static CaffeNet open(NetParameter net, Path caffemodel, long seed, String source) {
    CaffeBackend.require();
    // Zero strides, pads that overflow and the like make Caffe's CHECKs abort the JVM.
    fcn.frontend.caffe.CaffeImporter.checkNet(net, source);
    return new CaffeNet(new NativeNet(net, caffemodel, seed, source), source);
  }

  /** The native side, for {@link CaffeSolver} in this package. */
  NativeNet impl() {
    if (impl == null) {
      throw new IllegalStateException("Caffe net " + source + " is closed");
    }
    return impl;
  }

  /** Where the net came from (a path or a caller-chosen name). */
  public String source() {
    return source;
  }

  /** The net's input blobs (Input layer tops), in net order. */
  public List<String> inputNames() {
    return impl().inputNames();
  }

  /** Current shapes of the input blobs, in net order. */
  public Map<String, long[]> inputShapes() {
    return impl().inputShapes();
  }

  /** Blobs no layer consumes (e.g. "score", "prob"), in net order. */
  public List<String> outputNames() {
    return impl().outputNames();
  }

  /** Every blob in the net, in creation order. */
  public List<String> blobNames() {
    return impl().blobNames();
  }

  /** Every layer in the net (after Caffe's phase filtering and split insertion). */
  public List<String> layerNames() {
    return impl().layerNames();
  }

  /** Current shape of any blob. */
  public long[] shape(String blob) {
    return impl().shape(blob);
  }

  /** Reshapes the named inputs, then every layer (Net::Reshape). */
  public void reshape(Map<String, long[]> inputShapes) {
    impl().reshape(inputShapes);
  }

  /**
   * Copies each input (row-major, current input shape; every input must be given) into the
   * net, runs a forward pass and returns copies of the output blobs, in net order.
   */
  public Map<String, Blob> forward(Map<String, float[]> inputs) {
    return impl().forward(inputs);
  }

  /** {@link #forward} without copying any blob: every blob keeps this pass's values in Caffe. */
  public void forwardOnly(Map<String, float[]> inputs) {
    impl().forwardOnly(inputs);
  }

  /** A copy of a blob's current values (after a forward: that pass's activations). */
  public Blob blob(String name) {
    return impl().blob(name);
  }

  /** Copies of a layer's weight blobs (named "layer/0", "layer/1"...); empty if it has none. */
  public List<Blob> params(String layer) {
    return impl().params(layer);
  }

  /** Overwrites one weight blob of a layer (same element count). */
  public void setParam(String layer, int index, float[] values) {
    impl().setParam(layer, index, values);
  }

  /** Writes the current weights as a binary caffemodel (Net::ToProto), atomically. */
  public void save(Path caffemodel) {
    impl().save(caffemodel);
  }

  @Override
  public void close() {
    if (impl != null) {
      impl.close();
      impl = null;
    }
  }
}
