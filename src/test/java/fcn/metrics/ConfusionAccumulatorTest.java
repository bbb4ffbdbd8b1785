package fcn.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class ConfusionAccumulatorTest {
  @Test
  void concurrentAddsEqualSequentialHist() throws Exception {
    int n = 5;
    int images = 64;
    SplittableRandom rnd = new SplittableRandom(7);
    int[][] labels = new int[images][];
    int[][] preds = new int[images][];
    long[][] expected = new long[n][n];
    for (int k = 0; k < images; k++) {
      labels[k] = new int[1000];
      preds[k] = new int[1000];
      for (int i = 0; i < 1000; i++) {
        labels[k][i] = rnd.nextInt(10) == 0 ? 255 : rnd.nextInt(n);
        preds[k][i] = rnd.nextInt(n);
      }
      Metrics.fastHist(expected, labels[k], preds[k]);
    }
    ConfusionAccumulator acc = new ConfusionAccumulator(n);
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (int k = 0; k < images; k++) {
        int kk = k;
        fs.add(pool.submit(() -> acc.add(labels[kk], preds[kk])));
      }
      for (Future<?> f : fs) {
        f.get();
      }
    } finally {
      pool.shutdown();
    }
    long[][] got = acc.hist();
    for (int a = 0; a < n; a++) {
      assertArrayEquals(expected[a], got[a]);
    }
    assertEquals(images, acc.images());
    assertEquals(Metrics.total(expected), acc.total());
    assertEquals(Metrics.meanIu(expected), acc.scores(Scores.defaultNames(n)).meanIu(), 0.0);
  }

  @Test
  void addHist() {
    ConfusionAccumulator acc = new ConfusionAccumulator(2);
    acc.add(new long[][] {{1, 2}, {3, 4}});
    acc.add(new int[] {1}, new int[] {1});
    assertArrayEquals(new long[] {3, 5}, acc.hist()[1]);
  }
}
