package fcn.ir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;

/**
 * Constant tensor data: a type, dims and the elements as little-endian bytes, the layout of
 * ONNX raw_data. Keeping raw bytes (not boxed lists) lets a 540 MB caffemodel pass through
 * with one copy. The byte array is owned by the tensor and must not be changed after
 * construction; accessors return views or copies.
 */
public final class Tensor {
  private final DataType type;
  private final long[] dims;
  private final byte[] raw;

  public Tensor(DataType type, long[] dims, byte[] raw) {
    this.type = type;
    this.dims = dims.clone();
    this.raw = raw;
    long n = numel(dims);
    if (type.size() > 0 && n * type.size() != raw.length) {
      throw new IllegalArgumentException(
          "tensor of " + type + " " + Shape.format(dims) + " needs " + n * type.size()
              + " bytes, got " + raw.length);
    }
  }

  public static Tensor ofFloats(long[] dims, float[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return new Tensor(DataType.FLOAT, dims, b.array());
  }

  public static Tensor ofLongs(long[] dims, long[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    b.asLongBuffer().put(values);
    return new Tensor(DataType.INT64, dims, b.array());
  }

  /** A 1-D INT64 tensor, the usual form of shape, axes and pads inputs. */
  public static Tensor vector(long... values) {
    return ofLongs(new long[] {values.length}, values);
  }

  public static Tensor scalar(float value) {
    return ofFloats(new long[0], new float[] {value});
  }

  public DataType type() {
    return type;
  }

  public long[] dims() {
    return dims.clone();
  }

  public int rank() {
    return dims.length;
  }

  public long numel() {
    return numel(dims);
  }

  public Shape shape() {
    return Shape.of(dims);
  }

  /** The raw little-endian bytes; callers must not modify them. */
  public byte[] rawBytes() {
    return raw;
  }

  public FloatBuffer floatView() {
    requireType(DataType.FLOAT);
    return ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
  }

  public float[] floats() {
    FloatBuffer v = floatView();
    float[] out = new float[v.remaining()];
    v.get(out);
    return out;
  }

  public long[] longs() {
    if (type == DataType.INT32) {
      var v = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
      long[] out = new long[v.remaining()];
      for (int i = 0; i < out.length; i++) {
        out[i] = v.get(i);
      }
      return out;
    }
    requireType(DataType.INT64);
    LongBuffer v = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer();
    long[] out = new long[v.remaining()];
    v.get(out);
    return out;
  }

  /** The same bytes under new dims (same element count): FCN's net-surgery reshape. */
  public Tensor reshape(long... newDims) {
    if (numel(newDims) != numel()) {
      throw new IllegalArgumentException(
          "cannot reshape " + Shape.format(dims) + " to " + Shape.format(newDims));
    }
    return new Tensor(type, newDims, raw);
  }

  private void requireType(DataType t) {
    if (type != t) {
      throw new IllegalStateException("tensor is " + type + ", not " + t);
    }
  }

  static long numel(long[] dims) {
    long n = 1;
    for (long d : dims) {
      n *= d;
    }
    return n;
  }

  @Override
  public String toString() {
    return type + Arrays.toString(dims);
  }
}
