#!/usr/bin/env bash
# Regenerates the PyTorch reference fixtures (see tools/make-torch-fixtures.py for what and why).
# Uses Debian's PyTorch 1.13 / torchvision 0.14 with the system interpreter; no network beyond apt.
#   tools/make-torch-fixtures.sh           small fixtures (committed) + 520x520/360x480 sets in work-tmp/
#   tools/make-torch-fixtures.sh --full    also full-width fcn_resnet50 / deeplabv3_resnet50 in work-tmp/
#   tools/make-torch-fixtures.sh --full --only-work-tmp   only work-tmp/, committed files untouched (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
if ! "$PY" -c 'import torch, torchvision, onnx, numpy' 2>/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "needs python3-torch python3-torchvision python3-onnx python3-numpy (run as root to install)" >&2
    exit 2
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-torchvision python3-onnx python3-numpy >/dev/null
fi
exec "$PY" tools/make-torch-fixtures.py "$@"
