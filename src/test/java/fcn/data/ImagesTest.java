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
}
