package fcn.quantize;

import fcn.core.FcnException;
import fcn.core.FileChecks;
import fcn.data.Preprocess;
import fcn.data.Sample;
import fcn.export.OnnxExporter;
import fcn.frontend.onnx.OnnxImporter;
import fcn.ir.Graph;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The library entry point of {@code fcn quantize}: read a float32 ONNX model, plan the QDQ
 * rewrite ({@link QdqPass#plan}), calibrate the planned tensors on a dataset
 * ({@link Calibration}), rewrite and write atomically at the model's own opset; or, with
 * {@link #toFp16}, the float16 rewrite ({@link Fp16Pass}). Stateless. The report lists every
 * node's outcome so that users see what stayed float and why.
 */
public final class Quantizer {
  private Quantizer() {}

  /** ONNX Runtime's own default for its percentile calibrator is 99.999; see README for ours. */
  public static final double DEFAULT_PERCENTILE = 99.99;

  /** What to quantize and how. */
  public record Options(Path model, Path output, Path dataset, String split, Preprocess preprocess,
      int images, Calibration.Method method, double percentile, List<String> keepFloat,
      boolean perTensorWeights, boolean reduceRange, int threads) {}

  /** What was written and the per-node outcome. */
  public record Result(Path output, long bytes, List<QdqPass.Decision> decisions, int images,
      int calibrated, Map<String, double[]> ranges, Map<String, QuantParams> params, double millis) {}

  public static Result quantize(Options o, PrintWriter log) {
    long t0 = System.nanoTime();
    FileChecks.input(o.model());
    FileChecks.checkOutput(o.output().toAbsolutePath(), o.output());
    if (!(o.percentile() > 50 && o.percentile() <= 100)) {
      throw new FcnException("--percentile must be more than 50 and at most 100, got " + o.percentile());
    }
    if (o.images() < 1) {
      throw new FcnException("--images must be at least 1, got " + o.images());
    }
    Graph g = read(o.model());
    QdqPass.Plan plan = QdqPass.plan(g, new LinkedHashSet<>(o.keepFloat()), o.model().toString());
    List<Sample> samples = Calibration.samples(o.dataset(), o.split(), o.images());
    int opset = opset(g);
    if (opset < 13) {
      throw FcnException.of("%s is at opset %d; per-channel DequantizeLinear needs 13 or later"
          + " (fcn convert MODEL --opset 13 first)", o.model(), opset);
    }
    Map<String, double[]> ranges = Calibration.ranges(g, opset, plan.calibrated(), samples,
        o.preprocess(), o.method(), o.percentile(), o.threads(), log);
    Map<String, QuantParams> params = QdqPass.apply(g, plan, ranges,
        new QdqPass.WeightOptions(!o.perTensorWeights(), o.reduceRange()));
    g.metadata().put("fcn.quantize", String.format(Locale.ROOT,
        "static QDQ, uint8 activations (%s%s, %d images of %s), int8 %s weights%s, int32 bias",
        o.method().label(), o.method() == Calibration.Method.PERCENTILE ? " " + o.percentile() : "",
        samples.size(), o.dataset().getFileName(), o.perTensorWeights() ? "per-tensor" : "per-channel",
        o.reduceRange() ? " (7-bit, reduce range)" : ""));
    OnnxExporter.Written w = OnnxExporter.write(g, o.output(), opset);
    return new Result(o.output(), w.bytes(), plan.decisions(), samples.size(), plan.calibrated().size(),
        ranges, params, (System.nanoTime() - t0) / 1e6);
  }

  /** The float16 rewrite of an ONNX model, written to {@code output}. */
  public static Fp16Pass.Result toFp16(Path model, Path output) {
    FileChecks.input(model);
    FileChecks.checkOutput(output.toAbsolutePath(), output);
    Graph g = read(model);
    Fp16Pass.Result r = Fp16Pass.apply(g, model.toString());
    OnnxExporter.write(g, output, opset(g));
    return r;
  }

  static Graph read(Path model) {
    FileChecks.requireFile(model, "an ONNX model (.onnx)");
    if (!model.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".onnx")) {
      throw new FcnException(model + ": expected an ONNX model (.onnx); convert Caffe models with fcn convert first");
    }
    return OnnxImporter.importModel(model);
  }

  static int opset(Graph g) {
    Long v = g.opsetImports().get("");
    return v == null ? OnnxExporter.DEFAULT_OPSET : v.intValue();
  }

  /** The report: counts, then every float node with its reason (quantized ones in one line). */
  public static String report(Result r) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "wrote %s (%.1f MB) in %.2f s; calibrated %d tensors on %d images%n",
        r.output(), r.bytes() / 1048576.0, r.millis() / 1000, r.calibrated(), r.images()));
    Map<String, List<String>> byStatus = new LinkedHashMap<>();
    Map<String, Integer> quantized = new TreeMap<>();
    List<String> fused = new ArrayList<>();
    for (QdqPass.Decision d : r.decisions()) {
      switch (d.status()) {
        case QUANTIZED -> quantized.merge(d.opType(), 1, Integer::sum);
        case FUSED -> fused.add(d.node());
        default -> byStatus.computeIfAbsent(d.reason(), k -> new ArrayList<>())
            .add(d.node() + " (" + d.opType() + ")");
      }
    }
    List<String> q = new ArrayList<>();
    quantized.forEach((k, v) -> q.add(k + " " + v));
    sb.append("  int8   : ").append(q.isEmpty() ? "nothing" : String.join(", ", q)).append('\n');
    if (!fused.isEmpty()) {
      sb.append("  fused  : ").append(fused.size()).append(" Relu into the preceding QuantizeLinear (")
          .append(String.join(", ", fused)).append(")\n");
    }
    byStatus.forEach((why, nodes) -> sb.append("  float  : ").append(String.join(", ", nodes))
        .append(" -- ").append(why).append('\n'));
    return sb.toString();
  }

  /** The fp16 summary. */
  public static String report(Path out, Fp16Pass.Result r) {
    StringBuilder sb = new StringBuilder();
    List<String> ops = new ArrayList<>();
    r.fp16Ops().forEach((k, v) -> ops.add(k + " " + v));
    sb.append("  float16: ").append(ops.isEmpty() ? "nothing" : String.join(", ", ops))
        .append(String.format(Locale.ROOT, "; %d weights converted, %d Casts (inputs and outputs stay float32)%n",
            r.constants(), r.casts()));
    if (!r.keptFloat().isEmpty()) {
      sb.append("  float32: ").append(String.join(", ", r.keptFloat()))
          .append(" -- no float16 kernel (ONNX Runtime / onnxconverter-common block list) or opaque\n");
    }
    if (r.overflowed() > 0) {
      sb.append(String.format(Locale.ROOT, "  warning: %d weights exceed float16's range (65504) and became inf%n",
          r.overflowed()));
    }
    return sb.toString();
  }
}
