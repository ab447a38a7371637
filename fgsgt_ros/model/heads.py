"""Neck and the three DW-Corr RPN heads with learned weighted fusion (SiamRPN++, paper Fig. 1).

Neck: 1x1 conv + BN per level (F3, F4, F5 -> ``neck_channels``); the template map is centre-cropped
(15x15 -> 7x7 at 127 px) to drop the padding-dominated border.
Head (per level, separately for cls and loc): 3x3 conv+BN+ReLU on the template (-> kernel) and on
the search map, depth-wise cross-correlation, then 1x1 conv+BN+ReLU and a 1x1 conv to 2A or 4A
channels. The three levels are fused by softmax-normalised learned weights.
Output layout is the contract in ``anchors.py``: cls channel k*A + a, loc channel j*A + a.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


class Neck(nn.Module):
    """1x1 conv + BN to ``out_channels`` for each level; ``crop`` centre-crops template maps."""

    def __init__(self, in_channels: Sequence[int], out_channels: int, crop: int):
        super().__init__()
        self.crop = crop
        self.adjust = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))
            for c in in_channels)

    def forward(self, feats: Sequence[torch.Tensor], template: bool) -> List[torch.Tensor]:
        outs = []
        for adjust, f in zip(self.adjust, feats):
            h = adjust(f)
            if template and h.shape[-1] > self.crop:
                left = (h.shape[-1] - self.crop) // 2
                h = h[:, :, left:left + self.crop, left:left + self.crop]
            outs.append(h)
        return outs


def xcorr_depthwise(search: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Depth-wise cross-correlation: each channel of ``search`` (B, C, H, W) correlated with the
    same channel of ``kernel`` (B, C, h, w) -> (B, C, H-h+1, W-w+1). A grouped conv over B*C."""
    b, c = kernel.shape[:2]
    x = search.reshape(1, b * c, search.shape[2], search.shape[3])
    k = kernel.reshape(b * c, 1, kernel.shape[2], kernel.shape[3])
    out = F.conv2d(x, k, groups=b * c)
    return out.reshape(b, c, out.shape[2], out.shape[3])


class DepthwiseXCorr(nn.Module):
    """One DW-Corr branch (cls or loc) of one level."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int):
        super().__init__()
        self.conv_kernel = nn.Sequential(nn.Conv2d(in_channels, hidden, 3, bias=False),
                                         nn.BatchNorm2d(hidden), nn.ReLU(inplace=True))
        self.conv_search = nn.Sequential(nn.Conv2d(in_channels, hidden, 3, bias=False),
                                         nn.BatchNorm2d(hidden), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Conv2d(hidden, hidden, 1, bias=False),
                                  nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
                                  nn.Conv2d(hidden, out_channels, 1))

    def kernel(self, z: torch.Tensor) -> torch.Tensor:
        return self.conv_kernel(z)

    def forward(self, kernel: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.head(xcorr_depthwise(self.conv_search(x), kernel))


class MultiRPN(nn.Module):
    """Three DW-Corr RPN heads (one per neck level) fused with softmax-normalised weights."""

    def __init__(self, levels: int, in_channels: int, hidden: int, anchor_num: int):
        super().__init__()
        self.levels = levels
        self.cls = nn.ModuleList(DepthwiseXCorr(in_channels, hidden, 2 * anchor_num)
                                 for _ in range(levels))
        self.loc = nn.ModuleList(DepthwiseXCorr(in_channels, hidden, 4 * anchor_num)
                                 for _ in range(levels))
        self.cls_weight = nn.Parameter(torch.ones(levels))
        self.loc_weight = nn.Parameter(torch.ones(levels))

    def init_special(self):
        """Small final-layer weights: the heads start near 'no opinion' (cls logits ~0, deltas ~0,
        i.e. the anchors themselves), which keeps early from-scratch training stable."""
        for branch in list(self.cls) + list(self.loc):
            nn.init.normal_(branch.head[-1].weight, std=0.01)
            nn.init.zeros_(branch.head[-1].bias)

    def kernels(self, zs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        """Template kernels, ordered (cls_0, loc_0, cls_1, loc_1, cls_2, loc_2)."""
        out = []
        for i, z in enumerate(zs):
            out += [self.cls[i].kernel(z), self.loc[i].kernel(z)]
        return tuple(out)

    def forward(self, kernels: Sequence[torch.Tensor], xs: Sequence[torch.Tensor]):
        wc = F.softmax(self.cls_weight, 0)
        wl = F.softmax(self.loc_weight, 0)
        cls = loc = None
        for i, x in enumerate(xs):
            c = self.cls[i](kernels[2 * i], x) * wc[i]
            l_ = self.loc[i](kernels[2 * i + 1], x) * wl[i]
            cls = c if cls is None else cls + c
            loc = l_ if loc is None else loc + l_
        return cls, loc
