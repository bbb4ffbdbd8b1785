package fcn.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import fcn.core.FcnException;
import org.junit.jupiter.api.Test;

class PreprocessTest {
  // A 2x1 image: pixel 0 = (R10, G20, B30), pixel 1 = (R200, G100, B0).
  private static final RgbImage IMG = new RgbImage(2, 1, new byte[] {10, 20, 30, (byte) 200, 100, 0});

  @Test
  void caffeIsBgrMinusVggMeanUnscaled() {
    float[] t = Preprocess.caffe().toChw(IMG);
    // plane 0 = B - 104.00698793, plane 1 = G - 116.66876762, plane 2 = R - 122.67891434
    float[] expected = {
        (float) (30 - 104.00698793), (float) (0 - 104.00698793),
        (float) (20 - 116.66876762), (float) (100 - 116.66876762),
        (float) (10 - 122.67891434), (float) (200 - 122.67891434)};
    assertArrayEquals(expected, t, 0f);
  }

  @Test
  void torchvisionIsRgbOver255Normalised() {
    float[] t = Preprocess.torchvision().toChw(IMG);
    float[] expected = {
        (float) ((10 / 255.0 - 0.485) / 0.229), (float) ((200 / 255.0 - 0.485) / 0.229),
        (float) ((20 / 255.0 - 0.456) / 0.224), (float) ((100 / 255.0 - 0.456) / 0.224),
        (float) ((30 / 255.0 - 0.406) / 0.225), (float) ((0 / 255.0 - 0.406) / 0.225)};
    assertArrayEquals(expected, t, 1e-6f);
  }

  @Test
  void fieldsOverrideIndividually() {
    Preprocess p = Preprocess.caffe().withMean(0, 0, 0).withOrder(Preprocess.ChannelOrder.RGB).withScale(2);
    assertArrayEquals(new float[] {20, 400, 40, 200, 60, 0}, p.toChw(IMG), 0f);
    assertEquals(Preprocess.caffe(), Preprocess.preset("CAFFE"));
    assertArrayEquals(new double[] {1, 2.5, 3}, Preprocess.parseTriple("--mean", "1, 2.5,3"));
    assertThrows(FcnException.class, () -> Preprocess.parseTriple("--mean", "1,2"));
    assertThrows(FcnException.class, () -> Preprocess.preset("keras"));
    assertThrows(FcnException.class, () -> Preprocess.caffe().withStd(1, 0, 1));
  }

  @Test
  void bilinearResizeOnlyWhenAsked() {
    Preprocess p = Preprocess.caffe().withMean(0, 0, 0).withOrder(Preprocess.ChannelOrder.RGB).withResize(4, 1);
    assertArrayEquals(new int[] {3, 1, 4}, p.outputShape(2, 1));
    float[] t = p.toChw(IMG);
    // half-pixel centres, source x = (x + 0.5) * 2/4 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1)
    // R plane: 10, 0.75*10 + 0.25*200 = 57.5, 0.25*10 + 0.75*200 = 152.5, 200
    assertArrayEquals(new float[] {10, 57.5f, 152.5f, 200}, java.util.Arrays.copyOfRange(t, 0, 4), 1e-5f);
    assertArrayEquals(new int[] {3, 1, 2}, Preprocess.caffe().outputShape(2, 1));
  }
}
