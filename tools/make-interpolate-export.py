#!/usr/bin/env python3
"""Exports a small U-Net-style net with torch.onnx.export, as third-party exports come.

Usage: make-interpolate-export.py OUT.onnx OPSET

The decoder upsamples with F.interpolate(x, size=skip.shape[2:], mode='bilinear'), which
PyTorch writes as Resize(X, roi, scales, sizes) with sizes computed by Shape/Slice/Concat at
run time. Used by fcn.convert.OnnxPassThroughTest (into a temp folder).
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class TinyUNet(nn.Module):
    """Two decoder levels; the second Resize's size matches only a tensor above the first
    Resize, so fcn's --dynamic has to look past a Resize with empty roi/scales to find it."""

    def __init__(self):
        super().__init__()
        self.enc1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.enc2 = nn.Conv2d(8, 12, 3, padding=1)
        self.enc3 = nn.Conv2d(12, 16, 3, padding=1)
        self.dec1 = nn.Conv2d(28, 12, 3, padding=1)
        self.dec2 = nn.Conv2d(20, 4, 3, padding=1)

    def forward(self, x):
        c1 = F.relu(self.enc1(x))
        c2 = F.relu(self.enc2(F.max_pool2d(c1, 2)))
        c3 = F.relu(self.enc3(F.max_pool2d(c2, 2)))
        u1 = F.interpolate(c3, size=c2.shape[2:], mode='bilinear', align_corners=False)
        d1 = F.relu(self.dec1(torch.cat([u1, c2], 1)))
        u2 = F.interpolate(d1, size=c1.shape[2:], mode='bilinear', align_corners=False)
        return self.dec2(torch.cat([u2, c1], 1))


if __name__ == "__main__":
    out, opset = sys.argv[1], int(sys.argv[2])
    torch.manual_seed(0)
    net = TinyUNet().eval()
    torch.onnx.export(net, torch.randn(1, 3, 20, 28), out, opset_version=opset,
                      input_names=["image"], output_names=["mask"])
