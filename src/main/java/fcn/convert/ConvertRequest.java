package fcn.convert;

import fcn.export.OnnxExporter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What to convert and how: the library form of {@code fcn convert}'s options.
 *
 * @param sources NET.prototxt [WEIGHTS.caffemodel], a caffemodel alone, or MODEL.onnx
 * @param output the ONNX file to write
 * @param opset ONNX opset to write ({@link OnnxExporter#MIN_OPSET}..{@link OnnxExporter#MAX_OPSET},
 *     or an ONNX source's own), or {@link #SOURCE_OPSET} for the default: the ONNX source's
 *     opset, {@link OnnxExporter#DEFAULT_OPSET} for Caffe
 * @param outputs graph outputs to keep (empty: the model's own outputs)
 * @param inputShapes input shape overrides by name
 * @param randomWeightsSeed seed for random weights when a Caffe net comes without weights
 * @param fullyConv rewrite dense classifier layers into convolutions
 * @param head FCN head to add (null: none)
 * @param dynamic true/false forces symbolic/static H and W; null decides (symbolic when the
 *     net is fully convolutional)
 * @param headInputPad with a head: the spatial padding that the first convolution on the image
 *     gets at least (FCN's conv1_1 pad of 100, so the coarse output covers any input); 0 keeps
 *     the classifier's own
 */
public record ConvertRequest(
    List<Path> sources,
    Path output,
    int opset,
    List<String> outputs,
    Map<String, long[]> inputShapes,
    Long randomWeightsSeed,
    boolean fullyConv,
    fcn.passes.HeadOptions head,
    Boolean dynamic,
    int headInputPad) {

  /** {@code opset} value meaning "the default": the ONNX source's own opset, 17 for Caffe. */
  public static final int SOURCE_OPSET = 0;

  public ConvertRequest {
    sources = List.copyOf(sources);
    outputs = outputs == null ? List.of() : List.copyOf(outputs);
    inputShapes = inputShapes == null ? Map.of() : Map.copyOf(inputShapes);
  }

  /** A request with defaults for everything but the sources and output. */
  public static ConvertRequest of(List<Path> sources, Path output) {
    return new ConvertRequest(sources, output, SOURCE_OPSET, List.of(), Map.of(),
        null, false, null, null, 100);
  }
}
