package fcn.metrics;

import fcn.core.FcnException;
import fcn.data.Dataset;
import fcn.data.Images;
import fcn.data.LabelMap;
import fcn.data.Palette;
import fcn.data.Sample;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Scores a folder of prediction PNGs made by any framework against a {@link Dataset}'s labels,
 * with score.py's metrics. Stateless.
 *
 * <p>Predictions are palette or grayscale index PNGs (value = class), or colour-coded RGB PNGs
 * decoded through the VOC palette. They are matched to samples by id: {@code ID.png}, or else a
 * single file named {@code ID} followed by {@code -}, {@code _} or {@code .} and any suffix (e.g.
 * {@code 2007_000129-fcn8s-output.png}); the longest matching id wins. Every sample needs a
 * prediction: scoring a subset silently would report a different number than the dataset's.
 * Pixels with the ignore label are left out; any other label value outside the class range, and
 * any prediction outside it at a counted pixel, is an error naming the file.
 */
public final class PredictionScorer {
  /** The scores and how they were obtained. */
  public record Result(Dataset dataset, Path predictions, Scores scores, int images,
      int unmatchedPredictionFiles, boolean classesInferred) {}

  /** Upper bound on classes when none are named: label PNGs are 8-bit. */
  private static final int MAX_INFERRED = 256;

  private PredictionScorer() {}

  /**
   * @param classNames class names in index order; null or empty to use the dataset's, and when it
   *     has none, to infer classes 0..max value seen from the data
   */
  public static Result score(Path predictions, Dataset dataset, List<String> classNames) {
    fcn.core.FileChecks.requireDirectory(predictions, "a folder of ID.png class maps");
    if (dataset.samples().isEmpty()) {
      // As bench: scoring nothing must not read as a result (it printed "0 scored", exit 0).
      throw new FcnException(dataset.root() + ": no samples (" + dataset.describe() + "); nothing to score");
    }
    List<String> given = classNames != null && !classNames.isEmpty() ? classNames : dataset.classNames();
    boolean infer = given.isEmpty();
    int n = infer ? MAX_INFERRED : given.size();
    Integer ignore = dataset.ignoreLabel();

    Map<String, Sample> byId = dataset.samplesById();
    List<Path> files = pngs(predictions);
    if (files.isEmpty()) {
      throw new FcnException(predictions + ": no .png files; expected one class-map PNG per sample, named ID.png");
    }
    Map<String, List<Path>> exact = new HashMap<>();
    Map<String, List<Path>> prefixed = new HashMap<>();
    int unmatched = 0;
    for (Path f : files) {
      String stem = Dataset.stem(f);
      if (byId.containsKey(stem)) {
        exact.computeIfAbsent(stem, k -> new ArrayList<>()).add(f);
        continue;
      }
      String id = longestIdPrefix(stem, byId);
      if (id == null) {
        unmatched++;
      } else {
        prefixed.computeIfAbsent(id, k -> new ArrayList<>()).add(f);
      }
    }
    List<Sample> samples = dataset.samples();
    Path[] pred = new Path[samples.size()];
    int missing = 0;
    String firstMissing = null;
    for (int i = 0; i < samples.size(); i++) {
      String id = samples.get(i).id();
      List<Path> c = exact.containsKey(id) ? exact.get(id) : prefixed.getOrDefault(id, List.of());
      if (c.size() > 1) {
        throw new FcnException(predictions + ": several predictions for sample '" + id + "': " + c.get(0).getFileName()
            + " and " + c.get(1).getFileName() + "; expected exactly one");
      }
      if (c.isEmpty()) {
        if (missing++ == 0) {
          firstMissing = id;
        }
        continue;
      }
      pred[i] = c.get(0);
    }
    if (missing > 0) {
      throw new FcnException(String.format(Locale.ROOT,
          "%s: no prediction for %d of %d samples of %s (first: %s); expected a file %s.png (or %s-SUFFIX.png) for each",
          predictions, missing, samples.size(), dataset.name(), firstMissing, firstMissing, firstMissing));
    }

    ConfusionAccumulator acc = new ConfusionAccumulator(n);
    int[] maxSeen = new int[samples.size()];
    Stream.iterate(0, i -> i + 1).limit(samples.size()).parallel().forEach(i -> {
      Sample s = samples.get(i);
      LabelMap label = Images.readLabel(s.label());
      LabelMap p = Images.readClassMap(pred[i], Palette.voc());
      if (label.width() != p.width() || label.height() != p.height()) {
        throw new FcnException(pred[i] + ": prediction is " + p.width() + "x" + p.height() + " but label " + s.label()
            + " is " + label.width() + "x" + label.height() + "; expected the label's size");
      }
      int[] l = label.values().clone();
      int[] v = p.values();
      int max = -1;
      for (int k = 0; k < l.length; k++) {
        int a = l[k];
        if (ignore != null && a == ignore) {
          l[k] = -1;
          continue;
        }
        if (a < 0 || a >= n) {
          throw new FcnException(String.format(Locale.ROOT,
              "%s: label %d at x=%d y=%d is neither a class (0..%d%s) nor the ignore label (%s); "
                  + "expected the ignore label or class list to match the data",
              s.label(), a, k % label.width(), k / label.width(), n - 1,
              infer ? ", no class names given" : " from " + given.size() + " class names",
              ignore == null ? "none given" : ignore));
        }
        int b = v[k];
        if (b < 0 || b >= n) {
          throw new FcnException(String.format(Locale.ROOT,
              "%s: predicted class %d at x=%d y=%d is outside 0..%d; expected a class index", pred[i], b,
              k % label.width(), k / label.width(), n - 1));
        }
        max = Math.max(max, Math.max(a, b));
      }
      maxSeen[i] = max;
      acc.add(l, v);
    });

    long[][] hist = acc.hist();
    List<String> names = given;
    if (infer) {
      int m = 0;
      for (int x : maxSeen) {
        m = Math.max(m, x + 1);
      }
      m = Math.max(m, 1);
      long[][] trimmed = new long[m][m];
      for (int a = 0; a < m; a++) {
        System.arraycopy(hist[a], 0, trimmed[a], 0, m);
      }
      hist = trimmed;
      names = Scores.defaultNames(m);
    }
    return new Result(dataset, predictions, Scores.of(hist, names), samples.size(), unmatched, infer);
  }

  private static String longestIdPrefix(String stem, Map<String, Sample> byId) {
    for (int k = stem.length() - 1; k > 0; k--) {
      char c = stem.charAt(k);
      if ((c == '-' || c == '_' || c == '.') && byId.containsKey(stem.substring(0, k))) {
        return stem.substring(0, k);
      }
    }
    return null;
  }

  private static List<Path> pngs(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png"))
          .filter(Files::isRegularFile).sorted().toList();
    } catch (IOException e) {
      throw new FcnException(dir + ": cannot list: " + fcn.core.FileChecks.reason(e), e);
    }
  }
}
