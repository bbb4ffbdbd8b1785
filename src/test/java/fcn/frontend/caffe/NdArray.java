package fcn.frontend.caffe;

import java.util.Arrays;
import java.util.SplittableRandom;

/** A float tensor for tests: shape and row-major data. */
record NdArray(long[] shape, float[] data) {

  static NdArray random(long seed, float scale, long... shape) {
    int n = (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
    float[] d = new float[n];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < n; i++) {
      d[i] = (float) (scale * r.nextGaussian());
    }
    return new NdArray(shape, d);
  }

  float maxAbs() {
    float m = 0;
    for (float v : data) {
      m = Math.max(m, Math.abs(v));
    }
    return m;
  }

  /** max |this - ref|, or +inf when shapes differ. */
  double maxAbsDiff(NdArray ref) {
    if (!Arrays.equals(shape, ref.shape)) {
      return Double.POSITIVE_INFINITY;
    }
    double m = 0;
    for (int i = 0; i < data.length; i++) {
      double d = Math.abs((double) data[i] - ref.data[i]);
      if (Double.isNaN(d)) {
        return Double.NaN;
      }
      m = Math.max(m, d);
    }
    return m;
  }

  String shapeString() {
    return Arrays.toString(shape);
  }
}
