package fcn.convert;

import fcn.core.FcnException;
import fcn.ir.Dim;
import fcn.ir.Graph;
import fcn.ir.Shape;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.passes.ShapeInference;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides whether a graph is fully convolutional and, if so, makes its inputs' H and W
 * symbolic, so one ONNX file serves any image size as FCN promises. The test is empirical:
 * shapes are inferred at the declared size and at a second, odd size; a net with a dense
 * layer or a fixed reshape fails the second inference and stays static. Output dims that
 * follow an input dim in both probes get that dim's symbol; other varying dims get their own.
 */
public final class DynamicShapes {
  private static final long PROBE_DH = 37;
  private static final long PROBE_DW = 53;

  private DynamicShapes() {}

  /**
   * Records static shapes at the declared input sizes on every value it can infer; values
   * after an operator without a shape rule keep the shape the source declared (if any).
   */
  public static void inferStatic(Graph g) {
    ShapeInference.apply(g);
  }

  /**
   * Null when every output's shape can be inferred at the declared input sizes, else what
   * stops it ("output 'y': QLinearFoo 'n' (fcn has no shape rule for QLinearFoo)"), for a
   * pass that needs output shapes to say what it needed.
   */
  public static String unknownOutputShape(Graph g) {
    Map<String, long[]> base = ShapeInference.infer(g, Map.of());
    for (Value out : g.outputs()) {
      if (!base.containsKey(out.name())) {
        return "output '" + out.name() + "': " + ShapeInference.whyUnknown(g, base, out);
      }
    }
    return null;
  }

  /** True when the graph also infers at a second spatial size. */
  public static boolean isFullyConvolutional(Graph g) {
    Map<String, long[]> probe = probeSizes(g);
    if (probe == null) {
      return false;
    }
    try {
      Map<String, long[]> s = ShapeInference.infer(g, probe);
      return g.outputs().stream().allMatch(o -> s.containsKey(o.name()));
    } catch (FcnException e) {
      return false;
    }
  }

  /**
   * Makes dims 2.. of every 4-D input symbolic and names the output dims that vary. Inputs
   * must have static shapes on entry (the prototxt's or --input-shape's).
   */
  public static void makeSpatialSymbolic(Graph g) {
    Map<String, long[]> base = ShapeInference.infer(g, Map.of());
    Map<String, long[]> probe = ShapeInference.infer(g, probeSizes(g));
    Map<String, long[]> probe2 = ShapeInference.infer(g, probeSizes2(g));
    boolean single = g.inputs().size() == 1;
    Map<String, String> symbolOf = new HashMap<>();
    for (Variable in : g.inputs()) {
      if (in.shape().rank() != 4) {
        continue;
      }
      String prefix = single ? "" : in.name() + "_";
      List<Dim> dims = new ArrayList<>(in.shape().dims());
      dims.set(2, Dim.symbol(prefix + "height"));
      dims.set(3, Dim.symbol(prefix + "width"));
      symbolOf.put(in.name() + "/2", prefix + "height");
      symbolOf.put(in.name() + "/3", prefix + "width");
      in.setShape(new Shape(dims));
    }
    for (Value out : g.outputs()) {
      long[] b = base.get(out.name());
      long[] p = probe.get(out.name());
      long[] q = probe2.get(out.name());
      List<Dim> dims = new ArrayList<>();
      for (int i = 0; i < b.length; i++) {
        if (b[i] == p[i] && b[i] == q[i]) {
          dims.add(Dim.of(b[i]));
          continue;
        }
        String sym = null;
        for (Variable in : g.inputs()) {
          for (int d = 2; d < 4 && in.shape().rank() == 4; d++) {
            if (b[i] == base.get(in.name())[d] && p[i] == probe.get(in.name())[d]
                && q[i] == probe2.get(in.name())[d] && sym == null) {
              sym = symbolOf.get(in.name() + "/" + d);
            }
          }
        }
        dims.add(Dim.symbol(sym != null ? sym : out.name() + "_dim" + i));
      }
      if (out instanceof Variable v) {
        v.setShape(new Shape(dims));
      }
    }
  }

  private static Map<String, long[]> probeSizes(Graph g) {
    return probe(g, PROBE_DH, PROBE_DW);
  }

  private static Map<String, long[]> probeSizes2(Graph g) {
    return probe(g, 2 * PROBE_DH + 1, 3 * PROBE_DW);
  }

  private static Map<String, long[]> probe(Graph g, long dh, long dw) {
    Map<String, long[]> sizes = new HashMap<>();
    for (Variable in : g.inputs()) {
      if (in.shape() == null || !in.shape().isStatic()) {
        return null;
      }
      long[] s = in.shape().toArray();
      if (s.length == 4) {
        s[2] += dh;
        s[3] += dw;
      }
      sizes.put(in.name(), s);
    }
    return sizes.isEmpty() ? null : sizes;
  }
}
