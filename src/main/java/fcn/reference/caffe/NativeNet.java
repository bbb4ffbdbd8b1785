package fcn.reference.caffe;

import static org.bytedeco.caffe.global.caffe.ReadProtoFromBinaryFile;
import static org.bytedeco.caffe.global.caffe.UpgradeNetAsNeeded;

import fcn.core.AtomicFile;
import fcn.core.FcnException;
import fcn.proto.CaffeProto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.bytedeco.caffe.Caffe;
import org.bytedeco.caffe.FloatBlob;
import org.bytedeco.caffe.FloatBlobSharedVector;
import org.bytedeco.caffe.FloatLayer;
import org.bytedeco.caffe.FloatLayerRegistry;
import org.bytedeco.caffe.FloatNet;
import org.bytedeco.caffe.LayerParameter;
import org.bytedeco.caffe.NetParameter;
import org.bytedeco.caffe.StringVector;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;

/**
 * Everything that touches JavaCPP's Caffe types. Package-private and reached only through
 * {@link CaffeNet} after {@link CaffeBackend#require()}, so that a missing Caffe never fails
 * class verification of code that merely mentions the backend.
 *
 * <p>Caffe's CHECK failures abort the whole process (glog FATAL), so every failure that can be
 * foreseen is checked here first and reported as a {@link FcnException}.
 */
final class NativeNet implements AutoCloseable {
  private final String source;
  private final boolean owned;
  private FloatNet net;

  private NativeNet(FloatNet borrowed, String source) {
    this.net = borrowed;
    this.source = source;
    this.owned = false;
  }

  /** A view of a net someone else owns (a solver's train net); never close it. */
  static NativeNet borrow(FloatNet net, String source) {
    return new NativeNet(net, source);
  }

  NativeNet(CaffeProto.NetParameter def, Path weights, long seed, String source) {
    this.source = source;
    this.owned = true;
    Caffe.set_mode(Caffe.CPU);
    // Seeds the fillers (thread-local in Caffe) so that nets with weight_filler are reproducible.
    Caffe.set_random_seed((int) seed);
    CaffeProto.NetParameter test = def.toBuilder()
        .setState(def.getState().toBuilder().setPhase(CaffeProto.Phase.TEST)).build();
    try (NetParameter param = toNative(test.toByteArray(), source)) {
      if (!UpgradeNetAsNeeded(source, param)) {
        throw new FcnException(source + ": Caffe could not upgrade this legacy (V0/V1) net definition");
      }
      checkLayerTypes(param, source);
      net = new FloatNet(param);
    }
    try {
      if (weights != null) {
        copyWeights(weights);
      } else {
        randomWeights(seed);
      }
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  static NetParameter toNative(byte[] bytes, String source) {
    NetParameter param = new NetParameter();
    try (BytePointer bp = new BytePointer(bytes)) {
      if (!param.ParseFromArray(bp, bytes.length)) {
        param.close();
        throw new FcnException(source + ": Caffe rejected the net definition");
      }
    }
    return param;
  }

  /** Refuses layer types this Caffe build lacks (Caffe would abort on them). */
  static void checkLayerTypes(NetParameter param, String source) {
    Set<String> known = new HashSet<>();
    StringVector types = FloatLayerRegistry.LayerTypeList();
    for (long i = 0; i < types.size(); i++) {
      known.add(types.get(i).getString());
    }
    for (int i = 0; i < param.layer_size(); i++) {
      LayerParameter l = param.layer(i);
      String type = l.type().getString();
      if (!known.contains(type)) {
        String hint = type.equals("Python") || type.endsWith("Data")
            ? ": replace data layers with Input layers first (DeployNets.forCaffe)"
            : ": it is not a BVLC Caffe 1.0 layer";
        throw new FcnException(source + ": layer '" + l.name().getString() + "' has type " + type
            + ", which the Caffe reference backend cannot run" + hint);
      }
    }
  }

  private void copyWeights(Path weights) {
    if (!Files.isRegularFile(weights)) {
      throw new FcnException(weights + ": no such caffemodel file");
    }
    try (NetParameter trained = new NetParameter()) {
      if (!ReadProtoFromBinaryFile(weights.toString(), trained)) {
        throw new FcnException(weights + ": not a Caffe caffemodel (binary NetParameter)");
      }
      if (!UpgradeNetAsNeeded(weights.toString(), trained)) {
        throw new FcnException(weights + ": Caffe could not upgrade this legacy (V0/V1) caffemodel");
      }
      // The checks Net::CopyTrainedLayersFrom makes with CHECK (which would abort the JVM).
      for (int i = 0; i < trained.layer_size(); i++) {
        LayerParameter src = trained.layer(i);
        String name = src.name().getString();
        if (!net.has_layer(name)) {
          continue;
        }
        FloatBlobSharedVector target = net.layer_by_name(name).blobs();
        if (target.size() != src.blobs_size()) {
          throw new FcnException(weights + ": layer '" + name + "' has " + src.blobs_size()
              + " weight blobs, the net " + source + " expects " + target.size());
        }
        for (int j = 0; j < src.blobs_size(); j++) {
          FloatBlob t = target.get(j);
          if (!t.ShapeEquals(src.blobs(j))) {
            String got;
            try (FloatBlob tmp = new FloatBlob()) {
              tmp.FromProto(src.blobs(j), true);
              got = tmp.shape_string().getString();
            }
            throw new FcnException(weights + ": layer '" + name + "' weight blob " + j + " has shape "
                + got + ", the net " + source + " expects " + t.shape_string().getString());
          }
        }
      }
      net.CopyTrainedLayersFrom(trained);
    }
  }

  /**
   * He-normal weights (fan-in, deconvolutions counted per output pixel), small uniform biases,
   * sane BatchNorm statistics: every layer contributes, activations stay in float range
   * through 16+ layers, and a seed gives the same weights on every machine.
   */
  private void randomWeights(long seed) {
    Random r = new Random(seed);
    for (long i = 0; i < net.layers().size(); i++) {
      FloatLayer layer = net.layers().get(i);
      String type = layer.type().getString();
      FloatBlobSharedVector blobs = layer.blobs();
      for (long j = 0; j < blobs.size(); j++) {
        FloatBlob b = blobs.get(j);
        float[] v = new float[b.count()];
        if (type.equals("BatchNorm")) {
          for (int k = 0; k < v.length; k++) {
            v[k] = j == 0 ? (float) (0.1 * r.nextGaussian()) : j == 1 ? 0.5f + r.nextFloat() : 1f;
          }
        } else if (j == 0 && b.num_axes() >= 2) {
          double fanIn = (double) b.count() / b.shape(0);
          if (type.equals("Deconvolution")) {
            int stride = stride(layer);
            fanIn = (double) b.shape(0) * b.count() / ((double) b.shape(0) * b.shape(1)) / (stride * stride);
          }
          double std = Math.sqrt(2.0 / Math.max(1.0, fanIn));
          for (int k = 0; k < v.length; k++) {
            v[k] = (float) (std * r.nextGaussian());
          }
        } else if (j == 0) {
          for (int k = 0; k < v.length; k++) {
            v[k] = 0.5f + r.nextFloat();
          }
        } else {
          for (int k = 0; k < v.length; k++) {
            v[k] = 0.2f * r.nextFloat() - 0.1f;
          }
        }
        b.mutable_cpu_data().put(v);
      }
    }
  }

  private static int stride(FloatLayer layer) {
    var p = layer.layer_param().convolution_param();
    if (p.stride_size() > 0) {
      return Math.max(1, p.stride(0));
    }
    return p.has_stride_h() ? Math.max(1, p.stride_h()) : 1;
  }

  // ---------------------------------------------------------------- queries

  private FloatNet net() {
    if (net == null) {
      throw new IllegalStateException("Caffe net " + source + " is closed");
    }
    return net;
  }

  List<String> blobNames() {
    return strings(net().blob_names());
  }

  List<String> layerNames() {
    return strings(net().layer_names());
  }

  List<String> inputNames() {
    return blobsAt(net().num_inputs(), net().input_blob_indices());
  }

  List<String> outputNames() {
    return blobsAt(net().num_outputs(), net().output_blob_indices());
  }

  /** The names of the first {@code count} blobs whose indices {@code indices} holds. */
  private List<String> blobsAt(int count, IntPointer indices) {
    List<String> all = blobNames();
    List<String> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      out.add(all.get(indices.get(i)));
    }
    return out;
  }

  /** Current shapes of the input blobs, in net order. */
  Map<String, long[]> inputShapes() {
    Map<String, long[]> out = new LinkedHashMap<>();
    for (String name : inputNames()) {
      out.put(name, shape(name));
    }
    return out;
  }

  long[] shape(String name) {
    return shape(blobByName(name));
  }

  static long[] shape(FloatBlob b) {
    long[] s = new long[b.num_axes()];
    for (int i = 0; i < s.length; i++) {
      s[i] = b.shape(i);
    }
    return s;
  }

  private FloatBlob blobByName(String name) {
    if (!net().has_blob(name)) {
      throw new FcnException("Caffe net " + source + " has no blob '" + name + "'; blobs: "
          + String.join(", ", blobNames()));
    }
    return net().blob_by_name(name);
  }

  Blob blob(String name) {
    return copy(name, blobByName(name));
  }

  private static Blob copy(String name, FloatBlob b) {
    float[] data = new float[b.count()];
    if (data.length > 0) {
      FloatPointer p = b.cpu_data();
      p.get(data);
    }
    return new Blob(name, shape(b), data);
  }

  List<Blob> params(String layer) {
    if (!net().has_layer(layer)) {
      throw new FcnException("Caffe net " + source + " has no layer '" + layer + "'");
    }
    FloatBlobSharedVector blobs = net().layer_by_name(layer).blobs();
    List<Blob> out = new ArrayList<>();
    for (long j = 0; j < blobs.size(); j++) {
      out.add(copy(layer + "/" + j, blobs.get(j)));
    }
    return out;
  }

  void setParam(String layer, int index, float[] values) {
    if (!net().has_layer(layer)) {
      throw new FcnException("Caffe net " + source + " has no layer '" + layer + "'");
    }
    FloatBlobSharedVector blobs = net().layer_by_name(layer).blobs();
    if (index < 0 || index >= blobs.size()) {
      throw new FcnException("layer '" + layer + "' of " + source + " has " + blobs.size()
          + " weight blobs, asked for blob " + index);
    }
    FloatBlob b = blobs.get(index);
    if (b.count() != values.length) {
      throw new FcnException("layer '" + layer + "' blob " + index + " holds " + b.count()
          + " values (" + b.shape_string().getString() + "), got " + values.length);
    }
    b.mutable_cpu_data().put(values);
  }

  void reshape(Map<String, long[]> shapes) {
    List<String> inputs = inputNames();
    for (var e : shapes.entrySet()) {
      if (!inputs.contains(e.getKey())) {
        throw new FcnException("Caffe net " + source + " has no input '" + e.getKey() + "'; inputs: "
            + String.join(", ", inputs));
      }
      long[] s = e.getValue();
      int[] dims = new int[s.length];
      for (int i = 0; i < s.length; i++) {
        if (s[i] < 1 || s[i] > Integer.MAX_VALUE) {
          throw new FcnException("input '" + e.getKey() + "': dimension " + i + " is " + s[i]
              + ", expected a positive int");
        }
        dims[i] = (int) s[i];
      }
      net().blob_by_name(e.getKey()).Reshape(dims);
    }
    net().Reshape();
  }

  Map<String, Blob> forward(Map<String, float[]> inputs) {
    forwardOnly(inputs);
    Map<String, Blob> out = new LinkedHashMap<>();
    for (String name : outputNames()) {
      out.put(name, copy(name, net().blob_by_name(name)));
    }
    return out;
  }

  void forwardOnly(Map<String, float[]> inputs) {
    List<String> names = inputNames();
    for (String k : inputs.keySet()) {
      if (!names.contains(k)) {
        throw new FcnException("Caffe net " + source + " has no input '" + k + "'; inputs: " + String.join(", ", names));
      }
    }
    feed(inputs);
    net().Forward();
  }

  /** Copies each input (every one must be given, at its current shape) into the net. */
  void feed(Map<String, float[]> inputs) {
    for (String name : inputNames()) {
      float[] v = inputs.get(name);
      if (v == null) {
        throw new FcnException("Caffe net " + source + ": no data given for input '" + name + "'");
      }
      FloatBlob b = net().blob_by_name(name);
      if (v.length != b.count()) {
        throw new FcnException("input '" + name + "' of " + source + ": got " + v.length
            + " values, its shape " + b.shape_string().getString() + " holds " + b.count());
      }
      b.mutable_cpu_data().put(v);
    }
  }

  /** Serialises the weights in Caffe's own binary form (Net::ToProto) and writes them atomically. */
  void save(Path caffemodel) {
    try (NetParameter p = new NetParameter()) {
      net().ToProto(p, false);
      long n = p.ByteSizeLong();
      if (n > Integer.MAX_VALUE) {
        throw new FcnException(caffemodel + ": weights are " + n + " bytes, over protobuf's 2 GB limit");
      }
      byte[] bytes = new byte[(int) n];
      try (BytePointer bp = new BytePointer(n)) {
        if (!p.SerializeToArray(bp, (int) n)) {
          throw new IllegalStateException("Caffe could not serialise net " + source);
        }
        bp.get(bytes);
      }
      AtomicFile.write(caffemodel, bytes);
    }
  }

  private static List<String> strings(StringVector v) {
    List<String> out = new ArrayList<>((int) v.size());
    for (long i = 0; i < v.size(); i++) {
      out.add(v.get(i).getString());
    }
    return out;
  }

  /** The live native net, for {@link NativeSolver} in this package. */
  FloatNet handle() {
    return net();
  }

  @Override
  public void close() {
    if (net != null && owned) {
      net.close();
    }
    net = null;
  }
}
