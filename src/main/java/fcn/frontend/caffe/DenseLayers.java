package fcn.frontend.caffe;

import fcn.ir.Attrs;
import fcn.ir.Op;
import fcn.ir.Tensor;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.proto.CaffeProto.FillerParameter;
import fcn.proto.CaffeProto.LayerParameter;
import java.util.ArrayList;
import java.util.List;

/** InnerProduct (fully connected): its registration and converter. Stateless. */
final class DenseLayers {
  private DenseLayers() {}

  static final List<LayerConverter> ALL = List.of(
      LayerConverter.of(DenseLayers::innerProduct, "InnerProduct")
          .withBlobs(l -> l.getInnerProductParam().getBiasTerm() ? 2 : 1)
          .checking(LayerChecks::innerProduct));

  /** Flatten(axis) + Gemm, the form {@code fcn.passes.ClassifierHeadPass} recognises. */
  private static Variable innerProduct(LayerContext cx) {
    LayerParameter layer = cx.layer();
    String out = cx.out(0);
    Value x = cx.soleBottom();
    long[] in = cx.shape(x);
    var p = layer.getInnerProductParam();
    int axis = cx.canonicalAxis(p.getAxis(), in.length);
    long outer = CaffeShapes.product(in, 0, axis);
    long k = CaffeShapes.product(in, axis, in.length);
    long n = p.getNumOutput();
    if (n <= 0) {
      throw cx.fail("num_output must be > 0");
    }
    boolean transpose = p.getTranspose();
    long[] w = transpose ? new long[] {k, n} : new long[] {n, k};
    boolean bias = p.getBiasTerm();
    long[][] expected = bias ? new long[][] {w, {n}} : new long[][] {w};
    String[] names = bias ? new String[] {"weights", "bias"} : new String[] {"weights"};
    FillerParameter[] fillers = {
        Fillers.orDefault(p.hasWeightFiller(), p.getWeightFiller(), Fillers.WEIGHT_DEFAULT),
        Fillers.orDefault(p.hasBiasFiller(), p.getBiasFiller(), Fillers.BIAS_DEFAULT)};
    Tensor[] t = cx.params(names, expected, fillers);
    long[] os = new long[axis + 1];
    System.arraycopy(in, 0, os, 0, axis);
    os[axis] = n;
    Variable flat = cx.aux(Op.FLATTEN, "flatten", List.of(x), Attrs.of("axis", (long) axis),
        new long[] {outer, k});
    List<Value> ins = new ArrayList<>(List.of(flat, cx.constant("weight", t[0])));
    if (bias) {
      ins.add(cx.constant("bias", t[1]));
    }
    Attrs a = Attrs.of("transB", transpose ? 0L : 1L);
    if (axis == 1) {
      return cx.op(Op.GEMM, layer.getName(), ins, out, a, os);
    }
    Variable mm = cx.aux(Op.GEMM, "gemm", ins, a, new long[] {outer, n});
    Variable lead = cx.auxInt(Op.SHAPE, "lead_shape", List.of(x), Attrs.of("end", (long) axis),
        new long[] {axis});
    Variable target = cx.auxInt(Op.CONCAT, "shape", List.of(lead, cx.ints("n", n)),
        Attrs.of("axis", 0L), new long[] {axis + 1});
    return cx.op(Op.RESHAPE, layer.getName(), List.of(mm, target), out, null, os);
  }
}
