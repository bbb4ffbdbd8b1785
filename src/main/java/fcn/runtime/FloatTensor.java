package fcn.runtime;

import fcn.ir.Shape;
import java.util.Arrays;

/**
 * A dense row-major (C order) float tensor: the values and the shape. The array is shared, not
 * copied, so that multi-megabyte score maps pass between the runtime, fixture readers and the
 * comparator without copies; whoever builds one hands over the array and must not change it.
 */
public final class FloatTensor {
  private final float[] data;
  private final long[] shape;

  public FloatTensor(float[] data, long... shape) {
    long n = numel(shape);
    if (n != data.length) {
      throw new IllegalArgumentException(
          "shape " + Shape.format(shape) + " holds " + n + " values, got " + data.length);
    }
    this.data = data;
    this.shape = shape.clone();
  }

  /** The values, row-major; shared with this tensor (do not modify). */
  public float[] data() {
    return data;
  }

  public long[] shape() {
    return shape.clone();
  }

  public int rank() {
    return shape.length;
  }

  public long dim(int i) {
    return shape[i];
  }

  public int size() {
    return data.length;
  }

  public String shapeString() {
    return Shape.format(shape);
  }

  /** The multi-index of flat position {@code flat} (row-major). */
  public long[] index(long flat) {
    return unravel(flat, shape);
  }

  /** The multi-index of {@code flat} in a row-major tensor of {@code shape}. */
  public static long[] unravel(long flat, long[] shape) {
    long[] idx = new long[shape.length];
    for (int i = shape.length - 1; i >= 0; i--) {
      if (shape[i] > 0) {
        idx[i] = flat % shape[i];
        flat /= shape[i];
      }
    }
    return idx;
  }

  /** "[0,3,4,5]", the form used in messages and reports. */
  public static String formatIndex(long[] index) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < index.length; i++) {
      if (i > 0) {
        sb.append(',');
      }
      sb.append(index[i]);
    }
    return sb.append(']').toString();
  }

  /** Element count of a shape; scalars (rank 0) hold one value. */
  public static long numel(long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
      }
      n *= d;
    }
    return n;
  }

  @Override
  public String toString() {
    return "FloatTensor[" + shapeString() + "]";
  }
}
