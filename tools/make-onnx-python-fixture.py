#!/usr/bin/env python3
"""Writes one TensorProto file with the onnx Python package, for fcn's reader tests.

fixtures/onnx-python/data.pb  - onnx.numpy_helper.from_array(a, name="data"), serialized
                                (the way ONNX test_data_set_N/input_K.pb files are made)
fixtures/onnx-python/data.npy - the same array saved by numpy, so the test compares the two
                                files without any number typed in by hand

The values come from numpy's seeded PCG64 generator, so re-running reproduces the files.
Usage (from the repository root, Debian's python3-onnx + python3-numpy):
    /usr/bin/python3 tools/make-onnx-python-fixture.py [OUT_DIR]
"""
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

SEED = 20240611
SHAPE = (1, 2, 3, 4)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join("fixtures", "onnx-python")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(SEED)
    a = rng.standard_normal(SHAPE).astype(np.float32)
    t = numpy_helper.from_array(a, name="data")
    assert t.data_type == onnx.TensorProto.FLOAT and t.HasField("raw_data")
    with open(os.path.join(out, "data.pb"), "wb") as f:
        f.write(t.SerializeToString())
    np.save(os.path.join(out, "data.npy"), a)
    print("wrote %s/data.pb and data.npy: float32 %s, onnx %s, numpy %s"
          % (out, "x".join(map(str, SHAPE)), onnx.__version__, np.__version__))


if __name__ == "__main__":
    main()
