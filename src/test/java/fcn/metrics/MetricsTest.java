package fcn.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Every expected value below is worked out by hand in the comments, not by the code under test. */
class MetricsTest {
  private static final double EPS = 1e-15;

  // 3 classes; pixel 5 carries the ignore label 255 (outside [0,3)), so its prediction 2 is
  // never looked at. Counted (label,pred) pairs:
  //   (0,0) (0,1) (1,1) (1,1) (2,0) (2,2) (0,0)   -> 7 pixels
  // hist (rows = label, cols = pred):
  //   row0: 2 1 0    rowsum 3
  //   row1: 0 2 0    rowsum 2
  //   row2: 1 0 1    rowsum 2
  //   colsum: 3 3 1, diag 2 2 1 (sum 5), total 7
  private static final int[] LABEL = {0, 0, 1, 1, 2, 255, 2, 0};
  private static final int[] PRED = {0, 1, 1, 1, 0, 2, 2, 0};

  @Test
  void histLeavesOutIgnoreLabel() {
    long[][] h = Metrics.hist(LABEL, PRED, 3);
    assertArrayEquals(new long[] {2, 1, 0}, h[0]);
    assertArrayEquals(new long[] {0, 2, 0}, h[1]);
    assertArrayEquals(new long[] {1, 0, 1}, h[2]);
    assertEquals(7, Metrics.total(h));
  }

  @Test
  void scoresOfHandWorkedMatrix() {
    long[][] h = Metrics.hist(LABEL, PRED, 3);
    // overall accuracy = diag / total = 5/7
    assertEquals(5.0 / 7, Metrics.overallAccuracy(h), EPS);
    // acc = diag/rowsum = [2/3, 2/2, 1/2]; mean = (4/6 + 6/6 + 3/6) / 3 = 13/18
    assertArrayEquals(new double[] {2.0 / 3, 1.0, 0.5}, Metrics.classAccuracy(h), EPS);
    assertEquals(13.0 / 18, Metrics.meanAccuracy(h), EPS);
    // iu = diag / (rowsum + colsum - diag) = [2/(3+3-2), 2/(2+3-2), 1/(2+1-1)] = [1/2, 2/3, 1/2]
    // mean = (1/2 + 2/3 + 1/2) / 3 = (5/3) / 3 = 5/9
    assertArrayEquals(new double[] {0.5, 2.0 / 3, 0.5}, Metrics.iu(h), EPS);
    assertEquals(5.0 / 9, Metrics.meanIu(h), EPS);
    // freq = rowsum/total = [3/7, 2/7, 2/7]
    // fwavacc = 3/7*1/2 + 2/7*2/3 + 2/7*1/2 = 9/42 + 8/42 + 6/42 = 23/42
    assertEquals(23.0 / 42, Metrics.fwavacc(h), EPS);
  }

  @Test
  void absentClassesAreSkippedLikeNanmean() {
    // 4 classes; class 2 appears in neither labels nor predictions, class 3 is predicted once
    // but never labelled.
    //   pairs (0,0) (0,0) (1,1) (1,3)
    //   row0: 2 0 0 0   rowsum 2
    //   row1: 0 1 0 1   rowsum 2
    //   row2: 0 0 0 0   rowsum 0
    //   row3: 0 0 0 0   rowsum 0
    //   colsum: 2 1 0 1, diag 2 1 0 0
    long[][] h = Metrics.hist(new int[] {0, 0, 1, 1}, new int[] {0, 0, 1, 3}, 4);
    // acc = [2/2, 1/2, 0/0=NaN, 0/0=NaN] -> nanmean = (1 + 1/2) / 2 = 3/4
    double[] acc = Metrics.classAccuracy(h);
    assertTrue(Double.isNaN(acc[2]) && Double.isNaN(acc[3]));
    assertEquals(0.75, Metrics.meanAccuracy(h), EPS);
    // iu = [2/(2+2-2), 1/(2+1-1), 0/(0+0-0)=NaN, 0/(0+1-0)=0]
    //   class 2 (absent from both) is skipped; class 3 (false positives only) counts as 0
    //   mean IU = (1 + 1/2 + 0) / 3 = 1/2
    double[] iu = Metrics.iu(h);
    assertEquals(1.0, iu[0], EPS);
    assertEquals(0.5, iu[1], EPS);
    assertTrue(Double.isNaN(iu[2]));
    assertEquals(0.0, iu[3], EPS);
    assertEquals(0.5, Metrics.meanIu(h), EPS);
    // overall = 3/4; freq = [1/2, 1/2, 0, 0] -> fwavacc = 1/2*1 + 1/2*1/2 = 3/4 (freq 0 skipped,
    // so the NaN of class 2 never enters the sum)
    assertEquals(0.75, Metrics.overallAccuracy(h), EPS);
    assertEquals(0.75, Metrics.fwavacc(h), EPS);
  }

  @Test
  void negativeAndLargeLabelsAreIgnoredButBadPredictionsAreNot() {
    // label -1 and 7 are outside [0,2): their predictions (even the invalid 9) are not looked at
    long[][] h = Metrics.hist(new int[] {-1, 7, 1}, new int[] {9, 9, 1}, 2);
    assertEquals(1, Metrics.total(h));
    assertEquals(1, h[1][1]);
    // a counted pixel predicted as class 5 of 2 is an error, not a silent miscount
    assertThrows(IllegalArgumentException.class, () -> Metrics.hist(new int[] {0}, new int[] {5}, 2));
    assertThrows(IllegalArgumentException.class, () -> Metrics.hist(new int[] {0}, new int[] {0, 1}, 2));
  }

  @Test
  void allIgnoredGivesNaNNotZero() {
    long[][] h = Metrics.hist(new int[] {255, 255}, new int[] {0, 1}, 2);
    assertEquals(0, Metrics.total(h));
    assertTrue(Double.isNaN(Metrics.overallAccuracy(h)));
    assertTrue(Double.isNaN(Metrics.meanAccuracy(h)));
    assertTrue(Double.isNaN(Metrics.meanIu(h)));
    assertTrue(Double.isNaN(Metrics.fwavacc(h)));
  }

  @Test
  void nanmean() {
    assertEquals(2.0, Metrics.nanmean(new double[] {1, Double.NaN, 3}), EPS);
    assertTrue(Double.isNaN(Metrics.nanmean(new double[] {Double.NaN})));
    assertTrue(Double.isNaN(Metrics.nanmean(new double[0])));
  }

  @Test
  void fastHistAccumulatesAcrossImages() {
    long[][] h = new long[3][3];
    // image 1: (0,0) (1,2); image 2: (1,2) (2,2) and one ignored pixel
    assertEquals(2, Metrics.fastHist(h, new int[] {0, 1}, new int[] {0, 2}));
    assertEquals(2, Metrics.fastHist(h, new int[] {1, 2, 255}, new int[] {2, 2, 0}));
    assertArrayEquals(new long[] {1, 0, 0}, h[0]);
    assertArrayEquals(new long[] {0, 0, 2}, h[1]);
    assertArrayEquals(new long[] {0, 0, 1}, h[2]);
  }

  @Test
  void scoresValueObject() {
    Scores s = Scores.of(Metrics.hist(LABEL, PRED, 3), List.of("bg", "a", "b"));
    assertEquals(5.0 / 7, s.pixelAccuracy(), EPS);
    assertEquals(13.0 / 18, s.meanAccuracy(), EPS);
    assertEquals(5.0 / 9, s.meanIu(), EPS);
    assertEquals(23.0 / 42, s.fwIu(), EPS);
    assertEquals(7, s.pixels());
    assertArrayEquals(new long[] {3, 2, 2}, s.classPixels());
    // defensive copies: mutating what we got back changes nothing
    s.hist()[0][0] = 99;
    s.classIu()[0] = 99;
    assertEquals(2, s.hist()[0][0]);
    assertEquals(0.5, s.classIu()[0], EPS);
    assertTrue(s.table().contains("mean IU      55.56"), s.table());
    assertThrows(IllegalArgumentException.class, () -> Scores.of(new long[2][2], List.of("x")));
  }
}
