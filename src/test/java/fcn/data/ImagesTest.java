package fcn.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImagesTest {
  @TempDir Path dir;

  @Test
  void palettePngRoundTripsIndicesNotColours() throws Exception {
    int[] v = new int[16 * 16];
    for (int i = 0; i < v.length; i++) {
      v[i] = i; // all 256 palette entries, including 255 (void)
    }
    Path f = dir.resolve("sub/label.png");
    Images.writeIndexedPng(f, new LabelMap(16, 16, v), Palette.voc());
    LabelMap back = Images.readLabel(f);
    assertArrayEquals(v, back.values());
    // and decoding through colours gives the same (every VOC colour is distinct)
    assertArrayEquals(v, Images.readClassMap(f, Palette.voc()).values());
    try (var s = Files.list(f.getParent())) {
      assertEquals(1, s.count(), "no temp files left beside the output");
    }
  }

  @Test
  void grayscalePngGivesRawValues() throws Exception {
    BufferedImage img = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_GRAY);
    img.getRaster().setSample(0, 0, 0, 0);
    img.getRaster().setSample(1, 0, 0, 7);
    img.getRaster().setSample(2, 0, 0, 100);
    Path f = dir.resolve("gray.png");
    ImageIO.write(img, "png", f.toFile());
    assertArrayEquals(new int[] {0, 7, 100}, Images.readLabel(f).values());
    // as an image, gray is replicated unchanged (no linear-gray colour conversion)
    RgbImage rgb = Images.readRgb(f);
    assertEquals(100, rgb.get(2, 0, 0));
    assertEquals(100, rgb.get(2, 0, 2));
    assertEquals(7, rgb.get(1, 0, 1));
  }

  @Test
  void colourCodedPredictionDecodesThroughPalette() {
    Palette p = Palette.voc();
    byte[] rgb = new byte[3 * 3];
    int[] classes = {0, 15, 20};
    for (int i = 0; i < 3; i++) {
      int c = p.color(classes[i]);
      rgb[3 * i] = (byte) (c >> 16);
      rgb[3 * i + 1] = (byte) (c >> 8);
      rgb[3 * i + 2] = (byte) c;
    }
    Path f = dir.resolve("pred.png");
    Images.writePng(f, new RgbImage(3, 1, rgb));
    assertArrayEquals(classes, Images.readClassMap(f, p).values());
    assertEquals(0xC0, Images.readRgb(f).get(1, 0, 0));
    // a ground-truth label must not be a colour image
    FcnException e = assertThrows(FcnException.class, () -> Images.readLabel(f));
    assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
  }

  @Test
  void unknownColourIsAnErrorNamingColourAndFile() {
    Path f = dir.resolve("odd.png");
    Images.writePng(f, new RgbImage(2, 1, new byte[] {0, 0, 0, 1, 2, 3}));
    FcnException e = assertThrows(FcnException.class, () -> Images.readClassMap(f, Palette.voc()));
    assertTrue(e.getMessage().contains("#010203") && e.getMessage().contains("odd.png")
        && e.getMessage().contains("x=1 y=0") && !e.getMessage().contains("\n"), e.getMessage());
  }

  @Test
  void missingOrNonImageFilesNameTheFile() throws Exception {
    Path missing = dir.resolve("nope.png");
    FcnException e = assertThrows(FcnException.class, () -> Images.readRgb(missing));
    assertTrue(e.getMessage().contains("nope.png"), e.getMessage());
    Path text = dir.resolve("text.png");
    Files.writeString(text, "not an image");
    e = assertThrows(FcnException.class, () -> Images.readLabel(text));
    assertTrue(e.getMessage().contains("text.png"), e.getMessage());
  }

  @Test
  void jpegRoundTripIsClose() {
    byte[] rgb = new byte[3 * 8 * 8];
    java.util.Arrays.fill(rgb, (byte) 120);
    Path f = dir.resolve("a.jpg");
    Images.writeJpeg(f, new RgbImage(8, 8, rgb), 0.95f);
    RgbImage back = Images.readRgb(f);
    assertEquals(120, back.get(3, 3, 1), 2);
    assertArrayEquals(new int[] {8, 8}, Images.size(f));
  }

  // --- CMYK, truncated and corrupt images ---

  /** A smooth RGB test picture (JPEG-friendly: few levels of loss). */
  private static int[] rgbAt(int x, int y) {
    return new int[] {40 + x * 3, 30 + y * 4, 200 - x - y};
  }

  /**
   * A 4-channel JPEG written by ImageIO's own CMYK path: samples stored as Adobe's inverted CMYK
   * with K stored 255 (no black ink), so the picture's RGB is the stored C, M, Y samples.
   */
  private Path cmykJpeg(String name, int w, int h) throws Exception {
    java.awt.image.WritableRaster r = java.awt.image.Raster.createInterleavedRaster(
        java.awt.image.DataBuffer.TYPE_BYTE, w, h, 4, new java.awt.Point(0, 0));
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int[] c = rgbAt(x, y);
        r.setPixel(x, y, new int[] {c[0], c[1], c[2], 255});
      }
    }
    Path f = dir.resolve(name);
    javax.imageio.ImageWriter wr = ImageIO.getImageWritersByFormatName("jpeg").next();
    try (var out = ImageIO.createImageOutputStream(f.toFile())) {
      wr.setOutput(out);
      var param = wr.getDefaultWriteParam();
      param.setCompressionMode(javax.imageio.ImageWriteParam.MODE_EXPLICIT);
      param.setCompressionQuality(0.98f);
      wr.write(null, new javax.imageio.IIOImage(r, null, null), param);
    } finally {
      wr.dispose();
    }
    return f;
  }

  @Test
  void cmykJpegDecodesToItsRgbColours() throws Exception {
    int w = 48;
    int h = 32;
    Path f = cmykJpeg("cmyk.jpg", w, h);
    RgbImage img = Images.readRgb(f);
    double sum = 0;
    int worst = 0;
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int[] c = rgbAt(x, y);
        for (int k = 0; k < 3; k++) {
          int d = Math.abs((img.rgb()[3 * (y * w + x) + k] & 0xff) - c[k]);
          sum += d;
          worst = Math.max(worst, d);
        }
      }
    }
    // JPEG loss at quality 0.98 on a smooth picture: a few levels. Java's CMYK colour space
    // (the old path) was off by tens of levels.
    assertTrue(sum / (3.0 * w * h) < 2 && worst <= 12, "mean " + sum / (3.0 * w * h) + ", worst " + worst);
  }

  /** PIL (libjpeg) as the independent decoder, on a CMYK JPEG that PIL writes itself. */
  @Test
  void cmykJpegFromPilMatchesPil() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(new java.io.File("/usr/bin/python3").canExecute(),
        "no /usr/bin/python3: skipping the PIL CMYK cross-check");
    Path jpg = dir.resolve("pil-cmyk.jpg");
    Path raw = dir.resolve("pil-rgb.raw");
    String script = String.join("\n",
        "import sys",
        "try:",
        "    from PIL import Image",
        "except ImportError:",
        "    sys.exit(3)",
        "w, h = 64, 40",
        "im = Image.new('RGB', (w, h))",
        "im.putdata([(x * 4, y * 6, (x * 7 + y * 3) % 256) for y in range(h) for x in range(w)])",
        "c = im.convert('CMYK')",
        // some black ink too, so K is exercised
        "c.putdata([(p[0], p[1], p[2], (i % 64) * 2) for i, p in enumerate(c.getdata())])",
        "c.save(sys.argv[1], quality=95)",
        "back = Image.open(sys.argv[1])",
        "assert back.mode == 'CMYK', back.mode",
        "open(sys.argv[2], 'wb').write(back.convert('RGB').tobytes())");
    Process p = new ProcessBuilder("/usr/bin/python3", "-c", script, jpg.toString(), raw.toString())
        .redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes());
    int rc = p.waitFor();
    org.junit.jupiter.api.Assumptions.assumeTrue(rc != 3, "/usr/bin/python3 lacks PIL (apt-get install python3-pil): skipping");
    assertEquals(0, rc, log);
    byte[] pil = Files.readAllBytes(raw);
    RgbImage img = Images.readRgb(jpg);
    assertEquals(pil.length, img.rgb().length);
    double sum = 0;
    int worst = 0;
    for (int i = 0; i < pil.length; i++) {
      int d = Math.abs((pil[i] & 0xff) - (img.rgb()[i] & 0xff));
      sum += d;
      worst = Math.max(worst, d);
    }
    // Same JPEG stream, two IDCT implementations: within a few levels.
    assertTrue(sum / pil.length < 1.5 && worst <= 8, "mean " + sum / pil.length + ", worst " + worst);
  }

  @Test
  void truncatedOrCorruptImagesFailNamingTheFile() throws Exception {
    byte[] rgb = new byte[3 * 64 * 48];
    new java.util.Random(1).nextBytes(rgb);
    Path jpg = dir.resolve("ok.jpg");
    Images.writeJpeg(jpg, new RgbImage(64, 48, rgb), 0.9f);
    Path png = dir.resolve("ok.png");
    Images.writePng(png, new RgbImage(64, 48, rgb));
    assertEquals(64, Images.readRgb(jpg).width());
    byte[] j = Files.readAllBytes(jpg);
    byte[] q = Files.readAllBytes(png);
    Path tj = dir.resolve("trunc.jpg");
    Files.write(tj, java.util.Arrays.copyOf(j, j.length / 2));
    Path tp = dir.resolve("trunc.png");
    Files.write(tp, java.util.Arrays.copyOf(q, q.length / 2));
    Path garbage = dir.resolve("garbage.jpg");
    byte[] g = j.clone();
    java.util.Arrays.fill(g, 200, 400, (byte) 0x55);
    Files.write(garbage, g);
    for (Path bad : new Path[] {tj, tp, garbage}) {
      FcnException e = assertThrows(FcnException.class, () -> Images.readRgb(bad), bad.toString());
      assertTrue(e.getMessage().startsWith(bad + ": "), e.getMessage());
      assertTrue(e.getMessage().contains("truncated or corrupt"), e.getMessage());
      assertTrue(!e.getMessage().contains("Exception") && !e.getMessage().contains("\n"), e.getMessage());
    }
    FcnException e = assertThrows(FcnException.class, () -> Images.readLabel(dir));
    assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
  }
}
