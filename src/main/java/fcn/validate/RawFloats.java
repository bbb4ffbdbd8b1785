package fcn.validate;

import fcn.ir.DataType;
import fcn.ir.Tensor;
import fcn.runtime.FloatTensor;
import fcn.runtime.Half;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Little-endian element bytes to and from float, shared by the .npy and TensorProto readers and
 * writers so that both formats convert every dtype the same way.
 */
final class RawFloats {
  private RawFloats() {}

  /**
   * The first {@code n} elements of {@code type} in {@code raw} (little-endian, from its
   * position) as float. The caller has checked that {@code raw} holds them.
   */
  static float[] decode(ByteBuffer raw, DataType type, int n) {
    ByteBuffer b = raw.slice().order(ByteOrder.LITTLE_ENDIAN);
    float[] f = new float[n];
    switch (type) {
      case FLOAT -> b.asFloatBuffer().get(f);
      case DOUBLE -> {
        for (int i = 0; i < n; i++) {
          f[i] = (float) b.getDouble(i * 8);
        }
      }
      case FLOAT16 -> {
        for (int i = 0; i < n; i++) {
          f[i] = Half.toFloat(b.getShort(i * 2));
        }
      }
      case BFLOAT16 -> {
        for (int i = 0; i < n; i++) {
          f[i] = Half.bf16ToFloat(b.getShort(i * 2));
        }
      }
      case INT8 -> {
        for (int i = 0; i < n; i++) {
          f[i] = b.get(i);
        }
      }
      case UINT8, BOOL -> {
        for (int i = 0; i < n; i++) {
          f[i] = b.get(i) & 0xff;
        }
      }
      case INT16 -> {
        for (int i = 0; i < n; i++) {
          f[i] = b.getShort(i * 2);
        }
      }
      case UINT16 -> {
        for (int i = 0; i < n; i++) {
          f[i] = b.getShort(i * 2) & 0xffff;
        }
      }
      case INT32 -> {
        for (int i = 0; i < n; i++) {
          f[i] = b.getInt(i * 4);
        }
      }
      case UINT32 -> {
        for (int i = 0; i < n; i++) {
          f[i] = b.getInt(i * 4) & 0xffffffffL;
        }
      }
      case INT64 -> {
        for (int i = 0; i < n; i++) {
          f[i] = b.getLong(i * 8);
        }
      }
      case UINT64 -> {
        for (int i = 0; i < n; i++) {
          f[i] = unsigned(b.getLong(i * 8));
        }
      }
      default -> throw new AssertionError(type);
    }
    return f;
  }

  /** An unsigned 64-bit value, rounded to float. */
  static float unsigned(long v) {
    return v >= 0 ? v : (float) ((v >>> 1) * 2.0 + (v & 1));
  }

  /** The float32 little-endian bytes of {@code t}'s values. */
  static byte[] encode(FloatTensor t) {
    return Tensor.ofFloats(t.shape(), t.data()).rawBytes();
  }
}
