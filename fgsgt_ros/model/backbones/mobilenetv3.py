"""MobileNetV3-small as NanoTrack v3 trained it for tracking, truncated at stride 16 (or 8).

NanoTrack ("NanoTrack", HonglinChu/SiamTrackers, Apache-2.0) uses the MobileNetV3-small layout of
"Searching for MobileNetV3" (Howard et al., ICCV 2019) up to its 96-channel stage, with the last
block's stride set to 1, so a 255 px crop gives 96 x 16 x 16 (stride 16) and 127 px gives 8 x 8.
The parameter names here are the ones of its state dict (``backbone.features.N.conv.K...``), so the
file loads with ``strict=True``; ``test/test_pretrained_backbones.py`` checks the output against
the BN-folded ONNX export of the same weights.

``output_stride=8`` runs the same weights densely (the "a trous" trick SiamRPN++ uses on ResNet):
block 4 loses its stride and every later spatial convolution is dilated by 2, so each output of the
stride-16 network reappears at every second position of the stride-8 map and the positions between
are evaluated by the same filters. The squeeze-excitation pools then average over the denser map.

Input: raw 0..255 pixel values (NanoTrack feeds OpenCV BGR without mean/std; grey thermal
replicated to three channels is the same in any channel order).
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import torch
import torch.nn as nn

#: (kernel, expanded channels, out channels, squeeze-excite, hard-swish, stride) per block of
#: ``features[1:]``; the last block's stride is 1 in NanoTrack (the original model has 2 there).
NANOTRACK_V3_BLOCKS: Tuple[Tuple[int, int, int, bool, bool, int], ...] = (
    (3, 16, 16, True, False, 2),
    (3, 72, 24, False, False, 2),
    (3, 88, 24, False, False, 1),
    (5, 96, 40, True, True, 2),
    (5, 240, 40, True, True, 1),
    (5, 240, 40, True, True, 1),
    (5, 120, 48, True, True, 1),
    (5, 144, 48, True, True, 1),
    (5, 288, 96, True, True, 1),
)
STEM_CHANNELS = 16
#: indices into ``features`` whose outputs the forward returns: F1..F5 of the paper are
#: features 0, 1, 3, 6, 9 (strides 2, 4, 8, 16, 16 natively); 8 is the third neck level
NANOTRACK_V3_TAPS = (0, 1, 3, 6, 8, 9)


def _divisible(v: float, divisor: int = 8) -> int:
    out = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return out + divisor if out < 0.9 * v else out


class SqueezeExcite(nn.Module):
    """Channel attention: global mean -> FC -> ReLU -> FC -> hard sigmoid (``fc.0``, ``fc.2``)."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        squeezed = _divisible(channels // reduction)
        self.fc = nn.Sequential(nn.Linear(channels, squeezed), nn.ReLU(inplace=True),
                                nn.Linear(squeezed, channels), nn.Hardsigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.fc(x.mean(dim=(2, 3)))
        return x * w[:, :, None, None]


def _act(hard_swish: bool) -> nn.Module:
    return nn.Hardswish() if hard_swish else nn.ReLU(inplace=True)


class InvertedResidual(nn.Module):
    """MobileNetV3 block; ``conv`` holds the layers under NanoTrack's indices (expand 1x1 unless
    the expansion equals the input width, depth-wise k x k, optional SE, project 1x1)."""

    def __init__(self, inp: int, hidden: int, oup: int, kernel: int, stride: int, se: bool,
                 hard_swish: bool, dilation: int = 1):
        super().__init__()
        self.identity = stride == 1 and inp == oup
        pad = (kernel - 1) // 2 * dilation
        dw = nn.Conv2d(hidden, hidden, kernel, stride, pad, dilation=dilation, groups=hidden,
                       bias=False)
        attention = SqueezeExcite(hidden) if se else nn.Identity()
        if inp == hidden:
            layers = [dw, nn.BatchNorm2d(hidden), _act(hard_swish), attention,
                      nn.Conv2d(hidden, oup, 1, bias=False), nn.BatchNorm2d(oup)]
        else:
            layers = [nn.Conv2d(inp, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                      _act(hard_swish), dw, nn.BatchNorm2d(hidden), attention, _act(hard_swish),
                      nn.Conv2d(hidden, oup, 1, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.identity else out


class MobileNetV3Nano(nn.Module):
    """NanoTrack v3's backbone. ``forward(x)`` returns the outputs of ``features[i]`` for ``i``
    in ``NANOTRACK_V3_TAPS``; ``channels`` lists their widths, ``saliency_taps`` picks F1..F5
    (RRSPN's inputs) from them and ``neck_taps`` the three maps the heads correlate (features 6,
    8 and 9: the ends of the stride-16 stages)."""

    saliency_taps = (0, 1, 2, 3, 5)
    neck_taps = (3, 4, 5)

    def __init__(self, output_stride: int = 16):
        super().__init__()
        if output_stride not in (8, 16):
            raise ValueError(f"MobileNetV3 output_stride must be 8 or 16, not {output_stride}")
        layers: List[nn.Module] = [nn.Sequential(
            nn.Conv2d(3, STEM_CHANNELS, 3, 2, 1, bias=False), nn.BatchNorm2d(STEM_CHANNELS),
            nn.Hardswish())]
        inp, stride_so_far, dilation = STEM_CHANNELS, 2, 1
        for kernel, hidden, oup, se, hs, stride in NANOTRACK_V3_BLOCKS:
            block_dilation = dilation
            if stride > 1 and stride_so_far * stride > output_stride:
                stride, dilation = 1, dilation * 2  # dense from here on: later convs dilate
            else:
                stride_so_far *= stride
            layers.append(InvertedResidual(inp, hidden, oup, kernel, stride, se, hs,
                                           block_dilation))
            inp = oup
        self.features = nn.Sequential(*layers)
        self.output_stride = output_stride
        self.taps = NANOTRACK_V3_TAPS
        self.channels = tuple(STEM_CHANNELS if i == 0 else NANOTRACK_V3_BLOCKS[i - 1][2]
                              for i in self.taps)

    def forward(self, x: torch.Tensor):
        outs = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                outs.append(x)
        return tuple(outs)

    @staticmethod
    def feature_size(image_size: int, output_stride: int) -> int:
        """Side of the output map: every stride-2 layer is padded, so it halves rounding up."""
        n = image_size
        for _ in range({8: 3, 16: 4}[output_stride]):
            n = (n + 1) // 2
        return n


def nanotrack_state_dict(state: dict) -> dict:
    """The ``backbone.*`` tensors of a NanoTrack state dict, prefix removed (what
    ``MobileNetV3Nano.load_state_dict`` takes)."""
    prefix = "backbone."
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def stage_names(module: MobileNetV3Nano, first: int) -> Sequence[str]:
    """Sub-module names of ``features[first:]`` (for training only the last stages)."""
    return tuple(f"features.{i}" for i in range(first, len(module.features)))
