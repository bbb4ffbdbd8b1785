#!/usr/bin/python3
"""Independent numpy reference for SegNet-style Caffe nets (caffe-segnet semantics).

Usage: segnet_reference.py DIR
DIR/spec.json lists the layers in execution order, each
  {"type": ..., "name": ..., "bottom": [...], "top": [...], ...parameters}
and names the .npy files (in DIR) that hold the inputs ("inputs": {"blob": "file.npy"}) and
the learned blobs ("blobs": ["w.npy", ...] per layer). Every top named in "outputs" is written
to DIR/<top>.npy (float32). Exit code 3: numpy is missing.

Semantics, written from the layers' sources, not from any converter:
- Pooling (BVLC PoolingLayer): output size ceil((H + 2p - k) / s) + 1, minus one when the last
  window starts at or past H + p. MAX scans each window clipped to the bottom in raster order
  with a strict >, so the first maximum wins; the mask top is h * W + w inside the (n, c)
  plane. AVE sums the clipped window and divides by the window clipped to H + p only.
- Upsample (caffe-segnet UpsampleLayer): output upsample_h x upsample_w when both are given,
  else H * scale_h - pad_out_h by W * scale_w - pad_out_w; zeros, then for each plane and each
  bottom position i in raster order top.flat[mask[i]] = bottom[i] (a later write wins); an
  index >= H_out * W_out is an error (exit 4).
- BN (caffe-segnet BNLayer, bn_mode INFERENCE): y = scale * x + shift per channel.
- Convolution, ReLU, LRN (ACROSS_CHANNELS), Softmax (axis 1), Dropout (identity at test).
"""
import json
import os
import sys

try:
    import numpy as np
except ImportError:
    sys.exit(3)


def pool_size(h, k, s, p):
    o = -(-(h + 2 * p - k) // s) + 1
    if p > 0 and (o - 1) * s >= h + p:
        o -= 1
    return o


def pooling(x, L):
    k, s, p = L["kernel"], L["stride"], L["pad"]
    n, c, h, w = x.shape
    oh, ow = pool_size(h, k[0], s[0], p[0]), pool_size(w, k[1], s[1], p[1])
    out = np.zeros((n, c, oh, ow), np.float32)
    mask = np.full((n, c, oh, ow), -1, np.int64)
    for i in range(oh):
        hs = i * s[0] - p[0]
        he = min(hs + k[0], h + p[0])
        hs0, he0 = max(hs, 0), min(he, h)
        for j in range(ow):
            ws = j * s[1] - p[1]
            we = min(ws + k[1], w + p[1])
            ws0, we0 = max(ws, 0), min(we, w)
            win = x[:, :, hs0:he0, ws0:we0].reshape(n, c, -1)
            if L["pool"] == "MAX":
                # argmax returns the first maximum in raster order: Caffe's strict >.
                a = np.argmax(win, axis=2)
                out[:, :, i, j] = np.take_along_axis(win, a[:, :, None], 2)[:, :, 0]
                ww = we0 - ws0
                mask[:, :, i, j] = (hs0 + a // ww) * w + ws0 + a % ww
            else:
                out[:, :, i, j] = win.astype(np.float64).sum(2) / ((he - hs) * (we - ws))
    return out, mask.astype(np.float32)


def upsample(x, mask, L):
    n, c, h, w = x.shape
    if "upsample_h" in L and "upsample_w" in L:
        oh, ow = L["upsample_h"], L["upsample_w"]
    else:
        sh = L.get("scale_h", L.get("scale", 2))
        sw = L.get("scale_w", L.get("scale", 2))
        oh = h * sh - (1 if L.get("pad_out_h") else 0)
        ow = w * sw - (1 if L.get("pad_out_w") else 0)
    out = np.zeros((n, c, oh * ow), np.float32)
    idx = mask.reshape(n, c, -1).astype(np.int64)
    if idx.size and idx.max() >= oh * ow:
        sys.stderr.write("upsample top index %d out of range\n" % idx.max())
        sys.exit(4)
    src = x.reshape(n, c, -1)
    for a in range(n):
        for b in range(c):
            # Raster order, the later write winning: keep each target's last source.
            rev = idx[a, b][::-1]
            targets, first = np.unique(rev, return_index=True)
            out[a, b, targets] = src[a, b][::-1][first]
    return out.reshape(n, c, oh, ow)


def conv(x, W, b, L):
    pad, stride, dil, group = L["pad"], L["stride"], L["dilation"], L["group"]
    n, c, h, w = x.shape
    o, cg, kh, kw = W.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    oh = (h + 2 * pad[0] - (dil[0] * (kh - 1) + 1)) // stride[0] + 1
    ow = (w + 2 * pad[1] - (dil[1] * (kw - 1) + 1)) // stride[1] + 1
    out = np.zeros((n, o, oh, ow))
    og = o // group
    for g in range(group):
        xs = xp[:, g * cg:(g + 1) * cg]
        Wg = W[g * og:(g + 1) * og].astype(np.float64)
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dil[0]:i * dil[0] + stride[0] * (oh - 1) + 1:stride[0],
                           j * dil[1]:j * dil[1] + stride[1] * (ow - 1) + 1:stride[1]]
                out[:, g * og:(g + 1) * og] += np.einsum("ncij,oc->noij", patch, Wg[:, :, i, j])
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out.astype(np.float32)


def lrn(x, L):
    size, alpha, beta, k = L["local_size"], L["alpha"], L["beta"], L["k"]
    sq = np.pad(x.astype(np.float64) ** 2, ((0, 0), (size // 2, size // 2), (0, 0), (0, 0)))
    acc = sum(sq[:, i:i + x.shape[1]] for i in range(size))
    return (x / (k + alpha / size * acc) ** beta).astype(np.float32)


def main():
    d = sys.argv[1]
    with open(os.path.join(d, "spec.json")) as f:
        spec = json.load(f)
    blobs = {k: np.load(os.path.join(d, v)).astype(np.float32) for k, v in spec["inputs"].items()}
    for L in spec["layers"]:
        t = L["type"]
        bot = [blobs[b] for b in L["bottom"]]
        params = [np.load(os.path.join(d, f)) for f in L.get("blobs", [])]
        if t == "Pooling":
            out, mask = pooling(bot[0], L)
            tops = [out, mask][:len(L["top"])]
        elif t == "Upsample":
            tops = [upsample(bot[0], bot[1], L)]
        elif t == "BN":
            tops = [(params[0].reshape(1, -1, 1, 1) * bot[0]
                     + params[1].reshape(1, -1, 1, 1)).astype(np.float32)]
        elif t == "Convolution":
            tops = [conv(bot[0], params[0], params[1] if len(params) > 1 else None, L)]
        elif t == "ReLU":
            tops = [np.maximum(bot[0], 0)]
        elif t == "LRN":
            tops = [lrn(bot[0], L)]
        elif t == "Softmax":
            e = np.exp(bot[0] - bot[0].max(axis=1, keepdims=True))
            tops = [(e / e.sum(axis=1, keepdims=True)).astype(np.float32)]
        elif t == "Dropout":
            tops = [bot[0]]
        else:
            sys.stderr.write("segnet_reference.py: no rule for layer type %s\n" % t)
            sys.exit(2)
        for name, v in zip(L["top"], tops):
            blobs[name] = v
    for name in spec["outputs"]:
        np.save(os.path.join(d, name + ".npy"), blobs[name].astype(np.float32))


if __name__ == "__main__":
    main()
