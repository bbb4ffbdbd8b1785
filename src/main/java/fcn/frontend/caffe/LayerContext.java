package fcn.frontend.caffe;

import fcn.core.FcnException;
import fcn.ir.Attrs;
import fcn.ir.Constant;
import fcn.ir.DataType;
import fcn.ir.Op;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.proto.CaffeProto.FillerParameter;
import fcn.proto.CaffeProto.LayerParameter;
import java.util.List;

/**
 * What a {@link LayerConverter} sees of the import while it converts one layer: the layer, its
 * bottoms as IR values, the names its tops will take, and node, constant and weight factories
 * that keep the graph's bookkeeping (blob versions, generated names, Caffe's size limits,
 * random weights) in {@link GraphBuilder}, which implements it. Valid only during the
 * converter's {@link LayerConverter#build} call; errors come back as one-line
 * {@link FcnException}s naming the file and the layer.
 */
interface LayerContext {

  /** The layer being converted (V2, TEST phase). */
  LayerParameter layer();

  /** The value name claimed for top {@code i} (the blob name, or "blob/layer" when taken). */
  String out(int i);

  /** The current version of bottom {@code i}; refuses a bottom no converted layer produces. */
  Value bottom(int i);

  /** The bottom of a layer that must have exactly one bottom and one top. */
  Value soleBottom();

  void requireBottoms(int min, int max);

  void requireTops(int n);

  /** The static shape of {@code v} at the import size. */
  long[] shape(Value v);

  /** {@code axis} (negative counts from the end) as an index into a {@code rank}-axis blob. */
  int canonicalAxis(int axis, int rank);

  /** A one-line error "source: layer 'name' (Type): message". */
  FcnException fail(String fmt, Object... args);

  /** A node writing {@code outName} with shape {@code outShape}, refused over Caffe's limit. */
  Variable op(Op op, String nodeName, List<? extends Value> in, String outName, Attrs attrs,
      long[] outShape);

  /**
   * A node of the current layer with several outputs (MaxPool with its Indices), named
   * {@code outNames}, with {@code outShapes} and {@code outTypes}.
   */
  List<Variable> ops(Op op, String nodeName, List<? extends Value> in, List<String> outNames,
      Attrs attrs, long[][] outShapes, DataType[] outTypes);

  /** An auxiliary node of the current layer, with a generated output name "layer.what". */
  Variable aux(Op op, String what, List<? extends Value> in, Attrs attrs, long[] outShape);

  /** {@link #aux} with an INT64 output. */
  Variable auxInt(Op op, String what, List<? extends Value> in, Attrs attrs, long[] outShape);

  /** A constant named "layer.what" (made unique). */
  Constant constant(String what, Tensor t);

  Constant ints(String what, long... values);

  Constant scalar(String what, float v);

  /**
   * The layer's learned blobs, checked against the shapes the prototxt implies, or random ones
   * from {@code fillers} when the caffemodel lacks the layer and a seed is set; tensors come
   * back with the expected dims.
   */
  Tensor[] params(String[] names, long[][] expected, FillerParameter[] fillers);
}
