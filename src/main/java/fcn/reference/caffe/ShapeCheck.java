package fcn.reference.caffe;

import fcn.core.FcnException;
import fcn.frontend.caffe.CaffeImportOptions;
import fcn.frontend.caffe.CaffeImporter;
import fcn.models.Prototxt;
import fcn.proto.CaffeProto.NetParameter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Checks without Caffe that a net takes inputs of given shapes. Caffe's Reshape aborts the whole
 * process on a misfit (a Crop larger than its input, an Eltwise of unequal sizes), so
 * {@link CaffeRunner} asks here before it builds or reshapes a net at a size the prototxt does
 * not declare. The check is fcn's own Caffe importer, which applies Caffe's shape arithmetic
 * and CHECKs as {@link FcnException}s; a net with layers the importer does not know cannot be
 * checked and passes (Caffe is then on its own, as before).
 */
final class ShapeCheck {
  private ShapeCheck() {}

  /** Why {@code deploy} cannot run at {@code shapes}, or empty when it can. */
  static Optional<String> problem(NetParameter deploy, Map<String, long[]> shapes, String source) {
    if (!CaffeImporter.unsupportedLayers(deploy, source).isEmpty()) {
      return Optional.empty();
    }
    // Spatial sizes do not depend on widths, so try the net at width 1 first (its random weights
    // cost nothing); a failure is confirmed at full width, since a Slice or Reshape may depend
    // on channel counts.
    if (tryImport(new WidthReducer(Integer.MAX_VALUE, 1).reduce(deploy), shapes, source) == null) {
      return Optional.empty();
    }
    return Optional.ofNullable(tryImport(deploy, shapes, source));
  }

  private static String tryImport(NetParameter net, Map<String, long[]> shapes, String source) {
    Path tmp;
    try {
      tmp = Files.createTempFile("fcn-shape-check-", ".prototxt");
    } catch (IOException e) {
      throw new FcnException("cannot write a temporary prototxt: " + e.getMessage(), e);
    }
    try {
      Prototxt.write(net, tmp);
      CaffeImporter.importNet(tmp, null, CaffeImportOptions.defaults().withInputShapes(shapes).withRandomWeightsSeed(0L));
      return null;
    } catch (FcnException e) {
      String msg = e.getMessage();
      String prefix = tmp + ": ";
      return msg.startsWith(prefix) ? msg.substring(prefix.length()) : msg.replace(tmp.toString(), source);
    } finally {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // a leftover temp file is harmless
      }
    }
  }
}
