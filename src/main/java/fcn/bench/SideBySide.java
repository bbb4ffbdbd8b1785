package fcn.bench;

import fcn.core.FcnException;
import fcn.data.LabelMap;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * {@code fcn bench A.onnx B.onnx ...}: runs each model in turn through {@link Bench#run} on the
 * same inputs (the same dataset and preprocessing, or the same seeded random input) and compares
 * each with the first: speed-up of the median latency, change of mean IU in points, and label
 * agreement, the share of pixels where both predict the same class (argmax), over every pixel of
 * every image at the label's size (ignore-label pixels included: agreement is about the
 * predictions, not the labels). Without a dataset the agreement is over the output of the one
 * random input. Each model still writes its own report row, all of them appended after the
 * last model ran (the side files, -classes.csv and -confusion.csv, then describe the last model).
 *
 * <p>The first model's predictions are kept (one byte a pixel for up to 256 classes) while the
 * others run: about 270 MB for the 1,449 VOC val images. Stateless.
 */
public final class SideBySide {
  private SideBySide() {}

  /**
   * One compared model: its bench result and its agreement with the first model (a fraction;
   * 1 for the first itself; null when there were no predictions to compare).
   */
  public record Entry(Bench.Result result, Double agreement) {}

  /** All models' results, first = the reference. */
  public record Result(List<Entry> entries) {
    public Result {
      entries = List.copyOf(entries);
    }

    /** The table printed on stdout. */
    public String table() {
      return SideBySide.table(this);
    }
  }

  /**
   * Runs every model with the options {@code optionsFor} gives (same settings, its own model).
   * Each model's warnings and progress go to {@code err}, with a line saying which model runs.
   *
   * @throws FcnException if fewer than two models are given, or any run fails
   */
  public static Result run(List<Path> models, Function<Path, Bench.Options> optionsFor, PrintWriter err) {
    if (models.size() < 2) {
      throw new FcnException("side by side needs at least two models, got " + models.size());
    }
    Reference ref = new Reference();
    List<Entry> entries = new ArrayList<>();
    List<Path> reports = new ArrayList<>();
    for (int i = 0; i < models.size(); i++) {
      err.println("fcn: bench " + (i + 1) + "/" + models.size() + ": " + models.get(i));
      err.flush();
      Bench.Options o = optionsFor.apply(models.get(i));
      if (o.savePredictions != null) {
        throw new FcnException("--save-predictions takes one model: with " + models.size()
            + " the predictions would replace each other");
      }
      Comparison cmp = i == 0 ? null : new Comparison(ref, models.get(i));
      o.predictions(i == 0 ? ref::keep : cmp::compare);
      Bench.Result r = Bench.measure(o, err);
      entries.add(new Entry(r, i == 0 ? (ref.isEmpty() ? null : 1.0) : cmp.agreement()));
      reports.add(o.report);
    }
    // Rows are appended once every model has run: a model failing halfway leaves no report
    // that holds only some of them.
    for (int i = 0; i < entries.size(); i++) {
      if (reports.get(i) != null) {
        Bench.writeReport(reports.get(i), entries.get(i).result());
      }
    }
    return new Result(entries);
  }

  /** The first model's predictions, by image; bytes for up to 256 classes, else ints. */
  private static final class Reference {
    private final ConcurrentHashMap<Integer, Object> byImage = new ConcurrentHashMap<>();

    void keep(int image, LabelMap pred) {
      int[] v = pred.values();
      boolean small = true;
      for (int x : v) {
        small &= x >= 0 && x < 256;
      }
      if (small) {
        byte[] b = new byte[v.length];
        for (int k = 0; k < v.length; k++) {
          b[k] = (byte) v[k];
        }
        byImage.put(image, b);
      } else {
        byImage.put(image, v.clone());
      }
    }

    boolean isEmpty() {
      return byImage.isEmpty();
    }

    Object get(int image) {
      return byImage.get(image);
    }
  }

  /** Counts agreeing pixels of one model against the reference (called from pool threads). */
  private static final class Comparison {
    private final Reference ref;
    private final Path model;
    private final AtomicLong same = new AtomicLong();
    private final AtomicLong total = new AtomicLong();

    Comparison(Reference ref, Path model) {
      this.ref = ref;
      this.model = model;
    }

    void compare(int image, LabelMap pred) {
      Object r = ref.get(image);
      if (r == null) {
        return; // the first model had no score map to compare with
      }
      int[] v = pred.values();
      int n = r instanceof byte[] b ? b.length : ((int[]) r).length;
      if (n != v.length) {
        throw FcnException.of("%s: prediction %d has %d pixels but the first model's has %d; expected the "
            + "same output size to compare labels", model, image, v.length, n);
      }
      long eq = 0;
      if (r instanceof byte[] b) {
        for (int k = 0; k < n; k++) {
          eq += (b[k] & 0xff) == v[k] ? 1 : 0;
        }
      } else {
        int[] a = (int[]) r;
        for (int k = 0; k < n; k++) {
          eq += a[k] == v[k] ? 1 : 0;
        }
      }
      same.addAndGet(eq);
      total.addAndGet(n);
    }

    Double agreement() {
      return total.get() == 0 ? null : same.get() / (double) total.get();
    }
  }

  // ---- Table ---------------------------------------------------------------------------------

  static String table(Result r) {
    List<Entry> es = r.entries();
    Bench.Result first = es.get(0).result();
    List<String[]> lines = new ArrayList<>();
    lines.add(new String[] {"model", "precision", "load ms", "median ms", "speed-up", "mean IU", "d points",
        "pixel acc", "agreement"});
    Double firstIu = meanIu(first);
    double firstMedian = first.stats().medianMs();
    for (Entry e : es) {
      Bench.Result b = e.result();
      Double iu = meanIu(b);
      Bench.DatasetResult d = b.dataset();
      lines.add(new String[] {b.modelName(), b.precision(), fmt("%.1f", b.loadMs()), fmt("%.2f", b.stats().medianMs()),
          b.stats().medianMs() > 0 ? fmt("%.2fx", firstMedian / b.stats().medianMs()) : "-",
          iu == null ? "-" : fmt("%.2f", 100 * iu),
          iu == null || firstIu == null ? "-" : fmt("%+.2f", 100 * (iu - firstIu)),
          d == null || Double.isNaN(d.scores().pixelAccuracy()) ? "-" : fmt("%.2f", 100 * d.scores().pixelAccuracy()),
          e.agreement() == null ? "-" : fmt("%.2f%%", 100 * e.agreement())});
    }
    int[] w = new int[lines.get(0).length];
    for (String[] l : lines) {
      for (int i = 0; i < l.length; i++) {
        w[i] = Math.max(w[i], l[i].length());
      }
    }
    StringBuilder sb = new StringBuilder();
    Bench.DatasetResult d = first.dataset();
    sb.append("side by side: ").append(es.size()).append(" models on ")
        .append(d != null ? d.name() + (d.split() != null ? " (" + d.split() + ")" : "") + ", " + d.images() + " images"
            : "input " + first.inputShape() + " (the same random data), " + first.stats().count() + " timed runs each")
        .append("; speed-up, d points and agreement against ").append(first.modelName()).append('\n');
    for (String[] l : lines) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < l.length; i++) {
        String f = "%" + (i < 2 ? "-" : "") + w[i] + "s";
        line.append(String.format(Locale.ROOT, f, l[i])).append(i + 1 < l.length ? "  " : "");
      }
      sb.append(line.toString().stripTrailing()).append('\n');
    }
    sb.append("agreement: share of pixels where the model predicts the same class as ").append(first.modelName())
        .append("; mean IU and pixel accuracy in %, d points = mean IU change in percentage points\n");
    // Where each model's time goes (ORT's profile of its first run): what stayed float in a
    // quantized model and what share of the time it takes.
    for (Entry e : es) {
      Bench.Result b = e.result();
      if (b.opTime() != null) {
        sb.append("kernel time, ").append(b.modelName()).append(' ').append(b.precision()).append(": ")
            .append(b.opTime()).append('\n');
      }
    }
    return sb.toString();
  }

  private static Double meanIu(Bench.Result r) {
    if (r.dataset() == null) {
      return null;
    }
    double v = r.dataset().scores().meanIu();
    return Double.isNaN(v) ? null : v;
  }

  private static String fmt(String f, Object... args) {
    return String.format(Locale.ROOT, f, args);
  }
}
