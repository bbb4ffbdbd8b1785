package fcn.reference.caffe;

import fcn.core.FcnException;
import fcn.ir.DataType;
import fcn.ir.Shape;
import fcn.models.Prototxt;
import fcn.proto.CaffeProto.NetParameter;
import fcn.runtime.FloatTensor;
import fcn.runtime.ReferenceRunner;
import fcn.runtime.TensorSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Real Caffe as a {@link ReferenceRunner}, for fixtures and validation. Input shapes are the
 * net's (static); a run with other shapes reshapes the net when it is fully convolutional and
 * is refused otherwise (an InnerProduct layer would make Caffe abort the process). Owns its
 * {@link CaffeNet}; close() is idempotent.
 */
public final class CaffeRunner implements ReferenceRunner {
  private final CaffeNet net;
  private final boolean reshapeable;
  private final String weights;

  private CaffeRunner(CaffeNet net, boolean reshapeable, String weights) {
    this.net = net;
    this.reshapeable = reshapeable;
    this.weights = weights;
  }

  /**
   * Opens a prototxt (deploy, or a train/val net whose data layers become Input layers of
   * {@code inputShapes}; {@code inputShapes} also reshapes Input layers). {@code caffemodel}
   * null means seeded random weights.
   */
  public static CaffeRunner open(Path prototxt, Path caffemodel, Map<String, long[]> inputShapes, long seed) {
    CaffeBackend.require();
    NetParameter def = Prototxt.read(prototxt);
    return open(def, caffemodel, inputShapes, seed, prototxt.toString());
  }

  /** {@link #open(Path, Path, Map, long)} for an in-memory net definition. */
  public static CaffeRunner open(NetParameter def, Path caffemodel, Map<String, long[]> inputShapes, long seed,
      String source) {
    CaffeBackend.require();
    NetParameter deploy = DeployNets.rewrite(def, inputShapes);
    boolean fullyConv = deploy.getLayerList().stream().noneMatch(l -> l.getType().equals("InnerProduct"))
        && deploy.getLayersList().stream().noneMatch(l -> l.getType().name().equals("INNER_PRODUCT"));
    CaffeNet net = CaffeNet.open(deploy, caffemodel, seed, source);
    return new CaffeRunner(net, fullyConv,
        caffemodel != null ? caffemodel.getFileName().toString() : "random weights, seed " + seed);
  }

  /** The underlying net (still owned by this runner). */
  public CaffeNet net() {
    return net;
  }

  @Override
  public List<TensorSpec> inputs() {
    List<TensorSpec> out = new ArrayList<>();
    for (var e : net.inputShapes().entrySet()) {
      out.add(new TensorSpec(e.getKey(), DataType.FLOAT, Shape.of(e.getValue())));
    }
    return out;
  }

  @Override
  public List<TensorSpec> outputs() {
    List<TensorSpec> out = new ArrayList<>();
    for (String name : net.outputNames()) {
      out.add(new TensorSpec(name, DataType.FLOAT, Shape.of(net.shape(name))));
    }
    return out;
  }

  @Override
  public Map<String, FloatTensor> run(Map<String, FloatTensor> inputs) {
    Map<String, long[]> current = net.inputShapes();
    Map<String, long[]> reshape = new LinkedHashMap<>();
    Map<String, float[]> data = new LinkedHashMap<>();
    for (var e : inputs.entrySet()) {
      long[] now = current.get(e.getKey());
      if (now == null) {
        throw new FcnException("Caffe net " + net.source() + " has no input '" + e.getKey() + "'; inputs: "
            + String.join(", ", current.keySet()));
      }
      long[] want = e.getValue().shape();
      if (!Arrays.equals(now, want)) {
        if (!reshapeable) {
          throw new FcnException("input '" + e.getKey() + "' of " + net.source() + " has shape "
              + Shape.format(now) + ", got " + Shape.format(want)
              + " (the net has InnerProduct layers, so its input size is fixed)");
        }
        reshape.put(e.getKey(), want);
      }
      data.put(e.getKey(), e.getValue().data());
    }
    if (!reshape.isEmpty()) {
      net.reshape(reshape);
    }
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    for (Blob b : net.forward(data).values()) {
      out.put(b.name(), new FloatTensor(b.data(), b.shape()));
    }
    return out;
  }

  @Override
  public String describe() {
    return "BVLC Caffe 1.0 (JavaCPP caffe-platform 1.0-1.5.5, CPU), " + weights;
  }

  @Override
  public void close() {
    net.close();
  }
}
