package fcn.frontend.caffe;

import fcn.core.FcnException;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Which layers of a prototxt come from research forks of Caffe (caffe-segnet, DeepLab,
 * PSPNet) rather than BVLC Caffe: fcn converts them, but the BVLC Caffe that fcn runs as a
 * reference ({@code --verify}, {@code --against-caffe}, fixtures) cannot build them. Stateless.
 */
public final class CaffeForks {
  /** Layer types of the forks (caffe-segnet BN/Upsample/DenseImageData, DeepLab/PSPNet). */
  static final Set<String> TYPES = Set.of("BN", "Interp", "Upsample", "DenseImageData",
      "DenseCRF");

  private CaffeForks() {}

  /**
   * The fork layers of {@code prototxt} as "name (Type)", empty for a BVLC net or a file that
   * does not parse (the importer then reports what is wrong with it).
   */
  public static List<String> forkLayers(Path prototxt) {
    NetParameter net;
    try {
      net = NetUpgrader.upgrade(PrototxtReader.read(prototxt).net(), prototxt.toString());
    } catch (FcnException e) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (LayerParameter l : net.getLayerList()) {
      if (TYPES.contains(l.getType())) {
        out.add(l.getName() + " (" + l.getType() + ")");
      }
    }
    return out;
  }
}
