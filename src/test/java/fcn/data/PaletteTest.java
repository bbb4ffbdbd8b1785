package fcn.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class PaletteTest {
  @Test
  void vocColoursMatchThePublishedColourMap() {
    Palette p = Palette.voc();
    assertEquals(256, p.size());
    // Known entries of VOCdevkit's labelcolormap (e.g. the colours in any VOC SegmentationClass PNG).
    assertEquals(0x000000, p.color(0)); // background
    assertEquals(0x800000, p.color(1)); // aeroplane (128,0,0)
    assertEquals(0x008000, p.color(2)); // bicycle (0,128,0)
    assertEquals(0x808000, p.color(3)); // bird
    assertEquals(0x000080, p.color(4)); // boat
    assertEquals(0x400000, p.color(8)); // cat (64,0,0)
    assertEquals(0xC08080, p.color(15)); // person (192,128,128)
    assertEquals(0x004080, p.color(20)); // tvmonitor (0,64,128)
    assertEquals(0xE0E0C0, p.color(255)); // void (224,224,192)
  }

  @Test
  void indexOfInvertsColor() {
    Palette p = Palette.voc();
    for (int i = 0; i < 256; i++) {
      assertEquals(i, p.indexOf(p.color(i)));
    }
    assertEquals(-1, p.indexOf(0x010203));
  }

  @Test
  void duplicateColoursAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> Palette.of("x", 0x112233, 0x112233));
  }
}
