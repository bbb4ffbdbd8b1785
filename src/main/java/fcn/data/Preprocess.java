package fcn.data;

import fcn.core.FcnException;
import java.util.Arrays;
import java.util.Locale;

/**
 * How an RGB image becomes a network input: an immutable value object with channel order,
 * scale, per-channel mean and std, and an optional resize. For each output channel c (in
 * {@link #order()}) and pixel value v in 0..255:
 *
 * <pre>  out[c][y][x] = (v * scale - mean[c]) / std[c]</pre>
 *
 * <p>Mean and std are given in the output channel order. Presets: {@link #caffe()} (FCN's Caffe
 * nets: BGR, no scaling, VGG mean 104.00698793, 116.66876762, 122.67891434 subtracted in BGR
 * order, std 1) and {@link #torchvision()} (RGB, /255, ImageNet mean/std). Flags override single
 * fields through the {@code with*} methods.
 */
public final class Preprocess {
  /** The order of the three colour planes in the network input. */
  public enum ChannelOrder {
    RGB, BGR
  }

  /** Largest --resize side: beyond it one input tensor alone passes a few GB. */
  public static final int MAX_SIDE = 16384;

  private final ChannelOrder order;
  private final double scale;
  private final double[] mean;
  private final double[] std;
  private final int resizeWidth;
  private final int resizeHeight;

  private Preprocess(ChannelOrder order, double scale, double[] mean, double[] std, int rw, int rh) {
    this.order = order;
    this.scale = scale;
    this.mean = mean;
    this.std = std;
    this.resizeWidth = rw;
    this.resizeHeight = rh;
    // Non-finite values would turn every input into NaN or infinity and the run would still
    // "score" (a mean IU of a few percent) with exit 0.
    if (!Double.isFinite(scale) || scale <= 0) {
      throw new FcnException("--scale " + scale + ": expected a finite number > 0 (e.g. 0.00392156862745098 for 1/255)");
    }
    for (double m : mean) {
      if (!Double.isFinite(m)) {
        throw new FcnException("--mean " + Arrays.toString(mean) + ": expected finite numbers");
      }
    }
    for (double s : std) {
      if (s == 0 || !Double.isFinite(s)) {
        throw new FcnException("--std " + Arrays.toString(std) + ": expected finite, non-zero numbers");
      }
    }
  }

  /** FCN's Caffe convention: BGR, 0..255, minus the VGG ILSVRC mean (BGR order). */
  public static Preprocess caffe() {
    return new Preprocess(ChannelOrder.BGR, 1.0,
        new double[] {104.00698793, 116.66876762, 122.67891434}, new double[] {1, 1, 1}, 0, 0);
  }

  /** torchvision's convention: RGB, /255, ImageNet mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225). */
  public static Preprocess torchvision() {
    return new Preprocess(ChannelOrder.RGB, 1.0 / 255,
        new double[] {0.485, 0.456, 0.406}, new double[] {0.229, 0.224, 0.225}, 0, 0);
  }

  /** A preset by name: {@code caffe} or {@code torchvision}. */
  public static Preprocess preset(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "caffe" -> caffe();
      case "torchvision" -> torchvision();
      default -> throw new FcnException("unknown preprocess preset '" + name + "'; expected caffe or torchvision");
    };
  }

  /** Parses three comma-separated numbers, e.g. {@code "104,117,123"} (for --mean / --std flags). */
  public static double[] parseTriple(String what, String text) {
    String[] f = text.split(",");
    if (f.length != 3) {
      throw new FcnException(what + " '" + text + "': expected three comma-separated numbers, e.g. 0.485,0.456,0.406");
    }
    double[] v = new double[3];
    for (int i = 0; i < 3; i++) {
      try {
        v[i] = Double.parseDouble(f[i].strip());
      } catch (NumberFormatException e) {
        throw new FcnException(what + " '" + text + "': '" + f[i].strip() + "' is not a number");
      }
    }
    return v;
  }

  public Preprocess withOrder(ChannelOrder o) {
    return new Preprocess(o, scale, mean, std, resizeWidth, resizeHeight);
  }

  public Preprocess withScale(double s) {
    return new Preprocess(order, s, mean, std, resizeWidth, resizeHeight);
  }

  /** Mean per output channel (in {@link #order()}). */
  public Preprocess withMean(double... m) {
    return new Preprocess(order, scale, triple("mean", m), std, resizeWidth, resizeHeight);
  }

  /** Std per output channel (in {@link #order()}). */
  public Preprocess withStd(double... s) {
    return new Preprocess(order, scale, mean, triple("std", s), resizeWidth, resizeHeight);
  }

  /** Bilinear resize to width x height before normalising; (0, 0) = keep the image's size. */
  public Preprocess withResize(int width, int height) {
    if (width < 0 || height < 0 || (width == 0) != (height == 0) || width > MAX_SIDE || height > MAX_SIDE) {
      throw new FcnException("--resize " + height + "x" + width + ": expected positive height and width up to "
          + MAX_SIDE + " (or none)");
    }
    return new Preprocess(order, scale, mean, std, width, height);
  }

  private static double[] triple(String what, double[] v) {
    if (v.length != 3) {
      throw new FcnException("preprocess " + what + " needs 3 values (one per channel), got " + v.length);
    }
    return v.clone();
  }

  public ChannelOrder order() {
    return order;
  }

  public double scale() {
    return scale;
  }

  public double[] mean() {
    return mean.clone();
  }

  public double[] std() {
    return std.clone();
  }

  /** True when a resize was asked for. */
  public boolean resizes() {
    return resizeWidth > 0;
  }

  public int resizeWidth() {
    return resizeWidth;
  }

  public int resizeHeight() {
    return resizeHeight;
  }

  /** {C=3, H, W} of the tensor {@link #toChw} makes from an image of the given size. */
  public int[] outputShape(int width, int height) {
    return resizes() ? new int[] {3, resizeHeight, resizeWidth} : new int[] {3, height, width};
  }

  /** The preprocessed image as a float CHW array (3 x H x W, planes in {@link #order()}). */
  public float[] toChw(RgbImage img) {
    int w = resizes() ? resizeWidth : img.width();
    int h = resizes() ? resizeHeight : img.height();
    float[] out = new float[3 * w * h];
    int plane = w * h;
    byte[] rgb = img.rgb();
    for (int c = 0; c < 3; c++) {
      int src = order == ChannelOrder.RGB ? c : 2 - c;
      double m = mean[c];
      double s = std[c];
      if (!resizes()) {
        for (int i = 0; i < plane; i++) {
          out[c * plane + i] = (float) (((rgb[3 * i + src] & 0xff) * scale - m) / s);
        }
      } else {
        resizeChannel(img, src, w, h, out, c * plane, m, s);
      }
    }
    return out;
  }

  // Half-pixel-centre bilinear (OpenCV INTER_LINEAR / PyTorch align_corners=False, no antialias).
  private void resizeChannel(RgbImage img, int src, int w, int h, float[] out, int off, double m, double s) {
    int iw = img.width();
    int ih = img.height();
    byte[] rgb = img.rgb();
    double sx = (double) iw / w;
    double sy = (double) ih / h;
    for (int y = 0; y < h; y++) {
      double fy = Math.max(0, (y + 0.5) * sy - 0.5);
      int y0 = Math.min((int) fy, ih - 1);
      int y1 = Math.min(y0 + 1, ih - 1);
      double wy = fy - y0;
      for (int x = 0; x < w; x++) {
        double fx = Math.max(0, (x + 0.5) * sx - 0.5);
        int x0 = Math.min((int) fx, iw - 1);
        int x1 = Math.min(x0 + 1, iw - 1);
        double wx = fx - x0;
        double v00 = rgb[3 * (y0 * iw + x0) + src] & 0xff;
        double v01 = rgb[3 * (y0 * iw + x1) + src] & 0xff;
        double v10 = rgb[3 * (y1 * iw + x0) + src] & 0xff;
        double v11 = rgb[3 * (y1 * iw + x1) + src] & 0xff;
        double v = (v00 * (1 - wx) + v01 * wx) * (1 - wy) + (v10 * (1 - wx) + v11 * wx) * wy;
        out[off + y * w + x] = (float) ((v * scale - m) / s);
      }
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Preprocess p && p.order == order && p.scale == scale && Arrays.equals(p.mean, mean)
        && Arrays.equals(p.std, std) && p.resizeWidth == resizeWidth && p.resizeHeight == resizeHeight;
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(mean) * 31 + Arrays.hashCode(std) + order.hashCode() + Double.hashCode(scale);
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "order=%s scale=%s mean=%s std=%s resize=%s", order, scale,
        Arrays.toString(mean), Arrays.toString(std), resizes() ? resizeWidth + "x" + resizeHeight : "none");
  }
}
