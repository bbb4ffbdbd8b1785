package fcn.frontend.caffe;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The Caffe layer types the importer converts, by V2 type name: the {@link LayerConverter}s
 * declared in the files of their kind ({@link ConvPoolLayers}, {@link DenseLayers},
 * {@link ElementwiseLayers}, {@link ShapeLayers}, {@link NormLayers}, {@link InterpLayers}).
 * Data and training-only layers are not converters: {@link DataLayers} classifies them. Immutable after class
 * initialisation; a type claimed by two converters fails the build's tests at once.
 */
final class LayerRegistry {
  private static final Map<String, LayerConverter> BY_TYPE = collect(Stream.of(
      ConvPoolLayers.ALL, DenseLayers.ALL, ElementwiseLayers.ALL, ShapeLayers.ALL,
      NormLayers.ALL,
      InterpLayers.ALL,
      ResizeLayers.ALL,
      DataLayers.POST_PROCESSING).flatMap(List::stream).toList());

  private LayerRegistry() {}

  /** The converter for V2 type {@code type}, or null when fcn does not convert it. */
  static LayerConverter get(String type) {
    return BY_TYPE.get(type);
  }

  /** Every converted type name. */
  static java.util.Set<String> types() {
    return Collections.unmodifiableSet(BY_TYPE.keySet());
  }

  private static Map<String, LayerConverter> collect(List<LayerConverter> all) {
    Map<String, LayerConverter> m = new LinkedHashMap<>();
    for (LayerConverter c : all) {
      for (String t : c.types()) {
        if (m.put(t, c) != null || DataLayers.isDataType(t)) {
          throw new IllegalStateException("Caffe layer type " + t + " is registered twice");
        }
      }
    }
    return m;
  }
}
