package fcn.quantize;

import fcn.core.FcnException;
import fcn.core.TempFiles;
import fcn.data.Dataset;
import fcn.data.Images;
import fcn.data.Preprocess;
import fcn.data.RgbImage;
import fcn.data.Sample;
import fcn.export.OnnxExporter;
import fcn.ir.Graph;
import fcn.ir.Value;
import fcn.runtime.Device;
import fcn.runtime.FloatTensor;
import fcn.runtime.OptLevel;
import fcn.runtime.Session;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Measures activation ranges: runs the float model with ONNX Runtime (CPU) over the first N
 * images of a dataset, in the dataset's order, with the tensors to calibrate exposed as extra
 * outputs of a temporary copy of the model. Statistics are streamed ({@link RangeStats}): one
 * image's tensors are in memory at a time. The histogram method makes a second pass once each
 * tensor's [min, max] is known, so the histogram needs no re-binning and the result depends on
 * nothing but the images and the model.
 */
public final class Calibration {
  private Calibration() {}

  /** How a tensor's range is chosen from what the images showed. */
  public enum Method {
    /** [min, max] over all images. */
    MINMAX,
    /** Cut the percentile's tails on each side (histogram of {@link RangeStats#BINS} bins). */
    PERCENTILE;

    public static Method parse(String s) {
      return switch (s.toLowerCase(Locale.ROOT)) {
        case "minmax", "min-max" -> MINMAX;
        case "percentile" -> PERCENTILE;
        default -> throw new FcnException("--method " + s + ": expected minmax or percentile");
      };
    }

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** The first {@code n} samples of the dataset, refusing an empty one. */
  public static List<Sample> samples(Path dataset, String split, int n) {
    Dataset ds = Dataset.open(dataset, split, null);
    List<Sample> all = ds.samples();
    if (all.isEmpty()) {
      throw new FcnException(dataset + ": no samples to calibrate on (" + ds.describe() + ")");
    }
    return all.subList(0, Math.min(n, all.size()));
  }

  /**
   * The range of every tensor in {@code tensors}, by name ({lo, hi}).
   *
   * @param g the float model (its outputs are restored before returning)
   */
  public static Map<String, double[]> ranges(Graph g, int opset, List<String> tensors,
      List<Sample> samples, Preprocess pre, Method method, double percentile, int threads,
      PrintWriter log) {
    Map<String, RangeStats> stats = new LinkedHashMap<>();
    for (String t : tensors) {
      stats.put(t, new RangeStats());
    }
    Path dir = TempFiles.createDirectory(Path.of(System.getProperty("java.io.tmpdir")), "fcn-calibrate");
    List<Value> saved = new ArrayList<>(g.outputs());
    try {
      List<Value> outs = new ArrayList<>(saved);
      for (String t : tensors) {
        Value v = g.value(t);
        if (!outs.contains(v)) {
          outs.add(v);
        }
      }
      g.setOutputs(outs);
      Path copy = dir.resolve("calibrate.onnx");
      OnnxExporter.write(g, copy, opset);
      g.setOutputs(saved);
      try (Session s = Session.open(copy, Device.CPU, threads, OptLevel.ALL)) {
        if (s.inputs().size() != 1) {
          throw FcnException.of("calibration feeds one image input; the model has %d (%s)",
              s.inputs().size(), Session.describe(s.inputs()));
        }
        String input = s.inputs().get(0).name();
        int passes = method == Method.MINMAX ? 1 : 2;
        for (int pass = 0; pass < passes; pass++) {
          for (int i = 0; i < samples.size(); i++) {
            Sample sample = samples.get(i);
            RgbImage img = Images.readRgb(sample.image());
            int[] chw = pre.outputShape(img.width(), img.height());
            FloatTensor x = new FloatTensor(pre.toChw(img), 1, chw[0], chw[1], chw[2]);
            Map<String, FloatTensor> out = s.run(Map.of(input, x));
            for (Map.Entry<String, RangeStats> e : stats.entrySet()) {
              float[] data = out.get(e.getKey()).data();
              if (pass == 0) {
                e.getValue().observe(data);
              } else {
                e.getValue().histogram(data);
              }
            }
          }
          if (log != null) {
            log.printf(Locale.ROOT, "calibration pass %d/%d: %d images, %d tensors%n", pass + 1,
                passes, samples.size(), stats.size());
            log.flush();
          }
        }
      }
    } finally {
      g.setOutputs(saved);
      TempFiles.delete(dir);
    }
    Map<String, double[]> ranges = new LinkedHashMap<>();
    for (Map.Entry<String, RangeStats> e : stats.entrySet()) {
      RangeStats r = e.getValue();
      if (!r.seen()) {
        throw FcnException.of("calibration saw no finite values of tensor '%s'", e.getKey());
      }
      ranges.put(e.getKey(), method == Method.MINMAX ? r.minMax() : r.percentile(percentile));
    }
    return ranges;
  }
}
