"""ResNet backbone modified as in SiamRPN++ (stride 8), optionally with FGPCB blocks in Conv4.

Geometry (SiamRPN++): conv1 is 7x7/2 with padding 0; max-pool 3x3/2 (pad 1); layer2 down-samples
with a padding-0 3x3/2 conv; layer3 (the paper's Conv4) and layer4 (Conv5) keep stride 1 with
dilation 2 and 4, their first-block projection being a 3x3 conv. 127 px -> 15x15, 255 px -> 31x31.
Parameter names follow torchvision (conv1, bn1, layerK.i.convJ, ...downsample.0) so an ImageNet
ResNet-50 state dict can be loaded where names and shapes match (``pretrained.py``).

The forward returns the five feature maps F1..F5 that RRSPN needs (conv1 after BN+ReLU, layer1,
layer2, layer3, layer4); the neck uses F3..F5.
"""

from __future__ import annotations

from typing import List

import torch.nn as nn

from .config import BackboneConfig, FGPCBConfig
from .fgpcb import FGPCB, BilinearFusion


class Bottleneck(nn.Module):
    """ResNet bottleneck (1x1 -> 3x3 -> 1x1, identity or projection shortcut), SiamRPN++ padding."""

    def __init__(self, inplanes, planes, expansion, stride=1, dilation=1, downsample=None):
        super().__init__()
        padding = 2 - stride  # stride-2 3x3 convs are unpadded (SiamRPN++)
        if downsample is not None and dilation > 1:
            dilation = dilation // 2  # first block of a dilated stage uses half the dilation
            padding = dilation
        if dilation > 1:
            padding = dilation
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=padding,
                               dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _projection(inplanes, outplanes, stride, dilation):
    """Shortcut projection: 1x1 in undilated stride-1 stages, else a 3x3 conv (SiamRPN++)."""
    if stride == 1 and dilation == 1:
        conv = nn.Conv2d(inplanes, outplanes, 1, stride=stride, bias=False)
    else:
        dd, pad = (dilation // 2, dilation // 2) if dilation > 1 else (1, 0)
        conv = nn.Conv2d(inplanes, outplanes, 3, stride=stride, padding=pad, dilation=dd,
                         bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(outplanes))


class ResNetBackbone(nn.Module):
    """SiamRPN++ ResNet; with ``fgpcb.enabled`` the first ``num_blocks`` blocks of layer3 (the
    paper's Conv4_1..Conv4_3) are FGPCB blocks (Eq. 1-4), and ``fgpcb.fusion`` fuses their outputs
    X, Y, Z bilinearly (Eq. 5-6) into the input of the remaining Conv4 blocks. The forward's
    five maps are F1..F5; the neck reads layer2-4 (``neck_taps``)."""

    saliency_taps = (0, 1, 2, 3, 4)
    neck_taps = (2, 3, 4)

    def __init__(self, cfg: BackboneConfig, fgpcb: FGPCBConfig):
        super().__init__()
        self.cfg = cfg
        e = cfg.expansion
        self.conv1 = nn.Conv2d(3, cfg.stem_channels, 7, stride=2, padding=0, bias=False)
        self.bn1 = nn.BatchNorm2d(cfg.stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.inplanes = cfg.stem_channels
        self.layer1 = self._make_layer(cfg.planes[0], cfg.layers[0], 1, 1)
        self.layer2 = self._make_layer(cfg.planes[1], cfg.layers[1], 2, 1)
        self.num_fgpcb = fgpcb.num_blocks if fgpcb.enabled else 0
        self.layer3 = self._make_layer(cfg.planes[2], cfg.layers[2], 1, 2, fgpcb)
        self.fusion = None
        if fgpcb.enabled and fgpcb.fusion:
            if self.num_fgpcb != 3:
                raise ValueError("the bilinear fusion (Eq. 5-6) needs exactly three FGPCB outputs")
            self.fusion = BilinearFusion(cfg.planes[2] * e, fgpcb.fusion_channels,
                                         fgpcb.fusion_gate_init)
        self.layer4 = self._make_layer(cfg.planes[3], cfg.layers[3], 1, 4)
        self.channels = cfg.out_channels()

    def _make_layer(self, planes, blocks, stride, dilation, fgpcb: FGPCBConfig = None):
        e = self.cfg.expansion
        out = planes * e
        layers: List[nn.Module] = []
        n_fg = fgpcb.num_blocks if (fgpcb is not None and fgpcb.enabled) else 0
        for i in range(blocks):
            if i < n_fg:
                layers.append(FGPCB(self.inplanes, fgpcb.width, out, first=(i == 0),
                                    dilation=dilation, negative_slope=fgpcb.negative_slope))
            else:
                down = None
                if i == 0 and (stride != 1 or self.inplanes != out):
                    down = _projection(self.inplanes, out, stride, dilation)
                layers.append(Bottleneck(self.inplanes, planes, e, stride if i == 0 else 1,
                                         dilation, down))
            self.inplanes = out
        return nn.Sequential(*layers)

    def forward(self, x):
        f1 = self.relu(self.bn1(self.conv1(x)))
        f2 = self.layer1(self.maxpool(f1))
        f3 = self.layer2(f2)
        h = f3
        fg_outputs = []
        for i, block in enumerate(self.layer3):
            h = block(h)
            if i < self.num_fgpcb:
                fg_outputs.append(h)  # X, Y, Z
                if self.fusion is not None and i == self.num_fgpcb - 1:
                    h = self.fusion(*fg_outputs)
        f4 = h
        f5 = self.layer4(f4)
        return f1, f2, f3, f4, f5
