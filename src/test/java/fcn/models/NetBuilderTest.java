package fcn.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.models.NetBuilder.Fcn;
import fcn.models.NetBuilder.Mode;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class NetBuilderTest {
  private static final Path SHARED = Path.of("..", "shared");
  private static final Path FCN = SHARED.resolve("caffe/fcn-berkeley");

  private static void assumeShared() {
    Assumptions.assumeTrue(Files.isDirectory(SHARED),
        "../shared not found: skipping comparison with the published FCN/VGG prototxts");
  }

  private static void assertSameLayers(List<LayerParameter> expected, List<LayerParameter> actual, String what) {
    assertEquals(expected.size(), actual.size(), what + ": layer count");
    for (int i = 0; i < expected.size(); i++) {
      assertEquals(expected.get(i), actual.get(i), what + ": layer " + i + " (" + expected.get(i).getName() + ")");
    }
  }

  @Test
  void fcn8sDeployEqualsPublishedDeployLayerByLayer() {
    assumeShared();
    NetParameter published = Prototxt.read(FCN.resolve("voc-fcn8s/deploy.prototxt"));
    NetParameter built = new NetBuilder().fcn(Fcn.FCN8S, Mode.DEPLOY);
    assertSameLayers(published.getLayerList(), built.getLayerList(), "voc-fcn8s deploy");
    assertEquals(published, built);
  }

  /** The TRAIN variant is the published val net with its Python data layer replaced by Input. */
  @Test
  void trainVariantsEqualPublishedValNetsAfterTheDataLayer() {
    assumeShared();
    for (Fcn arch : Fcn.values()) {
      String dir = "voc-" + arch.name().toLowerCase() ;
      NetParameter published = Prototxt.read(FCN.resolve(dir + "/val.prototxt"));
      NetParameter built = new NetBuilder().fcn(arch, Mode.TRAIN);
      LayerParameter data = built.getLayer(0);
      assertEquals("Input", data.getType());
      assertEquals(published.getLayer(0).getTopList(), data.getTopList(), dir + ": data layer tops");
      assertSameLayers(published.getLayerList().subList(1, published.getLayerCount()),
          built.getLayerList().subList(1, built.getLayerCount()), dir + " val");
    }
  }

  @Test
  void vgg16EqualsPublishedV2Deploy() {
    assumeShared();
    NetParameter published = Prototxt.read(SHARED.resolve("caffe/vgg16/VGG_ILSVRC_16_layers_deploy.prototxt"));
    NetParameter built = new NetBuilder().vgg16();
    assertSameLayers(published.getLayerList(), built.getLayerList(), "VGG16 deploy");
    assertEquals(published, built);
  }

  @Test
  void reducedWidthKeepsTopologyAndClassLayers() {
    NetBuilder b = new NetBuilder().widthDivisor(16).minWidth(4).classes(5).input(2, 64, 48);
    NetParameter full = new NetBuilder().fcn(Fcn.FCN8S, Mode.DEPLOY);
    NetParameter small = b.fcn(Fcn.FCN8S, Mode.DEPLOY);
    assertEquals(full.getLayerCount(), small.getLayerCount());
    for (int i = 0; i < full.getLayerCount(); i++) {
      LayerParameter f = full.getLayer(i);
      LayerParameter s = small.getLayer(i);
      assertEquals(f.getName(), s.getName());
      assertEquals(f.getBottomList(), s.getBottomList());
      assertEquals(f.getCropParam(), s.getCropParam());
      if (f.hasConvolutionParam()) {
        int expected = f.getName().startsWith("score") || f.getName().startsWith("upscore") ? 5
            : Math.max(4, f.getConvolutionParam().getNumOutput() / 16);
        assertEquals(expected, s.getConvolutionParam().getNumOutput(), s.getName());
        assertEquals(f.getConvolutionParam().getPadList(), s.getConvolutionParam().getPadList());
      }
    }
    assertEquals(List.of(2L, 3L, 64L, 48L), small.getLayer(0).getInputParam().getShape(0).getDimList());
    assertEquals(4, b.width(64));
    assertEquals(256, b.width(4096));
  }

  @Test
  void explicitWidthsPerBlock() {
    NetParameter n = new NetBuilder().widths(8, 16, 32, 64, 64, 256).classes(6).fcn(Fcn.FCN8S, Mode.DEPLOY);
    java.util.Map<String, Integer> got = new java.util.HashMap<>();
    n.getLayerList().stream().filter(LayerParameter::hasConvolutionParam)
        .forEach(l -> got.put(l.getName(), l.getConvolutionParam().getNumOutput()));
    assertEquals(8, got.get("conv1_2"));
    assertEquals(16, got.get("conv2_1"));
    assertEquals(32, got.get("conv3_3"));
    assertEquals(64, got.get("conv4_1"));
    assertEquals(64, got.get("conv5_3"));
    assertEquals(256, got.get("fc6"));
    assertEquals(256, got.get("fc7"));
    assertEquals(6, got.get("score_pool3"));
    assertEquals(256, new NetBuilder().widths(8, 16, 32, 64, 64, 256).vgg16().getLayerList().stream()
        .filter(l -> l.getName().equals("fc7")).findFirst().orElseThrow().getInnerProductParam().getNumOutput());
  }

  @Test
  void textIsDeterministicAndParsesBack() {
    NetParameter a = new NetBuilder().widthDivisor(8).fcn(Fcn.FCN16S, Mode.TRAIN);
    String text = Prototxt.toText(a);
    assertEquals(text, Prototxt.toText(new NetBuilder().widthDivisor(8).fcn(Fcn.FCN16S, Mode.TRAIN)));
    assertEquals(a, Prototxt.parse(text, "roundtrip"));
    assertTrue(text.contains("layer {"), "V2 layer {} form");
  }
}
