package fcn.frontend.caffe;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import fcn.core.ChunkedStreams;
import fcn.core.FcnException;
import fcn.ir.DataType;
import fcn.ir.Tensor;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.proto.CaffeProto.V1LayerParameter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a binary .caffemodel (a serialized caffe.NetParameter) without building its message
 * tree: layers are decoded one at a time from a read-only memory mapping of the file, and each
 * BlobProto's packed float data becomes a {@link Tensor} over its slice of the mapping
 * (protobuf fixed32 floats are little-endian, the ONNX raw_data layout): no heap copy, so a
 * 540 MB model costs next to no heap, and weights that no pass rewrites go from the page cache
 * to the output file. Where the file cannot be mapped it is streamed and each blob read into
 * its own byte[] instead. The returned net holds every layer's definition with its blobs removed.
 */
final class CaffemodelReader {

  /** The net definition (layers without blobs) and the blobs by layer name. */
  record Result(NetParameter net, Map<String, List<WeightBlob>> weights) {}

  private static final int NET_LAYER = 100;
  private static final int NET_LAYERS_V1 = 2;
  private static final int LAYER_BLOBS = 7;
  private static final int V1_BLOBS = 6;
  private static final int V1_V0_LAYER = 1;
  // NetParameter fields other than layers: name, input, input_dim, force_backward, state,
  // debug_info, input_shape. Anything else at the top level means the file is not a caffemodel.
  private static final java.util.Set<Integer> NET_OTHER_FIELDS = java.util.Set.of(1, 3, 4, 5, 6, 7, 8);

  private final Path file;
  private final long fileSize;
  private CodedInputStream in;
  private ByteBuffer mapped; // the whole file, when mapped; blobs are slices of it

  private CaffemodelReader(Path file, long fileSize) {
    this.file = file;
    this.fileSize = fileSize;
  }

  static Result read(Path file) {
    long size;
    try {
      size = Files.size(file);
    } catch (NoSuchFileException e) {
      throw new FcnException(file + ": caffemodel not found");
    } catch (IOException e) {
      throw new FcnException(file + ": cannot read caffemodel: " + e.getMessage());
    }
    if (size == 0) {
      throw new FcnException(file + ": caffemodel is empty");
    }
    CaffemodelReader r = new CaffemodelReader(file, size);
    r.mapped = map(file, size);
    if (r.mapped != null) {
      r.in = CodedInputStream.newInstance(r.mapped);
      return parse(r, file);
    }
    // Blobs are read in 1 MiB calls: fc6's 411 MB in one call would cost as much native memory.
    try (InputStream stream = ChunkedStreams.input(Files.newInputStream(file))) {
      r.in = CodedInputStream.newInstance(stream, 1 << 16);
      r.in.setSizeLimit(Integer.MAX_VALUE);
      return parse(r, file);
    } catch (IOException e) {
      throw cannotRead(file, e);
    }
  }

  private static Result parse(CaffemodelReader r, Path file) {
    try {
      return r.readNet();
    } catch (InvalidProtocolBufferException e) {
      throw new FcnException(file + ": not a valid caffemodel (truncated or corrupt): "
          + oneLine(e.getMessage()));
    } catch (IOException e) {
      throw cannotRead(file, e);
    }
  }

  private static FcnException cannotRead(Path file, IOException e) {
    return new FcnException(file + ": cannot read caffemodel: " + oneLine(e.getMessage()));
  }

  /** The file mapped read-only, or null when it cannot be (over 2 GB, not a mappable file). */
  private static ByteBuffer map(Path file, long size) {
    if (size > Integer.MAX_VALUE) {
      return null;
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      // The mapping outlives the channel; the slices keep it alive as long as a tensor needs it.
      return ch.map(FileChannel.MapMode.READ_ONLY, 0, size).order(ByteOrder.LITTLE_ENDIAN);
    } catch (IOException | UnsupportedOperationException e) {
      return null;
    }
  }

  private Result readNet() throws IOException {
    ByteArrayOutputStream otherBytes = new ByteArrayOutputStream();
    CodedOutputStream other = CodedOutputStream.newInstance(otherBytes);
    List<LayerParameter> layers = new ArrayList<>();
    List<V1LayerParameter> layersV1 = new ArrayList<>();
    Map<String, List<WeightBlob>> weights = new LinkedHashMap<>();
    while (true) {
      long at = in.getTotalBytesRead();
      int tag = in.readTag();
      if (tag == 0) {
        break;
      }
      int field = WireFormat.getTagFieldNumber(tag);
      int wire = WireFormat.getTagWireType(tag);
      if (field == NET_LAYER || field == NET_LAYERS_V1) {
        requireWire(wire, WireFormat.WIRETYPE_LENGTH_DELIMITED, field, at);
        int len = readLength(at);
        int old = in.pushLimit(len);
        List<WeightBlob> blobs = new ArrayList<>();
        byte[] rest = readMessageExcept(field == NET_LAYER ? LAYER_BLOBS : V1_BLOBS, blobs, at);
        in.popLimit(old);
        String name;
        if (field == NET_LAYER) {
          LayerParameter lp = LayerParameter.parseFrom(rest);
          layers.add(lp);
          name = lp.getName();
        } else {
          V1LayerParameter lp = V1LayerParameter.parseFrom(rest);
          if (lp.hasLayer()) {
            throw new FcnException(file + ": layer '" + lp.getName() + "' uses the V0 layer format,"
                + " which fcn does not read; upgrade it with Caffe's upgrade_net_proto_binary");
          }
          layersV1.add(lp);
          name = lp.getName();
        }
        if (!blobs.isEmpty()) {
          weights.put(name, blobs);
        }
      } else if (NET_OTHER_FIELDS.contains(field)) {
        in.skipField(tag, other);
      } else {
        throw new FcnException(String.format(
            "%s: not a caffemodel: unexpected protobuf field %d (wire type %d) at byte %d",
            file, field, wire, at));
      }
    }
    other.flush();
    NetParameter.Builder net = NetParameter.parseFrom(otherBytes.toByteArray()).toBuilder();
    net.addAllLayer(layers).addAllLayers(layersV1);
    if (net.getLayerCount() + net.getLayersCount() == 0) {
      throw new FcnException(file + ": not a caffemodel: it holds no layers");
    }
    return new Result(net.build(), weights);
  }

  /** Copies the current message's fields except {@code blobField}, whose blobs are decoded. */
  private byte[] readMessageExcept(int blobField, List<WeightBlob> blobs, long layerAt)
      throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    while (true) {
      long at = in.getTotalBytesRead();
      int tag = in.readTag();
      if (tag == 0) {
        break;
      }
      if (WireFormat.getTagFieldNumber(tag) == blobField) {
        requireWire(WireFormat.getTagWireType(tag), WireFormat.WIRETYPE_LENGTH_DELIMITED,
            blobField, at);
        int len = readLength(at);
        int old = in.pushLimit(len);
        blobs.add(readBlob(at));
        in.popLimit(old);
      } else {
        in.skipField(tag, out);
      }
    }
    out.flush();
    return bytes.toByteArray();
  }

  private WeightBlob readBlob(long blobAt) throws IOException {
    List<Long> shape = null;
    long[] legacy = {0, 0, 0, 0};
    boolean hasLegacy = false;
    ByteArrayOutputStream chunks = null; // only for the rare multi-chunk or unpacked encodings
    ByteArrayOutputStream doubles = null;
    ByteBuffer data = null;
    while (true) {
      long at = in.getTotalBytesRead();
      int tag = in.readTag();
      if (tag == 0) {
        break;
      }
      int field = WireFormat.getTagFieldNumber(tag);
      int wire = WireFormat.getTagWireType(tag);
      switch (field) {
        case 7 -> { // shape
          requireWire(wire, WireFormat.WIRETYPE_LENGTH_DELIMITED, field, at);
          int old = in.pushLimit(readLength(at));
          shape = new ArrayList<>();
          while (!in.isAtEnd()) {
            int t = in.readTag();
            if (WireFormat.getTagFieldNumber(t) != 1) {
              in.skipField(t);
            } else if (WireFormat.getTagWireType(t) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
              int o2 = in.pushLimit(readLength(at));
              while (!in.isAtEnd()) {
                shape.add(in.readInt64());
              }
              in.popLimit(o2);
            } else {
              shape.add(in.readInt64());
            }
          }
          in.popLimit(old);
        }
        case 5 -> { // data
          ByteBuffer part;
          if (wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            int len = readLength(at);
            if (len % 4 != 0) {
              throw corrupt("packed float data of " + len + " bytes", at);
            }
            if (mapped != null) {
              int from = in.getTotalBytesRead();
              in.skipRawBytes(len);
              part = mapped.slice(from, len);
            } else {
              part = ByteBuffer.wrap(in.readRawBytes(len));
            }
          } else {
            requireWire(wire, WireFormat.WIRETYPE_FIXED32, field, at);
            part = ByteBuffer.wrap(in.readRawBytes(4));
          }
          if (data == null && chunks == null) {
            data = part;
          } else {
            if (chunks == null) {
              chunks = new ByteArrayOutputStream();
              write(chunks, data);
            }
            write(chunks, part);
          }
        }
        case 8 -> { // double_data: Caffe prefers it over data when present
          if (doubles == null) {
            doubles = new ByteArrayOutputStream();
          }
          ByteArrayOutputStream d = doubles;
          if (wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            int old = in.pushLimit(readLength(at));
            while (!in.isAtEnd()) {
              writeFloat(d, (float) in.readDouble());
            }
            in.popLimit(old);
          } else {
            requireWire(wire, WireFormat.WIRETYPE_FIXED64, field, at);
            writeFloat(d, (float) in.readDouble());
          }
        }
        case 1, 2, 3, 4 -> {
          requireWire(wire, WireFormat.WIRETYPE_VARINT, field, at);
          legacy[field - 1] = in.readInt32();
          hasLegacy = true;
        }
        default -> in.skipField(tag); // diff, double_diff
      }
    }
    if (doubles != null) {
      data = ByteBuffer.wrap(doubles.toByteArray());
    } else if (chunks != null) {
      data = ByteBuffer.wrap(chunks.toByteArray());
    }
    if (data == null) {
      data = ByteBuffer.allocate(0);
    }
    long[] dims;
    if (hasLegacy) {
      dims = legacy;
    } else if (shape != null) {
      dims = shape.stream().mapToLong(Long::longValue).toArray();
    } else {
      dims = new long[0]; // Caffe writes no shape for a 0-axis blob (Scale with num_axes 0)
    }
    long n = 1;
    for (long d : dims) {
      if (d < 0) {
        throw corrupt("negative blob dimension " + d, blobAt);
      }
      n *= d;
    }
    if (n * 4 != data.remaining()) {
      throw corrupt(String.format("blob of shape %s holds %d floats", fcn.ir.Shape.format(dims),
          data.remaining() / 4), blobAt);
    }
    Tensor t = data.hasArray() ? new Tensor(DataType.FLOAT, dims, data.array())
        : Tensor.of(DataType.FLOAT, dims, data);
    return new WeightBlob(dims, hasLegacy, t);
  }

  private static void write(ByteArrayOutputStream out, ByteBuffer b) {
    ByteBuffer d = b.duplicate();
    byte[] chunk = new byte[Math.min(d.remaining(), 1 << 16)];
    while (d.hasRemaining()) {
      int k = Math.min(chunk.length, d.remaining());
      d.get(chunk, 0, k);
      out.write(chunk, 0, k);
    }
  }

  private static void writeFloat(ByteArrayOutputStream out, float f) {
    int bits = Float.floatToRawIntBits(f);
    out.write(bits);
    out.write(bits >>> 8);
    out.write(bits >>> 16);
    out.write(bits >>> 24);
  }

  /** A length prefix, checked against what the file can still hold. */
  private int readLength(long at) throws IOException {
    int len = in.readRawVarint32();
    long left = fileSize - in.getTotalBytesRead();
    if (len < 0 || len > left) {
      throw new FcnException(String.format(
          "%s: not a valid caffemodel (truncated or corrupt): a field at byte %d needs %d bytes,"
              + " only %d are left", file, at, len & 0xffffffffL, left));
    }
    return len;
  }

  private void requireWire(int got, int expected, int field, long at) {
    if (got != expected) {
      throw corrupt("field " + field + " has wire type " + got + ", expected " + expected, at);
    }
  }

  private FcnException corrupt(String what, long at) {
    return new FcnException(String.format(
        "%s: not a valid caffemodel (truncated or corrupt): %s at byte %d", file, what, at));
  }

  private static String oneLine(String s) {
    return s == null ? "" : s.replaceAll("\\s*\\R\\s*", " ").trim();
  }
}
