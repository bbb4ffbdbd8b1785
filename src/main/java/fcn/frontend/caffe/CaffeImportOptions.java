package fcn.frontend.caffe;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Options for {@link CaffeImporter#importNet}. Immutable: each {@code with...} method returns
 * a copy.
 *
 * <ul>
 *   <li>{@code inputShapes}: full shapes for graph inputs by Caffe blob name (from
 *       {@code --input-shape data=1,3,500,500}); they win over the prototxt and the default
 *       rule (see {@link CaffeImporter}).
 *   <li>{@code randomWeightsSeed}: when set, layers without weights (no caffemodel, or a
 *       caffemodel lacking a layer) get deterministic random weights from this seed; when
 *       null, missing weights are an error.
 *   <li>{@code outputs}: Caffe blob names to expose as graph outputs; empty means every blob
 *       that is produced and never consumed (after training-only layers are dropped).
 * </ul>
 */
public final class CaffeImportOptions {
  private final Map<String, long[]> inputShapes;
  private final Long randomWeightsSeed;
  private final List<String> outputs;

  private CaffeImportOptions(Map<String, long[]> inputShapes, Long seed, List<String> outputs) {
    this.inputShapes = inputShapes;
    this.randomWeightsSeed = seed;
    this.outputs = outputs;
  }

  public static CaffeImportOptions defaults() {
    return new CaffeImportOptions(Map.of(), null, List.of());
  }

  public CaffeImportOptions withInputShapes(Map<String, long[]> shapes) {
    Map<String, long[]> copy = new LinkedHashMap<>();
    shapes.forEach((k, v) -> copy.put(k, v.clone()));
    return new CaffeImportOptions(Collections.unmodifiableMap(copy), randomWeightsSeed, outputs);
  }

  public CaffeImportOptions withInputShape(String name, long... shape) {
    Map<String, long[]> copy = new LinkedHashMap<>(inputShapes);
    copy.put(name, shape.clone());
    return new CaffeImportOptions(Collections.unmodifiableMap(copy), randomWeightsSeed, outputs);
  }

  public CaffeImportOptions withRandomWeightsSeed(Long seed) {
    return new CaffeImportOptions(inputShapes, seed, outputs);
  }

  public CaffeImportOptions withOutputs(List<String> names) {
    return new CaffeImportOptions(inputShapes, randomWeightsSeed,
        Collections.unmodifiableList(new ArrayList<>(names)));
  }

  /** Input shape overrides by blob name (arrays are copies). */
  public Map<String, long[]> inputShapes() {
    Map<String, long[]> copy = new LinkedHashMap<>();
    inputShapes.forEach((k, v) -> copy.put(k, v.clone()));
    return copy;
  }

  public Long randomWeightsSeed() {
    return randomWeightsSeed;
  }

  public List<String> outputs() {
    return outputs;
  }
}
