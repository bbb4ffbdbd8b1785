#!/usr/bin/env bash
# Benchmark commands for `fcn bench` (speed targets live here, never in timed tests).
#   tools/bench.sh overhead [MODEL.onnx] [--input-shape 1,3,H,W] [--iterations N] [--threads N] [--max-overhead 0.03]
#       Java timing path vs ONNX Runtime's own profiler timing of the same runs (target: within 3%).
#   tools/bench.sh pipeline [MODEL.onnx] [--dataset LIST] [--ignore-label N] [--threads N] [--decode-threads N] [--max-ratio 1.10]
#       fcn bench --dataset on CamVid (../shared/data/camvid): end-to-end wall vs pure inference (target: <= 1.10x).
#   tools/bench.sh pinned [MODEL.onnx] [--input-shape 1,3,H,W] [--runs N] [--blocks B] [--threads N]
#       pinned output buffers (fcn bench's timed loop) vs new outputs every run; default: the embedded default.
# Without MODEL overhead and pipeline use a synthetic FCN-shaped net with random weights. Exit 1 when the target is missed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
case "${1:-}" in
  overhead) main=fcn.bench.OrtOverheadBenchmark ;;
  pipeline) main=fcn.bench.PipelineBenchmark ;;
  pinned) main=fcn.runtime.PinnedOutputsBenchmark ;;
  *) echo "usage: tools/bench.sh overhead|pipeline|pinned [args...]" >&2; exit 2 ;;
esac
shift
mvn -q -B test-compile dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/test.classpath >&2
exec "${JAVA:-java}" ${FCN_JAVA_OPTS:-} -cp "target/test-classes:target/classes:$(cat target/test.classpath)" "$main" "$@"
