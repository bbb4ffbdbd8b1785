#!/usr/bin/env bash
# Trains the embedded default model of `fcn bench` (fixtures/default); see fixtures/README.md.
set -euo pipefail
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
exec "$(dirname "${BASH_SOURCE[0]}")/caffe-java.sh" tools/TrainDefault.java "$@"
