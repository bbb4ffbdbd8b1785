package fcn.ir;

import java.util.Arrays;

/**
 * An attribute that fcn does not interpret, kept as the bytes of its source encoding (for
 * ONNX: a serialized AttributeProto) so that the exporter can write it back exactly. The IR
 * does not know the format; the frontend that made it and the exporter do. The frontend may
 * add the value it decoded (one of the {@link AttrType} kinds), which {@link Attrs}' getters
 * return, so that shape rules can read an opaque node's kernel_shape or strides; the bytes
 * remain what is written. Immutable.
 */
public final class OpaqueAttr {
  private final byte[] bytes;
  private final Object value;

  /**
   * @param bytes the source encoding
   * @param value the decoded value (Long, Float, String, long[], float[], String[] or Tensor),
   *     or null when it has no such form (graphs, sparse tensors, types)
   */
  public OpaqueAttr(byte[] bytes, Object value) {
    this.bytes = bytes.clone();
    if (value != null && AttrType.of(value) == AttrType.OPAQUE) {
      throw new IllegalArgumentException("an opaque attribute's value cannot be opaque");
    }
    this.value = value;
  }

  /** The decoded value, or null. */
  public Object value() {
    return value;
  }

  public byte[] bytes() {
    return bytes.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof OpaqueAttr other && Arrays.equals(bytes, other.bytes);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    return "opaque(" + bytes.length + " bytes, #" + Integer.toHexString(hashCode()) + ")";
  }
}
