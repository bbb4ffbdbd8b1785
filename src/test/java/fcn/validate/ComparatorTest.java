package fcn.validate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import fcn.runtime.FloatTensor;
import fcn.validate.Tolerances.Tolerance;
import org.junit.jupiter.api.Test;

class ComparatorTest {
  private static FloatTensor t(float[] v, long... shape) {
    return new FloatTensor(v, shape);
  }

  private static CompareResult cmp(float[] a, float[] b, double atol, double rtol) {
    return Comparator.compare("out", t(a, a.length), t(b, b.length), atol, rtol);
  }

  @Test
  void handWorkedStatistics() {
    // actual a = [1, 2, 3.75, 0], expected b = [1, 2.5, 3, 0.25], shape 2x2 (all exact in binary)
    // |a-b|          = [0, 0.5, 0.75, 0.25]          max 0.75, mean 1.5/4 = 0.375
    // |a-b|/|b|      = [0, 0.2, 0.25, 1.0]           max 1.0,  mean 1.45/4 = 0.3625
    // a.b = 1 + 5 + 11.25 + 0 = 17.25; |a|^2 = 1 + 4 + 14.0625 = 19.0625; |b|^2 = 1 + 6.25 + 9 + 0.0625 = 16.3125
    // cosine = 17.25 / sqrt(19.0625 * 16.3125) = 17.25 / 17.6340... = 0.97824...
    // atol 0.3, rtol 0.1: element fails iff d > 0.3 AND d > 0.1*|b|
    //   [0,1]: 0.5 > 0.3 and 0.5 > 0.25  -> fail
    //   [1,0]: 0.75 > 0.3 and 0.75 > 0.3 -> fail   (largest failing |diff|: the worst element)
    //   [1,1]: 0.25 > 0.3 is false       -> pass  (atol rescues a 100% relative error)
    float[] a = {1f, 2f, 3.75f, 0f};
    float[] b = {1f, 2.5f, 3f, 0.25f};
    CompareResult r = Comparator.compare("score", t(a, 2, 2), t(b, 2, 2), 0.3, 0.1);
    assertEquals(4, r.count());
    assertEquals(0.75, r.maxAbsError(), 0);
    assertEquals(0.375, r.meanAbsError(), 1e-15);
    assertEquals(1.0, r.maxRelError(), 0);
    assertEquals(0.3625, r.meanRelError(), 1e-15);
    assertEquals(17.25 / Math.sqrt(19.0625 * 16.3125), r.cosineSimilarity(), 1e-15);
    assertEquals(2, r.failed());
    assertFalse(r.passed());
    assertArrayEquals(new long[] {1, 0}, r.worstIndex());
    assertEquals(3.75f, r.worstActual());
    assertEquals(3f, r.worstExpected());
    assertTrue(r.summary().contains("output 'score' MISMATCH: 2 of 4 elements"), r.summary());
    assertTrue(r.summary().contains("worst at [1,0]"), r.summary());
    // rtol 0.2: [0,1] now has 0.5 > 0.2*2.5 = 0.5 false -> passes; [1,0]: 0.75 > 0.6 -> still fails
    CompareResult r2 = Comparator.compare("score", t(a, 2, 2), t(b, 2, 2), 0.3, 0.2);
    assertEquals(1, r2.failed());
    assertArrayEquals(new long[] {1, 0}, r2.worstIndex());
    // Generous tolerances: everything passes, and the worst index is still the largest |diff|.
    CompareResult ok = Comparator.compare("score", t(a, 2, 2), t(b, 2, 2), 1.0, 0.0);
    assertTrue(ok.passed());
    assertArrayEquals(new long[] {1, 0}, ok.worstIndex());
    assertEquals(-1, ok.disagreeingPixels(), "2x2 is not a score map");
    assertTrue(Double.isNaN(ok.labelAgreement()));
  }

  @Test
  void elementFailsOnlyWhenBothToleranceTestsFail() {
    // Boundary: |diff| equal to atol passes (strict >).  d = 0.5, atol 0.5, rtol 0
    assertTrue(cmp(new float[] {1.5f}, new float[] {1f}, 0.5, 0).passed());
    // atol 0: d = 0.25 vs rtol*|b| = 0.1*2 = 0.2 -> fails; with rtol 0.125: 0.25 > 0.25 false -> passes
    assertFalse(cmp(new float[] {2.25f}, new float[] {2f}, 0, 0.1).passed());
    assertTrue(cmp(new float[] {2.25f}, new float[] {2f}, 0, 0.125).passed());
    // Big relative error but within atol passes; big absolute error but within rtol passes.
    assertTrue(cmp(new float[] {0.001f}, new float[] {0.002f}, 0.01, 0).passed());
    assertTrue(cmp(new float[] {1001f}, new float[] {1000f}, 0, 0.01).passed());
    // Expected 0: rtol*|b| = 0, so only atol decides, however large rtol is.
    assertFalse(cmp(new float[] {1e-3f}, new float[] {0f}, 1e-4, 1e9).passed());
    assertTrue(cmp(new float[] {1e-5f}, new float[] {0f}, 1e-4, 0).passed());
    // The relative test uses the expected side: |1-2| = 1 > 0.6*|1| fails, but 1 > 0.6*|2| does not.
    assertFalse(cmp(new float[] {2f}, new float[] {1f}, 0, 0.6).passed());
    assertTrue(cmp(new float[] {1f}, new float[] {2f}, 0, 0.6).passed());
  }

  @Test
  void nanAlwaysFailsAndIsKeptOutOfTheStatistics() {
    CompareResult r = cmp(new float[] {1f, Float.NaN, 3f, 5f}, new float[] {1f, 2f, Float.NaN, 4f}, 1e9, 1e9);
    assertFalse(r.passed());
    assertEquals(2, r.failed());
    assertEquals(1, r.nanActual());
    assertEquals(1, r.nanExpected());
    assertArrayEquals(new long[] {1}, r.worstIndex(), "the first NaN is the worst element");
    // statistics over the two non-NaN pairs: diffs 0 and 1
    assertEquals(1.0, r.maxAbsError(), 0);
    assertEquals(0.5, r.meanAbsError(), 0);
    assertFalse(cmp(new float[] {Float.NaN}, new float[] {Float.NaN}, 1e9, 1e9).passed(), "NaN == NaN still fails");
    assertTrue(r.summary().contains("NaN: 1 actual, 1 expected"), r.summary());
  }

  @Test
  void infinities() {
    assertTrue(cmp(new float[] {Float.POSITIVE_INFINITY}, new float[] {Float.POSITIVE_INFINITY}, 0, 0).passed());
    assertFalse(cmp(new float[] {Float.POSITIVE_INFINITY}, new float[] {1f}, 1e30, 1e30).passed());
    assertFalse(cmp(new float[] {Float.NEGATIVE_INFINITY}, new float[] {Float.POSITIVE_INFINITY}, 1e30, 1e30).passed());
  }

  @Test
  void labelAgreementOfScoreMaps() {
    // 1x3x2x2 score maps, channel-major: ch0 = [p0 p1 p2 p3], ch1 = ..., ch2 = ...
    // expected argmax per pixel: p0 -> 0 (5 > 1, 0), p1 -> 1, p2 -> 2, p3 -> 0 (tie 2,2,1: first max wins)
    float[] expected = {
      5, 0, 0, 2,
      1, 4, 0, 2,
      0, 0, 3, 1};
    // actual: p1's argmax moves to channel 2 (4 < 4.5); p3 keeps the tie -> channel 0. 1 of 4 pixels differ.
    float[] actual = {
      5, 0, 0, 2,
      1, 4, 0, 2,
      0, 4.5f, 3, 1};
    Tolerance tol = new Tolerance(10, 0, 70);
    CompareResult r = Comparator.compare("score", t(actual, 1, 3, 2, 2), t(expected, 1, 3, 2, 2), tol);
    assertEquals(4, r.pixels());
    assertEquals(1, r.disagreeingPixels());
    assertEquals(75.0, r.labelAgreement(), 0);
    assertTrue(r.passed(), "75% >= 70% and every |diff| <= atol 10");
    CompareResult strict = Comparator.compare("score", t(actual, 1, 3, 2, 2), t(expected, 1, 3, 2, 2), new Tolerance(10, 0, 99.9));
    assertEquals(0, strict.failed());
    assertFalse(strict.passed(), "elements pass, label agreement 75% < 99.9% fails");
    assertTrue(strict.summary().contains("label agreement 75% (min 99.9%, 1 of 4 pixels differ)"), strict.summary());

    float[] withNan = expected.clone();
    withNan[4 + 2] = Float.NaN; // ch1 at p2
    CompareResult n = Comparator.compare("score", t(withNan, 1, 3, 2, 2), t(expected, 1, 3, 2, 2), new Tolerance(10, 0, Double.NaN));
    assertEquals(1, n.disagreeingPixels(), "a NaN score makes its pixel disagree");
    assertFalse(n.labelsChecked());
  }

  @Test
  void labelAgreementOverABatch() {
    // 2x2x1x3: image 0 argmax [0,1,0] vs actual [0,1,1]; image 1 identical -> 1 of 6 pixels differ
    float[] expected = {1, 0, 1, 0, 1, 0, /* image 1 */ 2, 2, 0, 1, 1, 3};
    float[] actual = {1, 0, 1, 0, 1, 2, /* image 1 */ 2, 2, 0, 1, 1, 3};
    CompareResult r = Comparator.compare("s", t(actual, 2, 2, 1, 3), t(expected, 2, 2, 1, 3), 0, 0);
    assertEquals(6, r.pixels());
    assertEquals(1, r.disagreeingPixels());
    assertArrayEquals(new long[] {0, 1, 0, 2}, r.worstIndex());
  }

  @Test
  void shapeMismatchIsBadInput() {
    FcnException e = assertThrows(FcnException.class,
        () -> Comparator.compare("score", t(new float[4], 1, 4), t(new float[4], 4, 1), 0, 0));
    assertTrue(e.getMessage().contains("'score'") && e.getMessage().contains("1x4") && e.getMessage().contains("4x1"));
  }

  @Test
  void tolerancesApplyPerOutputOverrides() {
    Tolerances t = Tolerances.polygraphy().withAtol(1e-4).withAtol("score", 1e-2).withRtol("prob", 0.5)
        .withMinLabelAgreement(99);
    assertEquals(new Tolerance(1e-2, Tolerances.DEFAULT_RTOL, 99), t.forOutput("score"));
    assertEquals(new Tolerance(1e-4, 0.5, 99), t.forOutput("prob"));
    assertEquals(java.util.Set.of("prob", "score"), t.overriddenOutputs());
    assertThrows(FcnException.class, () -> t.withAtol(-1));
    assertThrows(FcnException.class, () -> t.withMinLabelAgreement(101));
  }

  @Test
  void atolScaleFollowsTheExpectedMagnitude() {
    FloatTensor expected = t(new float[] {-2000, 10, Float.NaN, 0.5f}, 4);
    // relative(1e-4): atol = 1e-4 x max|e| = 0.2 over the finite values, rtol 0.
    Tolerances rel = Tolerances.relative(1e-4);
    assertEquals(new Tolerance(0.2, 0, Double.NaN), rel.forOutput("score", expected));
    assertEquals(new Tolerance(0, 0, Double.NaN), rel.forOutput("score"), "unscaled");
    // A larger fixed atol wins; a per-output scale overrides the default one.
    assertEquals(0.5, rel.withAtol(0.5).forOutput("score", expected).atol());
    assertEquals(2.0, rel.withAtolScale("score", 1e-3).forOutput("score", expected).atol(), 1e-12);
    assertEquals(java.util.Set.of("score"), rel.withAtolScale("score", 1e-3).overriddenOutputs());
    assertEquals(Tolerances.polygraphy().forOutput("x"), Tolerances.polygraphy().forOutput("x", expected),
        "off in Polygraphy's rule");
    assertThrows(FcnException.class, () -> rel.withAtolScale(-1));

    float[] b = {-2000, 10, 0.5f};
    CompareResult within = Comparator.compare("score", t(new float[] {-2000.19f, 10.19f, 0.69f}, 3), t(b, 3),
        rel.forOutput("score", t(b, 3)));
    assertTrue(within.passed(), within.summary());
    CompareResult over = Comparator.compare("score", t(new float[] {-2000, 10, 0.75f}, 3), t(b, 3),
        rel.forOutput("score", t(b, 3)));
    assertFalse(over.passed(), over.summary());
    assertEquals(1, over.failed());
  }

  /**
   * The default rule: max|err| <= 1e-4 x max|ref| per output whatever its scale, and 99.9% label
   * agreement on score maps; describe() says so.
   */
  @Test
  void defaultRuleIsScaleAwareAndChecksLabelsOfScoreMaps() {
    Tolerances d = Tolerances.defaults();
    assertEquals("max|err| <= 0.0001 x max|ref| per output; labels >= 99.9% for score maps (NxCxHxW, C >= 2)",
        d.describe());
    assertEquals("per element |err| <= atol 1e-05 or <= rtol 0.001 x |ref| (Polygraphy's rule)",
        Tolerances.polygraphy().describe());
    for (float scale : new float[] {1e-3f, 1f, 3e3f}) {
      // 1x2x1x2 score map: pixel 0 prefers class 1, pixel 1 class 0, by a wide margin.
      float[] ref = {0.1f * scale, 0.9f * scale, 0.7f * scale, 0.2f * scale};
      FloatTensor e = t(ref, 1, 2, 1, 2);
      float[] close = ref.clone();
      close[3] += 0.5e-4f * 0.9f * scale;
      CompareResult ok = Comparator.compare("score", t(close, 1, 2, 1, 2), e, d.forOutput("score", e));
      assertTrue(ok.passed() && ok.labelsChecked(), scale + ": " + ok.summary());
      float[] far = ref.clone();
      far[3] += 0.01f * 0.9f * scale;
      assertFalse(Comparator.compare("score", t(far, 1, 2, 1, 2), e, d.forOutput("score", e)).passed(), "" + scale);
    }
    // Within the element rule but the labels flip (a loose scale): the label minimum fails it.
    FloatTensor e = t(new float[] {0, 1, 1, 0}, 1, 2, 1, 2);
    FloatTensor flipped = t(new float[] {0.6f, 1, 0.4f, 0}, 1, 2, 1, 2);
    CompareResult r = Comparator.compare("score", flipped, e, d.withAtolScale(1).forOutput("score", e));
    assertEquals(0, r.failed());
    assertFalse(r.passed(), r.summary());
    assertEquals(50.0, r.labelAgreement());
  }
}
