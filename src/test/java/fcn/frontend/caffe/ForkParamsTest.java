package fcn.frontend.caffe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.proto.CaffeProto.BlobProto;
import fcn.proto.CaffeProto.BlobShape;
import fcn.proto.CaffeProto.InputParameter;
import fcn.proto.CaffeProto.InterpParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.proto.CaffeProto.PSPNetBNParameter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How the forks' parameters are read: the text form's clashing names (two BN messages called
 * bn_param, DeepLab v1's hole) and the binary form's field numbers (PSPNet BN at 152, Interp
 * at 143, which BVLC's schema calls input_param).
 */
class ForkParamsTest {
  @TempDir Path tmp;

  @Test
  void pspnetBnParamIsToldApartByItsFields() {
    String segnet = "layer { type: \"BN\" bn_param { bn_mode: INFERENCE } }";
    String psp = "layer { type: \"BN\" bn_param {\n slope_filler { type: \"constant\" }\n"
        + " frozen: true } }";
    assertEquals(segnet, PrototxtReader.forkText(segnet));
    assertEquals(psp.replace("bn_param", "psp_bn_param"), PrototxtReader.forkText(psp));
    NetParameter n = CaffeTestNets.parseText(PrototxtReader.forkText(psp));
    assertTrue(n.getLayer(0).getPspBnParam().getFrozen());
  }

  @Test
  void stringsAndCommentsAreLeftAlone() {
    String text = "# bn_param { eps: 1 } hole: 2\nlayer { name: \"hole: 3 bn_param { eps: 1 }\""
        + " convolution_param { hole: 4 } }";
    assertEquals(text.replace("{ hole: 4", "{ dilation: 4"), PrototxtReader.forkText(text));
  }

  @Test
  void binaryForkFieldsAreReadByTheirNumbers() throws Exception {
    InterpParameter interp = InterpParameter.newBuilder().setZoomFactor(3).setPadBeg(-1)
        .setPadEnd(-1).build();
    NetParameter net = NetParameter.newBuilder().addInput("data").addInputDim(1).addInputDim(2)
        .addInputDim(6).addInputDim(7)
        .addLayer(LayerParameter.newBuilder().setName("bn").setType("BN").addBottom("data")
            .addTop("bn").setPspBnParam(PSPNetBNParameter.newBuilder().setEps(0.25f))
            .addBlobs(blob()).addBlobs(blob()).addBlobs(blob()).addBlobs(blob()))
        // The fork writes InterpParameter at 143: here its bytes ride in input_param's unknown
        // fields, which serialise to exactly that.
        .addLayer(LayerParameter.newBuilder().setName("up").setType("Interp").addBottom("bn")
            .addTop("up").setInputParam(InputParameter.parseFrom(interp.toByteString())))
        .build();
    byte[] bytes = net.toByteArray();
    assertTrue(contains(bytes, new byte[] {(byte) 0xfa, 0x08}), "field 143 tag"); // (143<<3)|2
    Path model = tmp.resolve("fork.caffemodel");
    Files.write(model, bytes);
    Graph g = CaffeImporter.importNet(null, model, CaffeImportOptions.defaults());
    // Crop 6x7 to 4x5, zoom 3: 10x13.
    assertArrayEquals(new long[] {1, 2, 10, 13}, g.value("up").shape().toArray());
    Node bn = g.nodes().stream().filter(n -> n.op() == Op.BATCH_NORMALIZATION).findFirst()
        .orElseThrow();
    assertEquals(0.25f, bn.attrs().getFloat("epsilon", 0f));
  }

  private static BlobProto blob() {
    return BlobProto.newBuilder().setShape(BlobShape.newBuilder().addDim(1).addDim(2).addDim(1)
        .addDim(1)).addData(1f).addData(2f).build();
  }

  private static boolean contains(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
