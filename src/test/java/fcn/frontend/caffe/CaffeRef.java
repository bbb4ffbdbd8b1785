package fcn.frontend.caffe;

import static org.bytedeco.caffe.global.caffe.TEST;

import fcn.testing.TestOnnx.Array;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.caffe.Caffe;
import org.bytedeco.caffe.FloatBlob;
import org.bytedeco.caffe.FloatNet;
import org.bytedeco.caffe.NetParameter;
import org.bytedeco.caffe.global.caffe;

/**
 * Real BVLC Caffe (JavaCPP) for tests: the ground truth. Caffe aborts the process on a bad
 * net, so only give it nets known to be valid.
 */
final class CaffeRef implements AutoCloseable {
  static {
    Caffe.set_mode(Caffe.CPU);
  }

  private FloatNet net;

  CaffeRef(Path prototxt, Path caffemodel) {
    net = new FloatNet(prototxt.toString(), TEST);
    if (caffemodel != null) {
      net.CopyTrainedLayersFrom(caffemodel.toString());
    }
  }

  /** Writes the net's current (filler-initialised) weights as a binary caffemodel. */
  static void writeCaffemodel(Path prototxt, Path out) {
    try (CaffeRef r = new CaffeRef(prototxt, null)) {
      NetParameter p = new NetParameter();
      r.net.ToProto(p, false);
      caffe.WriteProtoToBinaryFile(p, out.toString());
      p.close();
    }
  }

  Map<String, Array> forward(Map<String, Array> inputs, List<String> outputs) {
    for (Map.Entry<String, Array> e : inputs.entrySet()) {
      FloatBlob b = net.blob_by_name(e.getKey());
      long[] s = e.getValue().shape();
      int[] dims = new int[s.length];
      for (int i = 0; i < s.length; i++) {
        dims[i] = (int) s[i];
      }
      b.Reshape(dims);
    }
    net.Reshape();
    for (Map.Entry<String, Array> e : inputs.entrySet()) {
      net.blob_by_name(e.getKey()).mutable_cpu_data().put(e.getValue().data());
    }
    net.Forward();
    Map<String, Array> out = new LinkedHashMap<>();
    for (String name : outputs) {
      FloatBlob b = net.blob_by_name(name);
      long[] shape = new long[b.num_axes()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = b.shape(i);
      }
      float[] d = new float[b.count()];
      b.cpu_data().get(d);
      out.put(name, new Array(shape, d));
    }
    return out;
  }

  @Override
  public void close() {
    if (net != null) {
      net.close();
      net = null;
    }
  }
}
