#!/usr/bin/env bash
# Full-size voc-fcn8s benchmark (issue targets: convert within -Xmx3g no slower than Caffe's own
# load; ORT CPU forward at 1x3x500x500 vs Caffe's). Needs ../shared (the published deploy.prototxt).
# Writes work-tmp/voc-fcn8s/ (gitignored: ~1 GB) and appends a row to reports/voc-fcn8s-cpu.csv.
#   tools/bench-voc-fcn8s.sh [RUNS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
runs="${1:-3}"
proto=../shared/caffe/fcn-berkeley/voc-fcn8s/deploy.prototxt
[ -f "$proto" ] || { echo "bench-voc-fcn8s: $proto not found (needs ../shared)" >&2; exit 2; }
out=work-tmp/voc-fcn8s
mkdir -p "$out"
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null 2>&1 || true; }

echo "== real Caffe: make weights (once), load, CPU forward at 1x3x500x500"
FCN_JAVA_OPTS="-Xmx8g" tools/caffe-java.sh tools/BenchVocFcn8s.java "$proto" "$out/random.caffemodel" "$runs"

echo "== fcn convert within -Xmx3g"
FCN_JAVA_OPTS="-Xmx3g" /usr/bin/time -f "convert_wall_s=%e peak_rss_kb=%M" \
  ./fcn convert "$proto" "$out/random.caffemodel" -o "$out/voc-fcn8s.onnx"

echo "== fcn bench, CPU, 1x3x500x500"
./fcn bench "$out/voc-fcn8s.onnx" --device cpu --input-shape 1,3,500,500 --warmup 1 \
  --iterations "$runs" --report reports/voc-fcn8s-cpu.csv
