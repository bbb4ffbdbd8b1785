#!/usr/bin/env bash
# Converts each Caffe fixture (fixtures/caffe/*/ and fixtures/default/: deploy.prototxt +
# weights.caffemodel) to model.onnx beside it with fcn itself. ConvertedFixturesTest checks that these files
# are exactly what the current converter writes and that they validate against Caffe's outputs.
#   tools/convert-fixtures.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for d in fixtures/caffe/*/ fixtures/default/; do
  ./fcn convert "$d/deploy.prototxt" "$d/weights.caffemodel" -o "$d/model.onnx"
done
