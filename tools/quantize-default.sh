#!/usr/bin/env bash
# Makes the int8 and fp16 versions of the embedded default (fixtures/default/model.onnx):
#   OUT/default-int8.onnx   fcn quantize, calibrated on 100 images of the default's training seed
#                           (SyntheticShapes seed 2; its val split is seed 1)
#   OUT/default-fp16.onnx   fcn quantize --fp16
# `fcn bench` keys their report rows "default" (the stem less the suffix naming the detected
# precision), so `fcn gate` holds them to the fp32 "default" row of reports/baseline.csv.
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
mkdir -p "$out"
./fcn quantize fixtures/default/model.onnx --calibrate "$calib" --split train --images 100 \
  -o "$out/default-int8.onnx"
./fcn quantize --fp16 fixtures/default/model.onnx -o "$out/default-fp16.onnx"
