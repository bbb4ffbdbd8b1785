package fcn.cli;

import static fcn.testing.Python.PYTHON;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.ExitCode;
import fcn.proto.OnnxProto.GraphProto;
import fcn.proto.OnnxProto.ModelProto;
import fcn.proto.OnnxProto.NodeProto;
import fcn.proto.OnnxProto.OperatorSetIdProto;
import fcn.proto.OnnxProto.TensorShapeProto;
import fcn.proto.OnnxProto.ValueInfoProto;
import fcn.runtime.Device;
import fcn.runtime.FloatTensor;
import fcn.runtime.OptLevel;
import fcn.runtime.Session;
import fcn.testing.TestOnnx;
import fcn.testing.Python;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ONNX models made of operators fcn does not understand come out of {@code fcn convert} as
 * they went in: every node (op type, domain, inputs, outputs, attributes), the opset imports,
 * and bit-identical ONNX Runtime outputs at optimisation level none. The models are written by
 * tools/make-passthrough-models.py (python3-onnx) and a real torch.onnx.export
 * (tools/make-interpolate-export.py, python3-torch) into a temp folder; without those Debian
 * packages the tests skip, saying so.
 */
class OnnxPassThroughTest {
  @TempDir static Path models;
  @TempDir Path tmp;

  @BeforeAll
  static void makeModels() throws Exception {
    Assumptions.assumeTrue(Python.has("import onnx, numpy"),
        "python3 with onnx and numpy (Debian python3-onnx) not found: skipping the pass-through tests");
    Process p = new ProcessBuilder(PYTHON, "tools/make-passthrough-models.py", models.toString())
        .redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0, log);
  }

  @ParameterizedTest
  @CsvSource({"qdq, plain", "qdq, dynamic", "qdq, outputs",
      "convinteger, plain", "convinteger, dynamic", "convinteger, outputs",
      "qlinear, plain", "qlinear, dynamic", "qlinear, outputs",
      "fp16resize, plain", "fp16resize, dynamic", "fp16resize, outputs",
      "contrib, plain", "contrib, dynamic", "contrib, outputs"})
  void carriedThroughAsItCame(String name, String mode) throws Exception {
    Path src = models.resolve(name + ".onnx");
    Path out = tmp.resolve(name + "-" + mode + ".onnx");
    ModelProto before = ModelProto.parseFrom(Files.readAllBytes(src));
    String firstOut = before.getGraph().getOutput(0).getName();
    List<String> args = new ArrayList<>(List.of("convert", src.toString(), "-o", out.toString()));
    if (mode.equals("dynamic")) {
      args.add("--dynamic");
    } else if (mode.equals("outputs")) {
      args.addAll(List.of("--outputs", firstOut));
    }
    CliRun r = CliRun.fcn(args.toArray(String[]::new));
    assertEquals(ExitCode.OK, r.code(), r.all());
    ModelProto after = ModelProto.parseFrom(Files.readAllBytes(out));

    List<String> kept = mode.equals("outputs") ? List.of(firstOut) : outputNames(before.getGraph());
    assertEquals(kept, outputNames(after.getGraph()));
    assertEquals(nodesFeeding(before.getGraph(), kept), after.getGraph().getNodeList(),
        "every node that feeds the outputs, as it came (op type, domain, inputs, outputs, attributes)");
    assertEquals(opsets(before), opsets(after));
    if (mode.equals("dynamic")) {
      TensorShapeProto s = after.getGraph().getInput(0).getType().getTensorType().getShape();
      assertEquals("height", s.getDim(2).getDimParam());
      assertEquals("width", s.getDim(3).getDimParam());
    }

    FloatTensor x = random(before.getGraph().getInput(0));
    Map<String, FloatTensor> ref = run(src, x);
    Map<String, FloatTensor> got = run(out, x);
    for (String o : kept) {
      assertArrayEquals(ref.get(o).shape(), got.get(o).shape(), o);
      assertArrayEquals(ref.get(o).data(), got.get(o).data(), 0f, o + ": bit-identical under ORT");
    }
    if (mode.equals("dynamic")) {
      long[] bigger = x.shape().clone();
      bigger[2] += 4;
      bigger[3] += 6;
      Map<String, FloatTensor> grown = run(out, new FloatTensor(TestOnnx.random(3, (int) FloatTensor.numel(bigger)), bigger));
      assertFalse(grown.isEmpty());
    }
  }

  /** --fully-conv rewrites Flatten + Gemm and leaves the QDQ, contrib and other nodes as they came. */
  @org.junit.jupiter.api.Test
  void fullyConvRewritesOnlyTheClassifier() throws Exception {
    Path src = models.resolve("classifier.onnx");
    Path out = tmp.resolve("classifier-fc.onnx");
    CliRun r = CliRun.fcn("convert", src.toString(), "--fully-conv", "-o", out.toString());
    assertEquals(ExitCode.OK, r.code(), r.all());
    GraphProto before = ModelProto.parseFrom(Files.readAllBytes(src)).getGraph();
    GraphProto after = ModelProto.parseFrom(Files.readAllBytes(out)).getGraph();
    List<NodeProto> untouched = before.getNodeList().stream()
        .filter(n -> !n.getName().equals("flatten") && !n.getName().equals("fc")).toList();
    assertEquals(untouched, after.getNodeList().subList(0, untouched.size()));
    assertTrue(after.getNodeList().stream().noneMatch(n -> n.getOpType().equals("Gemm")));

    FloatTensor x = random(before.getInput(0));
    float[] ref = run(src, x).get("logits").data();
    FloatTensor got = run(out, x).get("logits");
    assertArrayEquals(new long[] {1, 5, 1, 1}, got.shape());
    // Gemm and a 7x7-style Conv sum in different orders: the project's rule, not bits.
    fcn.testing.Tolerance.assertClose("logits", ref, got.data(), 1e-4);
  }

  /** A real PyTorch export of F.interpolate(x, size=skip.shape[2:]) keeps its Resize form. */
  @ParameterizedTest
  @ValueSource(ints = {11, 13})
  void torchInterpolateExport(int opset) throws Exception {
    Assumptions.assumeTrue(Python.has("import torch, onnx"),
        "python3 with torch and onnx (Debian python3-torch, python3-onnx) not found: skipping");
    Path src = models.resolve("unet" + opset + ".onnx");
    if (!Files.exists(src)) {
      Process p = new ProcessBuilder(PYTHON, "tools/make-interpolate-export.py", src.toString(),
          Integer.toString(opset)).redirectErrorStream(true).start();
      String log = new String(p.getInputStream().readAllBytes());
      assertTrue(p.waitFor(300, TimeUnit.SECONDS) && p.exitValue() == 0, log);
    }
    ModelProto before = ModelProto.parseFrom(Files.readAllBytes(src));
    GraphProto g = before.getGraph();
    Map<String, NodeProto> producer = producers(g);
    List<NodeProto> resizes = g.getNodeList().stream().filter(n -> n.getOpType().equals("Resize")).toList();
    assertEquals(2, resizes.size());
    for (NodeProto resize : resizes) {
      // The form a user's export has: no roi and no scales (empty names at 13, empty constants
      // at 11), sizes from Concat(Slice(Shape(x)), [H, W]).
      for (int i = 1; i <= 2; i++) {
        String in = resize.getInput(i);
        if (opset >= 13) {
          assertEquals("", in, "Resize input " + i);
        } else {
          NodeProto c = producer.get(in);
          assertNotNull(c, in);
          assertEquals("Constant", c.getOpType());
          assertEquals(0, c.getAttribute(0).getT().getDims(0), "empty " + in);
        }
      }
      NodeProto concat = producer.get(resize.getInput(3));
      assertEquals("Concat", concat.getOpType());
      NodeProto slice = producer.get(concat.getInput(0));
      assertEquals("Slice", slice.getOpType());
      assertEquals("Shape", producer.get(slice.getInput(0)).getOpType());
    }
    assertEquals(opset, opsets(before).get(""));

    FloatTensor x = random(g.getInput(0));
    Map<String, FloatTensor> ref = run(src, x);
    for (boolean dynamic : new boolean[] {false, true}) {
      Path out = tmp.resolve("unet" + opset + (dynamic ? "-dyn" : "") + ".onnx");
      CliRun r = dynamic ? CliRun.fcn("convert", src.toString(), "--dynamic", "-o", out.toString())
          : CliRun.fcn("convert", src.toString(), "-o", out.toString());
      assertEquals(ExitCode.OK, r.code(), r.all());
      ModelProto after = ModelProto.parseFrom(Files.readAllBytes(out));
      assertEquals(opsets(before), opsets(after), "written at the source's opset");
      if (!dynamic) {
        assertEquals(g.getNodeList(), after.getGraph().getNodeList());
      } else {
        assertTrue(after.getGraph().getNodeList().containsAll(resizes), "the Resize nodes as they came");
      }
      Map<String, FloatTensor> got = run(out, x);
      assertArrayEquals(ref.get("mask").data(), got.get("mask").data(), 0f, "bit-identical under ORT");
      if (dynamic) {
        long[] bigger = {1, 3, 26, 34};
        FloatTensor y = run(out, new FloatTensor(TestOnnx.random(5, 26 * 34 * 3), bigger)).get("mask");
        // enc1 has stride 2: the mask is half the input, as at the export size (20x28 -> 10x14).
        assertArrayEquals(new long[] {1, 4, 13, 17}, y.shape(), "the upsampling follows the input size");
      }
    }
  }

  // ---- helpers -------------------------------------------------------------------------------

  static List<String> outputNames(GraphProto g) {
    List<String> out = new ArrayList<>();
    for (ValueInfoProto v : g.getOutputList()) {
      out.add(v.getName());
    }
    return out;
  }

  static Map<String, Long> opsets(ModelProto m) {
    Map<String, Long> out = new HashMap<>();
    for (OperatorSetIdProto o : m.getOpsetImportList()) {
      out.put(o.getDomain(), o.getVersion());
    }
    return out;
  }

  static Map<String, NodeProto> producers(GraphProto g) {
    Map<String, NodeProto> p = new HashMap<>();
    for (NodeProto n : g.getNodeList()) {
      for (String o : n.getOutputList()) {
        p.put(o, n);
      }
    }
    return p;
  }

  /** The source's nodes that the outputs depend on, in the source's order. */
  static List<NodeProto> nodesFeeding(GraphProto g, List<String> outputs) {
    Map<String, NodeProto> producer = producers(g);
    Set<NodeProto> live = new HashSet<>();
    Deque<String> work = new ArrayDeque<>(outputs);
    while (!work.isEmpty()) {
      NodeProto n = producer.get(work.pop());
      if (n != null && live.add(n)) {
        n.getInputList().stream().filter(s -> !s.isEmpty()).forEach(work::push);
      }
    }
    List<NodeProto> out = new ArrayList<>();
    for (NodeProto n : g.getNodeList()) {
      if (live.contains(n)) {
        out.add(n);
      }
    }
    return out;
  }

  static FloatTensor random(ValueInfoProto in) {
    List<TensorShapeProto.Dimension> dims = in.getType().getTensorType().getShape().getDimList();
    long[] shape = dims.stream().mapToLong(TensorShapeProto.Dimension::getDimValue).toArray();
    return new FloatTensor(TestOnnx.random(1, (int) FloatTensor.numel(shape)), shape);
  }

  /** One run at optimisation level none, one thread, so that both models run the same kernels. */
  static Map<String, FloatTensor> run(Path model, FloatTensor x) {
    try (Session s = Session.open(model, Device.CPU, 1, OptLevel.NONE)) {
      Map<String, FloatTensor> feeds = new LinkedHashMap<>();
      feeds.put(s.inputs().get(0).name(), x);
      return s.run(feeds);
    }
  }
}
