package fcn.data;

/**
 * A per-pixel class map (ground truth or prediction), row-major. Values are class indices; the
 * dataset's ignore label may appear in ground truth. Owns its array (do not modify after
 * sharing).
 */
public record LabelMap(int width, int height, int[] values) {
  public LabelMap {
    if (width <= 0 || height <= 0 || values.length != (long) width * height) {
      throw new IllegalArgumentException(
          "label map " + width + "x" + height + " needs " + (long) width * height + " values, got " + values.length);
    }
  }

  public int get(int x, int y) {
    return values[y * width + x];
  }

  /**
   * Nearest-neighbour resize (labels must not be interpolated), sampling pixel centres: used to
   * bring a prediction made at network resolution back to the image's size.
   */
  public LabelMap resizeNearest(int newWidth, int newHeight) {
    if (newWidth == width && newHeight == height) {
      return this;
    }
    int[] out = new int[newWidth * newHeight];
    for (int y = 0; y < newHeight; y++) {
      int sy = Math.min(height - 1, (int) ((y + 0.5) * height / newHeight));
      for (int x = 0; x < newWidth; x++) {
        int sx = Math.min(width - 1, (int) ((x + 0.5) * width / newWidth));
        out[y * newWidth + x] = values[sy * width + sx];
      }
    }
    return new LabelMap(newWidth, newHeight, out);
  }
}
