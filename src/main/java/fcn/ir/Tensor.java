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
 *
 * <p>A tensor can also hold its bytes in a buffer ({@link #of(DataType, long[], ByteBuffer)}),
 * e.g. a slice of a memory-mapped caffemodel, so that weights nobody rewrites go from the input
 * file to the output file without a heap copy; {@link #rawBytes()} copies such a buffer into a
 * byte array on first use (once). Thread-safe for readers.
 */
public final class Tensor {
  private final DataType type;
  private final long[] dims;
  private volatile byte[] raw;
  private final ByteBuffer buffer; // null when the bytes were given as an array

  public Tensor(DataType type, long[] dims, byte[] raw) {
    this(type, dims, raw, null, raw.length);
  }

  private Tensor(DataType type, long[] dims, byte[] raw, ByteBuffer buffer, long bytes) {
    this.type = type;
    this.dims = dims.clone();
    this.raw = raw;
    this.buffer = buffer;
    long n = numel(dims);
    if (type.size() > 0 && n * type.size() != bytes) {
      throw new IllegalArgumentException(
          "tensor of " + type + " " + Shape.format(dims) + " needs " + n * type.size()
              + " bytes, got " + bytes);
    }
  }

  /**
   * A tensor over {@code bytes}' remaining bytes (little-endian elements), which the tensor
   * keeps and never writes; the caller must not change them either.
   */
  public static Tensor of(DataType type, long[] dims, ByteBuffer bytes) {
    ByteBuffer b = bytes.slice().asReadOnlyBuffer();
    return new Tensor(type, dims, null, b, b.remaining());
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
    byte[] r = raw;
    if (r == null) {
      synchronized (this) {
        r = raw;
        if (r == null) {
          r = new byte[buffer.remaining()];
          buffer.duplicate().get(r);
          raw = r;
        }
      }
    }
    return r;
  }

  /** True when the bytes are (already) in an array: {@link #rawBytes()} costs no copy. */
  public boolean inArray() {
    return raw != null;
  }

  /** The number of bytes, without copying a buffer-held tensor into an array. */
  public long byteSize() {
    byte[] r = raw;
    return r != null ? r.length : buffer.remaining();
  }

  /** A read-only little-endian view of the bytes (no copy), position 0. */
  public ByteBuffer bytes() {
    byte[] r = raw;
    ByteBuffer b = r != null ? ByteBuffer.wrap(r).asReadOnlyBuffer() : buffer.duplicate();
    return b.order(ByteOrder.LITTLE_ENDIAN);
  }

  public FloatBuffer floatView() {
    requireType(DataType.FLOAT);
    return bytes().asFloatBuffer();
  }

  public float[] floats() {
    FloatBuffer v = floatView();
    float[] out = new float[v.remaining()];
    v.get(out);
    return out;
  }

  public long[] longs() {
    if (type == DataType.INT32) {
      var v = bytes().asIntBuffer();
      long[] out = new long[v.remaining()];
      for (int i = 0; i < out.length; i++) {
        out[i] = v.get(i);
      }
      return out;
    }
    requireType(DataType.INT64);
    LongBuffer v = bytes().asLongBuffer();
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
    byte[] r = raw;
    return r != null ? new Tensor(type, newDims, r) : new Tensor(type, newDims, null, buffer, buffer.remaining());
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
