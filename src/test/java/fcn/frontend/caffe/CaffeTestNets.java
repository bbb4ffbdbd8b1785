package fcn.frontend.caffe;

import com.google.protobuf.TextFormat;
import fcn.proto.CaffeProto.BlobProto;
import fcn.proto.CaffeProto.BlobShape;
import fcn.proto.CaffeProto.ConvolutionParameter;
import fcn.proto.CaffeProto.FillerParameter;
import fcn.proto.CaffeProto.InnerProductParameter;
import fcn.proto.CaffeProto.InputParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/** Rewrites of Caffe nets for tests: smaller widths, random fillers, Caffe-loadable inputs. */
final class CaffeTestNets {
  private CaffeTestNets() {}

  /** VGG/AlexNet widths; class counts (21, 33, 40, 60, 1000...) are not in the set. */
  private static final Set<Integer> WIDE = Set.of(64, 96, 128, 256, 384, 512, 4096);

  static NetParameter readText(Path p) {
    try {
      NetParameter.Builder b = NetParameter.newBuilder();
      TextFormat.getParser().merge(Files.readString(p), b);
      return b.build();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static NetParameter parseText(String text) {
    try {
      NetParameter.Builder b = NetParameter.newBuilder();
      TextFormat.getParser().merge(text, b);
      return b.build();
    } catch (TextFormat.ParseException e) {
      throw new IllegalArgumentException(e);
    }
  }

  static Path writeText(NetParameter net, Path p) {
    try {
      Files.writeString(p, TextFormat.printer().printToString(net));
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Path writeBinary(NetParameter net, Path p) {
    try {
      Files.write(p, net.toByteArray());
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static NetParameter readBinary(Path p) {
    try {
      return NetParameter.parseFrom(Files.readAllBytes(p));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Divides VGG/AlexNet widths by {@code factor} (topology, pads, crops, offsets and class
   * counts kept) and gives every learned layer random fillers, since Caffe's default filler
   * is constant 0 and would make every output zero.
   */
  static NetParameter reduced(NetParameter net, int factor) {
    NetParameter.Builder b = net.toBuilder();
    FillerParameter w = FillerParameter.newBuilder().setType("msra").build();
    FillerParameter bias = FillerParameter.newBuilder().setType("gaussian").setStd(0.1f).build();
    for (LayerParameter.Builder l : b.getLayerBuilderList()) {
      if (l.hasConvolutionParam()) {
        ConvolutionParameter.Builder c = l.getConvolutionParamBuilder();
        if (WIDE.contains(c.getNumOutput())) {
          c.setNumOutput(c.getNumOutput() / factor);
        }
        c.setWeightFiller(w).setBiasFiller(bias);
      }
      if (l.hasInnerProductParam()) {
        InnerProductParameter.Builder c = l.getInnerProductParamBuilder();
        if (WIDE.contains(c.getNumOutput())) {
          c.setNumOutput(c.getNumOutput() / factor);
        }
        c.setWeightFiller(w).setBiasFiller(bias);
      }
    }
    return b.build();
  }

  /**
   * A copy that JavaCPP's Caffe can build (it has no Python layer): each data layer becomes an
   * Input layer for the tops that inference layers read, and training-only layers go.
   */
  static NetParameter forCaffe(NetParameter net, Map<String, long[]> shapes) {
    NetParameter.Builder b = net.toBuilder().clearLayer();
    Set<String> read = new HashSet<>();
    for (LayerParameter l : net.getLayerList()) {
      if (!GraphBuilder.isTrainingOnly(l) && !GraphBuilder.isData(l)) {
        read.addAll(l.getBottomList());
      }
    }
    for (LayerParameter l : net.getLayerList()) {
      if (GraphBuilder.isTrainingOnly(l)) {
        continue;
      }
      if (GraphBuilder.isData(l)) {
        LayerParameter.Builder in = LayerParameter.newBuilder().setName(l.getName())
            .setType("Input");
        InputParameter.Builder ip = InputParameter.newBuilder();
        for (String t : l.getTopList()) {
          if (read.contains(t)) {
            in.addTop(t);
            BlobShape.Builder s = BlobShape.newBuilder();
            for (long d : shapes.get(t)) {
              s.addDim(d);
            }
            ip.addShape(s);
          }
        }
        b.addLayer(in.setInputParam(ip));
        continue;
      }
      b.addLayer(l);
    }
    return b.build();
  }

  /** Replaces the blobs of the named layers with random values in [lo, hi). */
  static NetParameter randomizeBlobs(NetParameter model, List<String> layers, float lo, float hi,
      long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    NetParameter.Builder b = model.toBuilder();
    for (LayerParameter.Builder l : b.getLayerBuilderList()) {
      if (!layers.contains(l.getName())) {
        continue;
      }
      for (BlobProto.Builder blob : l.getBlobsBuilderList()) {
        int n = blob.getDataCount();
        blob.clearData();
        for (int i = 0; i < n; i++) {
          blob.addData((float) (lo + (hi - lo) * r.nextDouble()));
        }
      }
    }
    return b.build();
  }
}
