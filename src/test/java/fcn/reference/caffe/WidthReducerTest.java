package fcn.reference.caffe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.models.NetBuilder;
import fcn.models.NetBuilder.Fcn;
import fcn.models.NetBuilder.Mode;
import fcn.models.Prototxt;
import fcn.proto.CaffeProto.ConvolutionParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class WidthReducerTest {
  private static final Path SHARED = Path.of("..", "shared");

  /** Reducing the full-width builder net equals building at reduced width: two independent paths. */
  @Test
  void reducingAFullNetEqualsBuildingItSmall() {
    WidthReducer r = new WidthReducer(16, 4);
    for (Fcn arch : Fcn.values()) {
      for (Mode mode : Mode.values()) {
        NetParameter full = new NetBuilder().fcn(arch, mode);
        assertEquals(new NetBuilder().widthDivisor(16).minWidth(4).fcn(arch, mode), r.reduce(full), arch + " " + mode);
      }
    }
    NetParameter vgg = new NetBuilder().vgg16();
    assertEquals(new NetBuilder().widthDivisor(16).minWidth(4).vgg16(), r.reduce(vgg));
    assertEquals(Set.of("fc8"), r.keptLayers(vgg));
  }

  @Test
  void publishedNetsKeepTheirClassLayers() {
    Assumptions.assumeTrue(Files.isDirectory(SHARED), "../shared not found: skipping width reduction of published nets");
    NetParameter siftflow = Prototxt.read(SHARED.resolve("caffe/fcn-berkeley/siftflow-fcn8s/test.prototxt"));
    NetParameter small = new WidthReducer(32, 4).reduce(siftflow);
    for (int i = 0; i < siftflow.getLayerCount(); i++) {
      LayerParameter a = siftflow.getLayer(i);
      LayerParameter b = small.getLayer(i);
      if (a.getName().startsWith("score") || a.getName().startsWith("upscore")) {
        assertEquals(a, b, a.getName() + " keeps its class count");
      } else if (a.hasConvolutionParam()) {
        assertEquals(Math.max(4, a.getConvolutionParam().getNumOutput() / 32), b.getConvolutionParam().getNumOutput());
        assertEquals(a.getConvolutionParam().getPadList(), b.getConvolutionParam().getPadList());
      }
    }
  }

  @Test
  void groupsStayValid() {
    NetParameter net = NetParameter.newBuilder()
        .addLayer(conv("dw", 64, 64))
        .addLayer(conv("g2", 96, 2))
        .addLayer(conv("last", 10, 1))
        .build();
    NetParameter out = new WidthReducer(10, 3).reduce(net);
    assertEquals(6, out.getLayer(0).getConvolutionParam().getNumOutput());
    assertEquals(6, out.getLayer(0).getConvolutionParam().getGroup());
    assertEquals(10, out.getLayer(1).getConvolutionParam().getNumOutput());
    assertEquals(10, out.getLayer(2).getConvolutionParam().getNumOutput(), "class count kept");
    assertTrue(out.getLayer(1).getConvolutionParam().getNumOutput() % 2 == 0);
  }

  private static LayerParameter conv(String name, int n, int group) {
    return LayerParameter.newBuilder().setName(name).setType("Convolution")
        .setConvolutionParam(ConvolutionParameter.newBuilder().setNumOutput(n).setGroup(group).addKernelSize(1))
        .build();
  }
}
