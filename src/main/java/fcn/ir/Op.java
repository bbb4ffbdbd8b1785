package fcn.ir;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The ONNX operators fcn builds or accepts, each with the input/output arity and the
 * attributes (with kinds) that ONNX defines for it up to opset 21. {@link #check} runs when a
 * node is built, so a malformed node fails where it is made, saying what was received and
 * what was expected.
 */
public enum Op {
  // Elementwise, one input.
  ABS("Abs", 1, 1, 1, 1, ""),
  NEG("Neg", 1, 1, 1, 1, ""),
  SQRT("Sqrt", 1, 1, 1, 1, ""),
  EXP("Exp", 1, 1, 1, 1, ""),
  LOG("Log", 1, 1, 1, 1, ""),
  FLOOR("Floor", 1, 1, 1, 1, ""),
  CEIL("Ceil", 1, 1, 1, 1, ""),
  RECIPROCAL("Reciprocal", 1, 1, 1, 1, ""),
  ERF("Erf", 1, 1, 1, 1, ""),
  NOT("Not", 1, 1, 1, 1, ""),
  IDENTITY("Identity", 1, 1, 1, 1, ""),
  RELU("Relu", 1, 1, 1, 1, ""),
  SIGMOID("Sigmoid", 1, 1, 1, 1, ""),
  TANH("Tanh", 1, 1, 1, 1, ""),
  LEAKY_RELU("LeakyRelu", 1, 1, 1, 1, "alpha:FLOAT"),
  ELU("Elu", 1, 1, 1, 1, "alpha:FLOAT"),
  SELU("Selu", 1, 1, 1, 1, "alpha:FLOAT gamma:FLOAT"),
  HARD_SIGMOID("HardSigmoid", 1, 1, 1, 1, "alpha:FLOAT beta:FLOAT"),
  HARD_SWISH("HardSwish", 1, 1, 1, 1, ""),
  PRELU("PRelu", 2, 2, 1, 1, ""),
  SOFTMAX("Softmax", 1, 1, 1, 1, "axis:INT"),
  LOG_SOFTMAX("LogSoftmax", 1, 1, 1, 1, "axis:INT"),
  CLIP("Clip", 1, 3, 1, 1, "min:FLOAT max:FLOAT"),
  CAST("Cast", 1, 1, 1, 1, "to:INT saturate:INT"),
  // Elementwise, broadcasting.
  ADD("Add", 2, 2, 1, 1, ""),
  SUB("Sub", 2, 2, 1, 1, ""),
  MUL("Mul", 2, 2, 1, 1, ""),
  DIV("Div", 2, 2, 1, 1, ""),
  POW("Pow", 2, 2, 1, 1, ""),
  EQUAL("Equal", 2, 2, 1, 1, ""),
  GREATER("Greater", 2, 2, 1, 1, ""),
  LESS("Less", 2, 2, 1, 1, ""),
  WHERE("Where", 3, 3, 1, 1, ""),
  MAX("Max", 1, Integer.MAX_VALUE, 1, 1, ""),
  MIN("Min", 1, Integer.MAX_VALUE, 1, 1, ""),
  SUM("Sum", 1, Integer.MAX_VALUE, 1, 1, ""),
  MEAN("Mean", 1, Integer.MAX_VALUE, 1, 1, ""),
  // Convolution and pooling.
  CONV("Conv", 2, 3, 1, 1,
      "auto_pad:STRING dilations:INTS group:INT kernel_shape:INTS pads:INTS strides:INTS"),
  CONV_TRANSPOSE("ConvTranspose", 2, 3, 1, 1,
      "auto_pad:STRING dilations:INTS group:INT kernel_shape:INTS output_padding:INTS"
          + " output_shape:INTS pads:INTS strides:INTS"),
  MAX_POOL("MaxPool", 1, 1, 1, 2,
      "auto_pad:STRING ceil_mode:INT dilations:INTS kernel_shape:INTS pads:INTS"
          + " storage_order:INT strides:INTS"),
  AVERAGE_POOL("AveragePool", 1, 1, 1, 1,
      "auto_pad:STRING ceil_mode:INT count_include_pad:INT dilations:INTS kernel_shape:INTS"
          + " pads:INTS strides:INTS"),
  GLOBAL_AVERAGE_POOL("GlobalAveragePool", 1, 1, 1, 1, ""),
  GLOBAL_MAX_POOL("GlobalMaxPool", 1, 1, 1, 1, ""),
  // Dense.
  GEMM("Gemm", 2, 3, 1, 1, "alpha:FLOAT beta:FLOAT transA:INT transB:INT"),
  MAT_MUL("MatMul", 2, 2, 1, 1, ""),
  // Normalisation.
  BATCH_NORMALIZATION("BatchNormalization", 5, 5, 1, 3,
      "epsilon:FLOAT momentum:FLOAT training_mode:INT spatial:INT"),
  INSTANCE_NORMALIZATION("InstanceNormalization", 3, 3, 1, 1, "epsilon:FLOAT"),
  LRN("LRN", 1, 1, 1, 1, "alpha:FLOAT beta:FLOAT bias:FLOAT size:INT"),
  // Shape manipulation.
  CONCAT("Concat", 1, Integer.MAX_VALUE, 1, 1, "axis:INT"),
  SPLIT("Split", 1, 2, 1, Integer.MAX_VALUE, "axis:INT split:INTS num_outputs:INT"),
  FLATTEN("Flatten", 1, 1, 1, 1, "axis:INT"),
  RESHAPE("Reshape", 2, 2, 1, 1, "allowzero:INT"),
  TRANSPOSE("Transpose", 1, 1, 1, 1, "perm:INTS"),
  SQUEEZE("Squeeze", 1, 2, 1, 1, "axes:INTS"),
  UNSQUEEZE("Unsqueeze", 1, 2, 1, 1, "axes:INTS"),
  SLICE("Slice", 1, 5, 1, 1, "starts:INTS ends:INTS axes:INTS"),
  SHAPE("Shape", 1, 1, 1, 1, "start:INT end:INT"),
  GATHER("Gather", 2, 2, 1, 1, "axis:INT"),
  EXPAND("Expand", 2, 2, 1, 1, ""),
  TILE("Tile", 2, 3, 1, 1, ""),
  PAD("Pad", 1, 4, 1, 1, "mode:STRING pads:INTS value:FLOAT"),
  RESIZE("Resize", 1, 4, 1, 1,
      "antialias:INT axes:INTS coordinate_transformation_mode:STRING cubic_coeff_a:FLOAT"
          + " exclude_outside:INT extrapolation_value:FLOAT keep_aspect_ratio_policy:STRING"
          + " mode:STRING nearest_mode:STRING"),
  UPSAMPLE("Upsample", 1, 2, 1, 1, "mode:STRING scales:FLOATS"),
  CONSTANT("Constant", 0, 0, 1, 1,
      "value:TENSOR value_float:FLOAT value_floats:FLOATS value_int:INT value_ints:INTS"
          + " value_string:STRING value_strings:STRINGS"),
  CONSTANT_OF_SHAPE("ConstantOfShape", 1, 1, 1, 1, "value:TENSOR"),
  SCATTER_ELEMENTS("ScatterElements", 3, 3, 1, 1, "axis:INT reduction:STRING"),
  RANGE("Range", 3, 3, 1, 1, ""),
  DROPOUT("Dropout", 1, 3, 1, 2, "ratio:FLOAT seed:INT is_test:INT"),
  // Reductions.
  REDUCE_MEAN("ReduceMean", 1, 2, 1, 1, "axes:INTS keepdims:INT noop_with_empty_axes:INT"),
  REDUCE_MAX("ReduceMax", 1, 2, 1, 1, "axes:INTS keepdims:INT noop_with_empty_axes:INT"),
  REDUCE_SUM("ReduceSum", 1, 2, 1, 1, "axes:INTS keepdims:INT noop_with_empty_axes:INT"),
  ARG_MAX("ArgMax", 1, 1, 1, 1, "axis:INT keepdims:INT select_last_index:INT"),
  /**
   * Any other operator (another op type or domain), carried through as it came: its op_type
   * and domain are on the {@link Node} ({@link Node#opType()}, {@link Node#domain()}) and its
   * attributes are {@link OpaqueAttr}s. No pass understands it; shape inference may have a
   * rule for it by name.
   */
  OPAQUE("", 0, Integer.MAX_VALUE, 0, Integer.MAX_VALUE, "");

  private final String onnxName;
  private final int minInputs;
  private final int maxInputs;
  private final int minOutputs;
  private final int maxOutputs;
  private final Map<String, AttrType> attrs;

  Op(String onnxName, int minIn, int maxIn, int minOut, int maxOut, String attrSpec) {
    this.onnxName = onnxName;
    this.minInputs = minIn;
    this.maxInputs = maxIn;
    this.minOutputs = minOut;
    this.maxOutputs = maxOut;
    Map<String, AttrType> m = new LinkedHashMap<>();
    for (String spec : attrSpec.trim().split("\\s+")) {
      if (!spec.isEmpty()) {
        String[] kv = spec.split(":");
        m.put(kv[0], AttrType.valueOf(kv[1]));
      }
    }
    this.attrs = Collections.unmodifiableMap(m);
  }

  /** The ONNX op_type. */
  public String onnxName() {
    return onnxName;
  }

  public Map<String, AttrType> attributes() {
    return attrs;
  }

  /** The op for an ONNX op_type in the default domain, or null when fcn does not know it. */
  public static Op fromOnnx(String opType) {
    for (Op op : values()) {
      if (op != OPAQUE && op.onnxName.equals(opType)) {
        return op;
      }
    }
    return null;
  }

  /**
   * Checks arity and attributes.
   *
   * @throws IllegalArgumentException naming the node, what was received and what was expected
   */
  public void check(String nodeName, int inputs, int outputs, Attrs a) {
    if (this == OPAQUE) {
      for (String name : a.names()) {
        if (!(a.get(name) instanceof OpaqueAttr)) {
          throw new IllegalArgumentException(String.format(
              "node '%s': attribute '%s' of an opaque node must be kept as it came", nodeName, name));
        }
      }
      return;
    }
    if (inputs < minInputs || inputs > maxInputs) {
      throw new IllegalArgumentException(String.format(
          "%s node '%s': got %d inputs, expected %s", onnxName, nodeName, inputs,
          range(minInputs, maxInputs)));
    }
    if (outputs < minOutputs || outputs > maxOutputs) {
      throw new IllegalArgumentException(String.format(
          "%s node '%s': got %d outputs, expected %s", onnxName, nodeName, outputs,
          range(minOutputs, maxOutputs)));
    }
    for (String name : a.names()) {
      AttrType expected = attrs.get(name);
      if (expected == null) {
        throw new IllegalArgumentException(String.format(
            "%s node '%s': unknown attribute '%s', expected one of %s", onnxName, nodeName,
            name, attrs.keySet()));
      }
      AttrType got = AttrType.of(a.get(name));
      if (got != expected) {
        throw new IllegalArgumentException(String.format(
            "%s node '%s': attribute '%s' is %s, expected %s", onnxName, nodeName, name, got,
            expected));
      }
    }
  }

  private static String range(int lo, int hi) {
    if (lo == hi) {
      return Integer.toString(lo);
    }
    return hi == Integer.MAX_VALUE ? lo + " or more" : lo + " to " + hi;
  }
}
