package fcn.frontend.caffe;

import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.ir.Graph;
import fcn.testing.TestOnnx;
import fcn.testing.TestOnnx.Array;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every layer converter against real Caffe: two small nets using each supported layer type
 * and parameter form, with weights Caffe's fillers made (BatchNorm statistics randomised), all
 * blobs exposed as outputs. The fully convolutional one is also run at a second size through
 * symbolic H/W.
 */
class CaffeLayersNumericTest {
  @TempDir Path tmp;

  static final String SPATIAL = """
      name: 'zoo'
      layer { name: 'in' type: 'Input' top: 'data' input_param { shape { dim: 2 dim: 4 dim: 19 dim: 23 } } }
      layer { name: 'conv1' type: 'Convolution' bottom: 'data' top: 'conv1' convolution_param {
        num_output: 6 kernel_h: 3 kernel_w: 5 pad_h: 2 pad_w: 1 stride_h: 1 stride_w: 2 group: 2
        weight_filler { type: 'gaussian' std: 0.3 } bias_filler { type: 'gaussian' std: 0.2 } } }
      layer { name: 'bn1' type: 'BatchNorm' bottom: 'conv1' top: 'conv1' }
      layer { name: 'sc1' type: 'Scale' bottom: 'conv1' top: 'conv1' scale_param { bias_term: true
        filler { type: 'gaussian' std: 0.5 } bias_filler { type: 'gaussian' std: 0.5 } } }
      layer { name: 'relu1' type: 'ReLU' bottom: 'conv1' top: 'conv1' relu_param { negative_slope: 0.1 } }
      layer { name: 'conv2' type: 'Convolution' bottom: 'conv1' top: 'conv2' convolution_param {
        num_output: 4 kernel_size: 3 dilation: 2 pad: 2 bias_term: false
        weight_filler { type: 'gaussian' std: 0.3 } } }
      layer { name: 'bn2' type: 'BatchNorm' bottom: 'conv2' top: 'bn2' batch_norm_param { use_global_stats: false } }
      layer { name: 'lrn1' type: 'LRN' bottom: 'conv2' top: 'lrn1' lrn_param { local_size: 3 alpha: 0.5 beta: 0.75 k: 2 } }
      layer { name: 'lrn2' type: 'LRN' bottom: 'conv2' top: 'lrn2' lrn_param { local_size: 3 alpha: 0.5 beta: 0.75 norm_region: WITHIN_CHANNEL } }
      layer { name: 'pool1' type: 'Pooling' bottom: 'lrn1' top: 'pool1' pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }
      layer { name: 'up' type: 'Deconvolution' bottom: 'pool1' top: 'up' convolution_param {
        num_output: 4 kernel_size: 4 stride: 2 pad: 1 group: 2
        weight_filler { type: 'gaussian' std: 0.3 } bias_filler { type: 'gaussian' std: 0.1 } } }
      layer { name: 'crop' type: 'Crop' bottom: 'up' bottom: 'lrn2' top: 'crop' crop_param { axis: 2 offset: 1 offset: 0 } }
      layer { name: 'sum' type: 'Eltwise' bottom: 'crop' bottom: 'lrn2' top: 'sum' eltwise_param { operation: SUM coeff: 0.5 coeff: -2 } }
      layer { name: 'prod' type: 'Eltwise' bottom: 'crop' bottom: 'lrn2' top: 'prod' eltwise_param { operation: PROD } }
      layer { name: 'max' type: 'Eltwise' bottom: 'sum' bottom: 'prod' bottom: 'lrn2' top: 'max' eltwise_param { operation: MAX } }
      layer { name: 'pow' type: 'Power' bottom: 'max' top: 'pow' power_param { power: 2 scale: 0.5 shift: 1 } }
      layer { name: 'cat' type: 'Concat' bottom: 'pow' bottom: 'sum' top: 'cat' }
      layer { name: 'slice' type: 'Slice' bottom: 'cat' top: 's1' top: 's2' top: 's3' slice_param { axis: 1 slice_point: 2 slice_point: 5 } }
      layer { name: 'gp' type: 'Pooling' bottom: 's1' top: 'gp' pooling_param { pool: AVE global_pooling: true } }
      layer { name: 'mp' type: 'Pooling' bottom: 's1' top: 'mp' pooling_param { pool: MAX kernel_size: 3 stride: 2 pad: 1 } }
      layer { name: 'sc2' type: 'Scale' bottom: 's2' bottom: 's3' top: 'sc2' scale_param { axis: 0 } }
      layer { name: 'bias2' type: 'Bias' bottom: 'sc2' top: 'bias2' bias_param { filler { type: 'gaussian' std: 1 } } }
      layer { name: 'sig' type: 'Sigmoid' bottom: 'bias2' top: 'sig' }
      layer { name: 'tanh' type: 'TanH' bottom: 's3' top: 'tanh' }
      layer { name: 'abs' type: 'AbsVal' bottom: 'tanh' top: 'abs' }
      layer { name: 'elu' type: 'ELU' bottom: 's2' top: 'elu' elu_param { alpha: 0.7 } }
      layer { name: 'prelu' type: 'PReLU' bottom: 'elu' top: 'prelu' prelu_param { filler { type: 'gaussian' std: 0.5 } } }
      layer { name: 'exp' type: 'Exp' bottom: 'sig' top: 'exp' exp_param { base: 2 scale: 0.5 shift: 0.3 } }
      layer { name: 'log' type: 'Log' bottom: 'exp' top: 'log' log_param { base: 10 scale: 2 shift: 1 } }
      layer { name: 'sm' type: 'Softmax' bottom: 'log' top: 'sm' }
      layer { name: 'am' type: 'ArgMax' bottom: 'prelu' top: 'am' argmax_param { axis: 1 } }
      layer { name: 'thr' type: 'Threshold' bottom: 'abs' top: 'thr' threshold_param { threshold: 0.3 } }
      layer { name: 'drop' type: 'Dropout' bottom: 'sm' top: 'drop' }
      layer { name: 'split' type: 'Split' bottom: 'drop' top: 'drop_a' top: 'drop_b' }
      layer { name: 'pw2' type: 'Power' bottom: 'drop_a' top: 'pw2' power_param { scale: 3 } }
      layer { name: 'conv3' type: 'Convolution' bottom: 'data' top: 'conv3' convolution_param {
        num_output: 3 kernel_size: 3 kernel_size: 2 pad: 1 pad: 0 stride: 2 stride: 1 dilation: 1 dilation: 2
        weight_filler { type: 'xavier' } bias_filler { type: 'gaussian' std: 0.2 } } }
      layer { name: 'sc3' type: 'Scale' bottom: 'conv3' top: 'sc3' scale_param { num_axes: 0 filler { type: 'gaussian' std: 1 } } }
      layer { name: 'sc4' type: 'Scale' bottom: 'conv3' top: 'sc4' scale_param { axis: 0 num_axes: 2 bias_term: true
        filler { type: 'gaussian' std: 1 } bias_filler { type: 'gaussian' std: 1 } } }
      """;

  static final String DENSE = """
      name: 'dense'
      layer { name: 'in' type: 'Input' top: 'data' input_param { shape { dim: 2 dim: 3 dim: 5 dim: 7 } } }
      layer { name: 'ip1' type: 'InnerProduct' bottom: 'data' top: 'ip1' inner_product_param {
        num_output: 6 weight_filler { type: 'gaussian' std: 0.3 } bias_filler { type: 'gaussian' std: 0.3 } } }
      layer { name: 'ip2' type: 'InnerProduct' bottom: 'data' top: 'ip2' inner_product_param {
        num_output: 4 axis: 2 transpose: true weight_filler { type: 'gaussian' std: 0.3 } bias_filler { type: 'gaussian' std: 0.3 } } }
      layer { name: 'ip3' type: 'InnerProduct' bottom: 'ip1' top: 'ip3' inner_product_param {
        num_output: 5 bias_term: false weight_filler { type: 'xavier' } } }
      layer { name: 'fl' type: 'Flatten' bottom: 'data' top: 'fl' flatten_param { axis: 2 end_axis: 3 } }
      layer { name: 'fl1' type: 'Flatten' bottom: 'data' top: 'fl1' flatten_param { axis: 1 end_axis: 2 } }
      layer { name: 'fl2' type: 'Flatten' bottom: 'data' top: 'fl2' }
      layer { name: 'rs' type: 'Reshape' bottom: 'ip2' top: 'rs' reshape_param { shape { dim: 0 dim: -1 } } }
      layer { name: 'rs2' type: 'Reshape' bottom: 'data' top: 'rs2' reshape_param { shape { dim: 3 dim: 1 } axis: 1 num_axes: 1 } }
      layer { name: 'rs3' type: 'Reshape' bottom: 'data' top: 'rs3' reshape_param { shape { dim: -1 dim: 5 } axis: -3 } }
      layer { name: 'am2' type: 'ArgMax' bottom: 'ip1' top: 'am2' }
      layer { name: 'sm2' type: 'Softmax' bottom: 'ip2' top: 'sm2' softmax_param { axis: 2 } }
      layer { name: 'cat2' type: 'Concat' bottom: 'ip1' bottom: 'rs' top: 'cat2' concat_param { axis: 1 } }
      layer { name: 'sl2' type: 'Slice' bottom: 'cat2' top: 'sl_a' top: 'sl_b' slice_param { axis: -1 } }
      layer { name: 'relu' type: 'ReLU' bottom: 'sl_a' top: 'sl_a' }
      """;

  @Test
  void spatialLayersMatchCaffeAtTwoSizes() throws Exception {
    Path proto = Files.writeString(tmp.resolve("zoo.prototxt"), SPATIAL);
    Path model = caffemodel(proto, List.of("bn1"));
    List<String> blobs = tops(proto);
    Graph g = CaffeImporter.importNet(proto, model,
        CaffeImportOptions.defaults().withOutputs(blobs));
    try (CaffeRef caffe = new CaffeRef(proto, model)) {
      compare(caffe, g, new long[] {2, 4, 19, 23}, blobs);
      TestOnnx.makeSpatialDynamic(g);
      compare(caffe, g, new long[] {2, 4, 26, 31}, blobs);
      compare(caffe, g, new long[] {2, 4, 8, 9}, blobs);
    }
  }

  @Test
  void denseLayersMatchCaffe() throws Exception {
    Path proto = Files.writeString(tmp.resolve("dense.prototxt"), DENSE);
    Path model = caffemodel(proto, List.of());
    List<String> blobs = tops(proto);
    Graph g = CaffeImporter.importNet(proto, model,
        CaffeImportOptions.defaults().withOutputs(blobs));
    try (CaffeRef caffe = new CaffeRef(proto, model)) {
      compare(caffe, g, new long[] {2, 3, 5, 7}, blobs);
    }
  }

  private Path caffemodel(Path proto, List<String> randomise) {
    // Caffe aborts the JVM on a bad net: let the importer's checks speak first.
    CaffeImporter.importNet(proto, null, CaffeImportOptions.defaults().withRandomWeightsSeed(1L));
    Path model = tmp.resolve(proto.getFileName() + ".caffemodel");
    CaffeRef.writeCaffemodel(proto, model);
    if (!randomise.isEmpty()) {
      CaffeTestNets.writeBinary(CaffeTestNets.randomizeBlobs(CaffeTestNets.readBinary(model),
          randomise, 0.5f, 1.5f, 3), model);
    }
    return model;
  }

  private static List<String> tops(Path proto) {
    LinkedHashSet<String> tops = new LinkedHashSet<>();
    for (var l : CaffeTestNets.readText(proto).getLayerList()) {
      if (!l.getType().equals("Input")) {
        tops.addAll(l.getTopList());
      }
    }
    return new ArrayList<>(tops);
  }

  private static void compare(CaffeRef caffe, Graph g, long[] shape, List<String> blobs)
      throws Exception {
    Map<String, Array> feeds = new LinkedHashMap<>();
    feeds.put("data", Array.gaussian(shape[2] * 31 + shape[3], 1f, shape));
    Map<String, Array> ref = caffe.forward(feeds, blobs);
    Map<String, Array> got = TestOnnx.run(g, feeds);
    List<String> bad = new ArrayList<>();
    for (String b : blobs) {
      Array r = ref.get(b);
      Array x = got.get(b);
      double err = x == null ? Double.NaN : x.maxAbsDiff(r);
      if (!(err <= 1e-4 * Math.max(r.maxAbs(), 1e-6f))) {
        bad.add(String.format("'%s': caffe %s ort %s max|err| %g max|ref| %g", b,
            r.shapeString(), x == null ? "missing" : x.shapeString(), err, r.maxAbs()));
      }
    }
    assertTrue(bad.isEmpty(), "at " + java.util.Arrays.toString(shape) + ": " + String.join("; ", bad));
  }
}
