package fcn.report;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import fcn.core.FcnException;
import fcn.core.FileChecks;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * The numeric precision of an ONNX model, as the report's {@code precision} column and the
 * side-by-side bench show it, read from the graph itself (not the file name):
 *
 * <ul>
 *   <li>{@code int8}: a quantization operator (QuantizeLinear, DequantizeLinear,
 *       DynamicQuantizeLinear, QLinear*, ConvInteger, MatMulInteger) or an int8 initializer;
 *   <li>{@code fp16}: otherwise, a float16 initializer, graph input/output/value_info, or a Cast
 *       to float16;
 *   <li>{@code fp32}: otherwise.
 * </ul>
 *
 * <p>The file is scanned as a protobuf stream, skipping tensor payloads, so a 500 MB model costs
 * one sequential read and no copy of its weights. Stateless.
 */
public final class Precision {
  public static final String FP32 = "fp32";
  public static final String FP16 = "fp16";
  public static final String INT8 = "int8";

  private static final int INT8_TYPE = 3;
  private static final int FLOAT16_TYPE = 10;
  private static final Set<String> QUANT_OPS = Set.of("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
      "ConvInteger", "MatMulInteger");

  private Precision() {}

  /** The gate's view of a row's precision: an empty cell (a score row, an old report) is fp32. */
  public static String orFp32(String p) {
    return p == null || p.isEmpty() ? FP32 : p;
  }

  /**
   * The precision of the model in {@code onnx}.
   *
   * @throws FcnException if the file cannot be read or is not a protobuf
   */
  public static String detect(Path onnx) {
    FileChecks.requireFile(onnx, "an .onnx model file");
    Scan s = new Scan();
    try (InputStream in = new BufferedInputStream(Files.newInputStream(onnx), 1 << 16)) {
      CodedInputStream c = CodedInputStream.newInstance(in);
      c.setSizeLimit(Integer.MAX_VALUE);
      message(c, (t, cin) -> delimited(t, 7) && embedded(cin, s::graph)); // ModelProto.graph
    } catch (IOException e) {
      throw new FcnException(onnx + ": cannot read as an ONNX model: " + FileChecks.reason(e), e);
    }
    return s.int8 ? INT8 : s.fp16 ? FP16 : FP32;
  }

  /** What the scan has seen so far. */
  private static final class Scan {
    boolean int8;
    boolean fp16;

    boolean graph(int tag, CodedInputStream c) throws IOException {
      if (!delimited(tag)) {
        return false;
      }
      switch (WireFormat.getTagFieldNumber(tag)) {
        case 1 -> node(c);
        case 5 -> embedded(c, (t, cin) -> number(t, 2) && type(cin.readInt32())); // initializer.data_type
        case 11, 12, 13 -> embedded(c, (t, cin) -> delimited(t, 2) // ValueInfoProto.type
            && embedded(cin, (u, tin) -> delimited(u, 1) // TypeProto.tensor_type
                && embedded(tin, (v, ein) -> number(v, 1) && type(ein.readInt32())))); // elem_type
        default -> {
          return false;
        }
      }
      return true;
    }

    /** A node: its op type, and whether an attribute is {@code to = FLOAT16} (Cast's). */
    private void node(CodedInputStream c) throws IOException {
      String[] op = {""};
      boolean[] toFp16 = {false};
      embedded(c, (t, cin) -> {
        if (delimited(t, 4)) {
          op[0] = cin.readString();
          return true;
        }
        if (delimited(t, 5)) {
          String[] name = {""};
          long[] value = {-1};
          embedded(cin, (u, ain) -> {
            if (delimited(u, 1)) {
              name[0] = ain.readString();
            } else if (number(u, 3)) {
              value[0] = ain.readInt64();
            } else {
              return false;
            }
            return true;
          });
          toFp16[0] |= name[0].equals("to") && value[0] == FLOAT16_TYPE;
          return true;
        }
        return false;
      });
      if (QUANT_OPS.contains(op[0]) || op[0].startsWith("QLinear")) {
        int8 = true;
      }
      if (op[0].equals("Cast") && toFp16[0]) {
        fp16 = true;
      }
    }

    private boolean type(int t) {
      if (t == INT8_TYPE) {
        int8 = true;
      } else if (t == FLOAT16_TYPE) {
        fp16 = true;
      }
      return true;
    }
  }

  private static boolean delimited(int tag) {
    return WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
  }

  private static boolean delimited(int tag, int field) {
    return delimited(tag) && WireFormat.getTagFieldNumber(tag) == field;
  }

  private static boolean number(int tag, int field) {
    return WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_VARINT && WireFormat.getTagFieldNumber(tag) == field;
  }

  /** Handles one field (by its tag) of a message; returns false to have it skipped. */
  private interface Field {
    boolean read(int tag, CodedInputStream c) throws IOException;
  }

  private static boolean embedded(CodedInputStream c, Field f) throws IOException {
    int limit = c.pushLimit(c.readRawVarint32());
    message(c, f);
    c.popLimit(limit);
    return true;
  }

  private static void message(CodedInputStream c, Field f) throws IOException {
    while (true) {
      int tag = c.readTag();
      if (tag == 0) {
        return;
      }
      if (!f.read(tag, c)) {
        c.skipField(tag);
      }
    }
  }
}
