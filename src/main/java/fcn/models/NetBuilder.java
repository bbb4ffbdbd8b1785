package fcn.models;

import fcn.proto.CaffeProto.BlobShape;
import fcn.proto.CaffeProto.ConvolutionParameter;
import fcn.proto.CaffeProto.CropParameter;
import fcn.proto.CaffeProto.DropoutParameter;
import fcn.proto.CaffeProto.EltwiseParameter;
import fcn.proto.CaffeProto.InnerProductParameter;
import fcn.proto.CaffeProto.InputParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.LossParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.proto.CaffeProto.ParamSpec;
import fcn.proto.CaffeProto.PoolingParameter;
import java.util.Arrays;

/**
 * Writes Caffe nets the way FCN's {@code net.py} does: the VGG16 ILSVRC classifier and the
 * voc-fcn32s/16s/8s segmentation nets, layer for layer as published (names, blobs, params,
 * crop offsets), with an optional width divisor and class count so tests can build small,
 * fast nets of the same topology.
 *
 * <p>Immutable: every {@code with}-style method returns a new builder. At divisor 1, default
 * classes and default input the output equals the published prototxts.
 */
public final class NetBuilder {
  /** The three FCN variants: the stride of the final upsampling they predict at. */
  public enum Fcn {
    FCN32S, FCN16S, FCN8S
  }

  /** DEPLOY: one Input blob "data", no dropout, no loss (like voc-fcn8s/deploy.prototxt).
   *  TRAIN: Input blobs "data" and "label", dropout after fc6/fc7, SoftmaxWithLoss (like
   *  the published val/train nets with the Python data layer replaced by an Input layer). */
  public enum Mode {
    DEPLOY, TRAIN
  }

  /** Published FCN input shape (deploy.prototxt, "purely for sake of example"). */
  private static final long[] FCN_INPUT = {1, 3, 500, 500};
  /** Published VGG16 deploy input shape. */
  private static final long[] VGG_INPUT = {10, 3, 224, 224};
  private static final int FCN_CLASSES = 21;
  private static final int VGG_CLASSES = 1000;

  private final int widthDivisor;
  private final int minWidth;
  private final int classes;       // 0 = the net's published class count
  private final long[] input;      // null = the net's published input shape
  private final int[] widths;      // null = published widths / divisor; else conv1..conv5, fc6/fc7

  public NetBuilder() {
    this(1, 1, 0, null, null);
  }

  private NetBuilder(int widthDivisor, int minWidth, int classes, long[] input, int[] widths) {
    this.widthDivisor = widthDivisor;
    this.minWidth = minWidth;
    this.classes = classes;
    this.input = input;
    this.widths = widths;
  }

  /** Divides every backbone width (conv1_1..fc7) by {@code d}; class layers keep the class count. */
  public NetBuilder widthDivisor(int d) {
    if (d < 1) {
      throw new IllegalArgumentException("width divisor must be >= 1, got " + d);
    }
    return new NetBuilder(d, minWidth, classes, input, widths);
  }

  /** The smallest width a divided layer may get. */
  public NetBuilder minWidth(int m) {
    if (m < 1) {
      throw new IllegalArgumentException("min width must be >= 1, got " + m);
    }
    return new NetBuilder(widthDivisor, m, classes, input, widths);
  }

  /** Number of classes (score layers / fc8). Default: 21 for FCN, 1000 for VGG16. */
  public NetBuilder classes(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("class count must be >= 1, got " + n);
    }
    return new NetBuilder(widthDivisor, minWidth, n, input, widths);
  }

  /** Input batch and spatial size (3 channels). Default: 1x3x500x500 (FCN), 10x3x224x224 (VGG). */
  public NetBuilder input(int batch, int height, int width) {
    if (batch < 1 || height < 1 || width < 1) {
      throw new IllegalArgumentException("input must be positive, got " + batch + "x3x" + height + "x" + width);
    }
    return new NetBuilder(widthDivisor, minWidth, classes, new long[] {batch, 3, height, width}, widths);
  }

  /**
   * Explicit widths for the conv1..conv5 blocks and fc6/fc7, overriding the divisor: lets a
   * small net spend its channels where they are cheap (deep blocks run at 1/64..1/1024 of the
   * padded input's pixels, conv1 at all of them).
   */
  public NetBuilder widths(int conv1, int conv2, int conv3, int conv4, int conv5, int fc) {
    int[] w = {conv1, conv2, conv3, conv4, conv5, fc};
    for (int v : w) {
      if (v < 1) {
        throw new IllegalArgumentException("widths must be >= 1, got " + Arrays.toString(w));
      }
    }
    return new NetBuilder(widthDivisor, minWidth, classes, input, w);
  }

  /** A published width after division: max(minWidth, w / divisor), never more than w. */
  public int width(int published) {
    return Math.min(published, Math.max(minWidth, published / widthDivisor));
  }

  /** Width of block {@code b} (0..4 = conv1..conv5, 5 = fc6/fc7) whose published width is {@code published}. */
  private int width(int b, int published) {
    return widths != null ? widths[b] : width(published);
  }

  // ---------------------------------------------------------------- VGG16 classifier

  /** VGG_ILSVRC_16_layers deploy net: fc6/fc7/fc8 InnerProduct, dropout, Softmax "prob". */
  public NetParameter vgg16() {
    long[] shape = input != null ? input : VGG_INPUT;
    NetParameter.Builder net = NetParameter.newBuilder().setName("VGG_ILSVRC_16_layers");
    net.addLayer(inputLayer("data", new String[] {"data"}, shape));
    String top = "data";
    int[][] blocks = {{64, 64}, {128, 128}, {256, 256, 256}, {512, 512, 512}, {512, 512, 512}};
    for (int b = 0; b < blocks.length; b++) {
      for (int i = 0; i < blocks[b].length; i++) {
        String name = "conv" + (b + 1) + "_" + (i + 1);
        net.addLayer(layer(name, "Convolution", top, name)
            .setConvolutionParam(ConvolutionParameter.newBuilder()
                .setNumOutput(width(b, blocks[b][i])).addPad(1).addKernelSize(3)));
        net.addLayer(relu("relu" + (b + 1) + "_" + (i + 1), name));
        top = name;
      }
      String pool = "pool" + (b + 1);
      net.addLayer(maxPool(pool, top));
      top = pool;
    }
    net.addLayer(innerProduct("fc6", top, width(5, 4096)));
    net.addLayer(relu("relu6", "fc6"));
    net.addLayer(dropout("drop6", "fc6"));
    net.addLayer(innerProduct("fc7", "fc6", width(5, 4096)));
    net.addLayer(relu("relu7", "fc7"));
    net.addLayer(dropout("drop7", "fc7"));
    net.addLayer(innerProduct("fc8", "fc7", classes > 0 ? classes : VGG_CLASSES));
    net.addLayer(layer("prob", "Softmax", "fc8", "prob"));
    return net.build();
  }

  // ---------------------------------------------------------------- FCN

  /** voc-fcn32s/16s/8s: VGG16 with pad 100, fc6/fc7 as convolutions, skips, crops. */
  public NetParameter fcn(Fcn arch, Mode mode) {
    int n = classes > 0 ? classes : FCN_CLASSES;
    long[] shape = input != null ? input : FCN_INPUT;
    NetParameter.Builder net = NetParameter.newBuilder();
    if (mode == Mode.DEPLOY) {
      net.addLayer(inputLayer("input", new String[] {"data"}, shape));
    } else {
      long[] label = {shape[0], 1, shape[2], shape[3]};
      net.addLayer(inputLayer("data", new String[] {"data", "label"}, shape, label));
    }
    String top = "data";
    int[][] blocks = {{64, 64}, {128, 128}, {256, 256, 256}, {512, 512, 512}, {512, 512, 512}};
    for (int b = 0; b < blocks.length; b++) {
      for (int i = 0; i < blocks[b].length; i++) {
        String name = "conv" + (b + 1) + "_" + (i + 1);
        // pad 100 on the first conv: lets any input size reach fc6's 7x7 window (FCN paper, 3.3)
        int pad = b == 0 && i == 0 ? 100 : 1;
        net.addLayer(convRelu(net, name, top, width(b, blocks[b][i]), 3, pad, "relu" + (b + 1) + "_" + (i + 1)));
        top = name;
      }
      String pool = "pool" + (b + 1);
      net.addLayer(maxPool(pool, top));
      top = pool;
    }
    net.addLayer(convRelu(net, "fc6", "pool5", width(5, 4096), 7, 0, "relu6"));
    if (mode == Mode.TRAIN) {
      net.addLayer(dropout("drop6", "fc6"));
    }
    net.addLayer(convRelu(net, "fc7", "fc6", width(5, 4096), 1, 0, "relu7"));
    if (mode == Mode.TRAIN) {
      net.addLayer(dropout("drop7", "fc7"));
    }
    net.addLayer(score("score_fr", "fc7", n));
    switch (arch) {
      case FCN32S -> {
        net.addLayer(upscore("upscore", "score_fr", n, 64, 32));
        net.addLayer(crop("score", "upscore", "data", 19));
      }
      case FCN16S -> {
        net.addLayer(upscore("upscore2", "score_fr", n, 4, 2));
        addSkip(net, "pool4", "upscore2", n, 5);
        net.addLayer(upscore("upscore16", "fuse_pool4", n, 32, 16));
        net.addLayer(crop("score", "upscore16", "data", 27));
      }
      case FCN8S -> {
        net.addLayer(upscore("upscore2", "score_fr", n, 4, 2));
        addSkip(net, "pool4", "upscore2", n, 5);
        net.addLayer(upscore("upscore_pool4", "fuse_pool4", n, 4, 2));
        addSkip(net, "pool3", "upscore_pool4", n, 9);
        net.addLayer(upscore("upscore8", "fuse_pool3", n, 16, 8));
        net.addLayer(crop("score", "upscore8", "data", 31));
      }
    }
    if (mode == Mode.TRAIN) {
      net.addLayer(LayerParameter.newBuilder().setName("loss").setType("SoftmaxWithLoss")
          .addBottom("score").addBottom("label").addTop("loss")
          .setLossParam(LossParameter.newBuilder().setIgnoreLabel(255).setNormalize(false)));
    }
    return net.build();
  }

  /** score_poolK (1x1 conv on poolK), its crop to the upsampled coarser score, and the sum. */
  private static void addSkip(NetParameter.Builder net, String pool, String upscored, int n, int offset) {
    String score = "score_" + pool;
    net.addLayer(score(score, pool, n));
    net.addLayer(crop(score + "c", score, upscored, offset));
    net.addLayer(LayerParameter.newBuilder().setName("fuse_" + pool).setType("Eltwise")
        .addBottom(upscored).addBottom(score + "c").addTop("fuse_" + pool)
        .setEltwiseParam(EltwiseParameter.newBuilder().setOperation(EltwiseParameter.EltwiseOp.SUM)));
  }

  // ---------------------------------------------------------------- layer helpers

  private static LayerParameter.Builder layer(String name, String type, String bottom, String top) {
    return LayerParameter.newBuilder().setName(name).setType(type).addBottom(bottom).addTop(top);
  }

  private static LayerParameter inputLayer(String name, String[] tops, long[]... shapes) {
    LayerParameter.Builder l = LayerParameter.newBuilder().setName(name).setType("Input");
    InputParameter.Builder p = InputParameter.newBuilder();
    for (int i = 0; i < tops.length; i++) {
      l.addTop(tops[i]);
      p.addShape(BlobShape.newBuilder().addAllDim(Arrays.stream(shapes[i]).boxed().toList()));
    }
    return l.setInputParam(p).build();
  }

  /** Adds the conv and returns its in-place ReLU (net.py's conv_relu). */
  private static LayerParameter convRelu(NetParameter.Builder net, String name, String bottom,
      int nout, int kernel, int pad, String relu) {
    net.addLayer(layer(name, "Convolution", bottom, name)
        .addParam(ParamSpec.newBuilder().setLrMult(1).setDecayMult(1))
        .addParam(ParamSpec.newBuilder().setLrMult(2).setDecayMult(0))
        .setConvolutionParam(ConvolutionParameter.newBuilder()
            .setNumOutput(nout).addPad(pad).addKernelSize(kernel).addStride(1)));
    return relu(relu, name);
  }

  private static LayerParameter score(String name, String bottom, int n) {
    return layer(name, "Convolution", bottom, name)
        .addParam(ParamSpec.newBuilder().setLrMult(1).setDecayMult(1))
        .addParam(ParamSpec.newBuilder().setLrMult(2).setDecayMult(0))
        .setConvolutionParam(ConvolutionParameter.newBuilder().setNumOutput(n).addPad(0).addKernelSize(1))
        .build();
  }

  /** Fixed (lr_mult 0) bias-free deconvolution: FCN initialises it to bilinear interpolation. */
  private static LayerParameter upscore(String name, String bottom, int n, int kernel, int stride) {
    return layer(name, "Deconvolution", bottom, name)
        .addParam(ParamSpec.newBuilder().setLrMult(0))
        .setConvolutionParam(ConvolutionParameter.newBuilder()
            .setNumOutput(n).setBiasTerm(false).addKernelSize(kernel).addStride(stride))
        .build();
  }

  private static LayerParameter crop(String name, String bottom, String like, int offset) {
    return LayerParameter.newBuilder().setName(name).setType("Crop")
        .addBottom(bottom).addBottom(like).addTop(name)
        .setCropParam(CropParameter.newBuilder().setAxis(2).addOffset(offset))
        .build();
  }

  private static LayerParameter relu(String name, String blob) {
    return layer(name, "ReLU", blob, blob).build();
  }

  private static LayerParameter dropout(String name, String blob) {
    return layer(name, "Dropout", blob, blob)
        .setDropoutParam(DropoutParameter.newBuilder().setDropoutRatio(0.5f)).build();
  }

  private static LayerParameter maxPool(String name, String bottom) {
    return layer(name, "Pooling", bottom, name)
        .setPoolingParam(PoolingParameter.newBuilder()
            .setPool(PoolingParameter.PoolMethod.MAX).setKernelSize(2).setStride(2))
        .build();
  }

  private static LayerParameter innerProduct(String name, String bottom, int nout) {
    return layer(name, "InnerProduct", bottom, name)
        .setInnerProductParam(InnerProductParameter.newBuilder().setNumOutput(nout)).build();
  }
}
