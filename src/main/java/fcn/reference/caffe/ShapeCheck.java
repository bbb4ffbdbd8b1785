package fcn.reference.caffe;

import fcn.core.FcnException;
import fcn.frontend.caffe.CaffeImportOptions;
import fcn.frontend.caffe.CaffeImporter;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Value;
import fcn.models.Prototxt;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Checks without Caffe that a net takes inputs of given shapes. Caffe's Reshape aborts the whole
 * process on a misfit (a Crop larger than its input, an Eltwise of unequal sizes, a blob over
 * 2^31 - 1 elements), so {@link CaffeRunner} asks here before it builds or reshapes a net. The
 * check is fcn's own Caffe importer, which applies Caffe's shape arithmetic and CHECKs as
 * {@link FcnException}s; a net with layers the importer does not know cannot be checked and
 * passes (Caffe is then on its own, as before), but its input sizes are still bounded.
 */
final class ShapeCheck {
  private static final long MAX = Integer.MAX_VALUE;

  private ShapeCheck() {}

  /** Why {@code deploy} cannot run at {@code shapes}, or empty when it can. */
  static Optional<String> problem(NetParameter deploy, Map<String, long[]> shapes, String source) {
    for (var e : shapes.entrySet()) {
      long n = 1;
      for (long d : e.getValue()) {
        if (d <= 0 || d > MAX) {
          return Optional.of("input '" + e.getKey() + "' has shape " + Shape.format(e.getValue())
              + "; expected sizes 1 to " + MAX + " (Caffe keeps sizes in an int)");
        }
        n = Math.min(n * d, MAX + 1);
      }
      if (n > MAX) {
        return Optional.of("input '" + e.getKey() + "' of shape " + Shape.format(e.getValue())
            + " has over " + MAX + " elements, Caffe's limit for one blob");
      }
    }
    if (!CaffeImporter.unsupportedLayers(deploy, source).isEmpty()) {
      return Optional.empty();
    }
    // Spatial sizes do not depend on widths, so try the net at width 1 first (its random weights
    // cost nothing); a failure is confirmed at full width, since a Slice or Reshape may depend
    // on channel counts.
    Graph narrow;
    try {
      narrow = tryImport(new WidthReducer(Integer.MAX_VALUE, 1).reduce(deploy), shapes, source);
    } catch (FcnException e) {
      try {
        tryImport(deploy, shapes, source);
        return Optional.empty();
      } catch (FcnException full) {
        return Optional.of(full.getMessage());
      }
    }
    return Optional.ofNullable(fullWidthCounts(deploy, narrow));
  }

  /**
   * The narrow import knows every blob's spatial size; the full width of a blob is the
   * num_output of the Convolution, Deconvolution or InnerProduct that made it, carried through
   * the layers that keep channels (ReLU, Pooling, Crop, Eltwise...) and summed by a channel
   * Concat. A blob over Caffe's limit at full width would abort Caffe.
   */
  private static String fullWidthCounts(NetParameter deploy, Graph narrow) {
    Map<String, Long> widths = new HashMap<>();
    for (LayerParameter l : deploy.getLayerList()) {
      switch (l.getType()) {
        case "Convolution", "Deconvolution" ->
            widths.put(l.getName(), Integer.toUnsignedLong(l.getConvolutionParam().getNumOutput()));
        case "InnerProduct" ->
            widths.put(l.getName(), Integer.toUnsignedLong(l.getInnerProductParam().getNumOutput()));
        default -> { }
      }
    }
    Map<Value, Long> full = new HashMap<>();
    for (Node n : narrow.topologicalOrder()) {
      if (n.outputs().isEmpty() || n.inputs().isEmpty() || n.input(0) == null) {
        continue;
      }
      Value out = n.output(0);
      long[] dims = channels(out);
      if (dims == null) {
        continue;
      }
      Long width = widths.get(n.name());
      if (width == null && n.op() == Op.CONCAT && n.attrs().getInt("axis", 0) == 1) {
        width = 0L;
        for (Value in : n.inputs()) {
          long[] d = channels(in);
          width += full.getOrDefault(in, d == null ? 0 : d[1]);
        }
      }
      if (width == null) {
        long[] first = channels(n.input(0));
        // A layer that keeps its bottom's channels keeps its full width too.
        if (first == null || first[1] != dims[1] || !full.containsKey(n.input(0))) {
          continue;
        }
        width = full.get(n.input(0));
      }
      full.put(out, width);
      long count = width;
      for (int i = 0; i < dims.length; i++) {
        count = i == 1 ? count : Math.min(count * dims[i], MAX + 1);
      }
      if (count > MAX) {
        dims[1] = width;
        return "layer '" + n.name() + "' would make a " + Shape.format(dims) + " blob, over " + MAX
            + " elements, Caffe's limit for one blob";
      }
    }
    return null;
  }

  /** The static dims of a value of rank >= 2, or null. */
  private static long[] channels(Value v) {
    Shape s = v == null ? null : v.shape();
    return s == null || !s.isStatic() || s.rank() < 2 ? null : s.toArray();
  }

  private static Graph tryImport(NetParameter net, Map<String, long[]> shapes, String source) {
    Path tmp;
    try {
      tmp = Files.createTempFile("fcn-shape-check-", ".prototxt");
    } catch (IOException e) {
      throw new FcnException("cannot write a temporary prototxt: " + e.getMessage(), e);
    }
    try {
      Prototxt.write(net, tmp);
      return CaffeImporter.importNet(tmp, null, CaffeImportOptions.defaults().withInputShapes(shapes).withRandomWeightsSeed(0L));
    } catch (FcnException e) {
      String msg = e.getMessage();
      String prefix = tmp + ": ";
      throw new FcnException(msg.startsWith(prefix) ? msg.substring(prefix.length()) : msg.replace(tmp.toString(), source));
    } finally {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // a leftover temp file is harmless
      }
    }
  }
}
