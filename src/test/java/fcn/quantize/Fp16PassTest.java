package fcn.quantize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.data.Images;
import fcn.data.Preprocess;
import fcn.data.RgbImage;
import fcn.export.OnnxExporter;
import fcn.ir.Attrs;
import fcn.ir.Constant;
import fcn.ir.DataType;
import fcn.ir.Graph;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Variable;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.NodeProto;
import fcn.proto.OnnxProto.TensorProto;
import fcn.testing.Python;
import fcn.testing.TestOnnx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** float16 rewrites: index inputs keep their types, ORT runs them, and the default keeps its labels. */
class Fp16PassTest {
  @TempDir Path tmp;

  /** Conv -> Relu -> two Resizes (float scales, int64 sizes). */
  static Graph resizeNet() {
    Graph g = new Graph("fp16");
    g.opsetImports().put("", 17L);
    Variable x = g.addInput("x", DataType.FLOAT, Shape.of(1, 2, 4, 4));
    Constant w = g.addConstant("w", Tensor.ofFloats(new long[] {3, 2, 3, 3}, TestOnnx.random(1, 54)));
    Constant b = g.addConstant("b", Tensor.ofFloats(new long[] {3}, TestOnnx.random(2, 3)));
    Variable c = g.add(Op.CONV, "conv", List.of(x, w, b), "c", Attrs.of("pads", new long[] {1, 1, 1, 1}));
    Variable r = g.add(Op.RELU, "relu", List.of(c), "r", null);
    Constant scales = g.addConstant("scales", Tensor.ofFloats(new long[] {4}, new float[] {1, 1, 2, 2}));
    Constant sizes = g.addConstant("sizes", Tensor.vector(1, 3, 7, 9));
    Variable y1 = g.add(Op.RESIZE, "by_scales", Arrays.asList(r, null, scales), "y1", Attrs.of("mode", "linear"));
    Variable y2 = g.add(Op.RESIZE, "by_sizes", Arrays.asList(r, null, null, sizes), "y2", Attrs.of("mode", "nearest"));
    g.setOutputs(List.of(y1, y2));
    return g;
  }

  static Map<String, TensorProto> initializers(ModelProto m) {
    Map<String, TensorProto> out = new HashMap<>();
    m.getGraph().getInitializerList().forEach(t -> out.put(t.getName(), t));
    return out;
  }

  @Test
  void resizeKeepsItsIndexTypesAndOrtRunsIt() {
    Graph g = resizeNet();
    Map<String, TestOnnx.Array> in = Map.of("x", TestOnnx.Array.gaussian(3, 1f, 1, 2, 4, 4));
    Map<String, TestOnnx.Array> ref = TestOnnx.run(g, in);
    Fp16Pass.Result r = Fp16Pass.apply(g, "test");
    ModelProto m = OnnxExporter.toProto(g, 17);
    Map<String, TensorProto> init = initializers(m);
    for (NodeProto n : m.getGraph().getNodeList()) {
      if (n.getName().equals("by_scales")) {
        assertEquals(TensorProto.DataType.FLOAT_VALUE, init.get(n.getInput(2)).getDataType());
      } else if (n.getName().equals("by_sizes")) {
        assertEquals(TensorProto.DataType.INT64_VALUE, init.get(n.getInput(3)).getDataType());
      } else if (n.getName().equals("conv")) {
        assertEquals(TensorProto.DataType.FLOAT16_VALUE, init.get(n.getInput(1)).getDataType());
        assertEquals(TensorProto.DataType.FLOAT16_VALUE, init.get(n.getInput(2)).getDataType());
      }
    }
    m.getGraph().getOutputList().forEach(o -> assertEquals(1, o.getType().getTensorType().getElemType(), o.getName()));
    assertEquals(1, m.getGraph().getInputList().size());
    assertEquals(1, m.getGraph().getInput(0).getType().getTensorType().getElemType());
    assertTrue(r.fp16Ops().containsKey("Resize") && r.fp16Ops().containsKey("Conv"), r.toString());
    Map<String, TestOnnx.Array> got = TestOnnx.run(m.toByteArray(), in);
    for (String y : List.of("y1", "y2")) {
      // float16 keeps 11 significant bits: a few steps of 2^-11 of the output's scale.
      fcn.testing.Tolerance.assertClose(y, ref.get(y).data(), got.get(y).data(), 4e-3);
    }
  }

  @Test
  void defaultModelInFloat16KeepsItsLabelsAndPassesTheChecker() throws Exception {
    Path model = Path.of("fixtures", "default", "model.onnx");
    Path out = tmp.resolve("fp16.onnx");
    Quantizer.toFp16(model, out);
    RgbImage img = Images.readRgb(Path.of("fixtures", "default", "dataset", "JPEGImages", "shapes_000003.jpg"));
    Map<String, TestOnnx.Array> in = Map.of("data",
        new TestOnnx.Array(new long[] {1, 3, img.height(), img.width()}, Preprocess.caffe().toChw(img)));
    float[] a = TestOnnx.run(Files.readAllBytes(model), in).get("score").data();
    float[] h = TestOnnx.run(Files.readAllBytes(out), in).get("score").data();
    int plane = img.height() * img.width();
    int agree = 0;
    for (int i = 0; i < plane; i++) {
      agree += QuantizeDefaultTest.argmax(a, i, plane) == QuantizeDefaultTest.argmax(h, i, plane) ? 1 : 0;
    }
    assertTrue(agree >= 0.99 * plane, "label agreement " + agree + "/" + plane);
    Assumptions.assumeTrue(Python.has("import onnx"),
        "SKIPPED onnx.checker half: python3-onnx missing (apt-get install python3-onnx)");
    Process p = new ProcessBuilder(Python.PYTHON, "-c",
        "import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", out.toString())
        .redirectErrorStream(true).start();
    String text = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), text);
  }

  @Test
  void float16InputRefused() {
    Graph g = resizeNet();
    Fp16Pass.apply(g, "test");
    fcn.core.FcnException e = org.junit.jupiter.api.Assertions.assertThrows(fcn.core.FcnException.class,
        () -> Fp16Pass.apply(g, "m.onnx"));
    assertTrue(e.getMessage().contains("m.onnx") && e.getMessage().contains("float16"), e.getMessage());
  }
}
