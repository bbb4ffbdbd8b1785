package fcn.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.frontend.caffe.CaffeImportOptions;
import fcn.frontend.caffe.CaffeImporter;
import fcn.ir.Attrs;
import fcn.ir.DataType;
import fcn.ir.Dim;
import fcn.ir.Graph;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Every expected count is worked by hand in the comment beside it. */
class FlopsTest {
  /** Weights as graph inputs with static shapes: shapes are all Flops needs, no data. */
  private static Variable weight(Graph g, String name, long... dims) {
    return g.addInput(name, DataType.FLOAT, Shape.of(dims));
  }

  @Test
  void convCountsOutputPixelsTimesKernelVolume() {
    Graph g = new Graph("conv");
    Variable x = g.addInput("x", DataType.FLOAT, Shape.of(1, 3, 8, 8));
    Variable w = weight(g, "w", 4, 3, 3, 3);
    Variable y = g.add(Op.CONV, "c", List.of(x, w), "y",
        Attrs.of("kernel_shape", new long[] {3, 3}, "pads", new long[] {1, 1, 1, 1}));
    g.setOutputs(List.of(y));
    Flops.Count c = Flops.count(g, Map.of());
    // out 1x4x8x8 (pad 1 keeps 8): MACs = 1*4*8*8 * 3*3*3 = 256 * 27 = 6912; FLOPs = 13824.
    assertEquals(6912, c.macs());
    assertEquals(13824, c.flops());
    assertTrue(c.complete());
    assertEquals(List.of(new Flops.NodeCount("c", Op.CONV, 6912)), c.nodes());
  }

  /** Issue 9: an absent optional input (ONNX's empty name) and an opaque op are no crash. */
  @Test
  void absentOptionalInputsAndOpaqueOpsAreCounted() {
    Graph g = new Graph("resize");
    Variable x = g.addInput("x", DataType.FLOAT, Shape.of(1, 3, 4, 4));
    Value sizes = g.addConstant("sizes", Tensor.vector(1, 3, 8, 8));
    // Resize(x, '', '', sizes): roi and scales absent.
    Variable up = g.add(Op.RESIZE, "up", java.util.Arrays.asList(x, null, null, sizes), "up",
        Attrs.of("mode", "nearest"));
    Variable q = g.addOpaqueNode("Mystery", "com.example", "m", List.of(up), List.of("q"), null).output(0);
    Variable y = g.add(Op.CONV, "c", List.of(up, weight(g, "w", 2, 3, 1, 1)), "y", null);
    Variable z = g.add(Op.CONV, "after", List.of(q, weight(g, "w2", 2, 3, 1, 1)), "z", null);
    g.setOutputs(List.of(y, z));
    Flops.Count c = Flops.count(g, Map.of());
    // c: out 1x2x8x8, 1x1 kernel over 3 channels: MACs = 128 * 3 = 384.
    assertEquals(384, c.macs());
    // 'after' reads the opaque op's output, whose shape fcn has no rule for: listed, not guessed.
    assertEquals(List.of("after"), c.unknown());
  }

  @Test
  void groupedAndStridedConv() {
    Graph g = new Graph("conv");
    Variable x = g.addInput("x", DataType.FLOAT, Shape.of(2, 4, 7, 7));
    // Grouped: w [4, 4/2, 3, 3], group 2, no pad: out 2x4x5x5.
    Variable y1 = g.add(Op.CONV, "grouped", List.of(x, weight(g, "w1", 4, 2, 3, 3)), "y1",
        Attrs.of("group", 2L));
    // Strided: w [3, 4, 3, 3], stride 2: out (7-3)/2+1 = 3 -> 2x3x3x3.
    Variable y2 = g.add(Op.CONV, "strided", List.of(x, weight(g, "w2", 3, 4, 3, 3)), "y2",
        Attrs.of("strides", new long[] {2, 2}));
    g.setOutputs(List.of(y1, y2));
    Flops.Count c = Flops.count(g, Map.of());
    // grouped: N*Cout*H*W*(Cin/group)*kh*kw = 2*4*5*5 * 2*3*3 = 200 * 18 = 3600
    assertEquals(3600, c.nodes().get(0).macs());
    // strided: 2*3*3*3 * 4*3*3 = 54 * 36 = 1944
    assertEquals(1944, c.nodes().get(1).macs());
    assertEquals(2 * (3600 + 1944), c.flops());
  }

  @Test
  void convTransposeCountsInputPixelsTimesKernelVolume() {
    Graph g = new Graph("deconv");
    Variable x = g.addInput("x", DataType.FLOAT, Shape.of(1, 2, 3, 3));
    // w [Cin=2, Cout=4, 4, 4], stride 2: out 2*(3-1)+4 = 8 -> 1x4x8x8.
    Variable y1 = g.add(Op.CONV_TRANSPOSE, "up", List.of(x, weight(g, "w1", 2, 4, 4, 4)), "y1",
        Attrs.of("strides", new long[] {2, 2}));
    // FCN's bilinear upsampling: one 4x4 filter per channel, group = C = 2, w [2, 1, 4, 4].
    Variable y2 = g.add(Op.CONV_TRANSPOSE, "bilinear", List.of(x, weight(g, "w2", 2, 1, 4, 4)),
        "y2", Attrs.of("strides", new long[] {2, 2}, "group", 2L));
    g.setOutputs(List.of(y1, y2));
    Flops.Count c = Flops.count(g, Map.of());
    // up: N*Cin*Hin*Win*(Cout/group)*kh*kw = 1*2*3*3 * 4*4*4 = 18 * 64 = 1152
    assertEquals(1152, c.nodes().get(0).macs());
    // bilinear: 1*2*3*3 * 1*4*4 = 18 * 16 = 288
    assertEquals(288, c.nodes().get(1).macs());
  }

  @Test
  void gemmAndMatMul() {
    Graph g = new Graph("dense");
    Variable a = g.addInput("a", DataType.FLOAT, Shape.of(2, 5));
    Variable at = g.addInput("at", DataType.FLOAT, Shape.of(5, 2));
    // [2,5] x [5,3] -> [2,3]: 2*3*5 = 30 MACs.
    Variable y1 = g.add(Op.GEMM, "plain", List.of(a, weight(g, "b", 5, 3)), "y1", null);
    // transA, transB: A=[5,2]^T, B=[3,5]^T -> [2,3]: again 30 MACs.
    Variable y2 = g.add(Op.GEMM, "trans", List.of(at, weight(g, "bt", 3, 5)), "y2",
        Attrs.of("transA", 1L, "transB", 1L));
    // Batched MatMul [2,4,6] x [6,3] -> [2,4,3]: 2*4*3 outputs * 6 = 144 MACs.
    Variable m = g.addInput("m", DataType.FLOAT, Shape.of(2, 4, 6));
    Variable y3 = g.add(Op.MAT_MUL, "mm", List.of(m, weight(g, "mw", 6, 3)), "y3", null);
    // Vector-matrix [6] x [6,3] -> [3]: 3 * 6 = 18 MACs.
    Variable v = g.addInput("v", DataType.FLOAT, Shape.of(6));
    Variable y4 = g.add(Op.MAT_MUL, "vm", List.of(v, weight(g, "vw", 6, 3)), "y4", null);
    // Matrix-vector [4,6] x [6] -> [4]: 4 * 6 = 24 MACs.
    Variable mv = g.addInput("mv", DataType.FLOAT, Shape.of(4, 6));
    Variable y5 = g.add(Op.MAT_MUL, "mv", List.of(mv, weight(g, "vec", 6)), "y5", null);
    g.setOutputs(List.of(y1, y2, y3, y4, y5));
    Flops.Count c = Flops.count(g, Map.of());
    assertEquals(List.of(30L, 30L, 144L, 18L, 24L),
        c.nodes().stream().map(Flops.NodeCount::macs).toList());
    assertEquals(2 * (30 + 30 + 144 + 18 + 24), c.flops());
  }

  @Test
  void otherOpsCostNothingAndSymbolicInputsUseTheGivenSize() {
    Graph g = new Graph("net");
    Variable x = g.addInput("x", DataType.FLOAT,
        new Shape(List.of(Dim.of(1), Dim.of(1), Dim.symbol("height"), Dim.symbol("width"))));
    Variable c = g.add(Op.CONV, "c", List.of(x, weight(g, "w", 2, 1, 1, 1)), "c", null);
    Variable r = g.add(Op.RELU, "r", List.of(c), "r", null);
    Variable p = g.add(Op.MAX_POOL, "p", List.of(r), "p",
        Attrs.of("kernel_shape", new long[] {2, 2}, "strides", new long[] {2, 2}));
    g.setOutputs(List.of(p));
    // 1x1 conv, 1 -> 2 channels: MACs = 2*H*W. At 4x6: 48; at 8x12: 192 (4x the pixels).
    assertEquals(48, Flops.count(g, Map.of("x", new long[] {1, 1, 4, 6})).macs());
    assertEquals(192, Flops.count(g, Map.of("x", new long[] {1, 1, 8, 12})).macs());
    assertEquals(1, Flops.count(g, Map.of("x", new long[] {1, 1, 4, 6})).nodes().size());
  }

  @Test
  void nodesWithUnknownShapesAreListedNotGuessed() {
    Graph g = new Graph("dyn");
    Variable x = g.addInput("x", DataType.FLOAT, Shape.of(1, 1, 4, 4));
    // Resize to sizes only known at run time: everything after it has unknown shapes.
    Variable sizes = g.addInput("sizes", DataType.INT64, Shape.of(4));
    List<Value> in = new ArrayList<>();
    in.add(x);
    in.add(null);
    in.add(null);
    in.add(sizes);
    Variable r = g.add(Op.RESIZE, "resize", in, "r", null);
    Variable c1 = g.add(Op.CONV, "before", List.of(x, weight(g, "w1", 1, 1, 1, 1)), "c1", null);
    Variable c2 = g.add(Op.CONV, "after", List.of(r, weight(g, "w2", 1, 1, 1, 1)), "c2", null);
    g.setOutputs(List.of(c1, c2));
    Flops.Count c = Flops.count(g, Map.of());
    assertFalse(c.complete());
    assertEquals(List.of("after"), c.unknown());
    assertEquals(16, c.macs()); // "before" only: 1*1*4*4 * 1*1*1
  }

  @Test
  void formatsWithUnits() {
    assertEquals("999 FLOPs", Flops.format(999));
    assertEquals("1.50 MFLOPs", Flops.format(1_500_000));
    assertEquals("363.06 GFLOPs", Flops.format(363_058_068_096L));
  }

  // ---- FCN-8s (VGG16) at 500x500 ---------------------------------------------------------

  /**
   * voc-fcn8s deploy, layer by layer as published (conv1_1 pad 100, Caffe's ceil-mode pooling,
   * fc6 as a 7x7 conv, three deconvolutions with crops), with weights as shaped graph inputs.
   */
  static Graph fcn8s(int classes) {
    Graph g = new Graph("fcn8s");
    Variable x = g.addInput("data", DataType.FLOAT, Shape.of(1, 3, 500, 500));
    long[][] blocks = {{64, 64}, {128, 128}, {256, 256, 256}, {512, 512, 512}, {512, 512, 512}};
    Variable h = x;
    long cin = 3;
    Variable pool3 = null;
    Variable pool4 = null;
    for (int b = 0; b < blocks.length; b++) {
      for (int i = 0; i < blocks[b].length; i++) {
        String n = "conv" + (b + 1) + "_" + (i + 1);
        long pad = b == 0 && i == 0 ? 100 : 1;
        h = conv(g, n, h, cin, blocks[b][i], 3, pad);
        h = g.add(Op.RELU, "relu" + n.substring(4), List.of(h), n, null);
        cin = blocks[b][i];
      }
      h = g.add(Op.MAX_POOL, "pool" + (b + 1), List.of(h), "pool" + (b + 1),
          Attrs.of("kernel_shape", new long[] {2, 2}, "strides", new long[] {2, 2}, "ceil_mode", 1L));
      if (b == 2) {
        pool3 = h;
      } else if (b == 3) {
        pool4 = h;
      }
    }
    h = conv(g, "fc6", h, 512, 4096, 7, 0);
    h = conv(g, "fc7", g.add(Op.RELU, "relu6", List.of(h), "r6", null), 4096, 4096, 1, 0);
    Variable scoreFr = conv(g, "score_fr", g.add(Op.RELU, "relu7", List.of(h), "r7", null),
        4096, classes, 1, 0);
    Variable up2 = deconv(g, "upscore2", scoreFr, classes, 4, 2);
    Variable sp4 = crop(g, "score_pool4c", conv(g, "score_pool4", pool4, 512, classes, 1, 0), 5, 34);
    Variable fuse4 = g.add(Op.ADD, "fuse_pool4", List.of(up2, sp4), "fuse_pool4", null);
    Variable up4 = deconv(g, "upscore_pool4", fuse4, classes, 4, 2);
    Variable sp3 = crop(g, "score_pool3c", conv(g, "score_pool3", pool3, 256, classes, 1, 0), 9, 70);
    Variable fuse3 = g.add(Op.ADD, "fuse_pool3", List.of(up4, sp3), "fuse_pool3", null);
    Variable up8 = deconv(g, "upscore8", fuse3, classes, 16, 8);
    g.setOutputs(List.of(crop(g, "score", up8, 31, 500)));
    return g;
  }

  private static Variable conv(Graph g, String name, Variable in, long cin, long cout, long k,
      long pad) {
    Variable w = weight(g, name + "_W", cout, cin, k, k);
    Variable b = weight(g, name + "_b", cout);
    return g.add(Op.CONV, name, List.of(in, w, b), name,
        Attrs.of("kernel_shape", new long[] {k, k}, "pads", new long[] {pad, pad, pad, pad}));
  }

  private static Variable deconv(Graph g, String name, Variable in, long c, long k, long s) {
    Variable w = weight(g, name + "_W", c, c, k, k);
    return g.add(Op.CONV_TRANSPOSE, name, List.of(in, w), name,
        Attrs.of("kernel_shape", new long[] {k, k}, "strides", new long[] {s, s}));
  }

  private static Variable crop(Graph g, String name, Variable in, long offset, long size) {
    var starts = g.addConstant(name + "_starts", Tensor.vector(offset, offset));
    var ends = g.addConstant(name + "_ends", Tensor.vector(offset + size, offset + size));
    var axes = g.addConstant(name + "_axes", Tensor.vector(2, 3));
    return g.add(Op.SLICE, name, List.of(in, starts, ends, axes), name, null);
  }

  @Test
  void fcn8sAt500IsAbout362Gflops() {
    Flops.Count c = Flops.count(fcn8s(21), Map.of());
    assertTrue(c.complete());
    // Spatial sizes: conv1 500+200-2 = 698; ceil-mode pools -> 349, 175, 88, 44, 22;
    // fc6 (7x7, no pad) 16; upscore2 2*15+4 = 34; upscore_pool4 2*33+4 = 70.
    // MACs (H*W*Cout*Cin*k*k):
    //   block1  698^2*(64*3 + 64*64)*9                    = 487204*4288*9   =  18,802,176,768
    //   block2  349^2*(128*64 + 128*128)*9                = 121801*24576*9  =  26,940,432,384
    //   block3  175^2*(256*128 + 2*256*256)*9             = 30625*163840*9  =  45,158,400,000
    //   block4   88^2*(512*256 + 2*512*512)*9             = 7744*655360*9   =  45,675,970,560
    //   block5   44^2*(3*512*512)*9                       = 1936*786432*9   =  13,702,791,168
    //   fc6      16^2*4096*512*49                         =                    26,306,674,688
    //   fc7      16^2*4096*4096                           =                     4,294,967,296
    //   score_fr 16^2*21*4096                             =                        22,020,096
    //   upscore2 (deconv: input pixels) 16^2*21*21*16     =                         1,806,336
    //   score_pool4 44^2*21*512                           =                        20,815,872
    //   upscore_pool4 34^2*21*21*16                       =                         8,156,736
    //   score_pool3 88^2*21*256                           =                        41,631,744
    //   upscore8 70^2*21*21*256                           =                       553,190,400
    //   total                                             =                   181,529,034,048
    // FLOPs = 2 * MACs = 363,058,068,096 (the "about 362 GFLOPs" usually quoted for FCN-8s).
    assertEquals(181_529_034_048L, c.macs());
    assertEquals(363_058_068_096L, c.flops());
    assertEquals(362, c.gflops(), 362 * 0.01);
  }

  /** The same figure through the Caffe importer, from the published deploy prototxt. */
  @Test
  void fcn8sDeployPrototxtThroughTheCaffeImporter() {
    Path deploy = Path.of("..", "shared", "caffe", "fcn-berkeley", "voc-fcn8s", "deploy.prototxt");
    Assumptions.assumeTrue(Files.isRegularFile(deploy), "../shared not found: skipping FCN-8s prototxt FLOPs");
    // No weights are published here: seeded random ones (the count depends on shapes only).
    Graph g = CaffeImporter.importNet(deploy, null, CaffeImportOptions.defaults()
        .withRandomWeightsSeed(1L).withInputShape("data", 1, 3, 500, 500));
    Flops.Count c = Flops.count(g, Map.of());
    assertTrue(c.complete(), "uncounted: " + c.unknown());
    assertEquals(Flops.count(fcn8s(21), Map.of()).flops(), c.flops());
    assertEquals(363_058_068_096L, c.flops());
  }
}
