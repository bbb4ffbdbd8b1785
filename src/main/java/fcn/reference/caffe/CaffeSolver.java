package fcn.reference.caffe;

import fcn.proto.CaffeProto.NetParameter;
import fcn.proto.CaffeProto.SolverParameter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Trains a net with Caffe's own solvers (SGD, Nesterov, AdaGrad, RMSProp, AdaDelta, Adam) on the
 * CPU, one iteration at a time, feeding the train net's Input blobs from Java: no data layers,
 * no LMDB. The settings are a {@link SolverParameter} (base_lr, lr_policy, momentum, type...);
 * its net fields are ignored in favour of {@code trainNet}, and it never snapshots.
 *
 * <p>Weights move to and from {@link CaffeNet}s by layer name (e.g. a deploy net for
 * evaluation, or FCN-32s weights into FCN-16s as the paper's staged training does). Owns the
 * native solver and its net; close() is idempotent; not thread-safe. Like {@link CaffeNet},
 * its own code names no JavaCPP type.
 */
public final class CaffeSolver implements AutoCloseable {
  private final String source;
  private NativeSolver impl;

  private CaffeSolver(NativeSolver impl, String source) {
    this.impl = impl;
    this.source = source;
  }

  /**
   * Builds the solver. Weights start from the net's fillers (Caffe's RNG seeded with
   * {@code seed}; layers without a weight_filler start at 0, as in Caffe).
   */
  public static CaffeSolver open(NetParameter trainNet, SolverParameter settings, long seed, String source) {
    CaffeBackend.require();
    return new CaffeSolver(new NativeSolver(trainNet, settings, seed, source), source);
  }

  private NativeSolver impl() {
    if (impl == null) {
      throw new IllegalStateException("Caffe solver " + source + " is closed");
    }
    return impl;
  }

  /** The train net's Input blobs (e.g. data, label), in net order. */
  public List<String> inputNames() {
    return trainNet().inputNames();
  }

  /** Shapes of the train net's inputs (batch included). */
  public Map<String, long[]> inputShapes() {
    return trainNet().inputShapes();
  }

  /** Iterations done so far. */
  public int iter() {
    return impl().iter();
  }

  /** One iteration (forward, backward, update) on a batch; returns the loss. */
  public float step(Map<String, float[]> inputs) {
    return impl().step(inputs);
  }

  /** Copies the current weights into {@code net} for every layer both have; returns their names. */
  public List<String> copyWeightsTo(CaffeNet net) {
    return NativeSolver.copyLayers(impl().net(), net.impl().handle(), source, net.source());
  }

  /** Overwrites the train net's weights from {@code net} for every layer both have; returns their names. */
  public List<String> copyWeightsFrom(CaffeNet net) {
    return NativeSolver.copyLayers(net.impl().handle(), impl().net(), net.source(), source);
  }

  /** Copies of a layer's weight blobs in the train net. */
  public List<Blob> params(String layer) {
    return trainNet().params(layer);
  }

  /** Overwrites one weight blob of a train-net layer (e.g. bilinear upsampling kernels). */
  public void setParam(String layer, int index, float[] values) {
    trainNet().setParam(layer, index, values);
  }

  /** Writes the train net's weights as a caffemodel (atomically). */
  public void save(Path caffemodel) {
    trainNet().save(caffemodel);
  }

  /** The solver's net, borrowed: the solver frees it. */
  private NativeNet trainNet() {
    return NativeNet.borrow(impl().net(), source);
  }

  @Override
  public void close() {
    if (impl != null) {
      impl.close();
      impl = null;
    }
  }
}
