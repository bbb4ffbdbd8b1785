#!/usr/bin/env bash
# Full-size voc-fcn8s, int8 against fp32 (issue 11): quantizes work-tmp/voc-fcn8s/voc-fcn8s.onnx
# (tools/bench-voc-fcn8s.sh converts it from a seeded random caffemodel) with calibration on
# ../shared/data/voc-sample at 500x500, then times, in one run, real Caffe's load and forward,
# the fp32 model and the int8 model at 1x3x500x500 on the CPU, appending the two ORT rows to
# reports/voc-fcn8s-int8-cpu.csv, and prints the side-by-side table and each model's kernel time by op. Random weights: the speed is the real net's, the accuracy is not.
# Run it under the shared lock: flock /work/heavy.lock tools/bench-quantize-voc-fcn8s.sh [RUNS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
runs="${1:-5}"
proto=../shared/caffe/fcn-berkeley/voc-fcn8s/deploy.prototxt
src=work-tmp/voc-fcn8s
voc=../shared/data/voc-sample
[ -f "$proto" ] && [ -d "$voc" ] || { echo "bench-quantize-voc-fcn8s: needs ../shared" >&2; exit 2; }
[ -f "$src/voc-fcn8s.onnx" ] || tools/bench-voc-fcn8s.sh 1
split=$(basename "$(ls "$voc"/ImageSets/Segmentation/*.txt | head -1)" .txt)
out=target/voc-fcn8s-int8
mkdir -p "$out"

echo "== real Caffe: load, CPU forward at 1x3x500x500 (the anchor)"
FCN_JAVA_OPTS="-Xmx8g" tools/caffe-java.sh tools/BenchVocFcn8s.java "$proto" "$src/random.caffemodel" "$runs"

echo "== fcn quantize (calibration: $voc, split $split, at 500x500)"
FCN_JAVA_OPTS="-Xmx10g" /usr/bin/time -f "quantize_wall_s=%e peak_rss_kb=%M" \
  ./fcn quantize "$src/voc-fcn8s.onnx" --calibrate "$voc" --split "$split" --resize 500x500 \
  -o "$out/voc-fcn8s-int8.onnx"

echo "== fcn bench, fp32 and int8 side by side on the same input, CPU, 1x3x500x500"
# The session cache is off so that both load times are ORT's own work on the file (a cached
# session opens in a fraction of a second: tools/bench-load.sh measures that).
FCN_JAVA_OPTS="-Xmx6g" ./fcn bench "$src/voc-fcn8s.onnx" "$out/voc-fcn8s-int8.onnx" --no-session-cache \
  --device cpu --input-shape 1,3,500,500 --warmup 1 --iterations "$runs" --report reports/voc-fcn8s-int8-cpu.csv
