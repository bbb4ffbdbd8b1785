#!/usr/bin/python3
"""Independent reference for fcn's metrics: FCN's score.py formulas in numpy, read with PIL.

Usage: score_reference.py [--num-classes N] [--ignore L] LABEL.png PRED.png [LABEL PRED ...]

Labels are palette ("P") or grayscale PNGs whose pixel value is the class. Predictions are the
same, or colour-coded RGB through the PASCAL VOC colour map (built here from VOCdevkit's
labelcolormap recipe, not shared with the Java code). Prints one JSON object: pixels,
overall_acc, mean_acc, mean_iu, fwavacc, and per-class iu/acc (null where NaN).

Exit 0 ok, 2 bad input, 3 numpy/PIL missing (install python3-numpy python3-pil).
Used by fcn's tests to check the Java implementation; not part of the tool.
"""
import argparse
import json
import math
import sys

try:
    import numpy as np
    from PIL import Image
except ImportError as e:  # the Java test skips on this exit code
    print("score_reference.py needs numpy and PIL: %s" % e, file=sys.stderr)
    sys.exit(3)


def voc_colormap(n=256):
    def bitget(v, i):
        return (v >> i) & 1

    cmap = np.zeros((n, 3), dtype=np.uint8)
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= bitget(c, 0) << (7 - j)
            g |= bitget(c, 1) << (7 - j)
            b |= bitget(c, 2) << (7 - j)
            c >>= 3
        cmap[i] = (r, g, b)
    return cmap


def read_classes(path, cmap):
    im = Image.open(path)
    if im.mode in ("P", "L", "I", "I;16"):
        return np.array(im).astype(np.int64)
    rgb = np.array(im.convert("RGB")).astype(np.int64)
    code = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    lut = {int((c[0] << 16) | (c[1] << 8) | c[2]): i for i, c in enumerate(cmap.astype(np.int64))}
    out = np.full(code.shape, -1, dtype=np.int64)
    for colour in np.unique(code):
        if int(colour) not in lut:
            print("%s: colour #%06x not in the VOC palette" % (path, colour), file=sys.stderr)
            sys.exit(2)
        out[code == colour] = lut[int(colour)]
    return out


def fast_hist(a, b, n):  # verbatim from score.py
    k = (a >= 0) & (a < n)
    return np.bincount(n * a[k].astype(int) + b[k], minlength=n ** 2).reshape(n, n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--num-classes", type=int, default=21)
    ap.add_argument("--ignore", type=int, default=255)
    ap.add_argument("pairs", nargs="+")
    args = ap.parse_args()
    if len(args.pairs) % 2:
        print("expected LABEL PRED pairs", file=sys.stderr)
        return 2
    n = args.num_classes
    cmap = voc_colormap()
    hist = np.zeros((n, n))
    for label_path, pred_path in zip(args.pairs[0::2], args.pairs[1::2]):
        gt = np.array(Image.open(label_path)).astype(np.int64)
        pred = read_classes(pred_path, cmap)
        if gt.shape != pred.shape:
            print("%s: shape %s != label %s" % (pred_path, pred.shape, gt.shape), file=sys.stderr)
            return 2
        gt = gt.copy()
        gt[gt == args.ignore] = -1
        hist += fast_hist(gt.flatten(), pred.flatten(), n)
    with np.errstate(divide="ignore", invalid="ignore"):
        # score.py's do_seg_tests, line by line
        acc = np.diag(hist).sum() / hist.sum()
        cls_acc = np.diag(hist) / hist.sum(1)
        iu = np.diag(hist) / (hist.sum(1) + hist.sum(0) - np.diag(hist))
        freq = hist.sum(1) / hist.sum()
        out = {
            "num_classes": n,
            "pixels": int(hist.sum()),
            "overall_acc": float(acc),
            "mean_acc": float(np.nanmean(cls_acc)),
            "mean_iu": float(np.nanmean(iu)),
            "fwavacc": float((freq[freq > 0] * iu[freq > 0]).sum()),
            "iu": [None if math.isnan(v) else float(v) for v in iu],
            "acc": [None if math.isnan(v) else float(v) for v in cls_acc],
        }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
