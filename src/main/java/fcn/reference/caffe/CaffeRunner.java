package fcn.reference.caffe;

import fcn.core.FcnException;
import fcn.frontend.caffe.CaffeImporter;
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
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Real Caffe as a {@link ReferenceRunner}, for fixtures and validation. Input shapes are the
 * net's (static); a run with other shapes reshapes the net when it is fully convolutional and
 * is refused otherwise (an InnerProduct layer would make Caffe abort the process). Every size
 * is first checked by {@link ShapeCheck}, so a Crop that would not fit is a
 * {@link FcnException}, not an abort. Outputs are the net's unconsumed blobs, or any
 * blobs the caller names. Owns its {@link CaffeNet}; close() is idempotent.
 */
public final class CaffeRunner implements AllBlobsRunner {
  private final CaffeNet net;
  private final NetParameter deploy;
  private final boolean reshapeable;
  private final String weights;
  private final List<String> outputNames;
  private final Map<String, Optional<String>> checked = new HashMap<>();

  private CaffeRunner(CaffeNet net, NetParameter deploy, boolean reshapeable, String weights, List<String> outputNames) {
    this.net = net;
    this.deploy = deploy;
    this.reshapeable = reshapeable;
    this.weights = weights;
    this.outputNames = outputNames;
  }

  /**
   * Opens a prototxt (deploy, or a train/val net whose data layers become Input layers of
   * {@code inputShapes}; {@code inputShapes} also reshapes Input layers). {@code caffemodel}
   * null means seeded random weights.
   */
  public static CaffeRunner open(Path prototxt, Path caffemodel, Map<String, long[]> inputShapes, long seed) {
    return open(prototxt, caffemodel, inputShapes, seed, List.of());
  }

  /** {@link #open(Path, Path, Map, long)} with chosen output blobs (empty: the net's outputs). */
  public static CaffeRunner open(Path prototxt, Path caffemodel, Map<String, long[]> inputShapes, long seed,
      List<String> outputs) {
    CaffeBackend.require();
    NetParameter def = Prototxt.read(prototxt);
    return open(def, caffemodel, inputShapes, seed, prototxt.toString(), outputs);
  }

  /** {@link #open(Path, Path, Map, long)} for an in-memory net definition. */
  public static CaffeRunner open(NetParameter def, Path caffemodel, Map<String, long[]> inputShapes, long seed,
      String source) {
    return open(def, caffemodel, inputShapes, seed, source, List.of());
  }

  /** {@link #open(Path, Path, Map, long, List)} for an in-memory net definition. */
  public static CaffeRunner open(NetParameter def, Path caffemodel, Map<String, long[]> inputShapes, long seed,
      String source, List<String> outputs) {
    CaffeBackend.require();
    NetParameter deploy = DeployNets.rewrite(def, inputShapes);
    // fcn's own range checks (zero strides, huge pads, duplicate names) before Caffe CHECKs abort.
    CaffeImporter.checkNet(deploy, source);
    // Checked even at the prototxt's own size: a deploy net may declare one its crops do not fit.
    ShapeCheck.problem(deploy, inputShapes, source).ifPresent(p -> {
      throw new FcnException((inputShapes.isEmpty() ? "the input size of the prototxt"
          : "input shape " + format(inputShapes)) + " does not fit " + source + ": " + p);
    });
    boolean fullyConv = deploy.getLayerList().stream().noneMatch(l -> l.getType().equals("InnerProduct"))
        && deploy.getLayersList().stream().noneMatch(l -> l.getType().name().equals("INNER_PRODUCT"));
    CaffeNet net = CaffeNet.open(deploy, caffemodel, seed, source);
    List<String> outs = outputs.isEmpty() ? net.outputNames() : List.copyOf(outputs);
    List<String> blobs = net.blobNames();
    for (String o : outs) {
      if (!blobs.contains(o)) {
        String have = String.join(", ", net.outputNames());
        net.close();
        throw new FcnException("Caffe net " + source + " has no blob '" + o + "' to compare; its outputs are: " + have);
      }
    }
    return new CaffeRunner(net, deploy, fullyConv,
        caffemodel != null ? caffemodel.getFileName().toString() : "random weights, seed " + seed, outs);
  }

  /** The underlying net (still owned by this runner). */
  public CaffeNet net() {
    return net;
  }

  /** True when the net has no InnerProduct layer, so it can run at other input sizes. */
  public boolean fullyConvolutional() {
    return reshapeable;
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
    for (String name : outputNames) {
      out.add(new TensorSpec(name, DataType.FLOAT, Shape.of(net.shape(name))));
    }
    return out;
  }

  @Override
  public Optional<String> checkShapes(Map<String, long[]> shapes) {
    Map<String, long[]> current = net.inputShapes();
    Map<String, long[]> wanted = new LinkedHashMap<>(current);
    boolean changed = false;
    for (var e : shapes.entrySet()) {
      long[] now = current.get(e.getKey());
      if (now == null) {
        return Optional.of("Caffe net " + net.source() + " has no input '" + e.getKey() + "'; inputs: "
            + String.join(", ", current.keySet()));
      }
      if (!Arrays.equals(now, e.getValue())) {
        if (!reshapeable) {
          return Optional.of("input '" + e.getKey() + "' of " + net.source() + " has shape " + Shape.format(now)
              + ", got " + Shape.format(e.getValue()) + " (the net has InnerProduct layers, so its input size is fixed)");
        }
        changed = true;
      }
      wanted.put(e.getKey(), e.getValue());
    }
    if (!changed) {
      return Optional.empty();
    }
    return checked.computeIfAbsent(format(wanted), k -> ShapeCheck.problem(deploy, wanted, net.source())
        .map(p -> "input shape " + k + " does not fit " + net.source() + ": " + p));
  }

  @Override
  public Map<String, FloatTensor> run(Map<String, FloatTensor> inputs) {
    forward(inputs);
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    for (String name : outputNames) {
      out.put(name, blob(name));
    }
    return out;
  }

  @Override
  public FloatTensor blob(String name) {
    Blob b = net.blob(name);
    return new FloatTensor(b.data(), b.shape());
  }

  @Override
  public List<BlobInfo> blobInfo() {
    // Layer tops from the net definition; blobs Caffe adds on its own are its Split copies.
    Map<String, List<String>> layers = new LinkedHashMap<>();
    Map<String, List<String>> types = new LinkedHashMap<>();
    if (deploy.getLayersCount() > 0) {
      for (var l : deploy.getLayersList()) {
        for (String top : l.getTopList()) {
          layers.computeIfAbsent(top, k -> new ArrayList<>()).add(l.getName());
          types.computeIfAbsent(top, k -> new ArrayList<>()).add(l.getType().name());
        }
      }
    } else {
      for (var l : deploy.getLayerList()) {
        for (String top : l.getTopList()) {
          layers.computeIfAbsent(top, k -> new ArrayList<>()).add(l.getName());
          types.computeIfAbsent(top, k -> new ArrayList<>()).add(l.getType());
        }
      }
    }
    List<String> inputs = net.inputNames();
    List<BlobInfo> out = new ArrayList<>();
    for (String name : net.blobNames()) {
      boolean input = inputs.contains(name) || "Input".equals(first(types.get(name)));
      String splitOf = null;
      if (!layers.containsKey(name) && !input) {
        // Caffe's InsertSplits names its copies "<blob>_<layer>_<i>_split_<k>".
        splitOf = layers.keySet().stream().filter(b -> name.startsWith(b + "_"))
            .max(java.util.Comparator.comparingInt(String::length)).orElse(name);
      }
      out.add(new BlobInfo(name, input ? List.of() : layers.getOrDefault(name, List.of()),
          input ? List.of() : types.getOrDefault(name, List.of("Split")), splitOf, input));
    }
    return out;
  }

  private static String first(List<String> l) {
    return l == null || l.isEmpty() ? null : l.get(0);
  }

  @Override
  public void forward(Map<String, FloatTensor> inputs) {
    Map<String, long[]> current = net.inputShapes();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    Map<String, float[]> data = new LinkedHashMap<>();
    for (var e : inputs.entrySet()) {
      shapes.put(e.getKey(), e.getValue().shape());
      data.put(e.getKey(), e.getValue().data());
    }
    checkShapes(shapes).ifPresent(p -> {
      throw new FcnException(p);
    });
    Map<String, long[]> reshape = new LinkedHashMap<>();
    shapes.forEach((k, v) -> {
      if (!Arrays.equals(current.get(k), v)) {
        reshape.put(k, v);
      }
    });
    if (!reshape.isEmpty()) {
      net.reshape(reshape);
    }
    net.forwardOnly(data);
  }

  private static String format(Map<String, long[]> shapes) {
    List<String> parts = new ArrayList<>();
    shapes.forEach((k, v) -> parts.add(k + "=" + Shape.format(v).replace('x', ',')));
    return String.join(" ", parts);
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
