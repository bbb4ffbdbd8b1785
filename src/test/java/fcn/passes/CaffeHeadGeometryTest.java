package fcn.passes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.TextFormat;
import fcn.frontend.caffe.CaffeImportOptions;
import fcn.frontend.caffe.CaffeImporter;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.passes.HeadOptions.Head;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The head pass on real Caffe prototxts: crop offsets computed from the graph's geometry equal
 * the ones FCN published in its nets (19; 5, 27; 5, 9, 31), and VGG16's classifier made fully
 * convolutional, with FCN's 100-pixel conv1_1 pad, gives 19 and 5, 9, 31.
 */
class CaffeHeadGeometryTest {
  static final Path SHARED = Path.of("..", "shared");

  /** The published net cut at score_fr; our head must crop where FCN's Crop layers do. */
  @ParameterizedTest
  @CsvSource({"voc-fcn32s, fcn32s", "voc-fcn16s, fcn16s", "voc-fcn8s, fcn8s",
      "siftflow-fcn8s, fcn8s"})
  void offsetsEqualPublishedCrops(String net, String head) throws IOException {
    Path dir = SHARED.resolve("caffe/fcn-berkeley/" + net);
    Assumptions.assumeTrue(Files.isDirectory(dir), "../shared not found: skipping " + dir);
    Path proto = List.of("deploy.prototxt", "val.prototxt", "test.prototxt").stream()
        .map(dir::resolve).filter(Files::isRegularFile).findFirst().orElseThrow();
    String scoreFr = net.startsWith("siftflow") ? "score_fr_sem" : "score_fr";
    Graph g = CaffeImporter.importNet(proto, null, CaffeImportOptions.defaults()
        .withRandomWeightsSeed(1L).withInputShape("data", 1, 3, 64, 64)
        .withOutputs(List.of(scoreFr)));
    FcnHeadPass.Result r = FcnHeadPass.apply(g, new HeadOptions(Head.parse(head), 0, null, null, true));
    Map<String, Long> published = publishedCrops(proto);
    assertEquals(published.keySet(), r.cropOffsets().keySet(), net);
    published.forEach((name, off) -> assertArrayEquals(new long[] {off, off}, r.cropOffsets().get(name),
        net + " " + name));
  }

  @Test
  void vgg16ClassifierWithPad100() {
    Path proto = SHARED.resolve("caffe/vgg16/VGG_ILSVRC_16_layers_deploy.prototxt");
    Assumptions.assumeTrue(Files.isRegularFile(proto), "../shared not found: skipping " + proto);
    Map<Head, Map<String, long[]>> got = new LinkedHashMap<>();
    for (Head head : List.of(Head.FCN32S, Head.FCN8S)) {
      Graph g = CaffeImporter.importNet(proto, null, CaffeImportOptions.defaults()
          .withRandomWeightsSeed(1L).withInputShape("data", 1, 3, 224, 224));
      assertEquals(3, ClassifierHeadPass.apply(g));
      Node conv11 = g.value("conv1_1").producer();
      while (conv11.op() != Op.CONV) {
        conv11 = conv11.input(0).producer();
      }
      conv11.attrs().set("pads", new long[] {100, 100, 100, 100});
      FcnHeadPass.Result r = FcnHeadPass.apply(g, HeadOptions.of(head, 21));
      assertEquals("fc8", r.classifier());
      got.put(head, r.cropOffsets());
    }
    assertArrayEquals(new long[] {19, 19}, got.get(Head.FCN32S).get("score"));
    assertArrayEquals(new long[] {5, 5}, got.get(Head.FCN8S).get("score_pool4c"));
    assertArrayEquals(new long[] {9, 9}, got.get(Head.FCN8S).get("score_pool3c"));
    assertArrayEquals(new long[] {31, 31}, got.get(Head.FCN8S).get("score"));
  }

  static Map<String, Long> publishedCrops(Path proto) throws IOException {
    NetParameter.Builder b = NetParameter.newBuilder();
    TextFormat.Parser.newBuilder().setAllowUnknownFields(true).build()
        .merge(Files.readString(proto), b);
    Map<String, Long> out = new LinkedHashMap<>();
    for (LayerParameter l : b.getLayerList()) {
      if (l.getType().equals("Crop")) {
        assertTrue(l.getCropParam().getOffsetCount() == 1, l.getName());
        if (!l.getName().contains("_geo")) { // SIFT Flow's second (geometric) head
          out.put(l.getName().replace("_sem", ""), (long) l.getCropParam().getOffset(0));
        }
      }
    }
    return out;
  }
}
