package fcn.bench;

import fcn.core.FcnException;
import fcn.data.LabelMap;
import fcn.data.PredictionWriter;
import fcn.data.Sample;
import fcn.metrics.ConfusionAccumulator;
import fcn.metrics.Scores;
import fcn.runtime.FloatTensor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The scoring stage of a dataset bench: arg-max of the class scores, the prediction brought to
 * the label's size, the confusion matrix (fcn.metrics, score.py's semantics), and optionally the
 * prediction PNGs and a per-image prediction listener (the side-by-side agreement). One instance
 * per run; {@link #score} is called from several pool threads at once (the accumulator and the
 * per-image slots are safe for that).
 */
final class Scoring {
  private final Path model;
  private final String outputName;
  private final int classes;
  private final List<String> names;
  private final Integer ignore;
  private final boolean resizes;
  private final ConfusionAccumulator acc;
  private final long[] ignoredPixels;
  private final PredictionWriter writer;
  private final Path saveTo;
  private final Bench.PredictionListener listener;

  Scoring(Path model, String outputName, int classes, List<String> names, Integer ignore, boolean resizes,
      int images, Path saveTo, Bench.PredictionListener listener) {
    this.model = model;
    this.outputName = outputName;
    this.classes = classes;
    this.names = names;
    this.ignore = ignore;
    this.resizes = resizes;
    this.acc = new ConfusionAccumulator(classes);
    this.ignoredPixels = new long[images];
    this.saveTo = saveTo;
    this.writer = saveTo != null ? new PredictionWriter() : null;
    this.listener = listener;
  }

  /** Scores image {@code d.index()} from its class scores. */
  void score(DatasetFeed.Decoded d, FloatTensor score) {
    LabelMap pred = argmax(score, classes, outputName, d.sample(), model);
    if (pred.width() != d.label().width() || pred.height() != d.label().height()) {
      if (!resizes) {
        throw FcnException.of("%s: output '%s' is %dx%d but label %s is %dx%d; expected the label's size "
            + "(the model must restore the input size, as FCN's final crop does)", model, outputName,
            pred.width(), pred.height(), d.sample().label(), d.label().width(), d.label().height());
      }
      pred = pred.resizeNearest(d.label().width(), d.label().height());
    }
    ignoredPixels[d.index()] = accumulate(acc, d.label(), pred, ignore, classes, d.sample());
    if (writer != null) {
      writer.write(saveTo, d.sample().id(), d.image(), pred);
    }
    if (listener != null) {
      listener.prediction(d.index(), pred);
    }
  }

  /** The scores over every image scored so far. */
  Scores scores() {
    return Scores.of(acc.hist(), names);
  }

  long ignoredPixels() {
    long total = 0;
    for (long v : ignoredPixels) {
      total += v;
    }
    return total;
  }

  /** The score output of a run, by name. */
  static FloatTensor output(Map<String, FloatTensor> out, String name, Path model) {
    FloatTensor t = out.get(name);
    if (t == null) {
      throw FcnException.of("%s produced no output '%s'", model, name);
    }
    return t;
  }

  /** Classes = the score output's channels (as score.py's n_cl); 1 channel = class indices. */
  static int classCount(FloatTensor score, String outputName, Path model) {
    if (score.rank() != 4 || score.dim(0) != 1) {
      throw FcnException.of("%s: output '%s' has shape %s; expected 1xCxHxW class scores", model, outputName,
          score.shapeString());
    }
    if (score.dim(1) < 2) {
      throw FcnException.of("%s: output '%s' has shape %s, one channel; expected 1xCxHxW scores for C >= 2 classes",
          model, outputName, score.shapeString());
    }
    return Math.toIntExact(score.dim(1));
  }

  /** The given class names if they fit the output, else "0", "1", .... */
  static List<String> classNames(List<String> given, int classes, String source, String outputName, Path model) {
    if (given == null || given.isEmpty()) {
      return Scores.defaultNames(classes);
    }
    if (given.size() != classes) {
      throw FcnException.of("%s: output '%s' scores %d classes but %s names %d; expected one name per "
          + "class (pass --classes FILE)", model, outputName, classes, source, given.size());
    }
    return given;
  }

  /**
   * Per-pixel argmax over the class channel (ties go to the lower class, as numpy's argmax).
   * Walks one class plane at a time so memory is read sequentially.
   */
  static LabelMap argmax(FloatTensor score, int classes, String outputName, Sample s, Path model) {
    if (score.rank() != 4 || score.dim(1) != classes) {
      throw FcnException.of("%s: output '%s' for %s has shape %s; expected 1x%dxHxW", model, outputName,
          s.image(), score.shapeString(), classes);
    }
    return argmax(score);
  }

  /** Per-pixel argmax of a 1xCxHxW tensor (ties to the lower class). */
  static LabelMap argmax(FloatTensor score) {
    int classes = Math.toIntExact(score.dim(1));
    int h = Math.toIntExact(score.dim(2));
    int w = Math.toIntExact(score.dim(3));
    int hw = h * w;
    float[] d = score.data();
    float[] best = java.util.Arrays.copyOf(d, hw);
    int[] pred = new int[hw];
    for (int c = 1; c < classes; c++) {
      int off = c * hw;
      for (int p = 0; p < hw; p++) {
        float v = d[off + p];
        if (v > best[p]) {
          best[p] = v;
          pred[p] = c;
        }
      }
    }
    return new LabelMap(w, h, pred);
  }

  /**
   * Adds one image to the confusion matrix: pixels with the ignore label are left out (as
   * score.py leaves out labels outside [0, n)); any other label outside the classes is an error,
   * so that every non-ignored pixel is counted.
   *
   * @return the number of ignored pixels
   */
  static long accumulate(ConfusionAccumulator acc, LabelMap label, LabelMap pred, Integer ignore, int classes,
      Sample s) {
    int[] l = label.values().clone();
    long ignored = 0;
    for (int k = 0; k < l.length; k++) {
      int a = l[k];
      if (ignore != null && a == ignore) {
        l[k] = -1;
        ignored++;
      } else if (a < 0 || a >= classes) {
        throw FcnException.of("%s: label %d at x=%d y=%d is neither a class (0..%d) nor the ignore label (%s); "
            + "expected labels matching the model's %d classes (set --ignore-label)", s.label(), a,
            k % label.width(), k / label.width(), classes - 1, ignore == null ? "none given" : ignore, classes);
      }
    }
    acc.add(l, pred.values());
    return ignored;
  }
}
