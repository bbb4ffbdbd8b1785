package fcn.reference.caffe;

import fcn.proto.CaffeProto.ConvolutionParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.proto.CaffeProto.V1LayerParameter;
import fcn.proto.CaffeProto.V1LayerParameter.LayerType;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Shrinks a net's widths so tests on real topologies run in milliseconds: every Convolution,
 * Deconvolution and InnerProduct {@code num_output} is divided by a divisor (never below a
 * floor), keeping topology, pads, kernels, strides, crops and offsets. Class layers keep their
 * width: layers named {@code score*}/{@code upscore*} and layers whose num_output equals the
 * net's class count (the num_output of its last learnable layer, e.g. fc8's 1000). Grouped
 * layers stay valid: a depthwise layer (group == num_output) keeps group == num_output, other
 * grouped layers round their width up to a multiple of the group.
 */
public final class WidthReducer {
  private final int divisor;
  private final int minWidth;

  public WidthReducer(int divisor, int minWidth) {
    if (divisor < 1 || minWidth < 1) {
      throw new IllegalArgumentException("divisor and min width must be >= 1, got " + divisor + ", " + minWidth);
    }
    this.divisor = divisor;
    this.minWidth = minWidth;
  }

  /** A width after reduction: max(min, n / divisor), never more than n. */
  public int reduced(int n) {
    return Math.min(n, Math.max(minWidth, n / divisor));
  }

  /** The rewritten net (V1 or V2 layers). */
  public NetParameter reduce(NetParameter net) {
    Set<Integer> classCounts = classCounts(net);
    NetParameter.Builder b = net.toBuilder();
    for (int i = 0; i < b.getLayerCount(); i++) {
      LayerParameter l = b.getLayer(i);
      boolean keep = isClassLayer(l.getName());
      switch (l.getType()) {
        case "Convolution", "Deconvolution" -> {
          if (!keep && !classCounts.contains(l.getConvolutionParam().getNumOutput())) {
            b.setLayer(i, l.toBuilder().setConvolutionParam(conv(l.getConvolutionParam())));
          }
        }
        case "InnerProduct" -> {
          int n = l.getInnerProductParam().getNumOutput();
          if (!keep && !classCounts.contains(n)) {
            b.setLayer(i, l.toBuilder().setInnerProductParam(l.getInnerProductParam().toBuilder().setNumOutput(reduced(n))));
          }
        }
        default -> { }
      }
    }
    for (int i = 0; i < b.getLayersCount(); i++) {
      V1LayerParameter l = b.getLayers(i);
      boolean keep = isClassLayer(l.getName());
      if (l.getType() == LayerType.CONVOLUTION || l.getType() == LayerType.DECONVOLUTION) {
        if (!keep && !classCounts.contains(l.getConvolutionParam().getNumOutput())) {
          b.setLayers(i, l.toBuilder().setConvolutionParam(conv(l.getConvolutionParam())));
        }
      } else if (l.getType() == LayerType.INNER_PRODUCT) {
        int n = l.getInnerProductParam().getNumOutput();
        if (!keep && !classCounts.contains(n)) {
          b.setLayers(i, l.toBuilder().setInnerProductParam(l.getInnerProductParam().toBuilder().setNumOutput(reduced(n))));
        }
      }
    }
    return b.build();
  }

  /** Names of the learnable layers {@link #reduce} leaves at full width. */
  public Set<String> keptLayers(NetParameter net) {
    Set<Integer> classCounts = classCounts(net);
    Set<String> out = new LinkedHashSet<>();
    for (LayerParameter l : net.getLayerList()) {
      Integer n = numOutput(l);
      if (n != null && (isClassLayer(l.getName()) || classCounts.contains(n))) {
        out.add(l.getName());
      }
    }
    for (V1LayerParameter l : net.getLayersList()) {
      Integer n = numOutput(l);
      if (n != null && (isClassLayer(l.getName()) || classCounts.contains(n))) {
        out.add(l.getName());
      }
    }
    return out;
  }

  private ConvolutionParameter conv(ConvolutionParameter p) {
    int n = p.getNumOutput();
    int r = reduced(n);
    int group = p.getGroup();
    ConvolutionParameter.Builder b = p.toBuilder();
    if (group > 1 && group == n) {
      b.setGroup(r);
    } else if (group > 1) {
      r = Math.min(n, ((r + group - 1) / group) * group);
    }
    return b.setNumOutput(r).build();
  }

  private static boolean isClassLayer(String name) {
    return name.startsWith("score") || name.startsWith("upscore");
  }

  /** The class count(s): the width of the last learnable layer and of score layers. */
  private static Set<Integer> classCounts(NetParameter net) {
    Set<Integer> out = new HashSet<>();
    Integer last = null;
    for (LayerParameter l : net.getLayerList()) {
      Integer n = numOutput(l);
      if (n != null) {
        last = n;
        if (isClassLayer(l.getName())) {
          out.add(n);
        }
      }
    }
    for (V1LayerParameter l : net.getLayersList()) {
      Integer n = numOutput(l);
      if (n != null) {
        last = n;
        if (isClassLayer(l.getName())) {
          out.add(n);
        }
      }
    }
    if (last != null) {
      out.add(last);
    }
    return out;
  }

  private static Integer numOutput(LayerParameter l) {
    return switch (l.getType()) {
      case "Convolution", "Deconvolution" -> l.getConvolutionParam().getNumOutput();
      case "InnerProduct" -> l.getInnerProductParam().getNumOutput();
      default -> null;
    };
  }

  private static Integer numOutput(V1LayerParameter l) {
    return switch (l.getType()) {
      case CONVOLUTION, DECONVOLUTION -> l.getConvolutionParam().getNumOutput();
      case INNER_PRODUCT -> l.getInnerProductParam().getNumOutput();
      default -> null;
    };
  }
}
