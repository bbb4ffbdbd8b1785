package fcn.data;

import fcn.core.AtomicFile;
import fcn.core.FcnException;
import fcn.core.FileChecks;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Image and label-map IO with javax.imageio only. Every writer goes through {@link AtomicFile},
 * so an interrupted run never leaves a half-written image. Failures are {@link FcnException}s
 * naming the file.
 *
 * <p>Label PNGs are read from the raster, never through RGB: a palette (indexed) PNG gives its
 * palette index per pixel (the VOC convention, index = class), a grayscale PNG its values.
 */
public final class Images {
  private Images() {}

  /** Decodes any ImageIO-readable image to 8-bit RGB (alpha dropped, gray replicated). */
  public static RgbImage readRgb(Path file) {
    Decoded d = decode(file);
    BufferedImage img = d.image();
    int w = img.getWidth();
    int h = img.getHeight();
    byte[] out = new byte[3 * w * h];
    if (d.cmyk() != null) {
      cmykToRgb(d.cmyk(), out);
      return new RgbImage(w, h, out);
    }
    Raster r = img.getRaster();
    int type = img.getColorModel().getColorSpace().getType();
    if (img.getColorModel() instanceof IndexColorModel) {
      int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
      for (int i = 0; i < argb.length; i++) {
        out[3 * i] = (byte) (argb[i] >> 16);
        out[3 * i + 1] = (byte) (argb[i] >> 8);
        out[3 * i + 2] = (byte) argb[i];
      }
    } else if (type == ColorSpace.TYPE_GRAY || type == ColorSpace.TYPE_RGB) {
      // Raw raster samples: going through getRGB would push gray images through a linear-gray
      // colour space and change their values.
      int bands = r.getNumBands();
      int shift = Math.max(0, r.getSampleModel().getSampleSize(0) - 8);
      int[] px = r.getPixels(0, 0, w, h, (int[]) null);
      boolean gray = type == ColorSpace.TYPE_GRAY;
      for (int i = 0; i < w * h; i++) {
        int base = i * bands;
        for (int c = 0; c < 3; c++) {
          out[3 * i + c] = (byte) (px[base + (gray ? 0 : c)] >> shift);
        }
      }
    } else {
      int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
      for (int i = 0; i < argb.length; i++) {
        out[3 * i] = (byte) (argb[i] >> 16);
        out[3 * i + 1] = (byte) (argb[i] >> 8);
        out[3 * i + 2] = (byte) argb[i];
      }
    }
    return new RgbImage(w, h, out);
  }

  /**
   * CMYK JPEG samples to RGB as libjpeg-based decoders (PIL, browsers) do: the samples are
   * stored inverted (Adobe's convention, which they assume for every CMYK JPEG), so with true
   * ink values C = 255 - s, R = (255 - C)(255 - K) / 255 = s_C x s_K / 255. Java's own CMYK colour
   * space gets this wrong by about 50 levels on JDK 17.
   */
  private static void cmykToRgb(Raster r, byte[] out) {
    int w = r.getWidth();
    int h = r.getHeight();
    int[] px = r.getPixels(r.getMinX(), r.getMinY(), w, h, (int[]) null);
    for (int i = 0; i < w * h; i++) {
      int k = px[4 * i + 3];
      for (int c = 0; c < 3; c++) {
        out[3 * i + c] = (byte) ((px[4 * i + c] * k + 127) / 255);
      }
    }
  }

  /**
   * Reads a ground-truth label PNG: palette PNGs give the palette index, grayscale PNGs the value.
   * A colour (RGB) image is refused: its colours would first have to be mapped to classes.
   */
  public static LabelMap readLabel(Path file) {
    BufferedImage img = read(file);
    LabelMap m = indexOrGray(img);
    if (m == null) {
      throw new FcnException(file + ": a colour image with " + img.getColorModel().getNumComponents()
          + " components; expected a label PNG with a palette (index = class) or 8-bit grayscale values");
    }
    return m;
  }

  /**
   * Reads a prediction: palette or grayscale PNGs as in {@link #readLabel}; a colour-coded RGB(A)
   * image is decoded back to class indices through {@code palette} (e.g. the VOC colours that
   * FCN's demo output uses). A colour not in the palette is an error naming it and the file.
   */
  public static LabelMap readClassMap(Path file, Palette palette) {
    BufferedImage img = read(file);
    LabelMap m = indexOrGray(img);
    if (m != null) {
      return m;
    }
    Raster r = img.getRaster();
    if (r.getNumBands() < 3 || r.getSampleModel().getSampleSize(0) != 8) {
      throw new FcnException(file + ": unsupported image format for a class map; expected a palette, "
          + "grayscale or 8-bit RGB PNG");
    }
    int w = img.getWidth();
    int h = img.getHeight();
    int bands = r.getNumBands();
    int[] px = r.getPixels(0, 0, w, h, (int[]) null);
    int[] out = new int[w * h];
    int lastRgb = -1;
    int lastIndex = -1;
    for (int i = 0; i < out.length; i++) {
      int base = i * bands;
      int rgb = (px[base] << 16) | (px[base + 1] << 8) | px[base + 2];
      if (rgb != lastRgb) {
        // Class maps are mostly runs of one colour; the cache skips most lookups.
        lastIndex = palette.indexOf(rgb);
        lastRgb = rgb;
        if (lastIndex < 0) {
          throw new FcnException(String.format(Locale.ROOT,
              "%s: colour #%06x (R=%d G=%d B=%d) at x=%d y=%d is not in the %s palette; "
                  + "expected a colour-coded class map (lossless PNG) or an index PNG",
              file, rgb, rgb >> 16, (rgb >> 8) & 0xff, rgb & 0xff, i % w, i / w, palette.name()));
        }
      }
      out[i] = lastIndex;
    }
    return new LabelMap(w, h, out);
  }

  private static LabelMap indexOrGray(BufferedImage img) {
    boolean indexed = img.getColorModel() instanceof IndexColorModel;
    boolean gray = img.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY;
    if (!indexed && !gray) {
      return null;
    }
    Raster r = img.getRaster();
    int w = img.getWidth();
    int h = img.getHeight();
    // Band 0 holds the index or gray value; a gray+alpha PNG has alpha in band 1.
    int[] v = r.getSamples(0, 0, w, h, 0, (int[]) null);
    return new LabelMap(w, h, v);
  }

  /** Width and height without decoding the pixels. */
  public static int[] size(Path file) {
    FileChecks.requireFile(file, "an image file (PNG or JPEG)");
    try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
      Iterator<ImageReader> it = in == null ? null : ImageIO.getImageReaders(in);
      if (it == null || !it.hasNext()) {
        throw new FcnException(file + ": not a readable image (expected PNG or JPEG)");
      }
      ImageReader reader = it.next();
      try {
        reader.setInput(in);
        return new int[] {reader.getWidth(0), reader.getHeight(0)};
      } finally {
        reader.dispose();
      }
    } catch (IOException e) {
      throw new FcnException(file + ": cannot read image: " + FileChecks.reason(e), e);
    }
  }

  static BufferedImage read(Path file) {
    return decode(file).image();
  }

  /** A decoded image; {@code cmyk} holds the raw samples of a 4-channel (CMYK) JPEG, else null. */
  private record Decoded(BufferedImage image, Raster cmyk) {}

  /**
   * Decodes the first image of {@code file} completely or fails naming it. ImageIO's JPEG reader
   * only warns on a truncated or corrupt stream and returns an image padded with gray, which
   * would then be scored as if it were the photo: any decoder warning is an error here.
   */
  private static Decoded decode(Path file) {
    FileChecks.requireFile(file, "an image file (PNG or JPEG)");
    try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
      Iterator<ImageReader> it = in == null ? null : ImageIO.getImageReaders(in);
      if (it == null || !it.hasNext()) {
        throw new FcnException(file + ": not a readable image (expected PNG or JPEG)");
      }
      ImageReader reader = it.next();
      try {
        List<String> warnings = new ArrayList<>();
        reader.addIIOReadWarningListener((src, w) -> warnings.add(w));
        boolean jpeg = "jpeg".equalsIgnoreCase(reader.getFormatName());
        reader.setInput(in, true, !jpeg);
        BufferedImage img = reader.read(0);
        if (jpeg && !warnings.isEmpty()) {
          throw new FcnException(file + ": image does not decode completely (truncated or corrupt: "
              + oneLine(warnings.get(0)) + ")");
        }
        Raster cmyk = null;
        if (jpeg && img.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_CMYK) {
          if (adobeTransform(reader) == 2) {
            throw new FcnException(file + ": a YCCK JPEG; expected an RGB, grayscale or CMYK image "
                + "(convert it to RGB first)");
          }
          // The raster path returns the samples as stored, on every JDK (the image path inverts
          // them on some versions and not on others).
          reader.setInput(ImageIO.createImageInputStream(file.toFile()), true, true);
          cmyk = reader.readRaster(0, null);
        }
        return new Decoded(img, cmyk);
      } finally {
        reader.dispose();
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof FcnException f) {
        throw f;
      }
      String m = e.getMessage() == null ? "" : ": " + oneLine(e.getMessage());
      throw new FcnException(file + ": cannot decode image (truncated or corrupt" + m + ")", e);
    }
  }

  private static String oneLine(String s) {
    String t = s.replaceAll("\\s+", " ").strip();
    return t.length() > 100 ? t.substring(0, 100) + "..." : t;
  }

  /** The Adobe APP14 marker's colour transform (0 CMYK, 1 YCbCr, 2 YCCK), or -1 without one. */
  private static int adobeTransform(ImageReader reader) throws IOException {
    javax.imageio.metadata.IIOMetadata md = reader.getImageMetadata(0);
    if (md == null) {
      return -1;
    }
    org.w3c.dom.Node tree = md.getAsTree("javax_imageio_jpeg_image_1.0");
    org.w3c.dom.NodeList l = ((javax.imageio.metadata.IIOMetadataNode) tree).getElementsByTagName("app14Adobe");
    if (l.getLength() == 0) {
      return -1;
    }
    String t = ((org.w3c.dom.Element) l.item(0)).getAttribute("transform");
    try {
      return Integer.parseInt(t);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * Writes an 8-bit palette PNG whose pixel indices are the map's values (index = class), so the
   * file is both a machine-readable label map and viewable in colour.
   */
  public static void writeIndexedPng(Path file, LabelMap map, Palette palette) {
    BufferedImage img = new BufferedImage(map.width(), map.height(), BufferedImage.TYPE_BYTE_INDEXED,
        palette.colorModel());
    byte[] data = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
    int[] v = map.values();
    for (int i = 0; i < v.length; i++) {
      if (v[i] < 0 || v[i] > 255) {
        throw new FcnException(file + ": class " + v[i] + " at pixel " + i
            + " does not fit an 8-bit palette PNG (expected 0..255)");
      }
      data[i] = (byte) v[i];
    }
    write(file, img, "png", null);
  }

  /** Writes an RGB PNG. */
  public static void writePng(Path file, RgbImage image) {
    write(file, toBufferedImage(image), "png", null);
  }

  /** Writes a baseline JPEG at {@code quality} (0..1). Deterministic for equal input. */
  public static void writeJpeg(Path file, RgbImage image, float quality) {
    write(file, toBufferedImage(image), "jpeg", quality);
  }

  static BufferedImage toBufferedImage(RgbImage image) {
    BufferedImage img = new BufferedImage(image.width(), image.height(), BufferedImage.TYPE_3BYTE_BGR);
    byte[] bgr = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
    byte[] rgb = image.rgb();
    for (int i = 0; i < rgb.length; i += 3) {
      bgr[i] = rgb[i + 2];
      bgr[i + 1] = rgb[i + 1];
      bgr[i + 2] = rgb[i];
    }
    return img;
  }

  private static void write(Path file, BufferedImage img, String format, Float quality) {
    Iterator<ImageWriter> it = ImageIO.getImageWritersByFormatName(format);
    if (!it.hasNext()) {
      throw new FcnException("no ImageIO writer for " + format + " (writing " + file + ")");
    }
    ImageWriter writer = it.next();
    try (AtomicFile out = new AtomicFile(file)) {
      // An explicit memory-cached stream: ImageIO's default may spill to a temp-file cache.
      try (MemoryCacheImageOutputStream ios = new MemoryCacheImageOutputStream(out.stream())) {
        writer.setOutput(ios);
        ImageWriteParam param = writer.getDefaultWriteParam();
        if (quality != null) {
          param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
          param.setCompressionQuality(quality);
        }
        writer.write(null, new IIOImage(img, null, null), param);
      }
      out.commit();
    } catch (IOException e) {
      throw new FcnException("cannot write " + file + ": " + FileChecks.reason(e), e);
    } finally {
      writer.dispose();
    }
  }
}
