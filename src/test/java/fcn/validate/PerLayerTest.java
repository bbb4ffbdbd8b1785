package fcn.validate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.NodeProto;
import fcn.proto.OnnxProto.TensorProto;
import fcn.runtime.FloatTensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pieces of per-layer comparison that need no runtime: groups, file headers, model cuts. */
class PerLayerTest {
  static final Path FCN8S = Path.of("fixtures", "caffe", "fcn8s", "model.onnx");
  @TempDir Path tmp;

  @Test
  void groupsStayWithinTheBudgetInOrderAndALargeTensorGoesAlone() {
    List<String> names = List.of("a", "b", "c", "d", "e");
    Map<String, Long> bytes = Map.of("a", 40L, "b", 50L, "c", 300L, "d", 10L, "e", 20L);
    List<List<String>> g = PerLayer.groups(names, bytes, 100);
    assertEquals(List.of(List.of("a", "b"), List.of("c"), List.of("d", "e")), g);
    // Unknown sizes count as the largest known one.
    assertEquals(List.of(List.of("a"), List.of("x"), List.of("b")),
        PerLayer.groups(List.of("a", "x", "b"), Map.of("a", 60L, "b", 70L), 100));
  }

  @Test
  void theHeaderScanReadsNameAndShapeAsTheFullReaderDoes() throws Exception {
    FloatTensor t = FixtureGenerator.random(new long[] {1, 3, 5, 7}, new SplittableRandom(3), -1, 1);
    Path f = tmp.resolve("output_0.pb");
    TensorProtoIO.write(f, "score_pool4c", t);
    BlobFixtures.Entry e = BlobFixtures.header(f);
    assertEquals("score_pool4c", e.name());
    assertArrayEquals(TensorProtoIO.read(f).tensor().shape(), e.shape());
    assertEquals(4L * 105, e.bytes());
    // Unpacked dims (another writer's choice) read the same.
    com.google.protobuf.ByteString.Output out = com.google.protobuf.ByteString.newOutput();
    com.google.protobuf.CodedOutputStream c = com.google.protobuf.CodedOutputStream.newInstance(out);
    c.writeInt64(1, 2);
    c.writeInt64(1, 3);
    c.writeInt32(2, TensorProto.DataType.FLOAT_VALUE);
    c.writeString(8, "x");
    c.writeByteArray(9, new byte[24]);
    c.flush();
    Path g = tmp.resolve("output_1.pb");
    Files.write(g, out.toByteString().toByteArray());
    assertArrayEquals(new long[] {2, 3}, BlobFixtures.header(g).shape());
    assertArrayEquals(new long[] {2, 3}, TensorProtoIO.read(g).tensor().shape());
  }

  @Test
  void aCutKeepsOnlyWhatItsOutputsNeedAndTheFileIsUntouched() throws Exception {
    byte[] before = Files.readAllBytes(FCN8S);
    TappedModel m = TappedModel.read(FCN8S);
    List<String> floats = m.floatTensors();
    assertTrue(floats.contains("conv1_1") && floats.contains("score_pool4c"), floats.toString());
    assertTrue(!floats.contains("score_pool4c.ref_shape") && !floats.contains("score_pool4c.ends"),
        "shape arithmetic is int64: " + floats);
    Path cut = tmp.resolve("cut.onnx");
    m.writeCut(List.of("pool1"), cut);
    ModelProto c = ModelProto.parseFrom(Files.readAllBytes(cut));
    assertEquals(List.of("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"),
        c.getGraph().getNodeList().stream().map(NodeProto::getName).toList());
    assertEquals(4, c.getGraph().getInitializerCount(), "conv1_1 and conv1_2 weights and biases only");
    assertEquals("pool1", c.getGraph().getOutput(0).getName());
    assertArrayEquals(before, Files.readAllBytes(FCN8S));

    // What score_pool4c is computed from: the compared tensors nearest to it.
    TappedModel.Ancestry a = m.ancestry("score_pool4c", new HashSet<>(List.of("score_pool4", "upscore2", "pool4")));
    assertEquals(List.of("score_pool4", "upscore2"), a.inputs().stream().sorted().toList());
    assertEquals(List.of("score_pool4c"), a.nodes().stream().map(NodeProto::getName).toList());
  }
}
