package fcn.frontend.caffe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Value;
import fcn.passes.ShapeInference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Every published prototxt under ../shared imports (random weights) with the expected interface. */
class CaffeSharedNetsImportTest {
  static final Path SHARED = Path.of("..", "shared");
  static final CaffeImportOptions RANDOM = CaffeImportOptions.defaults().withRandomWeightsSeed(1L);

  private static List<Path> prototxts(String dir) throws IOException {
    List<Path> files = new ArrayList<>();
    try (Stream<Path> s = Files.walk(SHARED.resolve(dir))) {
      s.filter(p -> p.toString().endsWith(".prototxt")).sorted().forEach(files::add);
    }
    return files;
  }

  @Test
  void everyFcnAndVggPrototxtImports() throws IOException {
    Assumptions.assumeTrue(Files.isDirectory(SHARED),
        "../shared not found: skipping the import of the published FCN and VGG16 prototxts");
    List<Path> files = new ArrayList<>(prototxts("caffe/fcn-berkeley"));
    files.addAll(prototxts("caffe/vgg16"));
    assertTrue(files.size() >= 18, "found only " + files);
    for (Path p : files) {
      String net = p.getParent().getFileName().toString();
      Graph g = CaffeImporter.importNet(p, null, RANDOM);
      List<String> outs = g.outputs().stream().map(Value::name).toList();
      List<String> ins = g.inputs().stream().map(Value::name).toList();
      long classes;
      if (net.startsWith("siftflow")) {
        assertEquals(List.of("score_sem", "score_geo"), outs, p.toString());
        classes = 33;
      } else if (net.equals("vgg16")) {
        assertEquals(List.of("prob"), outs, p.toString());
        assertArrayEquals(new long[] {10, 1000}, g.value("prob").shape().toArray());
        classes = -1;
      } else {
        assertEquals(List.of("score"), outs, p.toString());
        classes = net.startsWith("nyud") ? 40 : net.startsWith("pascalcontext") ? 60 : 21;
      }
      if (classes > 0) {
        assertArrayEquals(new long[] {1, classes, 500, 500}, g.outputs().get(0).shape().toArray(),
            p.toString());
      }
      List<String> expectedIns = switch (net) {
        case "nyud-fcn32s-color-hha" -> List.of("color", "hha");
        case "nyud-fcn32s-color-d" -> List.of("color", "depth");
        default -> List.of("data");
      };
      assertEquals(expectedIns, ins, p.toString());
      for (Node n : g.nodes()) {
        assertFalse(n.name().startsWith("loss") || n.name().startsWith("accuracy"), n.toString());
      }
      g.checkConnected();
      Map<String, long[]> inferred = ShapeInference.infer(g, Map.of());
      for (Value v : g.values()) {
        assertArrayEquals(inferred.get(v.name()), v.shape().toArray(), p + ": " + v.name());
      }
    }
  }

  @Test
  void vgg16V1AndV2PrototxtsGiveIdenticalGraphs() {
    Path v1 = SHARED.resolve("caffe/vgg16/VGG_ILSVRC_16_layers_deploy.v1.prototxt");
    Path v2 = SHARED.resolve("caffe/vgg16/VGG_ILSVRC_16_layers_deploy.prototxt");
    Assumptions.assumeTrue(Files.isRegularFile(v1) && Files.isRegularFile(v2),
        "../shared/caffe/vgg16 not found: skipping the V1/V2 VGG16 comparison");
    CaffeImportOptions small = RANDOM.withInputShape("data", 1, 3, 224, 224);
    Graph a = CaffeImporter.importNet(v1, null, small);
    Graph b = CaffeImporter.importNet(v2, null, small);
    assertEquals(GraphDump.dump(b), GraphDump.dump(a));
    assertEquals("V1 layers", a.metadata().get("caffe.format"));
    assertEquals("V2 layer", b.metadata().get("caffe.format"));
  }

  /** The three SegNet prototxts (pooling masks, Upsample, BN, DenseImageData) import whole. */
  @Test
  void segnetImports() throws IOException {
    for (String name : List.of("segnet_inference", "segnet_basic_inference", "segnet_pascal")) {
      Path p = SHARED.resolve("caffe/segnet/" + name + ".prototxt");
      Assumptions.assumeTrue(Files.isRegularFile(p), "../shared/caffe/segnet not found: skipping");
      // The CamVid nets read 360 x 480 images (their upsample_h/w are sized for that).
      CaffeImportOptions o = name.equals("segnet_pascal") ? RANDOM
          : RANDOM.withInputShape("data", 1, 3, 360, 480);
      Graph g = CaffeImporter.importNet(p, null, o);
      assertEquals("data", g.inputs().get(0).name(), name);
      assertTrue(g.nodes().stream().anyMatch(n -> n.opType().equals("ScatterElements")), name);
    }
  }
}
