package fcn.ir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fcn.core.FcnException;
import java.util.List;
import org.junit.jupiter.api.Test;

class GraphTest {
  @Test
  void buildsLinksAndOrdersNodes() {
    Graph g = new Graph("t");
    Variable x = g.addInput("data", DataType.FLOAT, Shape.of(1, 3, 8, 8));
    Constant w = g.addConstant("w", Tensor.ofFloats(new long[] {2, 3, 1, 1}, new float[6]));
    Variable c = g.add(Op.CONV, "conv", List.of(x, w), "conv", Attrs.of("kernel_shape", new long[] {1, 1}));
    Variable r = g.add(Op.RELU, "relu", List.of(c), "relu", null);
    g.setOutputs(List.of(r));
    assertEquals(c.producer().name(), "conv");
    assertEquals(List.of(r.producer()), c.consumers());
    assertEquals(2, g.topologicalOrder().size());
    g.checkConnected();
  }

  @Test
  void rejectsBadArityAndAttributes() {
    Graph g = new Graph("t");
    Variable x = g.addInput("x", DataType.FLOAT, Shape.of(1));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> g.add(Op.CONV, "c", List.of(x), "y", null));
    assertTrue(e.getMessage().contains("got 1 inputs, expected 2 to 3"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> g.add(Op.RELU, "r", List.of(x), "y", Attrs.of("alpha", 0.1f)));
    assertTrue(e.getMessage().contains("unknown attribute 'alpha'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> g.add(Op.SOFTMAX, "s", List.of(x), "y", Attrs.of("axis", 1.5f)));
    assertTrue(e.getMessage().contains("is FLOAT, expected INT"), e.getMessage());
  }

  @Test
  void uniqueNamesAndRename() {
    Graph g = new Graph("t");
    Variable x = g.addInput("x", DataType.FLOAT, Shape.of(1));
    Variable a = g.add(Op.RELU, "relu", List.of(x), "x", null);
    assertEquals("x_1", a.name());
    assertEquals("relu_1", g.addNode(Op.RELU, "relu", List.of(a), List.of("y"), null).name());
    Variable y = (Variable) g.value("y");
    g.setOutputs(List.of(y));
    g.rename(a, "x_relu");
    assertEquals("x_relu", g.value("x_relu").name());
    assertEquals("x_relu", y.producer().input(0).name());
    assertNull(g.value("x_1"));
  }

  @Test
  void removeUnusedKeepsWhatOutputsNeed() {
    Graph g = new Graph("t");
    Variable x = g.addInput("x", DataType.FLOAT, Shape.of(1));
    Variable a = g.add(Op.RELU, "a", List.of(x), "a", null);
    g.add(Op.SIGMOID, "dead", List.of(x), "dead", null);
    g.setOutputs(List.of(a));
    g.removeUnused();
    assertEquals(1, g.nodes().size());
    assertNull(g.value("dead"));
  }

  @Test
  void reportsCycles() {
    Graph g = new Graph("t");
    Variable x = g.addInput("x", DataType.FLOAT, Shape.of(1));
    Variable b = g.addVariable("b");
    Node na = g.addNode(Op.ADD, "a", List.of(x, b), List.of("a"), null);
    g.addNodeProducing(Op.RELU, "bnode", List.of(na.output(0)), List.of(b), null);
    FcnException e = assertThrows(FcnException.class, g::topologicalOrder);
    assertTrue(e.getMessage().contains("cycle"), e.getMessage());
    assertTrue(e.getMessage().contains("'a'") && e.getMessage().contains("'bnode'"), e.getMessage());
  }
}
