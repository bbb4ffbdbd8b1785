package fcn.frontend.caffe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.ir.Graph;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.proto.CaffeProto.NetParameter;
import fcn.testing.TestOnnx;
import fcn.testing.TestOnnx.Array;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The published FCN nets (widths divided by 16, everything else as published) converted with
 * weights that real Caffe made, run in ONNX Runtime and compared with Caffe's forward pass:
 * at the import size, and at 187 x 253 through symbolic H/W (crops, deconvolutions and
 * poolings must follow the input size).
 */
class CaffeSharedNetsNumericTest {
  static final Path SHARED = Path.of("..", "shared");
  @TempDir Path tmp;

  @ParameterizedTest
  @ValueSource(strings = {"voc-fcn8s/deploy.prototxt", "voc-fcn8s/val.prototxt",
      "voc-fcn32s/val.prototxt", "voc-fcn16s/val.prototxt", "pascalcontext-fcn8s/val.prototxt",
      "voc-fcn8s-atonce/val.prototxt", "voc-fcn-alexnet/val.prototxt",
      "siftflow-fcn8s/test.prototxt", "nyud-fcn32s-color-hha/test.prototxt",
      "nyud-fcn32s-color-d/test.prototxt"})
  void convertedNetMatchesCaffe(String rel) throws Exception {
    Path src = SHARED.resolve("caffe/fcn-berkeley").resolve(rel);
    Assumptions.assumeTrue(Files.isDirectory(SHARED),
        "../shared not found: skipping the Caffe-vs-ONNX Runtime check of " + rel);
    NetParameter net = CaffeTestNets.reduced(
        NetUpgrader.upgrade(CaffeTestNets.readText(src), rel), 16);
    Path proto = CaffeTestNets.writeText(net, tmp.resolve("net.prototxt"));
    Graph probe = CaffeImporter.importNet(proto, null,
        CaffeImportOptions.defaults().withRandomWeightsSeed(1L));
    Map<String, long[]> shapes = new LinkedHashMap<>();
    for (Variable in : probe.inputs()) {
      shapes.put(in.name(), in.shape().toArray());
    }
    Path caffeProto = CaffeTestNets.writeText(CaffeTestNets.forCaffe(net, shapes),
        tmp.resolve("caffe.prototxt"));
    Path model = tmp.resolve("net.caffemodel");
    CaffeRef.writeCaffemodel(caffeProto, model);

    Graph g = CaffeImporter.importNet(proto, model, CaffeImportOptions.defaults());
    assertEquals(new ArrayList<>(shapes.keySet()),
        g.inputs().stream().map(Value::name).toList());
    List<String> outs = g.outputs().stream().map(Value::name).toList();
    try (CaffeRef caffe = new CaffeRef(caffeProto, model)) {
      compare(caffe, g, shapes, outs, "import size");
      TestOnnx.makeSpatialDynamic(g);
      Map<String, long[]> other = new LinkedHashMap<>();
      shapes.forEach((k, v) -> other.put(k, new long[] {v[0], v[1], 187, 253}));
      compare(caffe, g, other, outs, "187x253");
    }
  }

  private static void compare(CaffeRef caffe, Graph g, Map<String, long[]> shapes,
      List<String> outs, String what) throws Exception {
    Map<String, Array> feeds = new LinkedHashMap<>();
    long seed = 7;
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      feeds.put(e.getKey(), Array.gaussian(seed++, 1f, e.getValue()));
    }
    Map<String, Array> ref = caffe.forward(feeds, outs);
    Map<String, Array> got = TestOnnx.run(g, feeds);
    for (String o : outs) {
      Array r = ref.get(o);
      Array x = got.get(o);
      double err = x.maxAbsDiff(r);
      assertTrue(err <= 1e-4 * r.maxAbs(), String.format(
          "%s at %s: output '%s' caffe %s ort %s max|err| %g, max|ref| %g", g.name(), what, o,
          r.shapeString(), x.shapeString(), err, r.maxAbs()));
      assertTrue(r.maxAbs() > 0, o + " is all zeros: the check would prove nothing");
    }
  }
}
