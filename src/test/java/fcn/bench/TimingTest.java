package fcn.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import org.junit.jupiter.api.Test;

/** Expected values worked by hand in the comments. */
class TimingTest {
  private static final double EPS = 1e-9;

  @Test
  void oneToTen() {
    Timing.Stats s = Timing.ofMillis(new double[] {7, 3, 10, 1, 5, 9, 2, 8, 4, 6});
    assertEquals(10, s.count());
    assertEquals(1, s.minMs(), EPS);
    assertEquals(10, s.maxMs(), EPS);
    assertEquals(5.5, s.meanMs(), EPS); // 55 / 10
    // Percentile position q/100*(n-1) over the sorted 1..10 (value = position + 1):
    assertEquals(5.5, s.medianMs(), EPS); // 4.5 -> 5 + .5*(6-5)
    assertEquals(9.1, s.p90Ms(), EPS); // 8.1 -> 9 + .1
    assertEquals(9.55, s.p95Ms(), EPS); // 8.55
    assertEquals(9.91, s.p99Ms(), EPS); // 8.91
    // Squared deviations from 5.5: 2*(.25+2.25+6.25+12.25+20.25) = 82.5; /10 -> sqrt(8.25) = 2.8723
    assertEquals(Math.sqrt(8.25), s.stdMs(), EPS);
    assertEquals(2.8722813232690143, s.stdMs(), 1e-12);
    assertEquals(55, s.totalMs(), EPS);
    assertEquals(10 * 1000.0 / 55, s.perSecond(), EPS); // 181.8 runs/s
    assertEquals(2 * 10 * 1000.0 / 55, s.imagesPerSecond(2), EPS);
    assertEquals(2.8722813232690143 / 5.5, s.cv(), 1e-12); // 52.2%
    assertTrue(s.noisy());
    assertTrue(s.warning().orElseThrow().startsWith("timings are noisy (coefficient of variation 52.2% > 10%)"));
  }

  @Test
  void steadySampleIsNotNoisy() {
    Timing.Stats s = Timing.ofMillis(new double[] {10, 11, 9, 10});
    assertEquals(10, s.meanMs(), EPS);
    assertEquals(10, s.medianMs(), EPS); // sorted 9,10,10,11: position 1.5 -> 10
    assertEquals(10.7, s.p90Ms(), EPS); // position 2.7 -> 10 + .7*(11-10)
    // Deviations 0,1,-1,0: ss = 2, /4, sqrt = 0.7071; cv = 7.1% <= 10%
    assertEquals(Math.sqrt(0.5), s.stdMs(), EPS);
    assertFalse(s.noisy());
    assertTrue(s.warning().isEmpty());
  }

  @Test
  void thresholdIsStrict() {
    // 9, 11: mean 10, ss = 1 + 1 = 2, /n = 1, std 1, cv exactly 10%.
    Timing.Stats s = Timing.ofMillis(new double[] {9, 11});
    assertEquals(0.10, s.cv(), EPS);
    assertFalse(s.noisy(), "CV equal to the threshold is not noisy");
  }

  @Test
  void singleRunHasNoSpread() {
    Timing.Stats s = Timing.ofMillis(new double[] {4});
    assertEquals(4, s.medianMs(), EPS);
    assertEquals(4, s.p99Ms(), EPS);
    assertEquals(0, s.stdMs(), EPS);
    assertFalse(s.noisy());
    assertEquals(250, s.perSecond(), EPS);
  }

  @Test
  void nanosAreConvertedToMillis() {
    Timing.Stats s = Timing.ofNanos(new long[] {1_000_000, 3_000_000});
    assertEquals(2, s.meanMs(), EPS);
    assertEquals(1, s.minMs(), EPS);
    assertEquals(3, s.maxMs(), EPS);
  }

  @Test
  void rejectsEmptySamplesAndBadPercentiles() {
    assertThrows(IllegalArgumentException.class, () -> Timing.ofMillis(new double[0]));
    assertThrows(IllegalArgumentException.class, () -> Timing.percentile(new double[] {1}, 101));
  }

  @Test
  void parsesDurations() {
    assertEquals(30_000_000_000L, Timing.parseDuration("30s"));
    assertEquals(500_000_000L, Timing.parseDuration("500ms"));
    assertEquals(120_000_000_000L, Timing.parseDuration("2m"));
    assertEquals(1_500_000_000L, Timing.parseDuration("1.5s"));
    assertEquals(5_000_000_000L, Timing.parseDuration("5"));
    FcnException e = assertThrows(FcnException.class, () -> Timing.parseDuration("soon"));
    assertTrue(e.getMessage().contains("'soon'"), e.getMessage());
    assertThrows(FcnException.class, () -> Timing.parseDuration("-1s"));
  }
}
