package fcn.validate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.ir.DataType;
import fcn.runtime.FloatTensor;
import fcn.runtime.Half;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyIOTest {
  @TempDir Path tmp;

  /** A .npy v1.0 file as numpy lays it out: magic, header dict padded to 64, data. */
  static byte[] npy(String descr, boolean fortran, String shape, byte[] data) {
    String dict = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
    int pad = (64 - (10 + dict.length() + 1) % 64) % 64;
    String header = dict + " ".repeat(pad) + "\n";
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
    out.write(header.length() & 0xff);
    out.write(header.length() >> 8);
    out.writeBytes(header.getBytes(StandardCharsets.ISO_8859_1));
    out.writeBytes(data);
    return out.toByteArray();
  }

  private static ByteBuffer le(int bytes) {
    return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  @Test
  void readsTheDtypesPycaffeUsersDump() throws IOException {
    float[] v = {1.5f, -2f, 0.25f, 8f, 0f, -0.125f};
    ByteBuffer f4 = le(24);
    ByteBuffer f8 = le(48);
    ByteBuffer f2 = le(12);
    for (float x : v) {
      f4.putFloat(x);
      f8.putDouble(x);
      f2.putShort(Half.fromFloat(x));
    }
    ByteBuffer i8 = le(48);
    long[] ints = {-3, 0, 7, 1L << 30, 42, -1};
    for (long x : ints) {
      i8.putLong(x);
    }
    Object[][] cases = {{"<f4", f4, DataType.FLOAT}, {"<f8", f8, DataType.DOUBLE}, {"<f2", f2, DataType.FLOAT16}};
    for (Object[] c : cases) {
      Path p = Files.write(tmp.resolve(c[0].toString().substring(1) + ".npy"), npy((String) c[0], false, "(2, 3)", ((ByteBuffer) c[1]).array()));
      LoadedTensor t = NpyIO.readNpy(p);
      assertEquals(c[2], t.storedType());
      assertEquals("", t.name());
      assertArrayEquals(new long[] {2, 3}, t.tensor().shape());
      assertArrayEquals(v, t.tensor().data(), 0f, c[0].toString());
    }
    LoadedTensor li = NpyIO.readNpy(Files.write(tmp.resolve("i8.npy"), npy("<i8", false, "(6,)", i8.array())));
    assertEquals(DataType.INT64, li.storedType());
    for (int i = 0; i < ints.length; i++) {
      assertEquals((float) ints[i], li.tensor().data()[i], 0f);
    }
    LoadedTensor scalar = NpyIO.readNpy(Files.write(tmp.resolve("s.npy"), npy("<f4", false, "()", le(4).putFloat(3f).array())));
    assertEquals(0, scalar.tensor().rank());
    assertEquals(3f, scalar.tensor().data()[0]);
  }

  @Test
  void refusesFortranOrderAndBigEndianClearly() throws IOException {
    Path f = Files.write(tmp.resolve("f.npy"), npy("<f4", true, "(2, 2)", new byte[16]));
    FcnException e = assertThrows(FcnException.class, () -> NpyIO.readNpy(f));
    assertTrue(e.getMessage().contains("Fortran") && e.getMessage().contains("np.ascontiguousarray"), e.getMessage());
    Path b = Files.write(tmp.resolve("b.npy"), npy(">f4", false, "(1,)", new byte[4]));
    e = assertThrows(FcnException.class, () -> NpyIO.readNpy(b));
    assertTrue(e.getMessage().contains("'>f4'"), e.getMessage());
    Path c = Files.write(tmp.resolve("c.npy"), npy("<c8", false, "(1,)", new byte[8]));
    e = assertThrows(FcnException.class, () -> NpyIO.readNpy(c));
    assertTrue(e.getMessage().contains("'<c8'"), e.getMessage());
    Path t = Files.write(tmp.resolve("t.npy"), npy("<f4", false, "(4,)", new byte[8]));
    e = assertThrows(FcnException.class, () -> NpyIO.readNpy(t));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
  }

  @Test
  void npzEntriesAreNamedAfterTheirKeys() throws IOException {
    Path z = tmp.resolve("outputs.npz");
    try (OutputStream os = Files.newOutputStream(z); ZipOutputStream zip = new ZipOutputStream(os)) {
      ZipEntry stored = new ZipEntry("score.npy");
      zip.putNextEntry(stored); // deflated, as np.savez_compressed writes
      zip.write(NpyIO.toNpy(new FloatTensor(new float[] {1, 2, 3, 4}, 1, 1, 2, 2)));
      zip.closeEntry();
      zip.putNextEntry(new ZipEntry("upscore.npy"));
      zip.write(NpyIO.toNpy(new FloatTensor(new float[] {5, 6}, 2)));
      zip.closeEntry();
    }
    List<LoadedTensor> ts = NpyIO.readNpz(z);
    assertEquals(List.of("score", "upscore"), ts.stream().map(LoadedTensor::name).toList());
    assertArrayEquals(new long[] {1, 1, 2, 2}, ts.get(0).tensor().shape());
    assertArrayEquals(new float[] {5, 6}, ts.get(1).tensor().data(), 0f);
  }

  @Test
  void writerMatchesTheHeaderLayoutForEveryRank() {
    for (long[] shape : new long[][] {{}, {3}, {1, 2}, {1, 2, 3, 4}}) {
      FloatTensor t = new FloatTensor(new float[(int) FloatTensor.numel(shape)], shape);
      byte[] b = NpyIO.toNpy(t);
      assertEquals(0, (b.length - t.size() * 4) % 64, "data starts at a multiple of 64");
    }
    String h = new String(NpyIO.toNpy(new FloatTensor(new float[3], 3)), StandardCharsets.ISO_8859_1);
    assertTrue(h.contains("'shape': (3,), }"), h);
  }
}
