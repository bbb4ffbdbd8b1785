package fcn.frontend.caffe;

import fcn.ir.Shape;
import fcn.ir.Tensor;
import java.util.Arrays;

/**
 * One learned blob read from a caffemodel: its declared shape and float data. {@code legacy}
 * is true when the shape came from the old num/channels/height/width fields, which Caffe
 * matches against a target blob left-padded with 1s to four axes.
 */
record WeightBlob(long[] shape, boolean legacy, Tensor data) {

  /** Caffe's Blob::ShapeEquals: exact shape, or a legacy 4-D shape equal to the padded target. */
  boolean matches(long[] expected) {
    if (!legacy) {
      return Arrays.equals(shape, expected);
    }
    if (expected.length > 4) {
      return false;
    }
    long[] padded = new long[4];
    Arrays.fill(padded, 1);
    System.arraycopy(expected, 0, padded, 4 - expected.length, expected.length);
    return Arrays.equals(shape, padded);
  }

  String describe() {
    return Shape.format(shape) + (legacy ? " (legacy num/channels/height/width)" : "");
  }
}
