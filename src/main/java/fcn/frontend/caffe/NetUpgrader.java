package fcn.frontend.caffe;

import fcn.core.FcnException;
import fcn.proto.CaffeProto.BlobShape;
import fcn.proto.CaffeProto.InputParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.proto.CaffeProto.NetStateRule;
import fcn.proto.CaffeProto.ParamSpec;
import fcn.proto.CaffeProto.Phase;
import fcn.proto.CaffeProto.V1LayerParameter;
import java.util.ArrayList;
import java.util.List;

/**
 * The one place where legacy net definitions become current ones, following Caffe's
 * upgrade_proto.cpp: V1 {@code layers {}} with enum types become V2 {@code layer {}} with type
 * strings (blobs_lr and weight_decay move into ParamSpec, where fcn ignores them), and net-level
 * {@code input}/{@code input_dim}/{@code input_shape} become an {@code Input} layer. Then the
 * net is filtered for the TEST phase like Caffe's Net::FilterNet.
 */
final class NetUpgrader {
  private NetUpgrader() {}

  /** Upgraded and phase-filtered net; {@code source} names the file in errors. */
  static NetParameter upgrade(NetParameter net, String source) {
    NetParameter up = upgradeV1(net, source);
    up = upgradeInputs(up, source);
    return filterPhase(up, Phase.TEST);
  }

  static boolean isV1(NetParameter net) {
    return net.getLayersCount() > 0;
  }

  static NetParameter upgradeV1(NetParameter net, String source) {
    if (net.getLayersCount() == 0) {
      return net;
    }
    if (net.getLayerCount() > 0) {
      throw new FcnException(source + ": the net mixes V2 'layer' and V1 'layers' fields;"
          + " expected one format");
    }
    NetParameter.Builder b = net.toBuilder().clearLayers();
    for (V1LayerParameter v1 : net.getLayersList()) {
      b.addLayer(upgradeLayer(v1, source));
    }
    return b.build();
  }

  static LayerParameter upgradeLayer(V1LayerParameter v1, String source) {
    if (v1.hasLayer()) {
      throw new FcnException(source + ": layer '" + v1.getName() + "' uses the V0 layer format,"
          + " which fcn does not read; upgrade it with Caffe's upgrade_net_proto_text");
    }
    LayerParameter.Builder l = LayerParameter.newBuilder();
    l.setName(v1.getName());
    l.setType(typeName(v1.getType()));
    l.addAllBottom(v1.getBottomList()).addAllTop(v1.getTopList());
    l.addAllInclude(v1.getIncludeList()).addAllExclude(v1.getExcludeList());
    l.addAllLossWeight(v1.getLossWeightList());
    l.addAllBlobs(v1.getBlobsList());
    int nParams = Math.max(v1.getParamCount(),
        Math.max(v1.getBlobsLrCount(), v1.getWeightDecayCount()));
    for (int i = 0; i < nParams; i++) {
      ParamSpec.Builder p = ParamSpec.newBuilder();
      if (i < v1.getParamCount()) {
        p.setName(v1.getParam(i));
      }
      if (i < v1.getBlobsLrCount()) {
        p.setLrMult(v1.getBlobsLr(i));
      }
      if (i < v1.getWeightDecayCount()) {
        p.setDecayMult(v1.getWeightDecay(i));
      }
      l.addParam(p);
    }
    if (v1.hasAccuracyParam()) l.setAccuracyParam(v1.getAccuracyParam());
    if (v1.hasArgmaxParam()) l.setArgmaxParam(v1.getArgmaxParam());
    if (v1.hasConcatParam()) l.setConcatParam(v1.getConcatParam());
    if (v1.hasContrastiveLossParam()) l.setContrastiveLossParam(v1.getContrastiveLossParam());
    if (v1.hasConvolutionParam()) l.setConvolutionParam(v1.getConvolutionParam());
    if (v1.hasDataParam()) l.setDataParam(v1.getDataParam());
    if (v1.hasDropoutParam()) l.setDropoutParam(v1.getDropoutParam());
    if (v1.hasDummyDataParam()) l.setDummyDataParam(v1.getDummyDataParam());
    if (v1.hasEltwiseParam()) l.setEltwiseParam(v1.getEltwiseParam());
    if (v1.hasExpParam()) l.setExpParam(v1.getExpParam());
    if (v1.hasHdf5DataParam()) l.setHdf5DataParam(v1.getHdf5DataParam());
    if (v1.hasHdf5OutputParam()) l.setHdf5OutputParam(v1.getHdf5OutputParam());
    if (v1.hasHingeLossParam()) l.setHingeLossParam(v1.getHingeLossParam());
    if (v1.hasImageDataParam()) l.setImageDataParam(v1.getImageDataParam());
    if (v1.hasInfogainLossParam()) l.setInfogainLossParam(v1.getInfogainLossParam());
    if (v1.hasInnerProductParam()) l.setInnerProductParam(v1.getInnerProductParam());
    if (v1.hasLrnParam()) l.setLrnParam(v1.getLrnParam());
    if (v1.hasMemoryDataParam()) l.setMemoryDataParam(v1.getMemoryDataParam());
    if (v1.hasMvnParam()) l.setMvnParam(v1.getMvnParam());
    if (v1.hasPoolingParam()) l.setPoolingParam(v1.getPoolingParam());
    if (v1.hasPowerParam()) l.setPowerParam(v1.getPowerParam());
    if (v1.hasReluParam()) l.setReluParam(v1.getReluParam());
    if (v1.hasSigmoidParam()) l.setSigmoidParam(v1.getSigmoidParam());
    if (v1.hasSoftmaxParam()) l.setSoftmaxParam(v1.getSoftmaxParam());
    if (v1.hasSliceParam()) l.setSliceParam(v1.getSliceParam());
    if (v1.hasTanhParam()) l.setTanhParam(v1.getTanhParam());
    if (v1.hasThresholdParam()) l.setThresholdParam(v1.getThresholdParam());
    if (v1.hasWindowDataParam()) l.setWindowDataParam(v1.getWindowDataParam());
    if (v1.hasTransformParam()) l.setTransformParam(v1.getTransformParam());
    if (v1.hasLossParam()) l.setLossParam(v1.getLossParam());
    return l.build();
  }

  /** Caffe's UpgradeV1LayerType. */
  static String typeName(V1LayerParameter.LayerType t) {
    return switch (t) {
      case NONE -> "";
      case ABSVAL -> "AbsVal";
      case ACCURACY -> "Accuracy";
      case ARGMAX -> "ArgMax";
      case BNLL -> "BNLL";
      case CONCAT -> "Concat";
      case CONTRASTIVE_LOSS -> "ContrastiveLoss";
      case CONVOLUTION -> "Convolution";
      case DECONVOLUTION -> "Deconvolution";
      case DATA -> "Data";
      case DROPOUT -> "Dropout";
      case DUMMY_DATA -> "DummyData";
      case EUCLIDEAN_LOSS -> "EuclideanLoss";
      case ELTWISE -> "Eltwise";
      case EXP -> "Exp";
      case FLATTEN -> "Flatten";
      case HDF5_DATA -> "HDF5Data";
      case HDF5_OUTPUT -> "HDF5Output";
      case HINGE_LOSS -> "HingeLoss";
      case IM2COL -> "Im2col";
      case IMAGE_DATA -> "ImageData";
      case INFOGAIN_LOSS -> "InfogainLoss";
      case INNER_PRODUCT -> "InnerProduct";
      case LRN -> "LRN";
      case MEMORY_DATA -> "MemoryData";
      case MULTINOMIAL_LOGISTIC_LOSS -> "MultinomialLogisticLoss";
      case MVN -> "MVN";
      case POOLING -> "Pooling";
      case POWER -> "Power";
      case RELU -> "ReLU";
      case SIGMOID -> "Sigmoid";
      case SIGMOID_CROSS_ENTROPY_LOSS -> "SigmoidCrossEntropyLoss";
      case SILENCE -> "Silence";
      case SOFTMAX -> "Softmax";
      case SOFTMAX_LOSS -> "SoftmaxWithLoss";
      case SPLIT -> "Split";
      case SLICE -> "Slice";
      case TANH -> "TanH";
      case WINDOW_DATA -> "WindowData";
      case THRESHOLD -> "Threshold";
    };
  }

  /** Caffe's UpgradeNetInput: net-level inputs become one leading Input layer. */
  static NetParameter upgradeInputs(NetParameter net, String source) {
    if (net.getInputCount() == 0) {
      if (net.getInputDimCount() > 0 || net.getInputShapeCount() > 0) {
        throw new FcnException(source + ": input_dim/input_shape given without 'input' names");
      }
      return net;
    }
    InputParameter.Builder ip = InputParameter.newBuilder();
    int n = net.getInputCount();
    if (net.getInputShapeCount() > 0) {
      if (net.getInputShapeCount() != n) {
        throw new FcnException(String.format("%s: %d inputs but %d input_shape entries;"
            + " expected one per input", source, n, net.getInputShapeCount()));
      }
      ip.addAllShape(net.getInputShapeList());
    } else if (net.getInputDimCount() > 0) {
      if (net.getInputDimCount() != 4 * n) {
        throw new FcnException(String.format("%s: %d inputs but %d input_dim values;"
            + " expected 4 per input", source, n, net.getInputDimCount()));
      }
      for (int i = 0; i < n; i++) {
        BlobShape.Builder s = BlobShape.newBuilder();
        for (int j = 0; j < 4; j++) {
          s.addDim(net.getInputDim(4 * i + j));
        }
        ip.addShape(s);
      }
    }
    LayerParameter.Builder input = LayerParameter.newBuilder().setName("input").setType("Input")
        .addAllTop(net.getInputList());
    if (ip.getShapeCount() > 0) {
      input.setInputParam(ip);
    }
    List<LayerParameter> layers = new ArrayList<>();
    layers.add(input.build());
    layers.addAll(net.getLayerList());
    return net.toBuilder().clearInput().clearInputDim().clearInputShape().clearLayer()
        .addAllLayer(layers).build();
  }

  /** Caffe's Net::FilterNet for a NetState with the given phase, level 0 and no stages. */
  static NetParameter filterPhase(NetParameter net, Phase phase) {
    NetParameter.Builder b = net.toBuilder().clearLayer();
    for (LayerParameter l : net.getLayerList()) {
      boolean keep;
      if (l.getIncludeCount() > 0) {
        keep = l.getIncludeList().stream().anyMatch(r -> meets(r, phase));
      } else {
        keep = l.getExcludeList().stream().noneMatch(r -> meets(r, phase));
      }
      if (keep) {
        b.addLayer(l);
      }
    }
    return b.build();
  }

  private static boolean meets(NetStateRule r, Phase phase) {
    if (r.hasPhase() && r.getPhase() != phase) {
      return false;
    }
    if (r.hasMinLevel() && 0 < r.getMinLevel()) {
      return false;
    }
    if (r.hasMaxLevel() && 0 > r.getMaxLevel()) {
      return false;
    }
    return r.getStageCount() == 0; // the state has no stages, so not_stage never matches
  }
}
