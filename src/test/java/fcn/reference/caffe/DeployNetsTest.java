package fcn.reference.caffe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.models.NetBuilder;
import fcn.models.NetBuilder.Fcn;
import fcn.models.NetBuilder.Mode;
import fcn.models.Prototxt;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.proto.CaffeProto.V1LayerParameter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class DeployNetsTest {
  private static final Path SHARED = Path.of("..", "shared");
  private static final Path FCN = SHARED.resolve("caffe/fcn-berkeley");

  private static List<LayerParameter> withoutDropout(NetParameter n) {
    return n.getLayerList().stream().filter(l -> !l.getType().equals("Dropout")).toList();
  }

  @Test
  void publishedValNetBecomesThePublishedDeployNetAndRunsInCaffe() {
    Assumptions.assumeTrue(Files.isDirectory(SHARED), "../shared not found: skipping the voc-fcn8s val -> deploy rewrite");
    NetParameter val = Prototxt.read(FCN.resolve("voc-fcn8s/val.prototxt"));
    NetParameter deploy = Prototxt.read(FCN.resolve("voc-fcn8s/deploy.prototxt"));
    NetParameter rewritten = DeployNets.rewrite(val, Map.of("data", new long[] {1, 3, 500, 500}));
    List<LayerParameter> got = withoutDropout(rewritten);
    List<LayerParameter> want = withoutDropout(deploy);
    assertEquals(want.size(), got.size());
    assertEquals(want.get(0).toBuilder().setName("data").build(), got.get(0), "Input layer, named after the data layer");
    assertEquals(want.subList(1, want.size()), got.subList(1, got.size()));

  }

  /** Every published FCN val/test net is runnable by BVLC Caffe after the rewrite (at reduced width). */
  @Test
  void everyPublishedFcnNetRunsInCaffeAfterTheRewrite() throws Exception {
    Assumptions.assumeTrue(Files.isDirectory(SHARED), "../shared not found: skipping the published FCN nets in Caffe");
    List<Path> nets;
    try (var s = Files.walk(FCN)) {
      nets = s.filter(p -> p.toString().endsWith("val.prototxt") || p.toString().endsWith("test.prototxt")).sorted().toList();
    }
    assertTrue(nets.size() >= 15, "published nets found: " + nets);
    for (Path file : nets) {
      NetParameter small = new WidthReducer(32, 4).reduce(Prototxt.read(file));
      Map<String, long[]> shapes = new java.util.LinkedHashMap<>();
      Map<String, float[]> inputs = new java.util.LinkedHashMap<>();
      for (String top : small.getLayer(0).getTopList()) {
        if (!List.of("label", "sem", "geo").contains(top)) {
          int c = top.equals("depth") ? 1 : 3;
          shapes.put(top, new long[] {1, c, 17, 23});
          inputs.put(top, new float[c * 17 * 23]);
        }
      }
      Path p = DeployNets.forCaffe(small, shapes);
      try (CaffeNet net = CaffeNet.open(p, null, 3)) {
        assertEquals(List.copyOf(shapes.keySet()), net.inputNames(), file.toString());
        for (Blob out : net.forward(inputs).values()) {
          assertEquals(17, out.shape()[2], file + " " + out);
          assertEquals(23, out.shape()[3], file + " " + out);
        }
      }
    }
  }

  @Test
  void trainNetLosesLabelAndLossAndKeepsOtherInputs() {
    NetParameter train = new NetBuilder().widthDivisor(32).fcn(Fcn.FCN16S, Mode.TRAIN);
    NetParameter out = DeployNets.rewrite(train, Map.of("data", new long[] {1, 3, 10, 12}));
    LayerParameter in = out.getLayer(0);
    assertEquals(List.of("data"), in.getTopList());
    assertEquals(List.of(1L, 3L, 10L, 12L), in.getInputParam().getShape(0).getDimList());
    assertTrue(out.getLayerList().stream().noneMatch(l -> l.getType().endsWith("Loss")));

    NetParameter python = train.toBuilder().setLayer(0, train.getLayer(0).toBuilder().setType("Python")
        .clearInputParam()).build();
    FcnException missing = assertThrows(FcnException.class, () -> DeployNets.rewrite(python, Map.of()));
    assertTrue(missing.getMessage().contains("'data'"), missing.getMessage());
    FcnException unknown = assertThrows(FcnException.class,
        () -> DeployNets.rewrite(train, Map.of("data", new long[] {1, 3, 8, 8}, "image", new long[] {1})));
    assertTrue(unknown.getMessage().contains("'image'"), unknown.getMessage());

    // An Input-layer net only gets reshaped.
    NetParameter deploy = new NetBuilder().fcn(Fcn.FCN8S, Mode.DEPLOY);
    NetParameter reshaped = DeployNets.rewrite(deploy, Map.of("data", new long[] {2, 3, 64, 64}));
    assertEquals(List.of(2L, 3L, 64L, 64L), reshaped.getLayer(0).getInputParam().getShape(0).getDimList());
    assertEquals(deploy.getLayerCount(), reshaped.getLayerCount());
  }

  @Test
  void trainOnlyLayersAndV1DataLayersAreHandled() {
    NetParameter v1 = NetParameter.newBuilder().setName("old")
        .addLayers(V1LayerParameter.newBuilder().setName("d").setType(V1LayerParameter.LayerType.DATA)
            .addTop("data").addTop("label"))
        .addLayers(V1LayerParameter.newBuilder().setName("ip").setType(V1LayerParameter.LayerType.INNER_PRODUCT)
            .addBottom("data").addTop("ip"))
        .addLayers(V1LayerParameter.newBuilder().setName("loss").setType(V1LayerParameter.LayerType.SOFTMAX_LOSS)
            .addBottom("ip").addBottom("label").addTop("loss"))
        .build();
    NetParameter out = DeployNets.rewrite(v1, Map.of("data", new long[] {1, 2, 3, 4}));
    assertEquals(List.of("data"), out.getInputList());
    assertEquals(List.of(1L, 2L, 3L, 4L), out.getInputShape(0).getDimList());
    assertEquals(1, out.getLayersCount());

    NetParameter phased = NetParameter.newBuilder()
        .addLayer(LayerParameter.newBuilder().setName("train_data").setType("Data").addTop("data").addTop("label")
            .addInclude(fcn.proto.CaffeProto.NetStateRule.newBuilder().setPhase(fcn.proto.CaffeProto.Phase.TRAIN)))
        .addLayer(LayerParameter.newBuilder().setName("test_data").setType("Data").addTop("data").addTop("label")
            .addInclude(fcn.proto.CaffeProto.NetStateRule.newBuilder().setPhase(fcn.proto.CaffeProto.Phase.TEST)))
        .addLayer(LayerParameter.newBuilder().setName("relu").setType("ReLU").addBottom("data").addTop("out"))
        .addLayer(LayerParameter.newBuilder().setName("acc").setType("Accuracy").addBottom("out").addBottom("label"))
        .build();
    NetParameter p = DeployNets.rewrite(phased, Map.of("data", new long[] {1, 1, 2, 2}));
    assertEquals(List.of("test_data", "relu"), p.getLayerList().stream().map(LayerParameter::getName).toList());
    assertEquals("Input", p.getLayer(0).getType());
  }
}
