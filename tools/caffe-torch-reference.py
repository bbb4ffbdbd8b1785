#!/usr/bin/python3
"""An independent reference for Caffe nets with the forks' layers, in torch (float64).

Reads a Caffe prototxt in text format (its own small parser: no Caffe, no fcn code), the
learned blobs as .npy files BLOBDIR/blob_<layer index>_<blob index>.npy (the layer index counts
the `layer {}` blocks of the prototxt from 0), and inputs as NAME=FILE.npy; runs the TEST-phase
forward pass and writes OUTDIR/<top>.npy (float32) for every top named with --out.

Layer semantics follow the forks' sources as issue 10 gives them:
  Interp (deeplab-public-ver2 / PSPNet interp_layer.cpp): crop by pad_beg/pad_end <= 0, output
    size from shrink then zoom, else height/width, else the second bottom; align-corners
    bilinear (F.interpolate(align_corners=True)); equal sizes copy.
  BN, PSPNet (bn_param with slope/bias/momentum/eps/frozen, 4 blobs):
    slope * (x - mean) / sqrt(var + eps) + bias, eps default 1e-5.
  BN, caffe-segnet (bn_param with bn_mode/scale_filler/shift_filler, 2 blobs): INFERENCE
    scale * x + shift; LEARN (the default) normalises with the batch's own per-channel mean and
    variance over N, H, W, eps 1e-9.
  Convolution (pad, kernel, stride, dilation or DeepLab v1's hole, group, bias_term), Pooling MAX/AVE with Caffe's
  ceil rule and divisor (pooling_layer.cpp), ReLU (negative_slope), Concat, Eltwise
  (SUM with coeff, PROD, MAX), Dropout (identity), Softmax, Input.
"""
import os
import re
import sys

import numpy as np
import torch
import torch.nn.functional as F

TOKEN = re.compile(r'\s+|#[^\n]*|"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[{}:]|[^\s{}:#"\']+')


def parse(text):
    """Protobuf text format into nested dicts of lists (every field repeated)."""
    toks = [t for t in TOKEN.findall(text) if t.strip() and not t.startswith('#')]
    pos = 0

    def block(end):
        nonlocal pos
        msg = {}
        while pos < len(toks) and toks[pos] != end:
            name = toks[pos]
            pos += 1
            if toks[pos] == ':':
                pos += 1
            if toks[pos] == '{':
                pos += 1
                val = block('}')
                pos += 1
            else:
                val = scalar(toks[pos])
                pos += 1
            msg.setdefault(name, []).append(val)
        return msg

    return block(None)


def scalar(t):
    if t[0] in '"\'':
        return t[1:-1]
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return {'true': True, 'false': False}.get(t, t)


def get(msg, name, default=None):
    v = msg.get(name)
    return v[0] if v else default


def pair(p, name, default):
    """Caffe's kernel/pad/stride/dilation: name_h/name_w, else the repeated field (1 or 2)."""
    if name + '_h' in p or name + '_w' in p:
        return get(p, name + '_h', default), get(p, name + '_w', default)
    v = p.get(name, [])
    if not v:
        return default, default
    return (v[0], v[0]) if len(v) == 1 else (v[0], v[1])


def conv(x, p, blobs):
    kh, kw = (get(p, 'kernel_h'), get(p, 'kernel_w')) if 'kernel_h' in p else pair(
        {'kernel': p['kernel_size']}, 'kernel', None)
    ph, pw = pair(p, 'pad', 0)
    sh, sw = pair(p, 'stride', 1)
    # DeepLab v1's hole (the filter's input stride, as im2col_hole reads it) is the dilation.
    dh, dw = pair({'dilation': p['hole']}, 'dilation', 1) if 'hole' in p else pair(
        p, 'dilation', 1)
    w = blobs[0]
    assert w.shape[2:] == (kh, kw), (w.shape, kh, kw)
    b = blobs[1].reshape(-1) if get(p, 'bias_term', True) else None
    return F.conv2d(x, w, b, (sh, sw), (ph, pw), (dh, dw), get(p, 'group', 1))


def caffe_pool_out(size, k, s, p):
    o = -(-(size + 2 * p - k) // s) + 1
    if p > 0 and (o - 1) * s >= size + p:
        o -= 1
    return o


def pool(x, p):
    method = get(p, 'pool', 'MAX')
    n, c, h, w = x.shape
    if get(p, 'global_pooling', False):
        return x.amax((2, 3), keepdim=True) if method == 'MAX' else x.mean((2, 3), keepdim=True)
    kh, kw = pair({'kernel': p['kernel_size']}, 'kernel', None) if 'kernel_size' in p else (
        get(p, 'kernel_h'), get(p, 'kernel_w'))
    ph, pw = (get(p, 'pad_h', 0), get(p, 'pad_w', 0)) if 'pad_h' in p else (get(p, 'pad', 0),) * 2
    sh, sw = (get(p, 'stride_h', 1), get(p, 'stride_w', 1)) if 'stride_h' in p else (
        get(p, 'stride', 1),) * 2
    oh, ow = caffe_pool_out(h, kh, sh, ph), caffe_pool_out(w, kw, sw, pw)
    # Windows start at i*s - p; extend the end so that every window lies inside the tensor.
    eh = (oh - 1) * sh + kh - (h + 2 * ph)
    ew = (ow - 1) * sw + kw - (w + 2 * pw)
    if method == 'MAX':
        # Caffe clips windows to the input: padding never wins.
        xp = F.pad(x, (pw, pw + max(ew, 0), ph, ph + max(eh, 0)), value=-float('inf'))
        return F.max_pool2d(xp, (kh, kw), (sh, sw))[:, :, :oh, :ow]
    # AVE: sum over the window clipped to the input, divided by the window clipped to the
    # padded input (padding counted, the ceil overflow not).
    xp = F.pad(F.pad(x, (pw, pw, ph, ph)), (0, max(ew, 0), 0, max(eh, 0)))
    ones = F.pad(torch.ones(1, 1, h + 2 * ph, w + 2 * pw, dtype=x.dtype),
                 (0, max(ew, 0), 0, max(eh, 0)))
    s = F.avg_pool2d(xp, (kh, kw), (sh, sw), divisor_override=1)[:, :, :oh, :ow]
    d = F.avg_pool2d(ones, (kh, kw), (sh, sw), divisor_override=1)[:, :, :oh, :ow]
    return s / d


def interp(xs, p):
    x = xs[0]
    beg, end = get(p, 'pad_beg', 0), get(p, 'pad_end', 0)
    assert beg <= 0 and end <= 0
    h, w = x.shape[2] + beg + end, x.shape[3] + beg + end
    x = x[:, :, -beg:-beg + h, -beg:-beg + w]
    if 'zoom_factor' in p or 'shrink_factor' in p:
        z, s = get(p, 'zoom_factor', 1), get(p, 'shrink_factor', 1)
        ho, wo = (h - 1) // s + 1, (w - 1) // s + 1
        ho, wo = ho + (ho - 1) * (z - 1), wo + (wo - 1) * (z - 1)
    elif 'height' in p:
        ho, wo = get(p, 'height'), get(p, 'width')
    else:
        ho, wo = xs[1].shape[2], xs[1].shape[3]
    if (ho, wo) == (h, w):
        return x.clone()
    return F.interpolate(x, size=(ho, wo), mode='bilinear', align_corners=True)


def bn(x, p, blobs):
    c = x.shape[1]
    if len(blobs) == 4:
        slope, bias, mean, var = (b.reshape(1, c, 1, 1) for b in blobs)
        eps = get(p, 'eps', 1e-5)
        return slope * (x - mean) / torch.sqrt(var + eps) + bias
    assert len(blobs) == 2, len(blobs)
    scale, shift = (b.reshape(1, c, 1, 1) for b in blobs)
    if get(p, 'bn_mode', 'LEARN') == 'INFERENCE':
        return scale * x + shift
    mean = x.mean((0, 2, 3), keepdim=True)
    var = ((x - mean) ** 2).mean((0, 2, 3), keepdim=True)
    return scale * (x - mean) / torch.sqrt(var + 1e-9) + shift


def eltwise(xs, p):
    op = get(p, 'operation', 'SUM')
    if op == 'PROD':
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out
    if op == 'MAX':
        out = xs[0]
        for x in xs[1:]:
            out = torch.maximum(out, x)
        return out
    coeff = p.get('coeff', [1.0] * len(xs))
    return sum(c * x for c, x in zip(coeff, xs))


def main(argv):
    net_file, blob_dir, out_dir = argv[:3]
    feeds, outs = {}, []
    for a in argv[3:]:
        if a.startswith('--out='):
            outs.append(a[len('--out='):])
        else:
            name, f = a.split('=', 1)
            feeds[name] = torch.from_numpy(np.load(f).astype(np.float64))
    net = parse(open(net_file).read())
    blobs = dict(feeds)
    for i, layer in enumerate(net.get('layer', [])):
        t = get(layer, 'type')
        include = get(layer, 'include', {})
        if get(include, 'phase', 'TEST') == 'TRAIN':
            continue
        bottoms = [blobs[b] for b in layer.get('bottom', [])]
        tops = layer.get('top', [])
        learned = []
        j = 0
        while os.path.exists(os.path.join(blob_dir, 'blob_%d_%d.npy' % (i, j))):
            learned.append(torch.from_numpy(
                np.load(os.path.join(blob_dir, 'blob_%d_%d.npy' % (i, j))).astype(np.float64)))
            j += 1
        if t == 'Input':
            continue
        elif t == 'Convolution':
            y = conv(bottoms[0], get(layer, 'convolution_param', {}), learned)
        elif t == 'BN':
            y = bn(bottoms[0], get(layer, 'bn_param', {}), learned)
        elif t == 'ReLU':
            slope = get(get(layer, 'relu_param', {}), 'negative_slope', 0.0)
            y = torch.where(bottoms[0] > 0, bottoms[0], bottoms[0] * slope)
        elif t == 'Pooling':
            y = pool(bottoms[0], get(layer, 'pooling_param', {}))
        elif t == 'Interp':
            y = interp(bottoms, get(layer, 'interp_param', {}))
        elif t == 'Concat':
            y = torch.cat(bottoms, get(get(layer, 'concat_param', {}), 'axis', 1))
        elif t == 'Eltwise':
            y = eltwise(bottoms, get(layer, 'eltwise_param', {}))
        elif t == 'Dropout':
            y = bottoms[0]
        elif t == 'Softmax':
            y = torch.softmax(bottoms[0], get(get(layer, 'softmax_param', {}), 'axis', 1))
        else:
            raise SystemExit('caffe-torch-reference: layer type %s not implemented' % t)
        blobs[tops[0]] = y
    for o in outs:
        np.save(os.path.join(out_dir, o.replace('/', '_') + '.npy'),
                blobs[o].numpy().astype(np.float32))


if __name__ == '__main__':
    torch.set_num_threads(1)
    main(sys.argv[1:])
