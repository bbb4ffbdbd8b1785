package fcn.passes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import fcn.core.FcnException;
import fcn.export.OnnxExporter;
import fcn.ir.Attrs;
import fcn.ir.DataType;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** FullyConvPass on hand-built graphs, with ONNX Runtime as the judge of equivalence. */
class FullyConvPassTest {

  private static Tensor random(long seed, long... dims) {
    SplittableRandom r = new SplittableRandom(seed);
    long n = 1;
    for (long d : dims) {
      n *= d;
    }
    float[] v = new float[(int) n];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return Tensor.ofFloats(dims, v);
  }

  /** x[1x4x3x2] -> Flatten -> Gemm(fc1) -> Relu -> Gemm(fc2) -> Softmax(-1) -> prob. */
  private static Graph classifier(boolean transB1, float alpha, float beta) {
    Graph g = new Graph("mlp");
    Variable x = g.addInput("x", DataType.FLOAT, Shape.of(1, 4, 3, 2));
    Variable flat = g.add(Op.FLATTEN, "flatten", List.of(x), "flat", Attrs.of("axis", 1L));
    flat.setShape(Shape.of(1, 24));
    Tensor w1 = transB1 ? random(1, 5, 24) : random(1, 24, 5);
    Variable fc1 = g.add(Op.GEMM, "fc1", List.of(flat, g.addConstant("fc1.weight", w1),
        g.addConstant("fc1.bias", random(2, 5))), "fc1",
        Attrs.of("transB", transB1 ? 1L : 0L, "alpha", alpha, "beta", beta));
    fc1.setShape(Shape.of(1, 5));
    Variable relu = g.add(Op.RELU, "relu", List.of(fc1), "relu", null);
    relu.setShape(Shape.of(1, 5));
    Variable fc2 = g.add(Op.GEMM, "fc2", List.of(relu, g.addConstant("fc2.weight", random(3, 5, 3)),
        g.addConstant("fc2.bias", random(4, 1, 3))), "fc2", Attrs.of());
    fc2.setShape(Shape.of(1, 3));
    Variable prob = g.add(Op.SOFTMAX, "prob", List.of(fc2), "prob", Attrs.of("axis", -1L));
    prob.setShape(Shape.of(1, 3));
    g.setOutputs(List.of(prob));
    return g;
  }

  private static float[] run(Graph g, float[] x) throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession s = env.createSession(OnnxExporter.toProto(g, 17).toByteArray());
         OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {1, 4, 3, 2});
         OrtSession.Result r = s.run(Map.of("x", t))) {
      FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
      float[] out = new float[fb.remaining()];
      fb.get(out);
      return out;
    }
  }

  @Test
  void denseLayersBecomeConvolutionsComputingTheSame() throws Exception {
    float[] x = random(9, 1, 4, 3, 2).floats();
    for (boolean transB : new boolean[] {true, false}) {
      Graph g = classifier(transB, transB ? 1f : 0.5f, transB ? 1f : 2f);
      float[] before = run(g, x);
      FullyConvPass.apply(g);
      assertEquals(List.of("prob"), g.outputs().stream().map(Value::name).toList());
      assertArrayEquals(new long[] {1, 3, 1, 1}, g.value("prob").shape().toArray());
      Node fc1 = g.value("fc1").producer();
      assertEquals(Op.CONV, fc1.op());
      assertEquals("fc1", fc1.name());
      assertArrayEquals(new long[] {3, 2}, fc1.attrs().getInts("kernel_shape"));
      assertArrayEquals(new long[] {5, 4, 3, 2}, fc1.input(1).shape().toArray());
      assertEquals("fc1.weight", fc1.input(1).name());
      assertArrayEquals(new long[] {1, 1}, g.value("fc2").producer().attrs().getInts("kernel_shape"));
      assertEquals(1L, g.value("prob").producer().attrs().getInt("axis", 0));
      assertTrue(g.nodes().stream().noneMatch(n -> n.op() == Op.GEMM || n.op() == Op.FLATTEN));
      float[] after = run(g, x);
      assertArrayEquals(before, after, 1e-5f);
    }
  }

  @Test
  void aGemmWithoutASpatialInputIsNamedInTheError() {
    Graph g = new Graph("plain");
    Variable x = g.addInput("x", DataType.FLOAT, Shape.of(1, 8));
    Variable y = g.add(Op.GEMM, "fc", List.of(x, g.addConstant("w", random(1, 2, 8))), "y",
        Attrs.of("transB", 1L));
    y.setShape(Shape.of(1, 2));
    g.setOutputs(List.of(y));
    FcnException e = assertThrows(FcnException.class, () -> FullyConvPass.apply(g));
    assertTrue(e.getMessage().startsWith("Gemm 'fc': cannot make it a convolution: expected"
        + " Flatten(axis=1) of an N x C x H x W map"), e.getMessage());
    assertTrue(e.getMessage().contains("got input 'x' of shape 1x8"), e.getMessage());
  }

  @Test
  void anOpThatCannotCarryTheMapIsNamed() {
    Graph g = classifier(true, 1f, 1f);
    Node softmax = g.value("prob").producer();
    softmax.attrs().set("axis", 0L);
    FcnException e = assertThrows(FcnException.class, () -> FullyConvPass.apply(g));
    assertTrue(e.getMessage().startsWith("Softmax 'prob' reads 'fc2'"), e.getMessage());
  }

  @Test
  void graphsWithoutDenseLayersAreLeftAlone() {
    Graph g = new Graph("conv");
    Variable x = g.addInput("x", DataType.FLOAT, Shape.of(1, 1, 4, 4));
    Variable y = g.add(Op.RELU, "r", List.of(x), "y", null);
    y.setShape(Shape.of(1, 1, 4, 4));
    g.setOutputs(List.of(y));
    FullyConvPass.apply(g);
    assertEquals(1, g.nodes().size());
    assertEquals(Op.RELU, g.nodes().get(0).op());
  }
}
