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
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a binary .caffemodel (a serialized caffe.NetParameter) without building its message
 * tree: layers are decoded one at a time, and each BlobProto's packed float data is read
 * straight into the byte[] that becomes the {@link Tensor} (protobuf fixed32 floats are
 * little-endian, the ONNX raw_data layout), so a 540 MB model costs about 540 MB of heap.
 * The returned net holds every layer's definition with its blobs removed.
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
    // Blobs are read in 1 MiB calls: fc6's 411 MB in one call would cost as much native memory.
    try (InputStream stream = ChunkedStreams.input(Files.newInputStream(file))) {
      CaffemodelReader r = new CaffemodelReader(file, size);
      r.in = CodedInputStream.newInstance(stream, 1 << 16);
      r.in.setSizeLimit(Integer.MAX_VALUE);
      return r.readNet();
    } catch (InvalidProtocolBufferException e) {
      throw new FcnException(file + ": not a valid caffemodel (truncated or corrupt): "
          + oneLine(e.getMessage()));
    } catch (IOException e) {
      throw new FcnException(file + ": cannot read caffemodel: " + oneLine(e.getMessage()));
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
    byte[] data = null;
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
          byte[] part;
          if (wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            int len = readLength(at);
            if (len % 4 != 0) {
              throw corrupt("packed float data of " + len + " bytes", at);
            }
            part = in.readRawBytes(len);
          } else {
            requireWire(wire, WireFormat.WIRETYPE_FIXED32, field, at);
            part = in.readRawBytes(4);
          }
          if (data == null && chunks == null) {
            data = part;
          } else {
            if (chunks == null) {
              chunks = new ByteArrayOutputStream();
              chunks.write(data);
            }
            chunks.write(part);
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
      data = doubles.toByteArray();
    } else if (chunks != null) {
      data = chunks.toByteArray();
    }
    if (data == null) {
      data = new byte[0];
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
    if (n * 4 != data.length) {
      throw corrupt(String.format("blob of shape %s holds %d floats", fcn.ir.Shape.format(dims),
          data.length / 4), blobAt);
    }
    return new WeightBlob(dims, hasLegacy, new Tensor(DataType.FLOAT, dims, data));
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
