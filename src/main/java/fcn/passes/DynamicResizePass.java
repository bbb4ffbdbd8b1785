package fcn.passes;

import fcn.core.FcnException;
import fcn.ir.Attrs;
import fcn.ir.Constant;
import fcn.ir.Graph;
import fcn.ir.Node;
import fcn.ir.Op;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * First half of {@code --dynamic} for exported segmentation nets: PyTorch traces
 * {@code F.interpolate(x, size=input.shape[-2:])} at a fixed input size and bakes H and W into
 * the Resize {@code sizes} (torchvision's FCN/DeepLabV3 exports: {@code Concat(Shape(x)[0:2],
 * Constant[H, W])}). Each such baked size is replaced by {@code Shape(ref)[2:4]} of the tensor
 * that has that size at the export resolution: the graph input for the final upsampling, the
 * ASPP input for DeepLabV3's image pooling branch. Making the inputs' H/W symbolic is left to
 * {@code fcn.convert.DynamicShapes}, which must run after this pass.
 */
public final class DynamicResizePass {
  private DynamicResizePass() {}

  /**
   * Rewrites baked Resize sizes.
   *
   * @return the number of Resize nodes rewritten
   * @throws FcnException for a baked size that matches no tensor feeding the Resize
   */
  public static int apply(Graph g) {
    Map<String, long[]> shapes = ShapeInference.infer(g, Map.of());
    int rewritten = 0;
    for (Node n : new ArrayList<>(g.topologicalOrder())) {
      if (n.op() != Op.RESIZE || n.input(3) == null) {
        continue;
      }
      Value sizes = n.input(3);
      Node p = sizes.producer();
      long[] hw;
      if (p != null && p.op() == Op.CONCAT && p.inputs().size() == 2
          && constLongs(p.input(1)) != null && constLongs(p.input(1)).length == 2
          && constLongs(p.input(0)) == null) {
        hw = constLongs(p.input(1));
        Value ref = reference(g, n, hw, shapes);
        p.setInput(1, spatialShape(g, ref, n.name()));
      } else if (constLongs(sizes) != null && constLongs(sizes).length == 4) {
        long[] all = constLongs(sizes);
        hw = new long[] {all[2], all[3]};
        Value ref = reference(g, n, hw, shapes);
        Variable nc = g.add(Op.SLICE, n.name() + "_nc", List.of(
            g.add(Op.SHAPE, n.name() + "_in_shape", List.of(n.input(0)),
                g.uniqueValueName(n.name() + "_in_shape"), null),
            vec(g, n.name() + "_nc_start", 0), vec(g, n.name() + "_nc_end", 2),
            vec(g, n.name() + "_nc_axis", 0)), g.uniqueValueName(n.name() + "_nc"), null);
        Variable cat = g.add(Op.CONCAT, n.name() + "_sizes", List.of(nc, spatialShape(g, ref, n.name())),
            g.uniqueValueName(n.name() + "_sizes"), Attrs.of("axis", 0L));
        n.setInput(3, cat);
      } else {
        continue;
      }
      rewritten++;
    }
    g.removeUnused();
    if (rewritten > 0) {
      // Shapes recorded at the export size (ONNX value_info) no longer hold.
      for (fcn.ir.Value v : g.values()) {
        if (v instanceof Variable var && !g.inputs().contains(var)) {
          var.setShape(null);
        }
      }
    }
    return rewritten;
  }

  /** The graph input if its H/W match, else the nearest ancestor of the Resize that does. */
  private static Value reference(Graph g, Node resize, long[] hw, Map<String, long[]> shapes) {
    for (Variable in : g.inputs()) {
      if (matches(shapes.get(in.name()), hw)) {
        return in;
      }
    }
    Deque<Value> work = new ArrayDeque<>(List.of(resize.input(0)));
    Set<Value> seen = new HashSet<>();
    while (!work.isEmpty()) {
      Value v = work.poll();
      if (v == null || !seen.add(v) || v instanceof Constant) {
        continue;
      }
      if (matches(shapes.get(v.name()), hw)) {
        return v;
      }
      Node p = v.producer();
      if (p != null) {
        for (Value in : p.inputs()) {
          if (in != null) { // an empty name is an absent optional input
            work.add(in);
          }
        }
      }
    }
    throw FcnException.of("--dynamic: %s has its output size fixed at %dx%d and no tensor of that"
        + " size feeds it, so it cannot follow the input size", resize, hw[0], hw[1]);
  }

  private static boolean matches(long[] s, long[] hw) {
    return s != null && s.length == 4 && s[2] == hw[0] && s[3] == hw[1];
  }

  private static Value spatialShape(Graph g, Value ref, String base) {
    Variable shape = g.add(Op.SHAPE, base + "_ref_shape", List.of(ref),
        g.uniqueValueName(base + "_ref_shape"), null);
    return g.add(Op.SLICE, base + "_ref_hw", List.of(shape, vec(g, base + "_hw_start", 2),
        vec(g, base + "_hw_end", 4), vec(g, base + "_hw_axis", 0)), g.uniqueValueName(base + "_ref_hw"),
        null);
  }

  private static Constant vec(Graph g, String name, long... v) {
    return g.addConstant(g.uniqueValueName(name), Tensor.vector(v));
  }

  private static long[] constLongs(Value v) {
    Tensor t = ClassifierHeadPass.constantData(v);
    if (t == null) {
      return null;
    }
    try {
      return t.longs();
    } catch (IllegalStateException e) {
      return null;
    }
  }
}
