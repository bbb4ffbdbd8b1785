package fcn.convert;

import fcn.core.FcnException;
import fcn.export.OnnxExporter;
import fcn.frontend.caffe.CaffeImportOptions;
import fcn.frontend.caffe.CaffeImporter;
import fcn.frontend.onnx.OnnxImportOptions;
import fcn.frontend.onnx.OnnxImporter;
import fcn.ir.Constant;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Value;
import fcn.passes.ClassifierHeadPass;
import fcn.passes.DynamicResizePass;
import fcn.passes.FcnHeadPass;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The library entry point of {@code fcn convert}: import (Caffe or ONNX), optional
 * fc-to-conv surgery and FCN head, output selection, H/W made symbolic when the net allows
 * it, then an atomic ONNX write. Stateless.
 */
public final class Converter {
  private Converter() {}

  /** The source format, decided from the file names. */
  public enum SourceKind {
    CAFFE, ONNX
  }

  /** What was written, for the summary. */
  public record Result(Path output, Path externalData, long bytes, List<String> inputs,
      List<String> outputs, Map<String, Integer> opCounts, long parameters, double millis,
      Graph graph, Map<String, long[]> cropOffsets) {}

  public static Result convert(ConvertRequest r) {
    return convert(r, g -> { });
  }

  /**
   * As {@link #convert(ConvertRequest)}, with {@code beforeWrite} run on the finished graph just
   * before it is written (e.g. a precision rewrite from a later package, which this one cannot
   * depend on).
   */
  public static Result convert(ConvertRequest r, java.util.function.Consumer<Graph> beforeWrite) {
    long t0 = System.nanoTime();
    Graph g = load(r);
    Map<String, long[]> crops = Map.of();
    if (r.fullyConv() || r.head() != null) {
      if (hasDenseLayers(g)) {
        ClassifierHeadPass.apply(g);
      } else if (r.fullyConv()) {
        throw new FcnException("--fully-conv: " + r.sources().get(0)
            + " has no fully-connected layer (InnerProduct, Gemm or MatMul) to rewrite");
      }
    }
    if (r.head() != null) {
      padFirstConvolutions(g, r.headInputPad());
      crops = FcnHeadPass.apply(g, r.head()).cropOffsets();
    }
    if (kind(r.sources()) == SourceKind.ONNX && !r.outputs().isEmpty()) {
      g.removeUnused();
    }
    boolean allStatic = g.inputs().stream().allMatch(v -> v.shape() != null && v.shape().isStatic());
    if (allStatic) {
      if (Boolean.TRUE.equals(r.dynamic())) {
        DynamicResizePass.apply(g);
      }
      DynamicShapes.inferStatic(g);
      boolean wantDynamic = r.dynamic() != null ? r.dynamic()
          : kind(r.sources()) == SourceKind.CAFFE || r.head() != null || r.fullyConv();
      if (wantDynamic) {
        String unknown = Boolean.TRUE.equals(r.dynamic()) ? DynamicShapes.unknownOutputShape(g) : null;
        if (unknown != null) {
          throw new FcnException("--dynamic needs the output shapes to name their varying dims,"
              + " but cannot infer " + unknown);
        }
        if (DynamicShapes.isFullyConvolutional(g)) {
          DynamicShapes.makeSpatialSymbolic(g);
        } else if (Boolean.TRUE.equals(r.dynamic())) {
          throw new FcnException("--dynamic: " + r.sources().get(0) + " only works at its input"
              + " size (a dense layer or a fixed reshape); try --fully-conv");
        }
      }
    } else if (Boolean.FALSE.equals(r.dynamic())) {
      throw new FcnException("--static needs fixed input sizes: give them with --input-shape");
    }
    beforeWrite.accept(g);
    OnnxExporter.Written w = OnnxExporter.write(g, r.output(), outputOpset(r, g));
    return summarize(g, w, (System.nanoTime() - t0) / 1e6, crops);
  }

  /**
   * The opset to write: the one asked for, else the ONNX source's own (so that untouched nodes
   * come out as they went in), else {@link OnnxExporter#DEFAULT_OPSET} for Caffe.
   */
  static int outputOpset(ConvertRequest r, Graph g) {
    if (r.opset() != ConvertRequest.SOURCE_OPSET) {
      return r.opset();
    }
    Long source = g.opsetImports().get("");
    return source != null ? source.intValue() : OnnxExporter.DEFAULT_OPSET;
  }

  /** Decides the frontend from the source files' extensions. */
  public static SourceKind kind(List<Path> sources) {
    if (sources.isEmpty()) {
      throw new FcnException("no model given: expected NET.prototxt [WEIGHTS.caffemodel], "
          + "WEIGHTS.caffemodel or MODEL.onnx");
    }
    boolean onnx = false;
    boolean caffe = false;
    for (Path p : sources) {
      String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
      if (n.endsWith(".onnx")) {
        onnx = true;
      } else if (n.endsWith(".prototxt") || n.endsWith(".caffemodel") || n.endsWith(".pt")) {
        caffe = true;
      } else {
        throw new FcnException(p + ": unknown model file type, expected .prototxt, .caffemodel or .onnx");
      }
    }
    if (onnx && (caffe || sources.size() > 1)) {
      throw new FcnException("give one ONNX model, or a Caffe prototxt and caffemodel; got " + sources);
    }
    return onnx ? SourceKind.ONNX : SourceKind.CAFFE;
  }

  static Graph load(ConvertRequest r) {
    for (Path p : r.sources()) {
      fcn.core.FileChecks.requireFile(p, "a model file (.prototxt, .caffemodel or .onnx)");
    }
    if (kind(r.sources()) == SourceKind.ONNX) {
      Map<String, Shape> shapes = new LinkedHashMap<>();
      r.inputShapes().forEach((k, v) -> shapes.put(k, Shape.of(v)));
      if (r.randomWeightsSeed() != null) {
        throw new FcnException("--random-weights is for Caffe prototxts; an ONNX model carries its weights");
      }
      return OnnxImporter.importModel(r.sources().get(0), new OnnxImportOptions(r.outputs(), shapes));
    }
    Path prototxt = null;
    Path caffemodel = null;
    for (Path p : r.sources()) {
      String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
      if (n.endsWith(".caffemodel")) {
        if (caffemodel != null) {
          throw new FcnException("two caffemodels given: " + caffemodel + " and " + p);
        }
        caffemodel = p;
      } else {
        if (prototxt != null) {
          throw new FcnException("two prototxts given: " + prototxt + " and " + p);
        }
        prototxt = p;
      }
    }
    CaffeImportOptions o = CaffeImportOptions.defaults().withInputShapes(r.inputShapes())
        .withRandomWeightsSeed(r.randomWeightsSeed()).withOutputs(r.outputs());
    return CaffeImporter.importNet(prototxt, caffemodel, o);
  }

  /**
   * FCN pads conv1_1 by 100 pixels so that the stride-32 prediction still covers small inputs
   * and the crops back to the input have non-negative offsets; a classifier exported with pad 1
   * needs the same before a head can be added.
   */
  static void padFirstConvolutions(Graph g, int pad) {
    if (pad <= 0) {
      return;
    }
    for (fcn.ir.Variable in : g.inputs()) {
      for (Node n : in.consumers()) {
        if (n.op() != Op.CONV || n.input(0) != in) {
          continue;
        }
        long[] pads = n.attrs().getInts("pads");
        int spatial = in.shape() == null ? 2 : in.shape().rank() - 2;
        long[] wanted = new long[2 * spatial];
        for (int i = 0; i < wanted.length; i++) {
          wanted[i] = Math.max(pad, pads == null ? 0 : pads[i]);
        }
        if (!"NOTSET".equals(n.attrs().getString("auto_pad", "NOTSET"))) {
          throw new FcnException(n + " uses auto_pad; --input-pad needs explicit pads");
        }
        n.attrs().set("pads", wanted);
      }
    }
  }

  private static boolean hasDenseLayers(Graph g) {
    return g.nodes().stream().anyMatch(n -> n.op() == Op.GEMM || n.op() == Op.MAT_MUL);
  }

  private static Result summarize(Graph g, OnnxExporter.Written w, double ms,
      Map<String, long[]> crops) {
    Map<String, Integer> ops = new TreeMap<>();
    for (Node n : g.nodes()) {
      ops.merge(n.domain().isEmpty() ? n.opType() : n.domain() + ":" + n.opType(), 1, Integer::sum);
    }
    long params = 0;
    for (Constant c : g.constants()) {
      if (!c.consumers().isEmpty()) {
        params += c.data().numel();
      }
    }
    List<String> ins = new ArrayList<>();
    g.inputs().forEach(v -> ins.add(describe(v)));
    List<String> outs = new ArrayList<>();
    g.outputs().forEach(v -> outs.add(describe(v)));
    return new Result(w.model(), w.externalData(), w.bytes(), ins, outs, ops, params, ms, g, crops);
  }

  private static String describe(Value v) {
    return v.name() + " " + (v.shape() == null ? "?" : v.shape().toString());
  }
}
