package fcn.testing;

import fcn.ir.Attrs;
import fcn.ir.Constant;
import fcn.ir.DataType;
import fcn.ir.Graph;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Value;
import java.util.List;

/** Small IR nets for pass tests, laid out like FCN's Caffe nets (blob names included). */
public final class TestNets {
  private TestNets() {}

  /**
   * A fully-convolutional VGG16 (FCN's VGG16 trunk: 13 convs, 5 ceil-mode max pools, fc6 as a
   * 7×7 conv, fc7 and fc8 as 1×1 convs), every width divided by {@code div}, random weights.
   *
   * @param pad100 FCN's 100-pixel pad on conv1_1 (else 1, like the classifier)
   * @param poolPrefix names of the pool outputs: "pool" gives pool1..pool5 (Caffe)
   */
  public static Graph vgg16(boolean pad100, int div, int classes, long seed, Shape input,
      String poolPrefix) {
    Graph g = new Graph("vgg16");
    Value x = g.addInput("data", DataType.FLOAT, input);
    int[][] blocks = {{64, 64}, {128, 128}, {256, 256, 256}, {512, 512, 512}, {512, 512, 512}};
    long c = 3;
    long s = seed;
    for (int b = 0; b < blocks.length; b++) {
      for (int i = 0; i < blocks[b].length; i++) {
        String n = "conv" + (b + 1) + "_" + (i + 1);
        long out = blocks[b][i] / div;
        long pad = b == 0 && i == 0 && pad100 ? 100 : 1;
        x = conv(g, x, n, c, out, 3, pad, s++);
        x = g.add(Op.RELU, "relu" + (b + 1) + "_" + (i + 1), List.of(x), "relu" + (b + 1) + "_" + (i + 1), null);
        c = out;
      }
      x = g.add(Op.MAX_POOL, "pool" + (b + 1), List.of(x), poolPrefix + (b + 1),
          Attrs.of("kernel_shape", new long[] {2, 2}, "strides", new long[] {2, 2}, "ceil_mode", 1L));
    }
    long fc = 4096 / div;
    x = conv(g, x, "fc6", c, fc, 7, 0, s++);
    x = g.add(Op.RELU, "relu6", List.of(x), "relu6", null);
    x = g.add(Op.DROPOUT, "drop6", List.of(x), "drop6", null);
    x = conv(g, x, "fc7", fc, fc, 1, 0, s++);
    x = g.add(Op.RELU, "relu7", List.of(x), "relu7", null);
    x = g.add(Op.DROPOUT, "drop7", List.of(x), "drop7", null);
    x = conv(g, x, "fc8", fc, classes, 1, 0, s);
    Value prob = g.add(Op.SOFTMAX, "prob", List.of(x), "prob", Attrs.of("axis", 1L));
    g.setOutputs(List.of(prob));
    return g;
  }

  static Value conv(Graph g, Value x, String name, long cin, long cout, long k, long pad, long seed) {
    float[] w = TestOnnx.random(seed, (int) (cout * cin * k * k));
    float scale = (float) Math.sqrt(3.0 / (cin * k * k));
    for (int i = 0; i < w.length; i++) {
      w[i] *= scale;
    }
    float[] b = TestOnnx.random(seed + 1000, (int) cout);
    for (int i = 0; i < b.length; i++) {
      b[i] *= 0.1f;
    }
    Constant wc = g.addConstant(name + "_W", Tensor.ofFloats(new long[] {cout, cin, k, k}, w));
    Constant bc = g.addConstant(name + "_b", Tensor.ofFloats(new long[] {cout}, b));
    return g.add(Op.CONV, name, List.of(x, wc, bc), name, Attrs.of("kernel_shape", new long[] {k, k},
        "pads", new long[] {pad, pad, pad, pad}));
  }
}
