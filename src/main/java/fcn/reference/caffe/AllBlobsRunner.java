package fcn.reference.caffe;

import fcn.runtime.FloatTensor;
import fcn.runtime.ReferenceRunner;
import java.util.List;
import java.util.Map;

/**
 * Real Caffe as a reference that keeps every blob of a forward pass, for per-layer comparison
 * ({@code fcn validate --per-layer}, {@code fcn fixtures --all-blobs}). {@link #forward} runs the
 * net once and leaves every blob's values in Caffe's own (native) memory; {@link #blob} copies one
 * blob at a time onto the Java heap, so a caller holds only the blobs it is looking at. Obtained
 * from {@link CaffeBackend#openAllBlobs}; owned by the caller (close it).
 */
public interface AllBlobsRunner extends ReferenceRunner {
  /**
   * One blob of the net, in Caffe's creation order. An in-place layer (ReLU, Dropout over its
   * bottom) adds no blob: {@code layers} lists every layer that wrote the blob, in order, and its
   * values after a forward are the last one's.
   *
   * @param name the blob name
   * @param layers the layers that wrote it (empty for a net-level input)
   * @param types their Caffe types (V2 names)
   * @param splitOf for a copy made by Caffe's automatic Split layer (a blob read by several
   *     layers), the blob it copies; null otherwise
   * @param input true for an input blob (fed, not computed)
   */
  record BlobInfo(String name, List<String> layers, List<String> types, String splitOf, boolean input) {
    public BlobInfo {
      layers = List.copyOf(layers);
      types = List.copyOf(types);
    }
  }

  /** Every blob of the net, in Caffe's order (inputs first). */
  List<BlobInfo> blobInfo();

  /** Runs one forward pass (reshaping like {@link #run}); every blob then holds this pass's values. */
  void forward(Map<String, FloatTensor> inputs);

  /** A copy of one blob's values after the last {@link #forward} (or {@link #run}). */
  FloatTensor blob(String name);
}
