package fcn.data;

import fcn.core.FcnException;
import java.nio.file.Path;

/**
 * Writes predictions as files people and tools can use, each atomically:
 *
 * <ul>
 *   <li>a palette PNG (8-bit indexed, VOC colours): the pixel's palette index is its class, so the
 *       file is exact input for {@code fcn score} and any VOC tool, and shows in colour in a viewer;
 *   <li>an overlay PNG: the image blended with the class colours, to look at. Classes whose
 *       palette colour is black (VOC background) are left untinted: blending toward black would
 *       only darken the picture.
 * </ul>
 */
public final class PredictionWriter {
  /** Default weight of the class colour in overlays. */
  public static final double DEFAULT_ALPHA = 0.5;

  private final Palette palette;
  private final double alpha;

  public PredictionWriter() {
    this(Palette.voc(), DEFAULT_ALPHA);
  }

  public PredictionWriter(Palette palette, double alpha) {
    if (!(alpha >= 0 && alpha <= 1)) {
      throw new IllegalArgumentException("overlay alpha must be in [0, 1], got " + alpha);
    }
    this.palette = palette;
    this.alpha = alpha;
  }

  /**
   * Writes {@code dir/ID.png} (palette PNG) and {@code dir/overlay/ID.png} (overlay). Overlays go
   * to a sub-folder so {@code dir} holds only index PNGs and can be scored directly.
   */
  public void write(Path dir, String id, RgbImage image, LabelMap prediction) {
    writeIndexed(dir.resolve(id + ".png"), prediction);
    writeOverlay(dir.resolve("overlay").resolve(id + ".png"), image, prediction);
  }

  /** The palette PNG alone. */
  public void writeIndexed(Path file, LabelMap prediction) {
    Images.writeIndexedPng(file, prediction, palette);
  }

  /** The overlay alone; the prediction must have the image's size (see {@link LabelMap#resizeNearest}). */
  public void writeOverlay(Path file, RgbImage image, LabelMap prediction) {
    if (image.width() != prediction.width() || image.height() != prediction.height()) {
      throw new FcnException(file + ": prediction is " + prediction.width() + "x" + prediction.height()
          + " but the image is " + image.width() + "x" + image.height() + "; expected equal sizes");
    }
    byte[] src = image.rgb();
    byte[] out = new byte[src.length];
    int[] v = prediction.values();
    for (int i = 0; i < v.length; i++) {
      int color = v[i] >= 0 && v[i] < palette.size() ? palette.color(v[i]) : 0;
      for (int c = 0; c < 3; c++) {
        int s = src[3 * i + c] & 0xff;
        int k = (color >> (16 - 8 * c)) & 0xff;
        out[3 * i + c] = (byte) (color == 0 ? s : Math.round(s * (1 - alpha) + k * alpha));
      }
    }
    Images.writePng(file, new RgbImage(image.width(), image.height(), out));
  }
}
