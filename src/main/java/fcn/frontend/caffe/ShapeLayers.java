package fcn.frontend.caffe;

import fcn.ir.Attrs;
import fcn.ir.Constant;
import fcn.ir.DataType;
import fcn.ir.Op;
import fcn.ir.Shape;
import fcn.ir.Value;
import fcn.ir.Variable;
import fcn.proto.CaffeProto.LayerParameter;
import fcn.proto.CaffeProto.ReshapeParameter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Layers that move or select elements without arithmetic: Split, Crop, Concat, Slice,
 * Flatten, Reshape and ArgMax. Registrations and converters. Stateless.
 */
final class ShapeLayers {
  private ShapeLayers() {}

  static final List<LayerConverter> ALL = List.of(
      LayerConverter.alias("Split"),
      LayerConverter.of(ShapeLayers::crop, "Crop"),
      LayerConverter.of(ShapeLayers::concat, "Concat"),
      LayerConverter.multi(ShapeLayers::slice, "Slice"),
      LayerConverter.of(ShapeLayers::flatten, "Flatten"),
      LayerConverter.of(ShapeLayers::reshape, "Reshape"),
      LayerConverter.of(ShapeLayers::argMax, "ArgMax").refusing(l ->
          l.getArgmaxParam().getOutMaxVal() || l.getArgmaxParam().getTopK() != 1
              ? "ArgMax with out_max_val or top_k > 1" : null));

  /**
   * Crop bottom 0 to bottom 1's size on the axes from {@code axis}: a Slice whose ends are
   * offset + Shape(reference), so the crop follows the reference at any input size.
   */
  private static Variable crop(LayerContext cx) {
    LayerParameter layer = cx.layer();
    String out = cx.out(0);
    cx.requireBottoms(2, 2);
    cx.requireTops(1);
    Value x = cx.bottom(0);
    Value ref = cx.bottom(1);
    long[] in = cx.shape(x);
    long[] rs = cx.shape(ref);
    if (in.length != rs.length) {
      throw cx.fail("bottoms have %d and %d axes, expected the same", in.length, rs.length);
    }
    var p = layer.getCropParam();
    int axis = cx.canonicalAxis(p.getAxis(), in.length);
    int n = in.length - axis;
    long[] offsets = new long[n];
    if (p.getOffsetCount() == 1) {
      Arrays.fill(offsets, Integer.toUnsignedLong(p.getOffset(0)));
    } else if (p.getOffsetCount() == n) {
      for (int i = 0; i < n; i++) {
        offsets[i] = Integer.toUnsignedLong(p.getOffset(i));
      }
    } else if (p.getOffsetCount() != 0) {
      throw cx.fail("%d offsets for %d cropped axes, expected 0, 1 or %d", p.getOffsetCount(), n,
          n);
    }
    long[] os = in.clone();
    long[] axes = new long[n];
    for (int i = 0; i < n; i++) {
      int d = axis + i;
      axes[i] = d;
      if (in[d] < offsets[i] + rs[d]) {
        throw cx.fail("cannot crop axis %d of %s at offset %d to the reference's %d",
            d, Shape.format(in), offsets[i], rs[d]);
      }
      os[d] = rs[d];
    }
    Variable refShape = cx.auxInt(Op.SHAPE, "ref_shape", List.of(ref),
        Attrs.of("start", (long) axis), new long[] {n});
    Constant starts = cx.ints("starts", offsets);
    Variable ends = cx.auxInt(Op.ADD, "ends", List.of(starts, refShape), null, new long[] {n});
    return cx.op(Op.SLICE, layer.getName(), List.of(x, starts, ends, cx.ints("axes", axes)), out,
        null,
        os);
  }

  private static Variable concat(LayerContext cx) {
    LayerParameter layer = cx.layer();
    String out = cx.out(0);
    cx.requireBottoms(1, Integer.MAX_VALUE);
    cx.requireTops(1);
    long[] s0 = cx.shape(cx.bottom(0));
    var p = layer.getConcatParam();
    int axis = cx.canonicalAxis(p.hasConcatDim() ? p.getConcatDim() : p.getAxis(), s0.length);
    long[] os = s0.clone();
    os[axis] = 0;
    List<Value> ins = new ArrayList<>();
    for (int i = 0; i < layer.getBottomCount(); i++) {
      long[] s = cx.shape(cx.bottom(i));
      for (int d = 0; d < s0.length; d++) {
        if (s.length != s0.length || (d != axis && s[d] != s0[d])) {
          throw cx.fail("bottom '%s' is %s, expected %s except on axis %d", layer.getBottom(i),
              Shape.format(s), Shape.format(s0), axis);
        }
      }
      os[axis] += s[axis];
      ins.add(cx.bottom(i));
    }
    return cx.op(Op.CONCAT, layer.getName(), ins, out, Attrs.of("axis", (long) axis), os);
  }

  private static Variable flatten(LayerContext cx) {
    LayerParameter layer = cx.layer();
    String out = cx.out(0);
    Value x = cx.soleBottom();
    long[] in = cx.shape(x);
    var p = layer.getFlattenParam();
    int axis = cx.canonicalAxis(p.getAxis(), in.length);
    int end = cx.canonicalAxis(p.getEndAxis(), in.length);
    if (end < axis) {
      throw cx.fail("end_axis %d is before axis %d", end, axis);
    }
    long flat = CaffeShapes.product(in, axis, end + 1);
    long[] os = new long[in.length - (end - axis)];
    System.arraycopy(in, 0, os, 0, axis);
    os[axis] = flat;
    System.arraycopy(in, end + 1, os, axis + 1, in.length - end - 1);
    if (axis == 1 && end == in.length - 1) {
      return cx.op(Op.FLATTEN, layer.getName(), List.of(x), out, Attrs.of("axis", 1L), os);
    }
    long[] spec = new long[axis + 1];
    spec[axis] = -1; // leading zeros copy the input's dims
    Value target = cx.ints("shape", spec);
    if (end < in.length - 1) {
      Variable tail = cx.auxInt(Op.SHAPE, "tail_shape", List.of(x),
          Attrs.of("start", (long) end + 1),
          new long[] {in.length - end - 1});
      target = cx.auxInt(Op.CONCAT, "target_shape", List.of(target, tail), Attrs.of("axis", 0L),
          new long[] {os.length});
    }
    return cx.op(Op.RESHAPE, layer.getName(), List.of(x, target), out, null, os);
  }

  /**
   * Caffe Reshape: dims [axis, axis + num_axes) are replaced by the spec, where 0 copies the
   * bottom's dim at the same position and -1 is inferred; ONNX Reshape's 0 means the same
   * once the spec is placed at the same position, so the prefix is all zeros and the suffix
   * is read with Shape.
   */
  private static Variable reshape(LayerContext cx) {
    LayerParameter layer = cx.layer();
    String out = cx.out(0);
    Value x = cx.soleBottom();
    long[] in = cx.shape(x);
    ReshapeParameter p = layer.getReshapeParam();
    int start = p.getAxis() >= 0 ? p.getAxis() : in.length + p.getAxis() + 1;
    if (start < 0 || start > in.length) {
      throw cx.fail("axis %d is out of range for a %d-axis bottom", p.getAxis(), in.length);
    }
    int end = p.getNumAxes() == -1 ? in.length : start + p.getNumAxes();
    if (p.getNumAxes() < -1 || end > in.length) {
      throw cx.fail("num_axes %d does not fit a %d-axis bottom from axis %d", p.getNumAxes(),
          in.length, start);
    }
    long[] spec = p.getShape().getDimList().stream().mapToLong(Long::longValue).toArray();
    long[] os = new long[start + spec.length + in.length - end];
    System.arraycopy(in, 0, os, 0, start);
    int infer = -1;
    long known = 1;
    for (int i = 0; i < spec.length; i++) {
      long d = spec[i];
      if (d == 0) {
        if (start + i >= in.length) {
          throw cx.fail("shape dim %d is 0 (copy) but the bottom has no axis %d", i, start + i);
        }
        d = in[start + i];
      } else if (d == -1) {
        if (infer >= 0) {
          throw cx.fail("shape has more than one -1");
        }
        infer = start + i;
        continue;
      } else if (d < -1 || d > LayerChecks.MAX) {
        throw cx.fail("shape dim %d is %d, expected -1 to %d", i, d, LayerChecks.MAX);
      }
      os[start + i] = d;
      known = CaffeShapes.saturatedProduct(known, d);
    }
    System.arraycopy(in, end, os, start + spec.length, in.length - end);
    long total = CaffeShapes.product(in, 0, in.length);
    for (int i = 0; i < os.length; i++) {
      if (i < start || i >= start + spec.length) {
        known = CaffeShapes.saturatedProduct(known, os[i]);
      }
    }
    if (infer >= 0) {
      if (known == 0 || total % known != 0) {
        throw cx.fail("cannot infer the -1 dim of %s from %s", Arrays.toString(spec),
            Shape.format(in));
      }
      os[infer] = total / known;
    } else if (known != total) {
      throw cx.fail("shape %s has %d elements, the bottom %s has %d", Arrays.toString(spec), known,
          Shape.format(in), total);
    }
    long[] head = new long[start + spec.length];
    System.arraycopy(spec, 0, head, start, spec.length);
    Value target = cx.ints("shape", head);
    if (end < in.length) {
      Variable tail = cx.auxInt(Op.SHAPE, "tail_shape", List.of(x), Attrs.of("start", (long) end),
          new long[] {in.length - end});
      target = cx.auxInt(Op.CONCAT, "target_shape", List.of(target, tail), Attrs.of("axis", 0L),
          new long[] {os.length});
    }
    return cx.op(Op.RESHAPE, layer.getName(), List.of(x, target), out, null, os);
  }

  /** Caffe Slice: consecutive pieces along an axis, one Slice node per top. */
  private static List<Variable> slice(LayerContext cx) {
    LayerParameter layer = cx.layer();
    cx.requireBottoms(1, 1);
    Value x = cx.bottom(0);
    long[] in = cx.shape(x);
    var p = layer.getSliceParam();
    int axis = cx.canonicalAxis(p.hasSliceDim() && !p.hasAxis() ? p.getSliceDim() : p.getAxis(),
        in.length);
    int n = layer.getTopCount();
    long[] bounds = new long[n + 1];
    if (p.getSlicePointCount() > 0) {
      if (p.getSlicePointCount() != n - 1) {
        throw cx.fail("%d slice points for %d tops, expected %d", p.getSlicePointCount(), n, n - 1);
      }
      for (int i = 0; i < n - 1; i++) {
        bounds[i + 1] = Integer.toUnsignedLong(p.getSlicePoint(i));
      }
    } else {
      if (in[axis] % n != 0) {
        throw cx.fail("axis %d of size %d does not split evenly into %d tops", axis, in[axis], n);
      }
      for (int i = 1; i < n; i++) {
        bounds[i] = i * (in[axis] / n);
      }
    }
    bounds[n] = in[axis];
    List<Variable> res = new ArrayList<>();
    Constant axes = cx.ints("axes", axis);
    for (int i = 0; i < n; i++) {
      if (bounds[i + 1] <= bounds[i] || bounds[i + 1] > in[axis]) {
        throw cx.fail("slice points %s do not increase within the axis size %d",
            p.getSlicePointList(), in[axis]);
      }
      long[] os = in.clone();
      os[axis] = bounds[i + 1] - bounds[i];
      long end = i == n - 1 ? Long.MAX_VALUE : bounds[i + 1];
      res.add(cx.op(Op.SLICE, n == 1 ? layer.getName() : layer.getName() + "." + i,
          List.of(x, cx.ints("starts" + i, bounds[i]), cx.ints("ends" + i, end), axes), cx.out(i),
          null, os));
    }
    return res;
  }

  /**
   * ArgMax with top_k 1: the index along {@code axis}, or over each item's flattened dims
   * (shape N x 1 x 1) without one; Caffe returns indices as floats and breaks ties towards the
   * larger index (it sorts (value, index) pairs descending).
   */
  private static Variable argMax(LayerContext cx) {
    LayerParameter layer = cx.layer();
    String out = cx.out(0);
    Value x = cx.soleBottom();
    long[] in = cx.shape(x);
    var p = layer.getArgmaxParam();
    Attrs a = Attrs.of("keepdims", 1L, "select_last_index", 1L);
    Variable idx;
    long[] os;
    if (p.hasAxis()) {
      int axis = cx.canonicalAxis(p.getAxis(), in.length);
      os = in.clone();
      os[axis] = 1;
      idx = cx.auxInt(Op.ARG_MAX, "index", List.of(x), a.set("axis", (long) axis), os);
    } else {
      long rest = CaffeShapes.product(in, 1, in.length);
      Variable flat = cx.aux(Op.FLATTEN, "flatten", List.of(x), Attrs.of("axis", 1L),
          new long[] {in[0], rest});
      Variable am = cx.auxInt(Op.ARG_MAX, "index", List.of(flat), a.set("axis", 1L),
          new long[] {in[0], 1});
      os = new long[] {in[0], 1, 1};
      idx = cx.auxInt(Op.UNSQUEEZE, "unsqueeze", List.of(am, cx.ints("axes", 2)), null, os);
    }
    return cx.op(Op.CAST, layer.getName(), List.of(idx), out,
        Attrs.of("to", (long) DataType.FLOAT.onnxCode()), os);
  }
}
