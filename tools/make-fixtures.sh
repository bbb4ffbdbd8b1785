#!/usr/bin/env bash
# Regenerates fixtures/caffe (small Caffe models + Caffe-made test data); see fixtures/README.md.
#   tools/make-fixtures.sh [--out fixtures/caffe] [--seed 1337] [--divisor 32] [--min-width 4] [--classes 21]
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/caffe-java.sh" tools/MakeFixtures.java "$@"
