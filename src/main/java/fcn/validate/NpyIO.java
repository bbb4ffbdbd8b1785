package fcn.validate;

import fcn.core.AtomicFile;
import fcn.core.FcnException;
import fcn.ir.DataType;
import fcn.runtime.FloatTensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Reads NumPy .npy arrays and .npz archives (a zip of .npy entries, as written by np.savez and
 * np.savez_compressed), the format pycaffe users dump blobs in. Values become float.
 *
 * <p>Accepted dtypes: little-endian (or byte-order-free) f4, f8, f2, i8, i4, i2, i1, u1, u2 and
 * b1, C order only. A .npy has no tensor name (matched by position); an .npz entry is named
 * after its key ("score.npy" -> "score"). Writing (float32, C order, format 1.0) is for tests
 * and tools.
 */
public final class NpyIO {
  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

  private NpyIO() {}

  /** Reads one .npy file (name ""). */
  public static LoadedTensor readNpy(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      return parse(in, "", file.toString());
    } catch (IOException e) {
      throw new FcnException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /** Reads every .npy entry of an .npz, in archive order, named after the entry. */
  public static List<LoadedTensor> readNpz(Path file) {
    List<LoadedTensor> out = new ArrayList<>();
    try (ZipFile zip = new ZipFile(file.toFile())) {
      Enumeration<? extends ZipEntry> entries = zip.entries();
      while (entries.hasMoreElements()) {
        ZipEntry e = entries.nextElement();
        if (e.isDirectory()) {
          continue;
        }
        String key = e.getName();
        if (!key.endsWith(".npy")) {
          throw FcnException.of("%s: entry '%s' is not a .npy array; an .npz holds only .npy entries", file, key);
        }
        String name = key.substring(0, key.length() - 4);
        try (InputStream in = zip.getInputStream(e)) {
          out.add(parse(in, name, file + ":" + name));
        }
      }
    } catch (java.util.zip.ZipException e) {
      throw new FcnException(file + " is not an .npz (zip) archive: " + e.getMessage(), e);
    } catch (IOException e) {
      throw new FcnException("cannot read " + file + ": " + e.getMessage(), e);
    }
    if (out.isEmpty()) {
      throw new FcnException(file + " holds no arrays");
    }
    return out;
  }

  private static LoadedTensor parse(InputStream in, String name, String source) throws IOException {
    byte[] magic = in.readNBytes(8);
    if (magic.length < 8 || !java.util.Arrays.equals(java.util.Arrays.copyOf(magic, 6), MAGIC)) {
      throw new FcnException(source + " is not a NumPy .npy array (bad magic)");
    }
    int major = magic[6] & 0xff;
    int headerLen;
    if (major == 1) {
      byte[] l = in.readNBytes(2);
      headerLen = (l[0] & 0xff) | (l[1] & 0xff) << 8;
    } else if (major == 2 || major == 3) {
      byte[] l = in.readNBytes(4);
      headerLen = ByteBuffer.wrap(l).order(ByteOrder.LITTLE_ENDIAN).getInt();
    } else {
      throw FcnException.of("%s: unsupported .npy format version %d.%d (expected 1.0, 2.0 or 3.0)",
          source, major, magic[7] & 0xff);
    }
    byte[] hb = in.readNBytes(headerLen);
    if (hb.length != headerLen) {
      throw new FcnException(source + ": truncated .npy header");
    }
    String header = new String(hb, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    Matcher d = DESCR.matcher(header);
    Matcher fo = FORTRAN.matcher(header);
    Matcher sh = SHAPE.matcher(header);
    if (!d.find() || !fo.find() || !sh.find()) {
      throw new FcnException(source + ": malformed .npy header: " + header.strip());
    }
    if (fo.group(1).equals("True")) {
      throw new FcnException(source + " is stored in Fortran (column-major) order; fcn reads C order: "
          + "save it with np.save(f, np.ascontiguousarray(a))");
    }
    List<Long> dimList = new ArrayList<>();
    for (String part : sh.group(1).split(",")) {
      if (!part.isBlank()) {
        dimList.add(Long.parseLong(part.trim()));
      }
    }
    long[] dims = dimList.stream().mapToLong(Long::longValue).toArray();
    String descr = d.group(1);
    DataType type = dtype(descr, source);
    long count = FloatTensor.numel(dims);
    long bytes = count * type.size();
    if (bytes > Integer.MAX_VALUE - 8) {
      throw FcnException.of("%s: array of %d bytes is too large (at most 2 GB)", source, bytes);
    }
    byte[] data = in.readNBytes((int) bytes);
    if (data.length != bytes) {
      throw FcnException.of("%s: truncated .npy data: %d of %d bytes", source, data.length, bytes);
    }
    float[] f = RawFloats.decode(ByteBuffer.wrap(data), type, (int) count);
    return new LoadedTensor(name, type, new FloatTensor(f, dims), source);
  }

  private static DataType dtype(String descr, String source) {
    if (descr.length() < 2 || descr.charAt(0) == '>') {
      throw FcnException.of("%s has dtype '%s'; fcn reads little-endian arrays: convert with "
          + "a.astype(a.dtype.newbyteorder('<'))", source, descr);
    }
    String t = descr.charAt(0) == '<' || descr.charAt(0) == '|' || descr.charAt(0) == '=' ? descr.substring(1) : descr;
    DataType type = switch (t) {
      case "f4" -> DataType.FLOAT;
      case "f8" -> DataType.DOUBLE;
      case "f2" -> DataType.FLOAT16;
      case "i8" -> DataType.INT64;
      case "i4" -> DataType.INT32;
      case "i2" -> DataType.INT16;
      case "u2" -> DataType.UINT16;
      case "i1" -> DataType.INT8;
      case "u1" -> DataType.UINT8;
      case "b1" -> DataType.BOOL;
      default -> null;
    };
    if (type == null) {
      throw FcnException.of("%s has dtype '%s'; fcn reads <f4, <f8, <f2, <i8, <i4, <i2, <u2, |i1, |u1, |b1",
          source, descr);
    }
    return type;
  }

  /** The bytes of a float32 C-order .npy (format 1.0) holding {@code t}. */
  public static byte[] toNpy(FloatTensor t) {
    StringBuilder shape = new StringBuilder("(");
    for (long dim : t.shape()) {
      shape.append(dim).append(", ");
    }
    if (t.rank() > 1) {
      shape.setLength(shape.length() - 1); // numpy writes "(2, 3)" but "(2,)"
      shape.setLength(shape.length() - 1);
    } else if (t.rank() == 1) {
      shape.setLength(shape.length() - 1);
    }
    shape.append(')');
    String dict = String.format(Locale.ROOT, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shape);
    // Header padded with spaces and a newline so that the data starts at a multiple of 64.
    int unpadded = 10 + dict.length() + 1;
    int pad = (64 - unpadded % 64) % 64;
    String header = dict + " ".repeat(pad) + "\n";
    ByteArrayOutputStream out = new ByteArrayOutputStream(10 + header.length() + t.size() * 4);
    out.writeBytes(MAGIC);
    out.write(1);
    out.write(0);
    out.write(header.length() & 0xff);
    out.write(header.length() >>> 8);
    out.writeBytes(header.getBytes(StandardCharsets.ISO_8859_1));
    out.writeBytes(RawFloats.encode(t));
    return out.toByteArray();
  }

  /** Writes {@code t} as a float32 .npy, atomically. */
  public static void writeNpy(Path file, FloatTensor t) {
    AtomicFile.write(file, toNpy(t));
  }
}
