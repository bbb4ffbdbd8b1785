package fcn.ir;

/** ONNX attribute kinds that fcn reads and writes; each maps to one Java representation. */
public enum AttrType {
  INT(Long.class),
  FLOAT(Float.class),
  STRING(String.class),
  INTS(long[].class),
  FLOATS(float[].class),
  STRINGS(String[].class),
  TENSOR(Tensor.class),
  /** An attribute of an {@link Op#OPAQUE} node, kept as the bytes it came in. */
  OPAQUE(OpaqueAttr.class);

  private final Class<?> javaType;

  AttrType(Class<?> javaType) {
    this.javaType = javaType;
  }

  public Class<?> javaType() {
    return javaType;
  }

  /** The kind of a stored attribute value. */
  public static AttrType of(Object v) {
    for (AttrType t : values()) {
      if (t.javaType.isInstance(v)) {
        return t;
      }
    }
    throw new IllegalArgumentException("unsupported attribute value " + v.getClass().getSimpleName());
  }
}
