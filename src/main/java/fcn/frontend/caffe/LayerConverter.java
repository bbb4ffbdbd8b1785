package fcn.frontend.caffe;

import fcn.ir.Variable;
import fcn.proto.CaffeProto.LayerParameter;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.ToIntFunction;

/**
 * Everything fcn knows about one Caffe layer type: its V2 type names (V1 nets are upgraded to
 * these by {@link NetUpgrader} first), how many learned blobs a caffemodel holds for it, the
 * variants it refuses, the shape-free range checks it runs before anything is built, whether
 * it only aliases its bottom, and how it builds IR nodes through a {@link LayerContext}.
 * Instances are immutable; they are declared in the file of their kind and collected by
 * {@link LayerRegistry}.
 *
 * @param types V2 type names this converter handles
 * @param blobCount learned blobs of a layer (0: none, so a missing caffemodel entry is fine)
 * @param refuse why a variant cannot be converted, or null when it can
 * @param check range checks that need no shapes (see {@link LayerChecks}), given the source
 * @param aliases true when the layer writes no node: its tops are its bottom (Split)
 * @param build the nodes for the layer, one value per top
 */
record LayerConverter(Set<String> types, ToIntFunction<LayerParameter> blobCount,
    Function<LayerParameter, String> refuse, BiConsumer<LayerParameter, String> check,
    Predicate<LayerParameter> aliases, Build build) {

  /** Builds a layer's nodes; returns one value per top, in top order. */
  @FunctionalInterface
  interface Build {
    List<Variable> build(LayerContext cx);
  }

  /** Builds a one-top layer's nodes. */
  @FunctionalInterface
  interface BuildOne {
    Variable build(LayerContext cx);
  }

  /** A converter for one-top layers of {@code types}, with no blobs, refusals or checks. */
  static LayerConverter of(BuildOne build, String... types) {
    return multi(cx -> List.of(build.build(cx)), types);
  }

  /** A converter for layers with any number of tops. */
  static LayerConverter multi(Build build, String... types) {
    return new LayerConverter(Set.of(types), l -> 0, l -> null, (l, source) -> { }, l -> false,
        build);
  }

  /** A layer type whose tops are always its one bottom: no node, no new version. */
  static LayerConverter alias(String... types) {
    return multi(cx -> {
      throw new IllegalStateException(cx.layer().getType() + " only aliases its bottom");
    }, types).aliasing(l -> true);
  }

  LayerConverter withBlobs(ToIntFunction<LayerParameter> count) {
    return new LayerConverter(types, count, refuse, check, aliases, build);
  }

  LayerConverter refusing(Function<LayerParameter, String> why) {
    return new LayerConverter(types, blobCount, why, check, aliases, build);
  }

  LayerConverter checking(BiConsumer<LayerParameter, String> ranges) {
    return new LayerConverter(types, blobCount, refuse, ranges, aliases, build);
  }

  /** Layers for which {@code when} holds write no node: every top becomes the one bottom. */
  LayerConverter aliasing(Predicate<LayerParameter> when) {
    return new LayerConverter(types, blobCount, refuse, check, when, build);
  }
}
