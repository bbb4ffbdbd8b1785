#!/usr/bin/env bash
# Makes fixtures/default, the embedded default model of `fcn bench`: trains a small FCN-8s and,
# for comparison, an FCN-32s (same recipe, data and seed) with real Caffe's solver
# (tools/TrainDefault.java), then writes fixtures/default/
#   deploy.prototxt, weights.caffemodel   the trained FCN-8s (NetBuilder topology, Caffe weights)
#   model.onnx                            ./fcn convert of those two
#   test_data_set_0/                      real Caffe's score for val image 0 (./fcn fixtures)
#   dataset/                              the synthetic val split the figures are measured on
#   TRAINING.md                           the recipe and both nets' val figures
# Usage: tools/make-default.sh        (about an hour on 2 cores; both nets train in parallel)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
work=target/train-default
out=fixtures/default
recipe=(--iters 4000 --stepsize 3000 --eval-every 500 --lr 1e-3 --batch 4 --dropout 0 --seed 1
  --divisor 8 --min-width 4 --size 128 --objects 2,6 --distractors 3 --train-count 3000 --val-count 200 --work "$work")

mkdir -p "$work"
if [[ "${SKIP_TRAINING:-0}" != 1 ]]; then
  for arch in fcn32s fcn8s; do
    tools/train-default.sh --arch "$arch" "${recipe[@]}" >"$work/$arch.log" 2>&1 &
  done
  wait
fi
for arch in fcn32s fcn8s; do
  grep -q '^RESULT' "$work/$arch.log" || { echo "training $arch failed: see $work/$arch.log" >&2; exit 1; }
done

rm -rf "$out.tmp"
mkdir -p "$out.tmp"
cp "$work/fcn8s/deploy.prototxt" "$work/fcn8s/weights.caffemodel" "$out.tmp/"
val=$(ls -d "$work"/data/seed1-128x128-t0-v200-*)
cp -r "$val" "$out.tmp/dataset"
./fcn convert "$out.tmp/deploy.prototxt" "$out.tmp/weights.caffemodel" -o "$out.tmp/model.onnx"
./fcn fixtures "$out.tmp/deploy.prototxt" "$out.tmp/weights.caffemodel" -o "$out.tmp/fixtures" \
  --image "$out.tmp/dataset/JPEGImages/shapes_000000.jpg" --preprocess caffe
mv "$out.tmp/fixtures/test_data_set_0" "$out.tmp/" && rmdir "$out.tmp/fixtures"
{
  echo "# fixtures/default: how it was trained"
  echo
  echo "Written by \`tools/make-default.sh\` on $(date -u +%Y-%m-%d). Recipe (tools/TrainDefault.java):"
  echo
  echo "    ${recipe[*]}"
  echo
  for arch in fcn32s fcn8s; do
    echo "## $arch"
    echo
    grep -E 'val mean IU|pixel acc|^RESULT' "$work/$arch.log" | sed 's/^/    /'
    echo
  done
} >"$out.tmp/TRAINING.md"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "wrote $out"
