package fcn.validate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import fcn.core.FcnException;
import fcn.ir.DataType;
import fcn.proto.OnnxProto.StringStringEntryProto;
import fcn.proto.OnnxProto.TensorProto;
import fcn.runtime.FloatTensor;
import fcn.runtime.Half;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TensorProtoIOTest {
  @TempDir Path tmp;

  private static TensorProto.Builder proto(String name, TensorProto.DataType type, long... dims) {
    TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(type.getNumber());
    for (long d : dims) {
      b.addDims(d);
    }
    return b;
  }

  private static float[] values(LoadedTensor t) {
    return t.tensor().data();
  }

  @Test
  void rawRoundTripIsExactNamedAndDeterministic() throws IOException {
    float[] v = {0f, -1.5f, 3.25f, Float.MIN_VALUE, Float.MAX_VALUE, -0f, 1e-30f, 7f, 8f, 9f, 10f, 11f};
    FloatTensor t = new FloatTensor(v, 1, 3, 2, 2);
    Path f1 = tmp.resolve("a/output_0.pb");
    Path f2 = tmp.resolve("b/output_0.pb");
    TensorProtoIO.write(f1, "score", t);
    TensorProtoIO.write(f2, "score", new FloatTensor(v.clone(), 1, 3, 2, 2));
    assertArrayEquals(Files.readAllBytes(f1), Files.readAllBytes(f2), "same tensor, same bytes");

    TensorProto p = TensorProto.parseFrom(Files.readAllBytes(f1));
    assertTrue(p.hasRawData());
    assertEquals(0, p.getFloatDataCount());
    assertEquals("score", p.getName());

    LoadedTensor back = TensorProtoIO.read(f1);
    assertEquals("score", back.name());
    assertEquals(DataType.FLOAT, back.storedType());
    assertArrayEquals(new long[] {1, 3, 2, 2}, back.tensor().shape());
    assertArrayEquals(v, values(back), 0f);
    assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(values(back)[5]));
  }

  @Test
  void typedFields() {
    float[] v = {1.5f, -2f, 0.25f, 1e20f};
    TensorProto.Builder fl = proto("f", TensorProto.DataType.FLOAT, 2, 2);
    for (float x : v) {
      fl.addFloatData(x);
    }
    assertArrayEquals(v, values(TensorProtoIO.fromProto(fl.build(), "t")), 0f);

    TensorProto.Builder d = proto("d", TensorProto.DataType.DOUBLE, 4);
    for (float x : v) {
      d.addDoubleData(x);
    }
    LoadedTensor dt = TensorProtoIO.fromProto(d.build(), "t");
    assertEquals(DataType.DOUBLE, dt.storedType());
    assertArrayEquals(v, values(dt), 0f);

    TensorProto i64 = proto("i", TensorProto.DataType.INT64, 3).addInt64Data(-7).addInt64Data(0).addInt64Data(1L << 40).build();
    assertArrayEquals(new float[] {-7f, 0f, (float) (1L << 40)}, values(TensorProtoIO.fromProto(i64, "t")), 0f);

    TensorProto i32 = proto("i", TensorProto.DataType.INT32, 2).addInt32Data(-3).addInt32Data(12).build();
    assertArrayEquals(new float[] {-3f, 12f}, values(TensorProtoIO.fromProto(i32, "t")), 0f);

    TensorProto u8 = proto("u", TensorProto.DataType.UINT8, 2).addInt32Data(255).addInt32Data(7).build();
    assertArrayEquals(new float[] {255f, 7f}, values(TensorProtoIO.fromProto(u8, "t")), 0f);

    // A scalar (no dims) holds one value.
    TensorProto scalar = proto("s", TensorProto.DataType.FLOAT).addFloatData(4f).build();
    assertEquals(0, TensorProtoIO.fromProto(scalar, "t").tensor().rank());
  }

  @Test
  void float16FromRawDataAndFromInt32Data() {
    // Values exactly representable in binary16: 1, -2.5, 2^-10, 65504 (largest half), 2^-24 (smallest subnormal)
    float[] v = {1f, -2.5f, 0.0009765625f, 65504f, 5.9604645e-08f};
    ByteBuffer raw = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    TensorProto.Builder typed = proto("h", TensorProto.DataType.FLOAT16, v.length);
    for (float x : v) {
      short bits = Half.fromFloat(x);
      raw.putShort(bits);
      typed.addInt32Data(bits & 0xffff); // onnx stores the bits zero-extended in int32_data
    }
    TensorProto fromRaw = proto("h", TensorProto.DataType.FLOAT16, v.length).setRawData(ByteString.copyFrom(raw.array())).build();
    LoadedTensor a = TensorProtoIO.fromProto(fromRaw, "raw");
    LoadedTensor b = TensorProtoIO.fromProto(typed.build(), "typed");
    assertEquals(DataType.FLOAT16, a.storedType());
    assertArrayEquals(v, values(a), 0f);
    assertArrayEquals(v, values(b), 0f);
  }

  @Test
  void rawDataOfOtherTypes() {
    ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putDouble(-0.5).putDouble(3.0);
    TensorProto d = proto("d", TensorProto.DataType.DOUBLE, 2).setRawData(ByteString.copyFrom(b.array())).build();
    assertArrayEquals(new float[] {-0.5f, 3f}, values(TensorProtoIO.fromProto(d, "t")), 0f);
    ByteBuffer l = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-2).putLong(5);
    TensorProto i = proto("i", TensorProto.DataType.INT64, 2).setRawData(ByteString.copyFrom(l.array())).build();
    assertArrayEquals(new float[] {-2f, 5f}, values(TensorProtoIO.fromProto(i, "t")), 0f);
    TensorProto bool = proto("b", TensorProto.DataType.BOOL, 3).setRawData(ByteString.copyFrom(new byte[] {1, 0, 1})).build();
    assertArrayEquals(new float[] {1f, 0f, 1f}, values(TensorProtoIO.fromProto(bool, "t")), 0f);
  }

  @Test
  void malformedTensorsAreRefusedClearly() throws IOException {
    TensorProto short1 = proto("x", TensorProto.DataType.FLOAT, 2, 2).setRawData(ByteString.copyFrom(new byte[12])).build();
    FcnException e = assertThrows(FcnException.class, () -> TensorProtoIO.fromProto(short1, "f.pb"));
    assertTrue(e.getMessage().contains("f.pb") && e.getMessage().contains("12 bytes") && e.getMessage().contains("expected 16"), e.getMessage());

    TensorProto typed = proto("x", TensorProto.DataType.FLOAT, 3).addFloatData(1).build();
    e = assertThrows(FcnException.class, () -> TensorProtoIO.fromProto(typed, "g.pb"));
    assertTrue(e.getMessage().contains("1 values in float_data, expected 3"), e.getMessage());

    TensorProto ext = proto("x", TensorProto.DataType.FLOAT, 1).setDataLocation(TensorProto.DataLocation.EXTERNAL)
        .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue("w.bin")).build();
    e = assertThrows(FcnException.class, () -> TensorProtoIO.fromProto(ext, "h.pb"));
    assertTrue(e.getMessage().contains("external"), e.getMessage());

    TensorProto str = proto("x", TensorProto.DataType.STRING, 1).addStringData(ByteString.copyFromUtf8("a")).build();
    e = assertThrows(FcnException.class, () -> TensorProtoIO.fromProto(str, "s.pb"));
    assertTrue(e.getMessage().contains("string"), e.getMessage());

    Path junk = Files.writeString(tmp.resolve("junk.pb"), "not a tensor");
    e = assertThrows(FcnException.class, () -> TensorProtoIO.read(junk));
    assertTrue(e.getMessage().contains(junk.toString()), e.getMessage());
  }
}
