package fcn.reference.caffe;

import java.util.Arrays;

/**
 * A copy of one Caffe blob: its name, shape (N-d, Caffe axis order) and row-major float data.
 * Owns its arrays; holds nothing native.
 */
public record Blob(String name, long[] shape, float[] data) {
  public Blob {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    if (n != data.length) {
      throw new IllegalArgumentException("blob " + name + ": shape " + Arrays.toString(shape)
          + " holds " + n + " values, got " + data.length);
    }
  }

  /** Number of values (product of the shape). */
  public int count() {
    return data.length;
  }

  @Override
  public String toString() {
    return name + Arrays.toString(shape);
  }
}
