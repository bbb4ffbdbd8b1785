package fcn.frontend.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.ExtensionRegistryLite;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import fcn.core.FcnException;
import fcn.ir.DataType;
import fcn.proto.OnnxProto.AttributeProto;
import fcn.proto.OnnxProto.GraphProto;
import fcn.proto.OnnxProto.NodeProto;
import fcn.proto.OnnxProto.SparseTensorProto;
import fcn.proto.OnnxProto.StringStringEntryProto;
import fcn.proto.OnnxProto.TensorProto;
import fcn.proto.OnnxProto.TensorShapeProto;
import fcn.proto.OnnxProto.ValueInfoProto;
import java.io.BufferedInputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The one gate every ONNX file passes before anything native (ONNX Runtime) or fcn's importer
 * reads it. Owns the rules, so that every command (bench, validate, fixtures, convert and its
 * --verify) refuses the same files with the same one-line {@link FcnException}:
 * <ul>
 *   <li>external data only from inside the model's folder: no absolute location, no '..', no
 *       link that leads out, a regular file at least offset + length bytes long
 *       ({@link #externalFile}, also used by {@link OnnxImporter});
 *   <li>at least one graph input (initializers listed as inputs do not count) and one output;
 *       inputs are tensors of a numeric element type with no zero or negative static dims;
 *   <li>Conv, ConvTranspose, MaxPool and AveragePool attributes in range (strides, dilations
 *       and kernel_shape >= 1, pads and output_padding >= 0, group >= 1, all below 2^31), since
 *       ONNX Runtime traps (SIGFPE) on a zero stride instead of reporting it.
 * </ul>
 * {@link #check} scans the protobuf with a {@link CodedInputStream} and skips initializer
 * payloads (raw_data and the typed data fields) without reading them, so the 513 MB voc-fcn8s
 * costs about 3 to 12 ms (plus protobuf's one-off class loading); nodes (with their Constant
 * tensors and subgraphs) and graph inputs and outputs are parsed, since they are small.
 * External data files are never opened, only resolved and sized. Stateless.
 */
public final class ModelGate {
  /** Largest stride, dilation, kernel, pad or group accepted (ORT and Caffe compute in int). */
  public static final long MAX_GEOMETRY = Integer.MAX_VALUE;

  // Field numbers of onnx.proto (ModelProto, GraphProto, TensorProto).
  private static final int MODEL_GRAPH = 7;
  private static final int MODEL_FUNCTIONS = 25;
  private static final int GRAPH_NODE = 1;
  private static final int GRAPH_INITIALIZER = 5;
  private static final int GRAPH_INPUT = 11;
  private static final int GRAPH_OUTPUT = 12;
  private static final int GRAPH_SPARSE_INITIALIZER = 15;
  private static final int TENSOR_DIMS = 1;
  private static final int TENSOR_DATA_TYPE = 2;
  private static final int TENSOR_NAME = 8;
  private static final int TENSOR_EXTERNAL_DATA = 13;
  private static final int TENSOR_DATA_LOCATION = 14;
  private static final int FUNCTION_NODE = 7;

  private ModelGate() {}

  /**
   * Checks {@code model} (an .onnx file) by the rules above, reading no tensor payload and no
   * external data file (only their sizes).
   *
   * @throws FcnException naming the file and the tensor, node, input or field at fault
   */
  public static void check(Path model) {
    String label = model.toString();
    requireReadableModel(model);
    Scan scan = new Scan(model, label);
    try (InputStream in = new BufferedInputStream(new FileInputStream(model.toFile()), 1 << 16)) {
      CodedInputStream cin = CodedInputStream.newInstance(in);
      cin.setSizeLimit(Integer.MAX_VALUE);
      scan.model(cin);
    } catch (InvalidProtocolBufferException e) {
      throw new FcnException(label + ": not a valid ONNX model (truncated or corrupt protobuf: "
          + oneLine(e.getMessage()) + ")");
    } catch (IOException e) {
      throw new FcnException(label + ": cannot read: " + oneLine(e.getMessage()));
    }
    if (!scan.sawGraph) {
      throw new FcnException(label + ": not a valid ONNX model (no graph)");
    }
    checkInterface(scan.inputs, scan.outputs, scan.initializers, label);
  }

  // Filled by checkExternal during externalFiles(); null otherwise (check() collects nothing).
  private static final ThreadLocal<Set<Path>> EXTERNAL = new ThreadLocal<>();

  /**
   * {@link #check}s {@code model} and returns the external data files it reads (real paths,
   * each once; empty when its weights are inline), e.g. for a cache that must notice when one of
   * them changes.
   */
  public static Set<Path> externalFiles(Path model) {
    Set<Path> files = new java.util.TreeSet<>();
    EXTERNAL.set(files);
    try {
      check(model);
    } finally {
      EXTERNAL.remove();
    }
    return files;
  }

  /**
   * The checks every reader of an .onnx file makes before parsing it: it exists, is not a
   * folder, and fits in one protobuf message (larger weights belong in external data).
   *
   * @return the file's size in bytes
   */
  static long requireReadableModel(Path model) {
    long size;
    try {
      size = Files.size(model);
    } catch (NoSuchFileException e) {
      throw new FcnException(model + ": no such file");
    } catch (IOException e) {
      throw new FcnException(model + ": cannot read: " + oneLine(e.getMessage()));
    }
    if (Files.isDirectory(model)) {
      throw new FcnException(model + ": is a folder, expected an .onnx file");
    }
    if (size > Integer.MAX_VALUE) {
      throw FcnException.of("%s: %d bytes is over protobuf's 2 GB limit for one message;"
          + " expected weights stored as ONNX external data", model, size);
    }
    return size;
  }

  /**
   * The structural rules (inputs, outputs, node attributes) on a parsed graph: what
   * {@link OnnxImporter} calls, so that convert refuses exactly what the other commands do.
   */
  public static void checkGraph(GraphProto g, String label) {
    Set<String> inits = new HashSet<>();
    for (TensorProto t : g.getInitializerList()) {
      inits.add(t.getName());
    }
    for (NodeProto n : g.getNodeList()) {
      checkNode(n, label);
    }
    checkInterface(g.getInputList(), g.getOutputList(), inits, label);
  }

  private static void checkInterface(List<ValueInfoProto> inputs, List<ValueInfoProto> outputs,
      Set<String> initializers, String label) {
    int real = 0;
    for (ValueInfoProto v : inputs) {
      if (initializers.contains(v.getName())) {
        continue; // an initializer listed as an input (IR < 4 style) is a constant
      }
      real++;
      checkInput(v, label);
    }
    if (real == 0) {
      throw new FcnException(label + ": the graph has no inputs; expected at least one tensor"
          + " input to feed");
    }
    if (outputs.isEmpty()) {
      throw new FcnException(label + ": the graph has no outputs; expected at least one");
    }
  }

  private static void checkInput(ValueInfoProto v, String label) {
    if (!v.getType().hasTensorType()) {
      throw FcnException.of("%s: input '%s' is not a tensor (%s); expected a numeric tensor",
          label, v.getName(), v.getType().getValueCase());
    }
    int code = v.getType().getTensorType().getElemType();
    if (code == TensorProto.DataType.STRING_VALUE || code == TensorProto.DataType.UNDEFINED_VALUE) {
      throw FcnException.of("%s: input '%s' has element type %s; expected a numeric tensor",
          label, v.getName(), code == 0 ? "undefined" : "string");
    }
    if (v.getType().getTensorType().hasShape()) {
      List<TensorShapeProto.Dimension> dims = v.getType().getTensorType().getShape().getDimList();
      for (int i = 0; i < dims.size(); i++) {
        if (dims.get(i).hasDimValue() && dims.get(i).getDimValue() <= 0) {
          throw FcnException.of("%s: input '%s' has size %d on axis %d; expected sizes >= 1"
              + " (or a symbolic dim)", label, v.getName(), dims.get(i).getDimValue(), i);
        }
      }
    }
  }

  /** The attribute ranges of one node (default domain only); other ops pass. */
  static void checkNode(NodeProto n, String label) {
    String d = n.getDomain();
    if (!(d.isEmpty() || d.equals("ai.onnx"))) {
      return;
    }
    String op = n.getOpType();
    boolean conv = op.equals("Conv") || op.equals("ConvTranspose");
    boolean pool = op.equals("MaxPool") || op.equals("AveragePool");
    if (!conv && !pool) {
      return;
    }
    for (AttributeProto a : n.getAttributeList()) {
      switch (a.getName()) {
        case "strides", "dilations", "kernel_shape" -> range(n, a, 1, label);
        case "pads" -> {
          range(n, a, 0, label);
          if (a.getIntsCount() % 2 != 0) {
            throw FcnException.of("%s: %s node '%s': pads has %d values; expected two per"
                + " spatial axis", label, op, n.getName(), a.getIntsCount());
          }
        }
        case "output_padding" -> {
          if (op.equals("ConvTranspose")) {
            range(n, a, 0, label);
          }
        }
        case "group" -> {
          if (conv && (a.getI() < 1 || a.getI() > MAX_GEOMETRY)) {
            throw FcnException.of("%s: %s node '%s': group %d; expected 1 to %d", label, op,
                n.getName(), a.getI(), MAX_GEOMETRY);
          }
        }
        default -> { }
      }
    }
    if (pool && n.getAttributeList().stream().noneMatch(a -> a.getName().equals("kernel_shape"))) {
      throw FcnException.of("%s: %s node '%s' has no kernel_shape", label, op, n.getName());
    }
  }

  private static void range(NodeProto n, AttributeProto a, long min, String label) {
    for (long v : a.getIntsList()) {
      if (v < min || v > MAX_GEOMETRY) {
        throw FcnException.of("%s: %s node '%s': %s %s has %d; expected %d to %d", label,
            n.getOpType(), n.getName(), a.getName(), a.getIntsList(), v, min, MAX_GEOMETRY);
      }
    }
  }

  // ---- External data -----------------------------------------------------------------------

  /**
   * Resolves an external-data {@code location} of a tensor of {@code model} inside the model's
   * folder and returns the real path of a regular file. ONNX loaders that follow the location
   * blindly read any file the process can (CVE-2022-25882 and kin), so absolute paths, '..'
   * and links that lead out of the folder are refused.
   *
   * @param what the tensor, for messages ("initializer 'w'")
   * @param label what messages start with (the model as the user named it)
   */
  public static Path externalFile(Path model, String location, String what, String label) {
    Path dir = model.toAbsolutePath().getParent();
    Path base;
    try {
      base = dir.toRealPath();
    } catch (IOException e) {
      throw fail(label, "cannot resolve the model's folder %s: %s", dir, oneLine(e.getMessage()));
    }
    String refused = null;
    if (location.startsWith("/") || location.startsWith("\\") || location.matches("^[A-Za-z]:.*")
        || location.indexOf('\0') >= 0) {
      refused = "is an absolute path";
    } else if (Arrays.asList(location.split("[/\\\\]")).contains("..")) {
      refused = "contains '..'";
    }
    Path p = null;
    if (refused == null) {
      p = base.resolve(location).normalize();
      if (!p.startsWith(base)) {
        refused = "leads out of the model's folder";
      }
    }
    if (refused == null) {
      try {
        Path real = p.toRealPath();
        if (!real.startsWith(base)) {
          refused = "is a link that leads out of the model's folder (to " + real + ")";
        } else if (!Files.isRegularFile(real)) {
          refused = "is not a regular file";
        }
        p = real;
      } catch (NoSuchFileException e) {
        throw fail(label, "%s: external data file '%s' not found in %s", what, location, base);
      } catch (IOException e) {
        throw fail(label, "%s: cannot resolve external data '%s': %s", what, location,
            oneLine(e.getMessage()));
      }
    }
    if (refused != null) {
      throw fail(label, "%s: external data location '%s' %s; refusing to read outside %s", what,
          location, refused, base);
    }
    return p;
  }

  /** Checks one externally stored tensor: location, offset, length against the file's size. */
  private static void checkExternal(Path model, String label, String what,
      List<StringStringEntryProto> entries, long expectedBytes) {
    Map<String, String> kv = new LinkedHashMap<>();
    for (StringStringEntryProto e : entries) {
      kv.put(e.getKey(), e.getValue());
    }
    String location = kv.get("location");
    if (location == null || location.isEmpty()) {
      throw fail(label, "%s is stored externally but has no location", what);
    }
    Path data = externalFile(model, location, what, label);
    Set<Path> seen = EXTERNAL.get();
    if (seen != null) {
      seen.add(data);
    }
    long offset = number(kv.getOrDefault("offset", "0"), "offset", what, label);
    long fileSize;
    try {
      fileSize = Files.size(data);
    } catch (IOException e) {
      throw fail(label, "%s: cannot read external data '%s': %s", what, location,
          oneLine(e.getMessage()));
    }
    // Without a length, ONNX Runtime reads as many bytes as the tensor's type and dims need.
    long length = kv.containsKey("length") ? number(kv.get("length"), "length", what, label)
        : expectedBytes >= 0 ? expectedBytes : fileSize - offset;
    if (offset < 0 || length < 0 || offset > fileSize || length > fileSize - offset) {
      throw fail(label, "%s: external data '%s' has offset %d and length %d, but the file has"
          + " %d bytes", what, location, offset, length, fileSize);
    }
    if (expectedBytes >= 0 && length != expectedBytes) {
      throw fail(label, "%s: external data '%s' has length %d, expected %d bytes for its type"
          + " and dims", what, location, length, expectedBytes);
    }
  }

  private static long number(String s, String key, String what, String label) {
    try {
      return Long.parseLong(s.trim());
    } catch (NumberFormatException e) {
      throw fail(label, "%s: external data %s '%s' is not a number", what, key, s);
    }
  }

  /** Bytes the tensor's dims and type need, or -1 when unknown (sub-byte or unknown type). */
  private static long expectedBytes(List<Long> dims, int dataType, String what, String label) {
    DataType t = DataType.fromOnnx(dataType);
    long n = 1;
    for (long d : dims) {
      if (d < 0) {
        throw fail(label, "%s has negative dimension %d", what, d);
      }
      try {
        n = Math.multiplyExact(n, d);
      } catch (ArithmeticException e) {
        throw fail(label, "%s has dims %s, whose product overflows 64 bits", what, dims);
      }
    }
    if (t == null || t.size() == 0) {
      return -1;
    }
    try {
      return Math.multiplyExact(n, t.size());
    } catch (ArithmeticException e) {
      throw fail(label, "%s has dims %s, whose size in bytes overflows 64 bits", what, dims);
    }
  }

  /** Every tensor held by a parsed tensor, node, attribute or subgraph, checked for external data. */
  private static void checkTensor(Path model, String label, TensorProto t, String what) {
    if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
      checkExternal(model, label, what, t.getExternalDataList(),
          expectedBytes(t.getDimsList(), t.getDataType(), what, label));
    }
  }

  // ---- The scan ----------------------------------------------------------------------------

  /** One pass over the file; collects the graph's interface, checks tensors and nodes. */
  private static final class Scan {
    final Path model;
    final String label;
    final List<ValueInfoProto> inputs = new ArrayList<>();
    final List<ValueInfoProto> outputs = new ArrayList<>();
    final Set<String> initializers = new HashSet<>();
    boolean sawGraph;

    Scan(Path model, String label) {
      this.model = model;
      this.label = label;
    }

    void model(CodedInputStream in) throws IOException {
      while (true) {
        int tag = in.readTag();
        if (tag == 0) {
          return;
        }
        int field = WireFormat.getTagFieldNumber(tag);
        if (field == MODEL_GRAPH && isBytes(tag)) {
          sawGraph = true;
          int limit = in.pushLimit(in.readRawVarint32());
          graph(in, true);
          in.popLimit(limit);
        } else if (field == MODEL_FUNCTIONS && isBytes(tag)) {
          int limit = in.pushLimit(in.readRawVarint32());
          function(in);
          in.popLimit(limit);
        } else if (!in.skipField(tag)) {
          return;
        }
      }
    }

    /** A GraphProto at the stream's current limit; {@code main}: the model's own graph. */
    void graph(CodedInputStream in, boolean main) throws IOException {
      while (true) {
        int tag = in.readTag();
        if (tag == 0) {
          return;
        }
        int field = WireFormat.getTagFieldNumber(tag);
        if (!isBytes(tag)) {
          in.skipField(tag);
          continue;
        }
        switch (field) {
          case GRAPH_NODE -> node(read(in, NodeProto.newBuilder()).build());
          case GRAPH_INITIALIZER -> {
            int limit = in.pushLimit(in.readRawVarint32());
            String name = tensor(in);
            in.popLimit(limit);
            if (main) {
              initializers.add(name);
            }
          }
          case GRAPH_SPARSE_INITIALIZER -> {
            SparseTensorProto s = read(in, SparseTensorProto.newBuilder()).build();
            String n = s.getValues().getName();
            checkTensor(model, label, s.getValues(), "sparse initializer '" + n + "'");
            checkTensor(model, label, s.getIndices(), "indices of sparse initializer '" + n + "'");
            if (main) {
              initializers.add(n);
            }
          }
          case GRAPH_INPUT, GRAPH_OUTPUT -> {
            ValueInfoProto v = read(in, ValueInfoProto.newBuilder()).build();
            if (main) {
              (field == GRAPH_INPUT ? inputs : outputs).add(v);
            }
          }
          default -> in.skipField(tag);
        }
      }
    }

    void function(CodedInputStream in) throws IOException {
      while (true) {
        int tag = in.readTag();
        if (tag == 0) {
          return;
        }
        if (WireFormat.getTagFieldNumber(tag) == FUNCTION_NODE && isBytes(tag)) {
          node(read(in, NodeProto.newBuilder()).build());
        } else {
          in.skipField(tag);
        }
      }
    }

    /**
     * A TensorProto at the current limit, reading only what the external-data check needs
     * (dims, type, name, location) and skipping the payload; returns the tensor's name.
     */
    String tensor(CodedInputStream in) throws IOException {
      List<Long> dims = new ArrayList<>();
      int type = 0;
      String name = "";
      boolean external = false;
      List<StringStringEntryProto> entries = new ArrayList<>();
      while (true) {
        int tag = in.readTag();
        if (tag == 0) {
          break;
        }
        int field = WireFormat.getTagFieldNumber(tag);
        int wire = WireFormat.getTagWireType(tag);
        if (field == TENSOR_DIMS && wire == WireFormat.WIRETYPE_VARINT) {
          dims.add(in.readInt64());
        } else if (field == TENSOR_DIMS && isBytes(tag)) {
          int limit = in.pushLimit(in.readRawVarint32());
          while (in.getBytesUntilLimit() > 0) {
            dims.add(in.readInt64());
          }
          in.popLimit(limit);
        } else if (field == TENSOR_DATA_TYPE && wire == WireFormat.WIRETYPE_VARINT) {
          type = in.readInt32();
        } else if (field == TENSOR_NAME && isBytes(tag)) {
          name = in.readString();
        } else if (field == TENSOR_DATA_LOCATION && wire == WireFormat.WIRETYPE_VARINT) {
          external = in.readEnum() == TensorProto.DataLocation.EXTERNAL_VALUE;
        } else if (field == TENSOR_EXTERNAL_DATA && isBytes(tag)) {
          entries.add(read(in, StringStringEntryProto.newBuilder()).build());
        } else {
          in.skipField(tag); // raw_data and typed data: skipped, never read into memory
        }
      }
      if (external) {
        String what = "initializer '" + name + "'";
        checkExternal(model, label, what, entries, expectedBytes(dims, type, what, label));
      }
      return name;
    }

    void node(NodeProto n) {
      checkNode(n, label);
      for (AttributeProto a : n.getAttributeList()) {
        String what = "attribute '" + a.getName() + "' of node '" + n.getName() + "'";
        if (a.hasT()) {
          checkTensor(model, label, a.getT(), what);
        }
        for (TensorProto t : a.getTensorsList()) {
          checkTensor(model, label, t, what);
        }
        if (a.hasG()) {
          subgraph(a.getG());
        }
        for (GraphProto g : a.getGraphsList()) {
          subgraph(g);
        }
      }
    }

    /** A subgraph (If/Loop/Scan body), already parsed as part of its node. */
    void subgraph(GraphProto g) {
      for (TensorProto t : g.getInitializerList()) {
        checkTensor(model, label, t, "initializer '" + t.getName() + "' of subgraph '" + g.getName() + "'");
      }
      for (NodeProto n : g.getNodeList()) {
        node(n);
      }
    }
  }

  private static boolean isBytes(int tag) {
    return WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
  }

  private static <B extends com.google.protobuf.MessageLite.Builder> B read(CodedInputStream in,
      B builder) throws IOException {
    in.readMessage(builder, ExtensionRegistryLite.getEmptyRegistry());
    return builder;
  }

  private static FcnException fail(String label, String format, Object... args) {
    return new FcnException(label + ": " + oneLine(String.format(Locale.ROOT, format, args)));
  }

  private static String oneLine(String s) {
    return s == null ? "" : s.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim();
  }
}
