package fcn.validate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import fcn.ir.DataType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Reads the TensorProto written by the onnx Python package (tools/make-onnx-python-fixture.py)
 * and checks it against the same array saved by numpy: both files come from that script.
 */
class OnnxPythonFixtureTest {
  private static final Path DIR = Path.of("fixtures", "onnx-python");

  @Test
  void tensorProtoFromOnnxPythonMatchesNumpy() throws IOException {
    LoadedTensor pb = TensorProtoIO.read(DIR.resolve("data.pb"));
    LoadedTensor npy = NpyIO.readNpy(DIR.resolve("data.npy"));
    assertEquals("data", pb.name());
    assertEquals(DataType.FLOAT, pb.storedType());
    assertEquals(DataType.FLOAT, npy.storedType());
    assertArrayEquals(npy.tensor().shape(), pb.tensor().shape());
    assertEquals(4, pb.tensor().rank());
    assertArrayEquals(npy.tensor().data(), pb.tensor().data(), 0f);
    // And our .npy writer reproduces numpy's file byte for byte.
    assertArrayEquals(Files.readAllBytes(DIR.resolve("data.npy")), NpyIO.toNpy(npy.tensor()));
  }
}
