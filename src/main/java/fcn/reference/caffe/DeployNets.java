package fcn.reference.caffe;

import fcn.core.FcnException;
import fcn.models.Prototxt;
import fcn.proto.CaffeProto.BlobShape;
import fcn.proto.CaffeProto.InputParameter;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import fcn.proto.CaffeProto.NetStateRule;
import fcn.proto.CaffeProto.Phase;
import fcn.proto.CaffeProto.V1LayerParameter;
import fcn.proto.CaffeProto.V1LayerParameter.LayerType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns train/val nets into nets BVLC Caffe can run for inference. FCN's val/test prototxts
 * start with a {@code Python} data layer (which BVLC builds lack) and end in loss layers; the
 * numerical reference for converting them is the same net with the data layer replaced by an
 * Input layer of the shapes the caller chooses, without loss/accuracy layers and label blobs.
 *
 * <p>Pure proto rewriting: no Caffe needed. TRAIN-only layers are dropped as Caffe's TEST
 * phase would drop them. V2 nets get Input layers; V1 nets get net-level
 * {@code input}/{@code input_shape} fields (V1 has no Input layer type).
 */
public final class DeployNets {
  private DeployNets() {}

  /**
   * Rewrites {@code net} for inference. {@code inputShapes} gives the shape of each data-layer
   * top that the remaining layers consume (and may reshape existing Input layers / net inputs).
   * Tops nobody consumes any more (labels) are dropped.
   */
  public static NetParameter rewrite(NetParameter net, Map<String, long[]> inputShapes) {
    if (net.getLayersCount() > 0 && net.getLayerCount() > 0) {
      throw new FcnException(name(net) + ": net mixes V1 'layers' and V2 'layer' entries");
    }
    Set<String> used = new HashSet<>();
    NetParameter out = net.getLayersCount() > 0 ? rewriteV1(net, inputShapes, used) : rewriteV2(net, inputShapes, used);
    out = reshapeNetInputs(out, inputShapes, used);
    for (String k : inputShapes.keySet()) {
      if (!used.contains(k)) {
        throw new FcnException(name(net) + ": no data layer, Input layer or net input produces a blob named '"
            + k + "' that the inference net uses");
      }
    }
    return out;
  }

  /**
   * The blobs the inference version of {@code net} takes as inputs, in Caffe's order (net-level
   * inputs, then Input and data-layer tops that the remaining layers consume): the names that
   * {@link #rewrite}'s {@code inputShapes} may use. Labels are not among them.
   */
  public static List<String> inputNames(NetParameter net) {
    List<String> out = new ArrayList<>(net.getInputList());
    Set<String> consumed = new HashSet<>();
    if (net.getLayersCount() > 0) {
      List<V1LayerParameter> kept = net.getLayersList().stream()
          .filter(l -> !trainOnly(l.getIncludeList(), l.getExcludeList()) && !l.getType().name().endsWith("_LOSS")
              && l.getType() != LayerType.ACCURACY)
          .toList();
      kept.forEach(l -> consumed.addAll(l.getBottomList()));
      for (V1LayerParameter l : kept) {
        if (l.getBottomCount() == 0 && (l.getType() == LayerType.DATA || l.getType().name().endsWith("_DATA"))) {
          l.getTopList().stream().filter(consumed::contains).filter(t -> !out.contains(t)).forEach(out::add);
        }
      }
      return out;
    }
    List<LayerParameter> kept = net.getLayerList().stream()
        .filter(l -> !trainOnly(l.getIncludeList(), l.getExcludeList()) && !isLossV2(l.getType()))
        .toList();
    kept.forEach(l -> consumed.addAll(l.getBottomList()));
    for (LayerParameter l : kept) {
      if (isDataV2(l) || l.getType().equals("Input")) {
        l.getTopList().stream().filter(consumed::contains).filter(t -> !out.contains(t)).forEach(out::add);
      }
    }
    return out;
  }

  /** {@link #rewrite}, written to a temp prototxt (deleted on exit) for Caffe's file-based APIs. */
  public static Path forCaffe(NetParameter net, Map<String, long[]> inputShapes) {
    NetParameter deploy = rewrite(net, inputShapes);
    try {
      Path tmp = Files.createTempFile("fcn-deploy-", ".prototxt");
      tmp.toFile().deleteOnExit();
      Prototxt.write(deploy, tmp);
      return tmp;
    } catch (IOException e) {
      throw new FcnException("cannot write a temporary prototxt: " + e.getMessage(), e);
    }
  }

  // ---------------------------------------------------------------- V2

  private static NetParameter rewriteV2(NetParameter net, Map<String, long[]> shapes, Set<String> used) {
    List<LayerParameter> kept = new ArrayList<>();
    for (LayerParameter l : net.getLayerList()) {
      if (trainOnly(l.getIncludeList(), l.getExcludeList()) || isLossV2(l.getType())) {
        continue;
      }
      kept.add(l);
    }
    Set<String> consumed = new HashSet<>();
    kept.forEach(l -> consumed.addAll(l.getBottomList()));
    NetParameter.Builder b = net.toBuilder().clearLayer();
    for (LayerParameter l : kept) {
      if (isDataV2(l)) {
        List<String> tops = l.getTopList().stream().filter(consumed::contains).toList();
        if (tops.isEmpty()) {
          continue;
        }
        LayerParameter.Builder in = LayerParameter.newBuilder().setName(l.getName()).setType("Input");
        InputParameter.Builder p = InputParameter.newBuilder();
        for (String top : tops) {
          in.addTop(top);
          p.addShape(shape(need(net, l.getName(), top, shapes)));
          used.add(top);
        }
        b.addLayer(in.setInputParam(p));
      } else if (l.getType().equals("Input")) {
        // Keep the consumed tops (a label Input loses its loss layer), each with its own shape.
        InputParameter p = l.getInputParam();
        LayerParameter.Builder in = l.toBuilder().clearTop().clearInputParam();
        InputParameter.Builder np = InputParameter.newBuilder();
        for (int i = 0; i < l.getTopCount(); i++) {
          String top = l.getTop(i);
          if (!consumed.contains(top)) {
            continue;
          }
          long[] s = shapes.get(top);
          in.addTop(top);
          if (s != null) {
            used.add(top);
            np.addShape(shape(s));
          } else if (p.getShapeCount() == 1) {
            np.addShape(p.getShape(0));  // one shape shared by every top
          } else if (i < p.getShapeCount()) {
            np.addShape(p.getShape(i));
          } else {
            throw new FcnException(name(net) + ": Input layer '" + l.getName() + "' gives no shape for blob '"
                + top + "'");
          }
        }
        if (in.getTopCount() > 0) {
          b.addLayer(in.setInputParam(np));
        }
      } else {
        b.addLayer(l);
      }
    }
    return b.build();
  }

  private static boolean isDataV2(LayerParameter l) {
    String t = l.getType();
    // A Python layer without bottoms can only be a data source (FCN's VOCSegDataLayer & co.)
    return l.getBottomCount() == 0 && !t.equals("Input")
        && (t.equals("Python") || t.endsWith("Data"));
  }

  private static boolean isLossV2(String type) {
    return type.endsWith("Loss") || type.equals("Accuracy");
  }

  // ---------------------------------------------------------------- V1

  private static NetParameter rewriteV1(NetParameter net, Map<String, long[]> shapes, Set<String> used) {
    List<V1LayerParameter> kept = new ArrayList<>();
    for (V1LayerParameter l : net.getLayersList()) {
      String t = l.getType().name();
      if (trainOnly(l.getIncludeList(), l.getExcludeList()) || t.endsWith("_LOSS") || l.getType() == LayerType.ACCURACY) {
        continue;
      }
      kept.add(l);
    }
    Set<String> consumed = new HashSet<>();
    kept.forEach(l -> consumed.addAll(l.getBottomList()));
    NetParameter.Builder b = net.toBuilder().clearLayers();
    // V1 has no Input layer: data tops become net-level inputs, in layer order.
    Map<String, long[]> newInputs = new LinkedHashMap<>();
    for (V1LayerParameter l : kept) {
      if (l.getBottomCount() == 0 && (l.getType() == LayerType.DATA || l.getType().name().endsWith("_DATA"))) {
        for (String top : l.getTopList()) {
          if (consumed.contains(top)) {
            newInputs.put(top, need(net, l.getName(), top, shapes));
            used.add(top);
          }
        }
      } else {
        b.addLayers(l);
      }
    }
    if (!newInputs.isEmpty()) {
      List<BlobShape> existing = legacyShapes(net);
      b.clearInputDim().clearInputShape();
      existing.forEach(b::addInputShape);
      for (var e : newInputs.entrySet()) {
        b.addInput(e.getKey()).addInputShape(shape(e.getValue()));
      }
    }
    return b.build();
  }

  // ---------------------------------------------------------------- legacy net inputs

  private static NetParameter reshapeNetInputs(NetParameter net, Map<String, long[]> shapes, Set<String> used) {
    boolean touched = net.getInputList().stream().anyMatch(i -> shapes.containsKey(i) && !used.contains(i));
    if (!touched) {
      return net;
    }
    List<BlobShape> s = new ArrayList<>(legacyShapes(net));
    for (int i = 0; i < net.getInputCount(); i++) {
      long[] given = shapes.get(net.getInput(i));
      if (given != null) {
        used.add(net.getInput(i));
        s.set(i, shape(given));
      }
    }
    return net.toBuilder().clearInputDim().clearInputShape().addAllInputShape(s).build();
  }

  /** The net-level input shapes, from input_shape or the older 4-per-input input_dim. */
  private static List<BlobShape> legacyShapes(NetParameter net) {
    List<BlobShape> out = new ArrayList<>();
    for (int i = 0; i < net.getInputCount(); i++) {
      if (i < net.getInputShapeCount()) {
        out.add(net.getInputShape(i));
      } else if (net.getInputDimCount() >= 4 * (i + 1)) {
        BlobShape.Builder s = BlobShape.newBuilder();
        for (int k = 0; k < 4; k++) {
          s.addDim(net.getInputDim(4 * i + k));
        }
        out.add(s.build());
      } else {
        throw new FcnException(name(net) + ": net input '" + net.getInput(i) + "' has no shape (input_shape or input_dim)");
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- helpers

  /** True when Caffe's TEST phase would filter the layer out. */
  private static boolean trainOnly(List<NetStateRule> include, List<NetStateRule> exclude) {
    boolean excludedFromTest = exclude.stream().anyMatch(r -> r.hasPhase() && r.getPhase() == Phase.TEST);
    boolean includedOnlyInTrain = !include.isEmpty()
        && include.stream().allMatch(r -> r.hasPhase() && r.getPhase() == Phase.TRAIN);
    return excludedFromTest || includedOnlyInTrain;
  }

  private static long[] need(NetParameter net, String layer, String top, Map<String, long[]> shapes) {
    long[] s = shapes.get(top);
    if (s == null) {
      throw new FcnException(name(net) + ": data layer '" + layer + "' produces blob '" + top
          + "', which the inference net uses: give its shape (e.g. " + top + "=1,3,500,500)");
    }
    for (long d : s) {
      if (d < 1) {
        throw new FcnException(name(net) + ": shape " + Arrays.toString(s) + " for blob '" + top
            + "' has a non-positive dimension");
      }
    }
    return s;
  }

  private static BlobShape shape(long[] dims) {
    BlobShape.Builder s = BlobShape.newBuilder();
    for (long d : dims) {
      s.addDim(d);
    }
    return s.build();
  }

  private static String name(NetParameter net) {
    return net.hasName() ? "net '" + net.getName() + "'" : "net";
  }
}
