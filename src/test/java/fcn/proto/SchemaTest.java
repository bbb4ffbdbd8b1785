package fcn.proto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.TextFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Sanity checks for the hand-written Caffe and ONNX schemas. */
class SchemaTest {

  private static final Path SHARED = Path.of("..", "shared");

  /** Every published BVLC prototxt we rely on must parse: TextFormat rejects unknown fields. */
  @Test
  void publishedPrototxtsParse() throws IOException {
    Assumptions.assumeTrue(Files.isDirectory(SHARED),
        "../shared not found: skipping the published-prototxt parse test");
    List<Path> files = new ArrayList<>();
    for (String dir : List.of("caffe/fcn-berkeley", "caffe/vgg16")) {
      Path root = SHARED.resolve(dir);
      if (!Files.isDirectory(root)) continue;
      try (Stream<Path> s = Files.walk(root)) {
        s.filter(p -> p.toString().endsWith(".prototxt")).sorted().forEach(files::add);
      }
    }
    Assumptions.assumeFalse(files.isEmpty(), "no prototxt under ../shared/caffe: skipping");
    for (Path p : files) {
      CaffeProto.NetParameter.Builder b = CaffeProto.NetParameter.newBuilder();
      try {
        TextFormat.getParser().merge(Files.readString(p), b);
      } catch (TextFormat.ParseException e) {
        throw new AssertionError(p + ": " + e.getMessage(), e);
      }
      CaffeProto.NetParameter net = b.build();
      assertTrue(net.getLayerCount() + net.getLayersCount() > 0, p + " has no layers");
    }
  }

  @Test
  void caffeDefaultsMatchUpstream() {
    assertTrue(CaffeProto.ConvolutionParameter.getDefaultInstance().getBiasTerm());
    assertEquals(1, CaffeProto.ConvolutionParameter.getDefaultInstance().getGroup());
    assertEquals(CaffeProto.PoolingParameter.PoolMethod.MAX,
        CaffeProto.PoolingParameter.getDefaultInstance().getPool());
    assertEquals(0.75f, CaffeProto.LRNParameter.getDefaultInstance().getBeta());
    assertEquals(2, CaffeProto.CropParameter.getDefaultInstance().getAxis());
    assertEquals(4, CaffeProto.V1LayerParameter.LayerType.CONVOLUTION.getNumber());
    assertEquals(39, CaffeProto.V1LayerParameter.LayerType.DECONVOLUTION.getNumber());
    // Caffe writes blob data packed: field 5, wire type 2.
    byte[] wire = CaffeProto.BlobProto.newBuilder().addData(1f).addData(2f).build().toByteArray();
    assertEquals((5 << 3) | 2, wire[0]);
  }

  @Test
  void onnxModelRoundTrip() throws Exception {
    float[] values = {1.5f, -2f, 3.25f};
    ByteBuffer raw = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) raw.putFloat(v);
    OnnxProto.TensorProto w = OnnxProto.TensorProto.newBuilder()
        .setName("w").addDims(3).setDataType(OnnxProto.TensorProto.DataType.FLOAT_VALUE)
        .setRawData(ByteString.copyFrom(raw.array())).build();
    OnnxProto.TypeProto fType = OnnxProto.TypeProto.newBuilder()
        .setTensorType(OnnxProto.TypeProto.Tensor.newBuilder()
            .setElemType(OnnxProto.TensorProto.DataType.FLOAT_VALUE)
            .setShape(OnnxProto.TensorShapeProto.newBuilder()
                .addDim(OnnxProto.TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
                .addDim(OnnxProto.TensorShapeProto.Dimension.newBuilder().setDimValue(3))))
        .build();
    OnnxProto.ModelProto model = OnnxProto.ModelProto.newBuilder()
        .setIrVersion(8).setProducerName("fcn")
        .addOpsetImport(OnnxProto.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13))
        .addMetadataProps(OnnxProto.StringStringEntryProto.newBuilder().setKey("k").setValue("v"))
        .setGraph(OnnxProto.GraphProto.newBuilder().setName("g")
            .addInitializer(w)
            .addInput(OnnxProto.ValueInfoProto.newBuilder().setName("x").setType(fType))
            .addOutput(OnnxProto.ValueInfoProto.newBuilder().setName("y").setType(fType))
            .addNode(OnnxProto.NodeProto.newBuilder().setOpType("Add").addInput("x").addInput("w")
                .addOutput("y").addAttribute(OnnxProto.AttributeProto.newBuilder().setName("a")
                    .setType(OnnxProto.AttributeProto.AttributeType.INTS).addInts(1).addInts(2))))
        .build();

    OnnxProto.ModelProto back = OnnxProto.ModelProto.parseFrom(model.toByteArray());
    assertEquals(model, back);
    assertEquals(8, back.getIrVersion());
    assertEquals(13, back.getOpsetImport(0).getVersion());
    assertEquals("v", back.getMetadataProps(0).getValue());
    OnnxProto.TensorProto w2 = back.getGraph().getInitializer(0);
    assertEquals(OnnxProto.TensorProto.DataType.FLOAT_VALUE, w2.getDataType());
    ByteBuffer rb = w2.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) assertEquals(v, rb.getFloat());
    OnnxProto.TensorShapeProto shape = back.getGraph().getInput(0).getType().getTensorType().getShape();
    assertEquals("N", shape.getDim(0).getDimParam());
    assertFalse(shape.getDim(0).hasDimValue());
    assertEquals(3, shape.getDim(1).getDimValue());
    assertEquals(List.of(1L, 2L), back.getGraph().getNode(0).getAttribute(0).getIntsList());
    // float_data is packed upstream: field 4, wire type 2.
    byte[] wire = OnnxProto.TensorProto.newBuilder().addFloatData(1f).build().toByteArray();
    assertEquals((4 << 3) | 2, wire[0]);
  }
}
