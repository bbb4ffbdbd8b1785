package fcn.data;

import java.awt.image.IndexColorModel;
import java.util.Arrays;

/**
 * A 256-entry colour map from class index to RGB, and back. Immutable.
 *
 * <p>{@link #voc()} is PASCAL VOC's map: index 0 black (background), 1 (128,0,0) aeroplane, ...,
 * 255 (224,224,192) void. Its colours are all distinct, so colour-coded predictions decode back
 * to indices exactly.
 */
public final class Palette {
  private static final Palette VOC = new Palette("VOC", vocColors());

  private final String name;
  private final int[] rgb;
  private final int[] sortedRgb;
  private final int[] sortedIndex;

  private Palette(String name, int[] rgb) {
    this.name = name;
    this.rgb = rgb;
    // Sorted (colour, index) pairs let indexOf binary-search without boxing.
    long[] pairs = new long[rgb.length];
    for (int i = 0; i < rgb.length; i++) {
      pairs[i] = ((long) rgb[i] << 16) | i;
    }
    Arrays.sort(pairs);
    sortedRgb = new int[rgb.length];
    sortedIndex = new int[rgb.length];
    for (int i = 0; i < pairs.length; i++) {
      sortedRgb[i] = (int) (pairs[i] >>> 16);
      sortedIndex[i] = (int) (pairs[i] & 0xffff);
      if (i > 0 && sortedRgb[i] == sortedRgb[i - 1]) {
        throw new IllegalArgumentException(String.format(
            "palette colour #%06x is used by indices %d and %d", sortedRgb[i], sortedIndex[i - 1], sortedIndex[i]));
      }
    }
  }

  /** PASCAL VOC's colour map, built bitwise exactly as VOCdevkit's {@code labelcolormap.m}. */
  public static Palette voc() {
    return VOC;
  }

  /** A palette of up to 256 distinct 0xRRGGBB colours; {@code name} appears in error messages. */
  public static Palette of(String name, int... rgb) {
    if (rgb.length == 0 || rgb.length > 256) {
      throw new IllegalArgumentException("a palette has 1..256 colours, got " + rgb.length);
    }
    int[] c = rgb.clone();
    for (int i = 0; i < c.length; i++) {
      c[i] &= 0xffffff;
    }
    return new Palette(name, c);
  }

  private static int[] vocColors() {
    int[] map = new int[256];
    for (int i = 0; i < 256; i++) {
      int r = 0;
      int g = 0;
      int b = 0;
      int c = i;
      // Each round moves the next three bits of the index into the next-highest bit of r, g, b.
      for (int j = 0; j < 8; j++) {
        r |= ((c >> 0) & 1) << (7 - j);
        g |= ((c >> 1) & 1) << (7 - j);
        b |= ((c >> 2) & 1) << (7 - j);
        c >>= 3;
      }
      map[i] = (r << 16) | (g << 8) | b;
    }
    return map;
  }

  public String name() {
    return name;
  }

  public int size() {
    return rgb.length;
  }

  /** The colour of {@code index} as 0xRRGGBB. */
  public int color(int index) {
    return rgb[index];
  }

  /** The index whose colour is {@code rgb} (0xRRGGBB), or -1. */
  public int indexOf(int rgb) {
    int k = Arrays.binarySearch(sortedRgb, rgb & 0xffffff);
    return k < 0 ? -1 : sortedIndex[k];
  }

  /** An 8-bit colour model for writing indexed PNGs (index = class); pads to 256 entries. */
  public IndexColorModel colorModel() {
    byte[] r = new byte[256];
    byte[] g = new byte[256];
    byte[] b = new byte[256];
    for (int i = 0; i < rgb.length; i++) {
      r[i] = (byte) (rgb[i] >> 16);
      g[i] = (byte) (rgb[i] >> 8);
      b[i] = (byte) rgb[i];
    }
    return new IndexColorModel(8, 256, r, g, b);
  }
}
