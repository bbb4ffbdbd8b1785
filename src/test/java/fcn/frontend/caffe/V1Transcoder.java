package fcn.frontend.caffe;

import fcn.proto.CaffeProto.BlobProto;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.proto.CaffeProto.V1LayerParameter;

/**
 * Writes a V2 net (optionally with blobs) in the deprecated V1 form, as old Caffe did:
 * net-level input/input_dim, {@code layers {}} with enum types, and blobs with the legacy
 * num/channels/height/width fields. Only layer types V1 has are accepted.
 */
final class V1Transcoder {
  private V1Transcoder() {}

  static NetParameter toV1(NetParameter v2) {
    NetParameter.Builder b = NetParameter.newBuilder().setName(v2.getName());
    for (LayerParameter l : v2.getLayerList()) {
      if (l.getType().equals("Input")) {
        for (int i = 0; i < l.getTopCount(); i++) {
          b.addInput(l.getTop(i));
          var shape = l.getInputParam().getShape(l.getInputParam().getShapeCount() == 1 ? 0 : i);
          if (shape.getDimCount() != 4) {
            throw new IllegalArgumentException("V1 input_dim needs 4-D inputs");
          }
          shape.getDimList().forEach(d -> b.addInputDim(d.intValue()));
        }
        continue;
      }
      b.addLayers(toV1(l));
    }
    return b.build();
  }

  static V1LayerParameter toV1(LayerParameter l) {
    V1LayerParameter.Builder v = V1LayerParameter.newBuilder().setName(l.getName())
        .setType(enumType(l.getType())).addAllBottom(l.getBottomList()).addAllTop(l.getTopList())
        .addAllInclude(l.getIncludeList()).addAllExclude(l.getExcludeList());
    for (BlobProto blob : l.getBlobsList()) {
      v.addBlobs(legacy(blob));
    }
    if (l.hasConvolutionParam()) v.setConvolutionParam(l.getConvolutionParam());
    if (l.hasPoolingParam()) v.setPoolingParam(l.getPoolingParam());
    if (l.hasInnerProductParam()) v.setInnerProductParam(l.getInnerProductParam());
    if (l.hasDropoutParam()) v.setDropoutParam(l.getDropoutParam());
    if (l.hasReluParam()) v.setReluParam(l.getReluParam());
    if (l.hasSoftmaxParam()) v.setSoftmaxParam(l.getSoftmaxParam());
    if (l.hasLrnParam()) v.setLrnParam(l.getLrnParam());
    if (l.hasConcatParam()) v.setConcatParam(l.getConcatParam());
    if (l.hasEltwiseParam()) v.setEltwiseParam(l.getEltwiseParam());
    if (l.hasPowerParam()) v.setPowerParam(l.getPowerParam());
    return v.build();
  }

  static BlobProto legacy(BlobProto blob) {
    long[] d = {1, 1, 1, 1};
    int r = blob.getShape().getDimCount();
    if (r > 4) {
      throw new IllegalArgumentException("legacy blobs have at most 4 axes");
    }
    for (int i = 0; i < r; i++) {
      d[4 - r + i] = blob.getShape().getDim(i);
    }
    return blob.toBuilder().clearShape().setNum((int) d[0]).setChannels((int) d[1])
        .setHeight((int) d[2]).setWidth((int) d[3]).build();
  }

  private static V1LayerParameter.LayerType enumType(String type) {
    for (V1LayerParameter.LayerType t : V1LayerParameter.LayerType.values()) {
      if (NetUpgrader.typeName(t).equals(type) && t != V1LayerParameter.LayerType.NONE) {
        return t;
      }
    }
    throw new IllegalArgumentException("V1 has no layer type " + type);
  }
}
