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
    def __init__(self):
        super().__init__()
        self.enc1 = nn.Conv2d(3, 8, 3, padding=1)
        self.enc2 = nn.Conv2d(8, 16, 3, padding=1)
        self.dec = nn.Conv2d(24, 4, 3, padding=1)

    def forward(self, x):
        skip = F.relu(self.enc1(x))
        low = F.relu(self.enc2(F.max_pool2d(skip, 2)))
        up = F.interpolate(low, size=skip.shape[2:], mode='bilinear', align_corners=False)
        return self.dec(torch.cat([up, skip], 1))


if __name__ == "__main__":
    out, opset = sys.argv[1], int(sys.argv[2])
    torch.manual_seed(0)
    net = TinyUNet().eval()
    torch.onnx.export(net, torch.randn(1, 3, 20, 28), out, opset_version=opset,
                      input_names=["image"], output_names=["mask"])
