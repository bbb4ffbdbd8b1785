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
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * A small FCN-shaped network with random weights, for benchmark commands when no trained model
 * is at hand: three 3x3 conv + ReLU stages (two 2x2 max pools), a 1x1 score layer and a x4
 * grouped deconvolution back to the input size (H and W divisible by 4). About 1 GFLOP at
 * 480x360 with the default widths.
 */
final class SyntheticFcn {
  private SyntheticFcn() {}

  static Path write(Path file, int classes, int width, long seed) {
    Random rnd = new Random(seed);
    Graph g = new Graph("synthetic-fcn");
    Variable x = g.addInput("data", DataType.FLOAT,
        new Shape(List.of(Dim.of(1), Dim.of(3), Dim.symbol("height"), Dim.symbol("width"))));
    Variable h = conv(g, rnd, "conv1", x, 3, width, 3, 1);
    h = pool(g, "pool1", relu(g, "relu1", h));
    h = conv(g, rnd, "conv2", h, width, 2 * width, 3, 1);
    h = pool(g, "pool2", relu(g, "relu2", h));
    h = relu(g, "relu3", conv(g, rnd, "conv3", h, 2 * width, 4 * width, 3, 1));
    Variable score = conv(g, rnd, "score_fr", h, 4 * width, classes, 1, 0);
    float[] up = new float[classes * 8 * 8];
    for (int i = 0; i < up.length; i++) {
      up[i] = 1f / 16;
    }
    Constant w = g.addConstant("upscore_W", Tensor.ofFloats(new long[] {classes, 1, 8, 8}, up));
    Variable out = g.add(Op.CONV_TRANSPOSE, "upscore", List.of(score, w), "score",
        Attrs.of("kernel_shape", new long[] {8, 8}, "strides", new long[] {4, 4},
            "pads", new long[] {2, 2, 2, 2}, "group", (long) classes));
    g.setOutputs(List.of(out));
    OnnxExporter.write(g, file, OnnxExporter.DEFAULT_OPSET);
    return file;
  }

  private static Variable conv(Graph g, Random rnd, String name, Variable in, int cin, int cout, int k, int pad) {
    float[] w = new float[cout * cin * k * k];
    double std = Math.sqrt(2.0 / (cin * k * k));
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) (rnd.nextGaussian() * std);
    }
    Constant wc = g.addConstant(name + "_W", Tensor.ofFloats(new long[] {cout, cin, k, k}, w));
    Constant bc = g.addConstant(name + "_b", Tensor.ofFloats(new long[] {cout}, new float[cout]));
    return g.add(Op.CONV, name, List.of(in, wc, bc), name,
        Attrs.of("kernel_shape", new long[] {k, k}, "pads", new long[] {pad, pad, pad, pad}));
  }

  private static Variable relu(Graph g, String name, Variable in) {
    return g.add(Op.RELU, name, List.of(in), name, null);
  }

  private static Variable pool(Graph g, String name, Variable in) {
    return g.add(Op.MAX_POOL, name, List.of(in), name,
        Attrs.of("kernel_shape", new long[] {2, 2}, "strides", new long[] {2, 2}));
  }
}
