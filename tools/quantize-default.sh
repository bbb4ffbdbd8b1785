#!/usr/bin/env bash
# Makes the int8 and fp16 versions of the embedded default (fixtures/default/model.onnx):
#   OUT/int8/default/model.onnx   fcn quantize, calibrated on 100 images of the default's
#                                 training seed (SyntheticShapes seed 2; its val split is seed 1)
#   OUT/fp16/default/model.onnx   fcn quantize --fp16
# Each file is named model.onnx in a folder named default, so that `fcn bench` keys its report row
# as the fp32 default's ("default") and `fcn gate` compares it with reports/baseline.csv.
# Usage: tools/quantize-default.sh [OUT]   (default OUT: target/default-reduced; about a minute)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-target/default-reduced}"
./fcn --version >/dev/null # builds target/fcn.jar and target/runtime.classpath when needed
calib=target/calib-default-seed2-100
if [[ ! -d "$calib/ImageSets" ]]; then
  rm -rf "$calib"
  java -cp "target/fcn.jar:$(cat target/runtime.classpath)" tools/MakeShapes.java "$calib" 2 100
fi
mkdir -p "$out/int8/default" "$out/fp16/default"
./fcn quantize fixtures/default/model.onnx --calibrate "$calib" --split train --images 100 \
  -o "$out/int8/default/model.onnx"
./fcn quantize --fp16 fixtures/default/model.onnx -o "$out/fp16/default/model.onnx"
