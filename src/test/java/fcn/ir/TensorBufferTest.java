package fcn.ir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** A tensor over a buffer (a mapped caffemodel's slice) reads like one over an array. */
class TensorBufferTest {
  private static ByteBuffer direct(float... v) {
    ByteBuffer b = ByteBuffer.allocateDirect(8 + v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(-1L); // bytes before the slice, as a blob sits inside its file
    for (float f : v) {
      b.putFloat(f);
    }
    return b.position(8);
  }

  @Test
  void bufferTensorReadsLikeAnArrayTensor() {
    float[] v = {1.5f, -2f, 3.25f, 0f, 7f, -0.125f};
    Tensor t = Tensor.of(DataType.FLOAT, new long[] {2, 3}, direct(v));
    Tensor a = Tensor.ofFloats(new long[] {2, 3}, v);
    assertFalse(t.inArray());
    assertEquals(24, t.byteSize());
    assertArrayEquals(v, t.floats());
    assertFalse(t.inArray(), "floats() reads the buffer, it does not copy it into an array");
    assertTrue(t.bytes().isReadOnly());
    Tensor r = t.reshape(3, 2);
    assertFalse(r.inArray(), "reshape shares the buffer");
    assertArrayEquals(v, r.floats());
    assertArrayEquals(a.rawBytes(), t.rawBytes());
    assertTrue(t.inArray());
    assertEquals(24, t.byteSize());
  }

  @Test
  void bufferSizeMustMatchTheDims() {
    assertThrows(IllegalArgumentException.class, () -> Tensor.of(DataType.FLOAT, new long[] {2, 2}, direct(1f, 2f, 3f)));
  }
}
