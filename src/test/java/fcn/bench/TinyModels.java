package fcn.bench;

import fcn.export.OnnxExporter;
import fcn.ir.Attrs;
import fcn.ir.Constant;
import fcn.ir.DataType;
import fcn.ir.Dim;
import fcn.ir.Graph;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Variable;
import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;

/** Tiny ONNX models and image files for bench tests, written through fcn's own exporter. */
final class TinyModels {
  private TinyModels() {}

  /**
   * data [1, 3, height, width] -> 1x1 conv (no bias) -> "score" [1, classes, height, width].
   *
   * @param weights classes x 3, row-major
   */
  static Path conv1x1(Path file, int classes, float[] weights) {
    Graph g = new Graph("tiny");
    Variable x = g.addInput("data", DataType.FLOAT,
        new Shape(List.of(Dim.of(1), Dim.of(3), Dim.symbol("height"), Dim.symbol("width"))));
    Constant w = g.addConstant("score_W", Tensor.ofFloats(new long[] {classes, 3, 1, 1}, weights));
    Variable y = g.add(Op.CONV, "score", List.of(x, w), "score",
        Attrs.of("kernel_shape", new long[] {1, 1}));
    g.setOutputs(List.of(y));
    OnnxExporter.write(g, file, OnnxExporter.DEFAULT_OPSET);
    return file;
  }

  /** Score c = channel c: with raw RGB input the prediction is the brightest channel. */
  static Path identity3(Path file) {
    return conv1x1(file, 3, new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1});
  }

  static Path random(Path file, int classes, long seed) {
    Random rnd = new Random(seed);
    float[] w = new float[classes * 3];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) rnd.nextGaussian();
    }
    return conv1x1(file, classes, w);
  }

  /** Writes an RGB PNG from interleaved r,g,b bytes. */
  static void writeRgb(Path file, int width, int height, int[] rgb) throws IOException {
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
    for (int i = 0; i < width * height; i++) {
      img.setRGB(i % width, i / width, (rgb[3 * i] << 16) | (rgb[3 * i + 1] << 8) | rgb[3 * i + 2]);
    }
    Files.createDirectories(file.getParent());
    ImageIO.write(img, "png", file.toFile());
  }

  /** Writes an 8-bit grayscale label PNG. */
  static void writeGray(Path file, int width, int height, int[] values) throws IOException {
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
    WritableRaster r = img.getRaster();
    r.setPixels(0, 0, width, height, values);
    Files.createDirectories(file.getParent());
    ImageIO.write(img, "png", file.toFile());
  }

  /** The values of an 8-bit grayscale PNG, read with ImageIO alone. */
  static int[] readGray(Path file) throws IOException {
    BufferedImage img = ImageIO.read(file.toFile());
    return img.getRaster().getPixels(0, 0, img.getWidth(), img.getHeight(), (int[]) null);
  }
}
