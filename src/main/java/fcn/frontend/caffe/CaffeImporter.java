package fcn.frontend.caffe;

import fcn.core.FcnException;
import fcn.ir.Graph;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.NetParameter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Imports a Caffe net (prototxt and/or caffemodel; V1 {@code layers} or V2 {@code layer}) into
 * the fcn IR, faithful to BVLC Caffe's TEST-phase forward pass.
 *
 * <p>Contract:
 * <ul>
 *   <li>The prototxt defines the net; weights are matched to its layers by name and checked
 *       against the shapes the prototxt implies. A caffemodel alone works too (it embeds its
 *       net). A prototxt without a caffemodel needs {@link CaffeImportOptions#randomWeightsSeed}.
 *   <li>Data layers (Input, Python without bottoms, Data, ImageData, MemoryData, HDF5Data,
 *       DummyData, WindowData) give the graph inputs: each top that a converted layer reads.
 *       Other tops (labels) and training-only layers (*Loss, Accuracy, Silence, HDF5Output)
 *       are dropped.
 *   <li>Input shapes: an {@code --input-shape} override; else the shape the layer declares
 *       (Input, DummyData, MemoryData); else N=1, C from the weights of the convolution that
 *       first reads the top (when a caffemodel gives them; 1 for a grayscale ImageData; else
 *       3), H x W from ImageData new_height/new_width or transform_param crop_size, else
 *       500 x 500.
 *   <li>Caffe blob names become value names; with in-place layers the last version of a blob
 *       keeps the name and earlier ones become "blob/producing-layer". Graph outputs are the
 *       blobs produced and never consumed, or {@link CaffeImportOptions#outputs}.
 *   <li>Every value gets its static shape at the import size, from Caffe's own arithmetic;
 *       the operators stay correct when H and W change (crop ends come from Shape, pooling
 *       windows from floor-mode pads that reproduce Caffe's ceil rule for any size).
 *   <li>Errors are {@link FcnException}s naming the file and layer: every unsupported layer
 *       in one message, a missing bottom, a cycle, a weight shape mismatch, a bad file.
 * </ul>
 */
public final class CaffeImporter {
  /**
   * Graph metadata key listing the layers (comma-separated) whose output depends on the whole
   * input batch: caffe-segnet BN in its default LEARN mode normalises with the batch's own
   * statistics even at test time.
   */
  public static final String BATCH_STATISTICS_KEY = "fcn.batch_statistics_layers";

  private CaffeImporter() {}

  public static Graph importNet(Path prototxt, Path caffemodel, CaffeImportOptions opts) {
    CaffeImportOptions o = opts == null ? CaffeImportOptions.defaults() : opts;
    if (prototxt == null && caffemodel == null) {
      throw new FcnException("nothing to import: expected a prototxt, a caffemodel, or both");
    }
    if (caffemodel == null && o.randomWeightsSeed() == null) {
      throw new FcnException(prototxt + ": no caffemodel given; pass the trained weights, or"
          + " --random-weights SEED to convert with seeded random weights");
    }
    String source;
    NetParameter def = null;
    boolean v1 = false;
    if (prototxt != null) {
      source = prototxt.toString();
      PrototxtReader.Result r = PrototxtReader.read(prototxt);
      v1 = NetUpgrader.isV1(r.net());
      def = NetUpgrader.upgrade(r.net(), source);
      checkSupported(def, source, r.strictError());
      LayerChecks.check(def, source);
    } else {
      source = caffemodel.toString();
    }
    Map<String, List<WeightBlob>> weights = Map.of();
    if (caffemodel != null) {
      CaffemodelReader.Result r = CaffemodelReader.read(caffemodel);
      weights = r.weights();
      if (def == null) {
        v1 = NetUpgrader.isV1(r.net());
        def = NetUpgrader.upgrade(r.net(), source);
        checkSupported(def, source, null);
        LayerChecks.check(def, source);
      }
    }
    String weightsFile = caffemodel == null ? "(no caffemodel)" : caffemodel.toString();
    GraphBuilder b = new GraphBuilder(def, weights, weightsFile, o, source);
    Graph g = b.build();
    Map<String, String> md = g.metadata();
    if (prototxt != null) {
      md.put("source.prototxt", String.valueOf(prototxt.getFileName()));
    }
    if (caffemodel != null) {
      md.put("source.caffemodel", String.valueOf(caffemodel.getFileName()));
    }
    md.put("caffe.net_name", def.getName());
    md.put("caffe.format", v1 ? "V1 layers" : "V2 layer");
    List<String> batchDependent = def.getLayerList().stream()
        .filter(NormLayers::usesBatchStatistics).map(LayerParameter::getName).toList();
    if (!batchDependent.isEmpty()) {
      // caffe-segnet BN in LEARN mode: converted as Caffe computes it, see NormLayers.bn.
      md.put(BATCH_STATISTICS_KEY, String.join(",", batchDependent));
    }
    if (!b.randomLayers().isEmpty()) {
      md.put("fcn.random_weights_seed", String.valueOf(o.randomWeightsSeed()));
      md.put("fcn.random_weight_layers", String.join(",", b.randomLayers()));
    }
    return g;
  }

  /** "LINE:COL: field (and N more)" from the one-line strict parse error. */
  private static String firstUnknown(String msg, String source) {
    String body = msg.startsWith(source + ":") ? msg.substring(source.length() + 1) : msg;
    int colon = body.indexOf(": ", body.indexOf(':') + 1);
    String list = colon < 0 ? body : body.substring(colon + 2);
    int start = list.indexOf(": ");
    String[] items = (start < 0 ? list : list.substring(start + 2)).split("; ");
    return items[0].trim() + (items.length > 1 ? " (and " + (items.length - 1) + " more)" : "");
  }

  /**
   * Layer types of Caffe forks that fcn reads (caffe-segnet's Upsample, DenseImageData and BN,
   * DeepLab/PSPNet's Interp and BN, DeepLab's DenseCRF): BVLC Caffe 1.0, the reference of
   * {@code --verify} and {@code --against-caffe}, has none of them.
   */
  /**
   * The layers of {@code net} (V1 or V2) that {@link #importNet} cannot convert, as "name (Type)";
   * empty when it converts them all. Lets callers that only want shape checks tell "the net does
   * not fit" from "the importer does not know this layer".
   */
  public static List<String> unsupportedLayers(NetParameter net, String source) {
    List<String> out = new ArrayList<>();
    for (LayerParameter l : NetUpgrader.upgrade(net, source).getLayerList()) {
      if (GraphBuilder.unsupportedReason(l) != null) {
        out.add(l.getName() + " (" + l.getType() + ")");
      }
    }
    return out;
  }

  /**
   * Checks the numbers of {@code net} (V1 or V2) that need no shapes, as {@link #importNet}
   * does first: strides, dilations, kernels, pads, group and num_output in range (zero,
   * negative and over 2^31 - 1 refused), unique layer names. For callers that hand a net to
   * real Caffe, whose CHECKs abort the process.
   *
   * @throws FcnException naming {@code source}, the layer and the field
   */
  public static void checkNet(NetParameter net, String source) {
    LayerChecks.check(NetUpgrader.upgrade(net, source), source);
  }

  /** One error listing every layer that cannot be converted, before anything is built. */
  private static void checkSupported(NetParameter net, String source, FcnException strictError) {
    List<LayerParameter> bad = new ArrayList<>();
    for (LayerParameter l : net.getLayerList()) {
      if (GraphBuilder.unsupportedReason(l) != null) {
        bad.add(l);
      }
    }
    if (!bad.isEmpty()) {
      String extra = strictError == null ? ""
          : "; the prototxt also has fields BVLC Caffe does not define, first "
              + firstUnknown(strictError.getMessage(), source);
      throw FcnException.of("%s: %d unsupported layer%s: %s%s", source, bad.size(),
          bad.size() == 1 ? "" : "s", GraphBuilder.list(bad), extra);
    }
    if (strictError != null) {
      throw strictError;
    }
  }
}
