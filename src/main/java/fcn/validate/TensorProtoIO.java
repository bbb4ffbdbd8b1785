package fcn.validate;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import fcn.core.AtomicFile;
import fcn.core.FcnException;
import fcn.ir.DataType;
import fcn.ir.Shape;
import fcn.proto.OnnxProto.TensorProto;
import fcn.runtime.FloatTensor;
import fcn.runtime.Half;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads and writes serialized ONNX TensorProto files, the input_K.pb / output_K.pb files of the
 * ONNX model zoo and onnx_test_runner layout.
 *
 * <p>Reading accepts raw_data and the typed fields (float_data; int32_data for int8/16, uint8/16,
 * bool, float16 and bfloat16 bits; int64_data; double_data; uint64_data for uint32/64) and
 * converts to float. External data, segments and strings are refused. Writing emits FLOAT with
 * raw_data and the name set; the bytes are a pure function of (name, shape, values).
 */
public final class TensorProtoIO {
  private TensorProtoIO() {}

  /** Reads one TensorProto file. */
  public static LoadedTensor read(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new FcnException("cannot read " + file + ": " + e.getMessage(), e);
    }
    TensorProto p;
    try {
      p = TensorProto.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new FcnException(file + " is not a serialized ONNX TensorProto: " + e.getMessage(), e);
    }
    return fromProto(p, file.toString());
  }

  /** Converts a TensorProto to float; {@code source} names it in messages. */
  public static LoadedTensor fromProto(TensorProto p, String source) {
    if (p.getDataLocation() == TensorProto.DataLocation.EXTERNAL || p.getExternalDataCount() > 0) {
      throw new FcnException(source + ": tensor '" + p.getName()
          + "' keeps its data in an external file; fcn reads tensors with inline data only");
    }
    if (p.hasSegment()) {
      throw new FcnException(source + ": tensor '" + p.getName() + "' is a segment of a chunked tensor; not supported");
    }
    long[] dims = new long[p.getDimsCount()];
    for (int i = 0; i < dims.length; i++) {
      dims[i] = p.getDims(i);
      if (dims[i] < 0) {
        throw FcnException.of("%s: tensor '%s' has negative dimension %d", source, p.getName(), dims[i]);
      }
    }
    long count = FloatTensor.numel(dims);
    if (count > Integer.MAX_VALUE - 8) {
      throw FcnException.of("%s: tensor '%s' has %d elements; at most %d supported", source, p.getName(), count, Integer.MAX_VALUE - 8);
    }
    int n = (int) count;
    DataType type = DataType.fromOnnx(p.getDataType());
    if (type == null || type == DataType.STRING) {
      throw FcnException.of("%s: tensor '%s' has data_type %d%s; fcn reads numeric tensors "
          + "(float, float16, bfloat16, double, int8/16/32/64, uint8/16/32/64, bool)",
          source, p.getName(), p.getDataType(), type == DataType.STRING ? " (string)" : "");
    }
    float[] f = p.hasRawData() ? fromRaw(p.getRawData(), type, n, source, p.getName())
        : fromTyped(p, type, n, source);
    return new LoadedTensor(p.getName(), type, new FloatTensor(f, dims), source);
  }

  private static float[] fromRaw(ByteString raw, DataType type, int n, String source, String name) {
    long expected = (long) n * type.size();
    if (raw.size() != expected) {
      throw FcnException.of("%s: tensor '%s' (%s, %d elements) has %d bytes of raw_data, expected %d",
          source, name, type, n, raw.size(), expected);
    }
    return RawFloats.decode(raw.asReadOnlyByteBuffer(), type, n);
  }

  private static float[] fromTyped(TensorProto p, DataType type, int n, String source) {
    float[] f = new float[n];
    int have;
    switch (type) {
      case FLOAT -> {
        have = p.getFloatDataCount();
        check(have, n, "float_data", p, source);
        for (int i = 0; i < n; i++) {
          f[i] = p.getFloatData(i);
        }
      }
      case DOUBLE -> {
        have = p.getDoubleDataCount();
        check(have, n, "double_data", p, source);
        for (int i = 0; i < n; i++) {
          f[i] = (float) p.getDoubleData(i);
        }
      }
      case INT64 -> {
        have = p.getInt64DataCount();
        check(have, n, "int64_data", p, source);
        for (int i = 0; i < n; i++) {
          f[i] = p.getInt64Data(i);
        }
      }
      case UINT32, UINT64 -> {
        have = p.getUint64DataCount();
        check(have, n, "uint64_data", p, source);
        for (int i = 0; i < n; i++) {
          f[i] = RawFloats.unsigned(p.getUint64Data(i));
        }
      }
      default -> {
        // int32_data carries int32 and every type narrower than 32 bits (float16 as its bits).
        have = p.getInt32DataCount();
        check(have, n, "int32_data", p, source);
        for (int i = 0; i < n; i++) {
          int v = p.getInt32Data(i);
          f[i] = switch (type) {
            case FLOAT16 -> Half.toFloat(v);
            case BFLOAT16 -> Half.bf16ToFloat(v);
            case UINT8, BOOL -> v & 0xff;
            case UINT16 -> v & 0xffff;
            default -> v;
          };
        }
      }
    }
    return f;
  }

  private static void check(int have, int n, String field, TensorProto p, String source) {
    if (have != n) {
      throw FcnException.of("%s: tensor '%s' of shape %s has %d values in %s, expected %d",
          source, p.getName(), Shape.format(p.getDimsList().stream().mapToLong(Long::longValue).toArray()),
          have, field, n);
    }
  }

  /** A FLOAT TensorProto with raw_data (little-endian) and {@code name}. */
  public static TensorProto toProto(String name, FloatTensor t) {
    TensorProto.Builder p = TensorProto.newBuilder()
        .setDataType(TensorProto.DataType.FLOAT_VALUE)
        .setName(name)
        .setRawData(ByteString.copyFrom(RawFloats.encode(t)));
    for (long d : t.shape()) {
      p.addDims(d);
    }
    return p.build();
  }

  /** Writes {@code t} as a FLOAT TensorProto named {@code name}, atomically. */
  public static void write(Path file, String name, FloatTensor t) {
    AtomicFile.write(file, toProto(name, t).toByteArray());
  }

  /** Reads several files, in the given order. */
  public static List<LoadedTensor> readAll(List<Path> files) {
    return files.stream().map(TensorProtoIO::read).toList();
  }
}
