package fcn.ir;

/** Element types, with their ONNX TensorProto.DataType codes and sizes in bytes. */
public enum DataType {
  FLOAT(1, 4),
  UINT8(2, 1),
  INT8(3, 1),
  UINT16(4, 2),
  INT16(5, 2),
  INT32(6, 4),
  INT64(7, 8),
  STRING(8, 0),
  BOOL(9, 1),
  FLOAT16(10, 2),
  DOUBLE(11, 8),
  UINT32(12, 4),
  UINT64(13, 8),
  BFLOAT16(16, 2);

  private final int onnxCode;
  private final int size;

  DataType(int onnxCode, int size) {
    this.onnxCode = onnxCode;
    this.size = size;
  }

  public int onnxCode() {
    return onnxCode;
  }

  /** Bytes per element; 0 for STRING. */
  public int size() {
    return size;
  }

  /** The type for an ONNX code, or null when fcn does not know it. */
  public static DataType fromOnnx(int code) {
    for (DataType t : values()) {
      if (t.onnxCode == code) {
        return t;
      }
    }
    return null;
  }
}
