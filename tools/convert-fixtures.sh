#!/usr/bin/env bash
# Converts each Caffe fixture (fixtures/caffe/*/deploy.prototxt + weights.caffemodel) to
# fixtures/caffe/*/model.onnx with fcn itself. ConvertedFixturesTest checks that these files
# are exactly what the current converter writes and that they validate against Caffe's outputs.
#   tools/convert-fixtures.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for d in fixtures/caffe/*/; do
  ./fcn convert "$d/deploy.prototxt" "$d/weights.caffemodel" -o "$d/model.onnx"
done
