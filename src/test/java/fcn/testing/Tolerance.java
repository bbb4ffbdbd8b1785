package fcn.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The project's rule for comparing with a real framework's output, for tests: max|err| at most
 * {@code rel} x max|ref| (1e-4 for float32 computed in another order), never bytes.
 */
public final class Tolerance {
  private Tolerance() {}

  /** Asserts max|ref - got| <= rel x max|ref|, and that the reference is not all zeros. */
  public static void assertClose(String what, float[] ref, float[] got, double rel) {
    assertEquals(ref.length, got.length, what + ": element count");
    double maxRef = 0;
    double maxErr = 0;
    for (int i = 0; i < ref.length; i++) {
      maxRef = Math.max(maxRef, Math.abs(ref[i]));
      maxErr = Math.max(maxErr, Math.abs((double) ref[i] - got[i]));
    }
    assertTrue(maxRef > 0, what + ": reference is all zeros: the comparison would prove nothing");
    assertTrue(maxErr <= rel * maxRef, what + ": max|err| " + maxErr + " > " + rel + " x max|ref| " + maxRef);
  }
}
