#!/usr/bin/env python3
"""Reference fixtures from real PyTorch (torch 1.13 / torchvision 0.14, Debian's packages).

Everything is made from the seeds below, with random weights (nothing is downloaded):

  vgg16n/            narrow VGG16-style classifier (torchvision VGG layout: features,
                     AdaptiveAvgPool2d((7,7)), flatten, Linear-ReLU-Dropout x2, Linear)
    model_opset11.onnx, model_opset17.onnx   exported at 1x3x224x224
    test_data_set_0/   logits at 224x224
    heatmap_320x416/   the heatmap PyTorch computes with fc6/fc7/fc8 reshaped into
                       convolutions (FCN's net surgery) on a 320x416 input
  upsample_filt/     filt_K.pb: FCN's surgery.upsample_filt(K) for K = 3, 4, 16, 32, 64
  fcn_resnet50n/     torchvision FCN (segmentation.fcn.FCN + FCNHead, outputs out/aux) on a
                     narrow ResNet-50-style backbone, exported at opset 12 with a fixed input
  deeplabv3n/        torchvision DeepLabV3 (ASPP + aux FCNHead) likewise, opset 11
    test_data_set_0/   at the export size, test_data_set_1/ at the second size (needs --dynamic)

--full also writes torchvision's full-width fcn_resnet50 / deeplabv3_resnet50 (random weights,
about 130 MB each: never commit them) with sets at 520x520 and 360x480.

--only-work-tmp writes nothing under --out (the committed files): PyTorch's outputs depend on the
CPU's kernels and thread count, so CI (.ci/run) must not rewrite committed fixtures with another
machine's bytes; the tests compare them with a tolerance, never bytes.

test_data_set_N/ holds input_K.pb / output_K.pb TensorProtos (onnx.numpy_helper), the ONNX
model-zoo layout. BatchNorm statistics are randomised so that folding them is not a no-op.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision
from onnx import numpy_helper
from torchvision.models.resnet import Bottleneck, ResNet
from torchvision.models.segmentation.deeplabv3 import ASPP, DeepLabV3
from torchvision.models.segmentation.fcn import FCN, FCNHead
from torchvision.models._utils import IntermediateLayerGetter

SEEDS = {"vgg16n": 1501, "fcn_resnet50n": 1502, "deeplabv3n": 1503,
         "fcn_resnet50": 1504, "deeplabv3_resnet50": 1505, "inputs": 1600}

# VGG16's configuration with every width divided by 16.
VGG16N_CFG = [4, 4, "M", 8, 8, "M", 16, 16, 16, "M", 32, 32, 32, "M", 32, 32, 32, "M"]
VGG16N_FC = 64
VGG16N_CLASSES = 10


class NarrowVgg(nn.Module):
    """torchvision.models.VGG's forward with narrow layers."""

    def __init__(self):
        super().__init__()
        self.features = torchvision.models.vgg.make_layers(VGG16N_CFG, batch_norm=False)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        c = VGG16N_CFG[-2]
        self.classifier = nn.Sequential(
            nn.Linear(c * 7 * 7, VGG16N_FC), nn.ReLU(True), nn.Dropout(),
            nn.Linear(VGG16N_FC, VGG16N_FC), nn.ReLU(True), nn.Dropout(),
            nn.Linear(VGG16N_FC, VGG16N_CLASSES))

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)

    def fully_conv(self, x):
        """FCN's net surgery: fc weights reshaped into 7x7 then 1x1 convolutions, no avgpool."""
        x = self.features(x)
        fc6, fc7, fc8 = self.classifier[0], self.classifier[3], self.classifier[6]
        c = VGG16N_CFG[-2]
        x = torch.relu(nn.functional.conv2d(x, fc6.weight.reshape(VGG16N_FC, c, 7, 7), fc6.bias))
        x = torch.relu(nn.functional.conv2d(x, fc7.weight.reshape(VGG16N_FC, VGG16N_FC, 1, 1), fc7.bias))
        return nn.functional.conv2d(x, fc8.weight.reshape(VGG16N_CLASSES, VGG16N_FC, 1, 1), fc8.bias)


class TupleOut(nn.Module):
    """The model zoo's wrapper: the segmentation dict as (out, aux)."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        r = self.m(x)
        return r["out"], r["aux"]


def narrow_backbone():
    # ResNet-50's layout (Bottleneck, dilated layer3/4, output stride 8) at 1/8 width, one
    # block per stage.
    r = ResNet(Bottleneck, [1, 1, 1, 1], replace_stride_with_dilation=[False, True, True])
    r.inplanes, r.dilation = 16, 1
    r.conv1 = nn.Conv2d(3, 16, kernel_size=7, stride=2, padding=3, bias=False)
    r.bn1 = nn.BatchNorm2d(16)
    r.layer1 = r._make_layer(Bottleneck, 8, 1)
    r.layer2 = r._make_layer(Bottleneck, 16, 1, stride=2)
    r.layer3 = r._make_layer(Bottleneck, 32, 1, stride=2, dilate=True)
    r.layer4 = r._make_layer(Bottleneck, 64, 1, stride=2, dilate=True)
    return r  # layer3 -> 128 channels, layer4 -> 256


def fcn_narrow(classes):
    bb = IntermediateLayerGetter(narrow_backbone(), return_layers={"layer4": "out", "layer3": "aux"})
    return FCN(bb, FCNHead(256, classes), FCNHead(128, classes))


def deeplab_narrow(classes):
    bb = IntermediateLayerGetter(narrow_backbone(), return_layers={"layer4": "out", "layer3": "aux"})
    # DeepLabHead's layers with 32 instead of 256 channels.
    head = nn.Sequential(ASPP(256, [12, 24, 36], out_channels=32),
                         nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32),
                         nn.ReLU(), nn.Conv2d(32, classes, 1))
    return DeepLabV3(bb, head, FCNHead(128, classes))


def randomise_bn(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


def save_set(folder, inputs, outputs, input_names, output_names):
    os.makedirs(folder, exist_ok=True)
    for k, (a, n) in enumerate(zip(inputs, input_names)):
        with open(os.path.join(folder, "input_%d.pb" % k), "wb") as f:
            f.write(numpy_helper.from_array(np.ascontiguousarray(a, dtype=np.float32), n).SerializeToString())
    for k, (a, n) in enumerate(zip(outputs, output_names)):
        with open(os.path.join(folder, "output_%d.pb" % k), "wb") as f:
            f.write(numpy_helper.from_array(np.ascontiguousarray(a, dtype=np.float32), n).SerializeToString())


def image(gen, h, w):
    # Roughly ImageNet-normalised values.
    return torch.randn(1, 3, h, w, generator=gen)


def export(model, x, path, opset, outputs):
    torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"],
                      output_names=outputs, do_constant_folding=True)


def make_vgg(out):
    torch.manual_seed(SEEDS["vgg16n"])
    m = NarrowVgg().eval()
    d = os.path.join(out, "vgg16n")
    os.makedirs(d, exist_ok=True)
    gen = torch.Generator().manual_seed(SEEDS["inputs"])
    x224 = image(gen, 224, 224)
    x320 = image(gen, 320, 416)
    with torch.no_grad():
        for opset in (11, 17):
            export(m, x224, os.path.join(d, "model_opset%d.onnx" % opset), opset, ["logits"])
        save_set(os.path.join(d, "test_data_set_0"), [x224.numpy()], [m(x224).numpy()], ["input"], ["logits"])
        save_set(os.path.join(d, "heatmap_320x416"), [x320.numpy()], [m.fully_conv(x320).numpy()],
                 ["input"], ["logits"])
        # The classifier and its fully-convolutional form agree at 224x224 (a 1x1 heatmap).
        assert torch.allclose(m(x224), m.fully_conv(x224).flatten(1), atol=1e-5)


def make_seg(out, name, builder, seed, opset, export_hw, other_hw, classes):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    m = builder(classes)
    randomise_bn(m, gen)
    m = TupleOut(m).eval()
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    gen = torch.Generator().manual_seed(SEEDS["inputs"] + seed)
    with torch.no_grad():
        x0 = image(gen, *export_hw)
        export(m, x0, os.path.join(d, "model_opset%d.onnx" % opset), opset, ["out", "aux"])
        for k, hw in enumerate([export_hw, other_hw]):
            x = x0 if k == 0 else image(gen, *hw)
            o, a = m(x)
            save_set(os.path.join(d, "test_data_set_%d" % k), [x.numpy()], [o.numpy(), a.numpy()],
                     ["input"], ["out", "aux"])


def upsample_filt(size):
    """FCN's surgery.upsample_filt, verbatim: the bilinear kernel its heads start from."""
    factor = (size + 1) // 2
    if size % 2 == 1:
        center = factor - 1
    else:
        center = factor - 0.5
    og = np.ogrid[:size, :size]
    return (1 - abs(og[0] - center) / factor) * (1 - abs(og[1] - center) / factor)


def make_filters(out):
    d = os.path.join(out, "upsample_filt")
    os.makedirs(d, exist_ok=True)
    for k in (3, 4, 16, 32, 64):
        with open(os.path.join(d, "filt_%d.pb" % k), "wb") as f:
            f.write(numpy_helper.from_array(upsample_filt(k).astype(np.float32), "filt_%d" % k)
                    .SerializeToString())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="src/test/resources/torch", help="committed small fixtures")
    p.add_argument("--big-out", default="work-tmp/torch",
                   help="gitignored: narrow seg nets at 520x520 / 360x480 (and --full models)")
    p.add_argument("--full", action="store_true", help="also full-width torchvision models (~130 MB each)")
    p.add_argument("--only-work-tmp", action="store_true",
                   help="write only under --big-out, never the committed --out (what CI runs)")
    a = p.parse_args()
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    if not a.only_work_tmp:
        make_filters(a.out)
        make_vgg(a.out)
        make_seg(a.out, "fcn_resnet50n", fcn_narrow, SEEDS["fcn_resnet50n"], 12, (128, 128), (96, 120), 3)
        make_seg(a.out, "deeplabv3n", deeplab_narrow, SEEDS["deeplabv3n"], 11, (128, 128), (96, 120), 3)
    make_seg(a.big_out, "fcn_resnet50n", fcn_narrow, SEEDS["fcn_resnet50n"], 12, (520, 520), (360, 480), 3)
    make_seg(a.big_out, "deeplabv3n", deeplab_narrow, SEEDS["deeplabv3n"], 11, (520, 520), (360, 480), 3)
    if a.full:
        from torchvision.models.segmentation import deeplabv3_resnet50, fcn_resnet50
        make_seg(a.big_out, "fcn_resnet50", lambda c: fcn_resnet50(
            weights=None, weights_backbone=None, num_classes=c, aux_loss=True),
            SEEDS["fcn_resnet50"], 12, (520, 520), (360, 480), 21)
        make_seg(a.big_out, "deeplabv3_resnet50", lambda c: deeplabv3_resnet50(
            weights=None, weights_backbone=None, num_classes=c, aux_loss=True),
            SEEDS["deeplabv3_resnet50"], 11, (520, 520), (360, 480), 21)
    for root in (a.big_out,) if a.only_work_tmp else (a.out, a.big_out):
        with open(os.path.join(root, "manifest.json"), "w") as f:
            json.dump({"tool": "tools/make-torch-fixtures.py", "torch": torch.__version__,
                       "torchvision": torchvision.__version__, "seeds": SEEDS}, f, indent=1, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
