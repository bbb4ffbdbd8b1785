package fcn.metrics;

import java.util.List;

/**
 * A confusion matrix that several threads may {@link #add} images to at once (score.py's
 * {@code hist += fast_hist(...)} loop, parallelised). Each call builds its image's counts without
 * holding the lock and merges them under it, so threads contend only for the short merge.
 * Owns its matrix; {@link #hist()} hands out copies.
 */
public final class ConfusionAccumulator {
  private final int n;
  private final long[] counts;
  private long images;

  public ConfusionAccumulator(int numClasses) {
    if (numClasses <= 0) {
      throw new IllegalArgumentException("numClasses must be positive, got " + numClasses);
    }
    this.n = numClasses;
    this.counts = new long[numClasses * numClasses];
  }

  public int numClasses() {
    return n;
  }

  /**
   * Adds one image. Same rules as {@link Metrics#fastHist}: labels outside [0, n) are left out,
   * predictions at counted pixels must be in [0, n).
   *
   * @return the pixels counted for this image
   */
  public long add(int[] label, int[] pred) {
    long[][] local = new long[n][n];
    long counted = Metrics.fastHist(local, label, pred);
    synchronized (this) {
      merge(local);
      images++;
    }
    return counted;
  }

  /** Adds a whole confusion matrix (e.g. from another accumulator or process). */
  public synchronized void add(long[][] hist) {
    if (hist.length != n) {
      throw new IllegalArgumentException("a " + hist.length + "-class hist added to a " + n + "-class one");
    }
    for (long[] row : hist) {
      if (row.length != n) {
        throw new IllegalArgumentException("hist must be square");
      }
    }
    merge(hist);
  }

  /** Adds an n x n matrix; the caller holds the lock. */
  private void merge(long[][] hist) {
    for (int a = 0; a < n; a++) {
      for (int b = 0; b < n; b++) {
        counts[a * n + b] += hist[a][b];
      }
    }
  }

  /** Images added through {@link #add(int[], int[])}. */
  public synchronized long images() {
    return images;
  }

  /** A snapshot copy of the matrix (rows = label, columns = prediction). */
  public synchronized long[][] hist() {
    long[][] h = new long[n][n];
    for (int a = 0; a < n; a++) {
      System.arraycopy(counts, a * n, h[a], 0, n);
    }
    return h;
  }

  public synchronized long total() {
    long t = 0;
    for (long c : counts) {
      t += c;
    }
    return t;
  }

  /** Scores of the current snapshot. */
  public Scores scores(List<String> classNames) {
    return Scores.of(hist(), classNames);
  }
}
