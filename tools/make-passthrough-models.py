#!/usr/bin/env python3
"""Writes small ONNX models made of operators fcn carries through without understanding them.

Usage: make-passthrough-models.py OUT_DIR

Used by the pass-through tests (fcn.convert.OnnxPassThroughTest), which run it into a temp
folder. Each model has float inputs and outputs of fixed size, so that the test can run it in
ONNX Runtime before and after `fcn convert` (plainly, --dynamic and --outputs):
  qdq.onnx         QuantizeLinear/DequantizeLinear around a Conv (a QDQ-quantized conv net)
  convinteger.onnx DynamicQuantizeLinear + ConvInteger and + MatMulInteger (ORT's dynamic quantizer)
  qlinear.onnx     QLinearConv and QLinearMatMul
  fp16resize.onnx  Cast to float16 and back around Resize(X, '', '', sizes), sizes from
                   Shape/Slice/Concat; Where, Expand, ScatterND
  contrib.onnx     com.microsoft FusedConv and Gelu (ORT CPU contrib ops), opset import kept
  classifier.onnx  a QDQ conv and a contrib Gelu before Flatten + Gemm, for --fully-conv
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def save(graph, path, opsets):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets],
                              producer_name="make-passthrough-models")
    model.ir_version = 7 if opsets[0][1] <= 14 else 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def fin(name, *shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def qdq(out):
    w = rng.integers(-60, 60, size=(8, 3, 3, 3)).astype(np.int8)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zp"], ["xq"], name="x_q"),
        helper.make_node("DequantizeLinear", ["xq", "x_scale", "x_zp"], ["xd"], name="x_dq"),
        helper.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zp"], ["wd"], name="w_dq", axis=0),
        helper.make_node("Conv", ["xd", "wd", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("QuantizeLinear", ["r", "y_scale", "y_zp"], ["rq"], name="r_q"),
        helper.make_node("DequantizeLinear", ["rq", "y_scale", "y_zp"], ["y"], name="r_dq"),
        helper.make_node("MaxPool", ["y"], ["pooled"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
    ]
    inits = [init("x_scale", np.float32(0.02)), init("x_zp", np.uint8(128)),
             init("w_q", w), init("w_scale", (rng.random(8) * 0.01 + 0.005).astype(np.float32)),
             init("w_zp", np.zeros(8, np.int8)), init("b", rng.standard_normal(8).astype(np.float32)),
             init("y_scale", np.float32(0.05)), init("y_zp", np.uint8(0))]
    g = helper.make_graph(nodes, "qdq", [fin("x", 1, 3, 16, 16)],
                          [fin("y", 1, 8, 16, 16), fin("pooled", 1, 8, 8, 8)], inits)
    save(g, os.path.join(out, "qdq.onnx"), [("", 13)])


def convinteger(out):
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xzp"], name="input_QuantizeLinear"),
        helper.make_node("ConvInteger", ["xq", "w", "xzp"], ["ci"], name="conv_int", pads=[1, 1, 1, 1]),
        helper.make_node("Cast", ["ci"], ["cf"], name="cast_ci", to=TensorProto.FLOAT),
        helper.make_node("Mul", ["xs", "w_scale"], ["scale"], name="scale_mul"),
        helper.make_node("Mul", ["cf", "scale"], ["y"], name="rescale"),
        helper.make_node("Transpose", ["y"], ["yt"], name="to_nhwc", perm=[0, 2, 3, 1]),
        helper.make_node("DynamicQuantizeLinear", ["yt"], ["yq", "ys", "yzp"], name="yt_QuantizeLinear"),
        helper.make_node("MatMulInteger", ["yq", "m", "yzp"], ["mi"], name="matmul_int"),
        helper.make_node("Cast", ["mi"], ["mf"], name="cast_mi", to=TensorProto.FLOAT),
        helper.make_node("Mul", ["mf", "ys"], ["z"], name="rescale_z"),
    ]
    inits = [init("w", rng.integers(0, 255, size=(4, 3, 3, 3)).astype(np.uint8)),
             init("w_scale", np.float32(0.01)),
             init("m", rng.integers(0, 255, size=(4, 5)).astype(np.uint8))]
    g = helper.make_graph(nodes, "convinteger", [fin("x", 1, 3, 12, 12)],
                          [fin("y", 1, 4, 12, 12), fin("z", 1, 12, 12, 5)], inits)
    save(g, os.path.join(out, "convinteger.onnx"), [("", 13)])


def qlinear(out):
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xzp"], ["xq"], name="x_q"),
        helper.make_node("QLinearConv", ["xq", "xs", "xzp", "w", "ws", "wzp", "ys", "yzp", "b"], ["yq"],
                         name="qconv", pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("DequantizeLinear", ["yq", "ys", "yzp"], ["y"], name="y_dq"),
        helper.make_node("Transpose", ["yq"], ["yqt"], name="to_nhwc", perm=[0, 2, 3, 1]),
        helper.make_node("QLinearMatMul", ["yqt", "ys", "yzp", "m", "ms", "mzp", "zs", "zzp"], ["zq"],
                         name="qmatmul"),
        helper.make_node("DequantizeLinear", ["zq", "zs", "zzp"], ["z"], name="z_dq"),
    ]
    inits = [init("xs", np.float32(0.02)), init("xzp", np.uint8(128)),
             init("w", rng.integers(0, 255, size=(6, 3, 3, 3)).astype(np.uint8)),
             init("ws", np.float32(0.01)), init("wzp", np.uint8(120)),
             init("ys", np.float32(0.1)), init("yzp", np.uint8(100)),
             init("b", rng.integers(-100, 100, size=6).astype(np.int32)),
             init("m", rng.integers(0, 255, size=(6, 4)).astype(np.uint8)),
             init("ms", np.float32(0.01)), init("mzp", np.uint8(128)),
             init("zs", np.float32(0.2)), init("zzp", np.uint8(128))]
    g = helper.make_graph(nodes, "qlinear", [fin("x", 1, 3, 10, 10)],
                          [fin("y", 1, 6, 10, 10), fin("z", 1, 10, 10, 4)], inits)
    save(g, os.path.join(out, "qlinear.onnx"), [("", 13)])


def fp16resize(out):
    f16 = TensorProto.FLOAT16
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["skip"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("MaxPool", ["skip"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p", "w2", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Cast", ["c2"], ["c2h"], name="to_half", to=f16),
        helper.make_node("Shape", ["c2h"], ["s_low"], name="shape_low"),
        helper.make_node("Slice", ["s_low", "zero", "two", "zero"], ["nc"], name="slice_nc"),
        helper.make_node("Shape", ["skip"], ["s_skip"], name="shape_skip"),
        helper.make_node("Slice", ["s_skip", "two", "four", "zero"], ["hw"], name="slice_hw"),
        helper.make_node("Concat", ["nc", "hw"], ["sizes"], name="sizes", axis=0),
        helper.make_node("Resize", ["c2h", "", "", "sizes"], ["uph"], name="resize", mode="linear",
                         coordinate_transformation_mode="half_pixel"),
        helper.make_node("Cast", ["uph"], ["up"], name="to_float", to=TensorProto.FLOAT),
        helper.make_node("Add", ["up", "skip"], ["sum"], name="add_skip"),
        helper.make_node("Greater", ["sum", "zero_f"], ["pos"], name="positive"),
        helper.make_node("Where", ["pos", "sum", "small"], ["w"], name="where"),
        helper.make_node("Shape", ["w"], ["s_w"], name="shape_w"),
        helper.make_node("Expand", ["bias_c"], ["bias_full"], name="expand", ),
        helper.make_node("Add", ["w", "bias_full"], ["wb"], name="add_bias"),
        helper.make_node("ScatterND", ["wb", "idx", "upd"], ["y"], name="scatter"),
    ]
    nodes[15] = helper.make_node("Expand", ["bias_c", "s_w"], ["bias_full"], name="expand")
    inits = [init("w1", rng.standard_normal((4, 3, 3, 3)).astype(np.float32)),
             init("b1", rng.standard_normal(4).astype(np.float32)),
             init("w2", rng.standard_normal((4, 4, 3, 3)).astype(np.float32) * 0.3),
             init("b2", rng.standard_normal(4).astype(np.float32)),
             init("zero", np.array([0], np.int64)), init("two", np.array([2], np.int64)),
             init("four", np.array([4], np.int64)), init("zero_f", np.float32(0)),
             init("small", np.float32(-0.5)),
             init("bias_c", rng.standard_normal((1, 4, 1, 1)).astype(np.float32)),
             init("idx", np.array([[0, 1, 2, 3], [0, 2, 5, 5]], np.int64)),
             init("upd", np.array([100.0, -100.0], np.float32))]
    g = helper.make_graph(nodes, "fp16resize", [fin("x", 1, 3, 14, 18)],
                          [fin("y", 1, 4, 14, 18), fin("p", 1, 4, 7, 9)], inits)
    save(g, os.path.join(out, "fp16resize.onnx"), [("", 13)])


def contrib(out):
    nodes = [
        helper.make_node("FusedConv", ["x", "w", "b"], ["c"], name="fused_conv", domain="com.microsoft",
                         activation="Relu", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Gelu", ["c"], ["y"], name="gelu", domain="com.microsoft"),
        helper.make_node("Conv", ["y", "w2"], ["z"], name="conv_z"),
    ]
    inits = [init("w", rng.standard_normal((5, 3, 3, 3)).astype(np.float32)),
             init("b", rng.standard_normal(5).astype(np.float32)),
             init("w2", rng.standard_normal((2, 5, 1, 1)).astype(np.float32))]
    g = helper.make_graph(nodes, "contrib", [fin("x", 1, 3, 9, 11)],
                          [fin("y", 1, 5, 9, 11), fin("z", 1, 2, 9, 11)], inits)
    model_opsets = [("", 13), ("com.microsoft", 1)]
    model = helper.make_model(g, opset_imports=[helper.make_opsetid(d, v) for d, v in model_opsets],
                              producer_name="make-passthrough-models")
    model.ir_version = 7
    onnx.save(model, os.path.join(out, "contrib.onnx"))  # the checker does not know contrib ops


def classifier(out):
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zp"], ["xq"], name="x_q"),
        helper.make_node("DequantizeLinear", ["xq", "x_scale", "x_zp"], ["xd"], name="x_dq"),
        helper.make_node("Conv", ["xd", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Gelu", ["c"], ["g"], name="gelu", domain="com.microsoft"),
        helper.make_node("MaxPool", ["g"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["logits"], name="fc", transB=1),
    ]
    inits = [init("x_scale", np.float32(0.02)), init("x_zp", np.uint8(128)),
             init("w", rng.standard_normal((4, 3, 3, 3)).astype(np.float32)),
             init("b", rng.standard_normal(4).astype(np.float32)),
             init("fc_w", rng.standard_normal((5, 4 * 4 * 4)).astype(np.float32) * 0.1),
             init("fc_b", rng.standard_normal(5).astype(np.float32))]
    g = helper.make_graph(nodes, "classifier", [fin("x", 1, 3, 8, 8)], [fin("logits", 1, 5)], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)],
                              producer_name="make-passthrough-models")
    model.ir_version = 7
    onnx.save(model, os.path.join(out, "classifier.onnx"))


if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for make in (qdq, convinteger, qlinear, fp16resize, contrib, classifier):
        make(out)
