package fcn.export;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.UnsafeByteOperations;
import fcn.core.AtomicFile;
import fcn.core.ChunkedStreams;
import fcn.core.FcnException;
import fcn.ir.AttrType;
import fcn.ir.Constant;
import fcn.ir.DataType;
import fcn.ir.Dim;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.proto.OnnxProto.AttributeProto;
import fcn.proto.OnnxProto.GraphProto;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.NodeProto;
import fcn.proto.OnnxProto.OperatorSetIdProto;
import fcn.proto.OnnxProto.StringStringEntryProto;
import fcn.proto.OnnxProto.TensorProto;
import fcn.proto.OnnxProto.TensorShapeProto;
import fcn.proto.OnnxProto.TypeProto;
import fcn.proto.OnnxProto.ValueInfoProto;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a {@link Graph} (canonical opset-17 IR) as an ONNX model at a chosen opset.
 *
 * <p>What a pass did not touch comes out as it went in: at the source model's own opset, a
 * node that kept its source form ({@link Node#sourceFormIfUnchanged()}) is written in that
 * form, opaque nodes keep their op type, domain and attributes byte for byte, and the source's
 * opset imports of other domains are written back. Only initializers that a written node or
 * output reads are written.
 *
 * <p>Output is deterministic: nodes in {@link Graph#topologicalOrder()}, initializers in
 * creation order, no timestamps. Weight bytes are wrapped, not copied, and streamed to disk, so
 * a 540 MB model needs no second copy in memory. Models whose weights pass protobuf's 2 GB
 * message limit get their tensors in an external data file beside the model.
 */
public final class OnnxExporter {
  public static final int DEFAULT_OPSET = 17;
  public static final int MIN_OPSET = 13;
  public static final int MAX_OPSET = 21;
  /** An ONNX source at an older opset (9 to 12) can be written back at that opset. */
  public static final int MIN_SOURCE_OPSET = 9;
  /** Above this many weight bytes the model is written with external data. */
  public static final long EXTERNAL_DATA_THRESHOLD = 1_900_000_000L;
  private static final int EXTERNAL_MIN_TENSOR_BYTES = 1024;

  private final Graph graph;
  private final int opset;
  private final Set<String> names = new HashSet<>();
  private final List<TensorProto> extraInitializers = new ArrayList<>();

  private final boolean atSourceOpset;

  private OnnxExporter(Graph graph, int opset) {
    Long source = graph.opsetImports().get("");
    atSourceOpset = source != null && source == opset;
    if ((opset < MIN_OPSET || opset > MAX_OPSET) && !(atSourceOpset && opset >= MIN_SOURCE_OPSET)) {
      throw FcnException.of("--opset %d is not supported: expected %d to %d%s", opset, MIN_OPSET,
          MAX_OPSET, source == null ? "" : " or the source's opset " + source);
    }
    this.graph = graph;
    this.opset = opset;
    for (Value v : graph.values()) {
      names.add(v.name());
    }
    if (!atSourceOpset) {
      refuseOpaqueStandardNodes(source);
    }
  }

  /**
   * An opaque ai.onnx node means what its schema says at the source's opset; fcn has no
   * schemas to tell whether it still means that at another one, so it is not written there.
   */
  private void refuseOpaqueStandardNodes(Long source) {
    Map<String, List<String>> byOp = new LinkedHashMap<>();
    for (Node n : graph.nodes()) {
      if (n.op() == Op.OPAQUE && (n.domain().isEmpty() || n.domain().equals("ai.onnx"))) {
        byOp.computeIfAbsent(n.opType(), k -> new ArrayList<>()).add(n.name());
      }
    }
    if (!byOp.isEmpty()) {
      throw fcn.frontend.onnx.OnnxImporter.manyNodes("--opset " + opset, byOp,
          "are carried as they came at opset " + source + ", not rewritten for another opset"
              + " (omit --opset to keep " + source + ")");
    }
  }

  /** What was written. */
  public record Written(Path model, Path externalData, long bytes) {}

  /** The model as a message (weights inline); for tests and small models. */
  public static ModelProto toProto(Graph g, int opset) {
    return new OnnxExporter(g, opset).model(null);
  }

  /** Writes {@code out} (and {@code out.data} when the weights need external data) atomically. */
  public static Written write(Graph g, Path out, int opset) {
    return write(g, out, opset, EXTERNAL_DATA_THRESHOLD);
  }

  /** As {@link #write(Graph, Path, int)}, with the external-data threshold given (for tests). */
  public static Written write(Graph g, Path out, int opset, long externalThreshold) {
    OnnxExporter ex = new OnnxExporter(g, opset);
    long weightBytes = 0;
    for (Constant c : g.constants()) {
      weightBytes += c.data().byteSize();
    }
    Path data = null;
    long total = 0;
    try (AtomicFile dataFile = weightBytes > externalThreshold
            ? new AtomicFile(out.resolveSibling(out.getFileName() + ".data")) : null;
        AtomicFile modelFile = new AtomicFile(out)) {
      ExternalSink sink = dataFile == null ? null
          : new ExternalSink(ChunkedStreams.output(dataFile.stream()), out.getFileName() + ".data");
      ModelProto model = ex.model(sink);
      // Weights go down in 1 MiB slices: one 411 MB write would cost as much native memory.
      CodedOutputStream cos = CodedOutputStream.newInstance(ChunkedStreams.output(modelFile.stream()), 1 << 16);
      model.writeTo(cos);
      cos.flush();
      total = model.getSerializedSize();
      if (dataFile != null) {
        dataFile.commit();
        data = dataFile.target();
        total += sink.offset;
      }
      modelFile.commit();
    } catch (IOException e) {
      throw new FcnException("cannot write " + out + ": " + e.getMessage(), e);
    }
    return new Written(out, data, total);
  }

  /** A tensor's bytes as a ByteString without a copy (an array passes to the stream whole). */
  private static ByteString wrap(Tensor t) {
    return t.inArray() ? UnsafeByteOperations.unsafeWrap(t.rawBytes()) : UnsafeByteOperations.unsafeWrap(t.bytes());
  }

  /** Streams large tensors into the external data file and records where each one went. */
  private static final class ExternalSink {
    final OutputStream out;
    final String location;
    long offset;

    ExternalSink(OutputStream out, String location) {
      this.out = out;
      this.location = location;
    }

    TensorProto.Builder place(TensorProto.Builder t, Tensor data) throws IOException {
      // 4 KiB alignment lets runtimes mmap tensors, as onnx's own writer does.
      long aligned = (offset + 4095) / 4096 * 4096;
      for (long i = offset; i < aligned; i++) {
        out.write(0);
      }
      ByteBuffer raw = data.bytes();
      long length = raw.remaining();
      if (raw.hasArray()) {
        out.write(raw.array(), raw.arrayOffset() + raw.position(), raw.remaining());
      } else {
        byte[] chunk = new byte[(int) Math.min(raw.remaining(), ChunkedStreams.CHUNK)];
        while (raw.hasRemaining()) {
          int n = Math.min(chunk.length, raw.remaining());
          raw.get(chunk, 0, n);
          out.write(chunk, 0, n);
        }
      }
      t.setDataLocation(TensorProto.DataLocation.EXTERNAL)
          .addExternalData(entry("location", location))
          .addExternalData(entry("offset", Long.toString(aligned)))
          .addExternalData(entry("length", Long.toString(length)));
      offset = aligned + length;
      return t;
    }
  }

  private ModelProto model(ExternalSink sink) {
    GraphProto.Builder gp = GraphProto.newBuilder().setName(graph.name() == null ? "fcn" : graph.name());
    List<Node> order = graph.topologicalOrder();
    Map<Node, NodeProto> forms = new IdentityHashMap<>();
    Set<Node> covered = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    if (atSourceOpset) {
      for (Node n : order) {
        NodeProto form = sourceForm(n);
        if (form != null) {
          forms.put(n, form);
          covered.addAll(n.sourceFormHelpers());
        }
      }
    }
    for (Node n : order) {
      if (forms.containsKey(n)) {
        gp.addNode(forms.get(n));
      } else if (!covered.contains(n)) {
        emit(n, gp);
      }
    }
    Set<String> read = new HashSet<>();
    for (NodeProto np : gp.getNodeList()) {
      read.addAll(np.getInputList());
    }
    try {
      for (Constant c : graph.constants()) {
        if (!read.contains(c.name()) && !graph.outputs().contains(c)) {
          continue;
        }
        TensorProto.Builder t = tensorHeader(c.name(), c.data());
        if (sink != null && c.data().byteSize() >= EXTERNAL_MIN_TENSOR_BYTES) {
          sink.place(t, c.data());
        } else {
          // Wrapped, not copied: a buffer-held weight (a mapped caffemodel) is copied only
          // when the message is written, 64 KiB at a time.
          t.setRawData(wrap(c.data()));
        }
        gp.addInitializer(t);
      }
    } catch (IOException e) {
      throw new FcnException("cannot write external data " + sink.location + ": " + e.getMessage(), e);
    }
    extraInitializers.forEach(gp::addInitializer);
    for (Variable in : graph.inputs()) {
      gp.addInput(valueInfo(in));
    }
    for (Value out : graph.outputs()) {
      gp.addOutput(valueInfo(out));
    }
    ModelProto.Builder m = ModelProto.newBuilder()
        .setIrVersion(irVersion(opset))
        .setProducerName("fcn")
        .setProducerVersion(producerVersion())
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
        .setGraph(gp);
    for (Map.Entry<String, Long> e : graph.opsetImports().entrySet()) {
      if (!e.getKey().isEmpty()) {
        m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(e.getKey()).setVersion(e.getValue()));
      }
    }
    for (Map.Entry<String, String> e : graph.metadata().entrySet()) {
      m.addMetadataProps(entry(e.getKey(), e.getValue()));
    }
    return m.build();
  }

  /** The IR version that ONNX pairs with each opset (onnx/helper.py VERSION_TABLE). */
  static int irVersion(int opset) {
    if (opset <= 12) {
      return opset - 5; // 9 -> 4 ... 12 -> 7
    }
    if (opset <= 14) {
      return 7;
    }
    if (opset <= 18) {
      return 8;
    }
    if (opset <= 20) {
      return 9;
    }
    return 10;
  }

  private static String producerVersion() {
    Package p = OnnxExporter.class.getPackage();
    return p != null && p.getImplementationVersion() != null ? p.getImplementationVersion() : "0.1.0";
  }

  // ---- Nodes, with the few changes between opset 13 and 21 that the IR's ops need ---------

  /**
   * The node's source form when it may be written: unchanged, every value it reads still
   * written by the graph, and no output name now used by another value.
   */
  private NodeProto sourceForm(Node n) {
    byte[] bytes = n.sourceFormIfUnchanged();
    if (bytes == null) {
      return null;
    }
    NodeProto np;
    try {
      np = NodeProto.parseFrom(bytes);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      return null;
    }
    for (String in : np.getInputList()) {
      Value v = in.isEmpty() ? null : graph.value(in);
      if (!in.isEmpty() && (v == null || !(v instanceof Constant || v.producer() != null
          || graph.inputs().contains(v)))) {
        return null;
      }
    }
    for (String out : np.getOutputList()) {
      Value v = out.isEmpty() ? null : graph.value(out);
      if (v != null && v.producer() != n) {
        return null;
      }
    }
    return np;
  }

  private void emit(Node n, GraphProto.Builder gp) {
    NodeProto.Builder b = NodeProto.newBuilder().setName(n.name()).setOpType(n.opType());
    if (!n.domain().isEmpty()) {
      b.setDomain(n.domain());
    }
    // Optional trailing inputs that are absent are simply not listed; inner ones are "".
    int last = n.inputs().size() - 1;
    while (last >= 0 && n.input(last) == null) {
      last--;
    }
    for (int i = 0; i <= last; i++) {
      b.addInput(n.input(i) == null ? "" : n.input(i).name());
    }
    for (Variable out : n.outputs()) {
      b.addOutput(out.name());
    }
    for (Map.Entry<String, Object> e : n.attrs().asMap().entrySet()) {
      b.addAttribute(attribute(e.getKey(), e.getValue()));
    }
    Op op = n.op();
    if (opset < MIN_OPSET && !validBefore13(n)) {
      throw FcnException.of("%s was changed or added by fcn and cannot be written at the source's"
          + " opset %d (the operator changed since); give --opset %d or later", n, opset, MIN_OPSET);
    }
    if ((op == Op.REDUCE_MEAN || op == Op.REDUCE_MAX) && opset >= 18 && n.attrs().has("axes")) {
      // Opset 18 moved ReduceMean/ReduceMax axes from an attribute to an input.
      moveAttrToInput(b, n, "axes", 1);
    } else if ((op == Op.REDUCE_MEAN || op == Op.REDUCE_MAX) && opset < 18 && n.input(1) != null) {
      throw FcnException.of("%s needs opset 18 or later (axes given as an input); got --opset %d", n, opset);
    } else if (op == Op.SHAPE && opset < 15 && (n.attrs().has("start") || n.attrs().has("end"))) {
      shapeThenSlice(b, n, gp);
      return;
    } else if (op == Op.BATCH_NORMALIZATION && opset < 14) {
      removeAttr(b, "training_mode");
    }
    gp.addNode(b);
  }

  /**
   * Whether the IR's canonical (opset-17) spelling of {@code n} is also valid at this opset
   * (9 to 12, for an old ONNX source written back at its own opset).
   */
  private boolean validBefore13(Node n) {
    return switch (n.op()) {
      // Axes / split sizes became inputs, Softmax's coercion to 2-D went away, in opset 13.
      case SQUEEZE, UNSQUEEZE, REDUCE_SUM, SPLIT, SOFTMAX, LOG_SOFTMAX, UPSAMPLE -> false;
      // Bounds, pads and sizes as inputs came with opset 10 (Slice) and 11 (the others).
      case SLICE, SHAPE -> opset >= 10;
      case PAD, CLIP -> opset >= 11;
      // Resize-11 has roi and scales as required inputs; 13 made them optional.
      case RESIZE -> opset >= 11 && n.input(1) != null && n.input(2) != null;
      default -> true;
    };
  }

  /**
   * Shape's start/end came with opset 15; before it the same values are Shape, then Slice
   * along axis 0 (Slice clamps start/end to the rank as Shape does).
   */
  private void shapeThenSlice(NodeProto.Builder b, Node n, GraphProto.Builder gp) {
    long start = n.attrs().getInt("start", 0);
    long end = n.attrs().getInt("end", Long.MAX_VALUE);
    removeAttr(b, "start");
    removeAttr(b, "end");
    String whole = fresh(n.output(0).name() + "_all");
    String out = b.getOutput(0);
    b.setOutput(0, whole);
    gp.addNode(b);
    NodeProto.Builder slice = NodeProto.newBuilder().setName(fresh(n.name() + "_slice"))
        .setOpType("Slice").addInput(whole)
        .addInput(constantInput(n.name() + "_start", start))
        .addInput(constantInput(n.name() + "_end", end))
        .addInput(constantInput(n.name() + "_axis", 0))
        .addOutput(out);
    gp.addNode(slice);
  }

  /** A new int64 initializer written with the model (not in the IR), by its name. */
  private String constantInput(String base, long... values) {
    String name = fresh(base);
    extraInitializers.add(tensorHeader(name, Tensor.vector(values))
        .setRawData(ByteString.copyFrom(Tensor.vector(values).rawBytes())).build());
    return name;
  }

  private void moveAttrToInput(NodeProto.Builder b, Node n, String attr, int slot) {
    long[] values = n.attrs().getInts(attr);
    removeAttr(b, attr);
    String name = constantInput(n.name() + "_" + attr, values);
    while (b.getInputCount() < slot) {
      b.addInput("");
    }
    b.addInput(name);
  }

  private static void removeAttr(NodeProto.Builder b, String attr) {
    for (int i = 0; i < b.getAttributeCount(); i++) {
      if (b.getAttribute(i).getName().equals(attr)) {
        b.removeAttribute(i);
        return;
      }
    }
  }

  private String fresh(String base) {
    String name = base;
    for (int i = 1; names.contains(name); i++) {
      name = base + "_" + i;
    }
    names.add(name);
    return name;
  }

  static AttributeProto attribute(String name, Object v) {
    AttributeProto.Builder a = AttributeProto.newBuilder().setName(name);
    switch (AttrType.of(v)) {
      case OPAQUE -> {
        try {
          return AttributeProto.parseFrom(((fcn.ir.OpaqueAttr) v).bytes());
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
          throw new IllegalStateException("attribute '" + name + "' was not kept as ONNX bytes", e);
        }
      }
      case INT -> a.setType(AttributeProto.AttributeType.INT).setI((Long) v);
      case FLOAT -> a.setType(AttributeProto.AttributeType.FLOAT).setF((Float) v);
      case STRING -> a.setType(AttributeProto.AttributeType.STRING)
          .setS(ByteString.copyFrom(((String) v).getBytes(StandardCharsets.UTF_8)));
      case INTS -> {
        a.setType(AttributeProto.AttributeType.INTS);
        for (long x : (long[]) v) {
          a.addInts(x);
        }
      }
      case FLOATS -> {
        a.setType(AttributeProto.AttributeType.FLOATS);
        for (float x : (float[]) v) {
          a.addFloats(x);
        }
      }
      case STRINGS -> {
        a.setType(AttributeProto.AttributeType.STRINGS);
        for (String x : (String[]) v) {
          a.addStrings(ByteString.copyFrom(x.getBytes(StandardCharsets.UTF_8)));
        }
      }
      case TENSOR -> {
        Tensor t = (Tensor) v;
        a.setType(AttributeProto.AttributeType.TENSOR)
            .setT(tensorHeader("", t).setRawData(wrap(t)));
      }
    }
    return a.build();
  }

  static TensorProto.Builder tensorHeader(String name, Tensor t) {
    TensorProto.Builder b = TensorProto.newBuilder().setDataType(t.type().onnxCode());
    if (!name.isEmpty()) {
      b.setName(name);
    }
    for (long d : t.dims()) {
      b.addDims(d);
    }
    return b;
  }

  static ValueInfoProto valueInfo(Value v) {
    TypeProto.Tensor.Builder tt = TypeProto.Tensor.newBuilder().setElemType(
        (v.type() == null ? DataType.FLOAT : v.type()).onnxCode());
    Shape s = v.shape();
    if (s != null) {
      TensorShapeProto.Builder sp = TensorShapeProto.newBuilder();
      for (Dim d : s.dims()) {
        sp.addDim(d.isStatic()
            ? TensorShapeProto.Dimension.newBuilder().setDimValue(d.value())
            : TensorShapeProto.Dimension.newBuilder().setDimParam(d.param()));
      }
      tt.setShape(sp);
    }
    return ValueInfoProto.newBuilder().setName(v.name())
        .setType(TypeProto.newBuilder().setTensorType(tt)).build();
  }

  private static StringStringEntryProto entry(String k, String v) {
    return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
  }
}
