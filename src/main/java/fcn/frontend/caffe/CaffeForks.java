package fcn.frontend.caffe;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
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

  /**
   * A fork's parameter message whose field number BVLC Caffe gave to another field: text
   * prototxts name it, so it parses into {@code own}; in a fork's binary caffemodel it arrives
   * in the clashing BVLC field ({@code clash}), whose bytes are the fork's message unchanged
   * (its fields are unknown fields there), so they are parsed again as the fork's message.
   */
  static <T extends Message> T param(boolean hasOwn, T own, boolean hasClash, Message clash,
      Parser<T> parser) {
    if (hasOwn || !hasClash) {
      return own;
    }
    try {
      return parser.parseFrom(clash.toByteString());
    } catch (InvalidProtocolBufferException e) {
      return own;
    }
  }
}
