package fcn.frontend.caffe;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import fcn.export.OnnxExporter;
import fcn.ir.Dim;
import fcn.ir.Graph;
import fcn.ir.Shape;
import fcn.ir.Value;
import fcn.ir.Variable;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Exports a graph with the project's exporter and runs it in ONNX Runtime. */
final class OrtRunner {
  private OrtRunner() {}

  /**
   * Makes dims 2.. of every 4-D input symbolic and forgets output shapes, so that the model
   * is run at sizes other than the import size (what a dynamic-size export relies on).
   */
  static void makeSpatialDynamic(Graph g) {
    for (Variable in : g.inputs()) {
      if (in.shape().rank() == 4) {
        List<Dim> d = new ArrayList<>(in.shape().dims());
        d.set(2, Dim.symbol(in.name() + "_h"));
        d.set(3, Dim.symbol(in.name() + "_w"));
        in.setShape(new Shape(d));
      }
    }
    for (Value out : g.outputs()) {
      if (out instanceof Variable v) {
        v.setShape(null);
      }
    }
  }

  static Map<String, NdArray> run(Graph g, Map<String, NdArray> inputs) throws OrtException {
    byte[] model = OnnxExporter.toProto(g, OnnxExporter.DEFAULT_OPSET).toByteArray();
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    Map<String, OnnxTensor> feeds = new HashMap<>();
    try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
      so.setIntraOpNumThreads(2);
      try (OrtSession s = env.createSession(model, so)) {
        for (Map.Entry<String, NdArray> e : inputs.entrySet()) {
          feeds.put(e.getKey(), OnnxTensor.createTensor(env,
              FloatBuffer.wrap(e.getValue().data()), e.getValue().shape()));
        }
        Map<String, NdArray> out = new LinkedHashMap<>();
        try (OrtSession.Result r = s.run(feeds)) {
          for (Map.Entry<String, ai.onnxruntime.OnnxValue> e : r) {
            OnnxTensor t = (OnnxTensor) e.getValue();
            FloatBuffer fb = t.getFloatBuffer();
            float[] d = new float[fb.remaining()];
            fb.get(d);
            out.put(e.getKey(), new NdArray(t.getInfo().getShape(), d));
          }
        }
        return out;
      } finally {
        feeds.values().forEach(OnnxTensor::close);
      }
    }
  }
}
