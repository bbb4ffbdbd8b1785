package fcn.data;

/**
 * An 8-bit RGB image, pixels row-major and interleaved R,G,B. Owns its array: callers must not
 * modify {@link #rgb()} after handing an image to another component.
 */
public record RgbImage(int width, int height, byte[] rgb) {
  public RgbImage {
    if (width <= 0 || height <= 0 || rgb.length != 3L * width * height) {
      throw new IllegalArgumentException(
          "RGB image " + width + "x" + height + " needs " + 3L * width * height + " bytes, got " + rgb.length);
    }
  }

  /** Channel {@code c} (0 = R) of pixel (x, y), 0..255. */
  public int get(int x, int y, int c) {
    return rgb[3 * (y * width + x) + c] & 0xff;
  }
}
