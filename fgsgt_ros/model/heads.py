"""Correlation heads of the Siamese families.

- SiamRPN++ (FGSGT family): three DW-Corr RPN heads with learned weighted fusion (paper Fig. 1).
  Head (per level, separately for cls and loc): 3x3 conv+BN+ReLU on the template (-> kernel) and on
  the search map, depth-wise cross-correlation, then 1x1 conv+BN+ReLU and a 1x1 conv to 2A or 4A
  channels. The three levels are fused by softmax-normalised learned weights. Output layout is the
  contract in ``anchors.py``: cls channel k*A + a, loc channel j*A + a.
- SiamFFN: ``FeatureFusionHead`` (per-level DW-Corr response maps, scale attention, one shared
  cls / regression head) and its SiamBAN-style ablation ``ResultFusionHead``.
- IBFP: ``Branch``, the centre / ltrb conv tower.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .necks import conv_bn_relu


def xcorr_depthwise(search: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Depth-wise cross-correlation: each channel of ``search`` (B, C, H, W) correlated with the
    same channel of ``kernel`` (B, C, h, w) -> (B, C, H-h+1, W-w+1). A grouped conv over B*C."""
    b, c = kernel.shape[:2]
    x = search.reshape(1, b * c, search.shape[2], search.shape[3])
    k = kernel.reshape(b * c, 1, kernel.shape[2], kernel.shape[3])
    out = F.conv2d(x, k, groups=b * c)
    return out.reshape(b, c, out.shape[2], out.shape[3])


class DWCorr(nn.Module):
    """One level's similarity response map: 3x3 conv+BN+ReLU on template (-> kernel) and search,
    depth-wise cross-correlation (SiamFFN's matching module: SiamRPN++'s DW-Corr, no head)."""

    def __init__(self, in_channels: int, hidden: int):
        super().__init__()
        self.conv_kernel = nn.Sequential(nn.Conv2d(in_channels, hidden, 3, bias=False),
                                         nn.BatchNorm2d(hidden), nn.ReLU(inplace=True))
        self.conv_search = nn.Sequential(nn.Conv2d(in_channels, hidden, 3, bias=False),
                                         nn.BatchNorm2d(hidden), nn.ReLU(inplace=True))

    def kernel(self, z: torch.Tensor) -> torch.Tensor:
        return self.conv_kernel(z)

    def forward(self, kernel: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return xcorr_depthwise(self.conv_search(x), kernel)


class DepthwiseXCorr(DWCorr):
    """One DW-Corr branch (cls or loc) of one level: ``DWCorr`` + a 1x1 conv+BN+ReLU, 1x1 conv
    head to ``out_channels``."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int):
        super().__init__(in_channels, hidden)
        self.head = nn.Sequential(nn.Conv2d(hidden, hidden, 1, bias=False),
                                  nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
                                  nn.Conv2d(hidden, out_channels, 1))

    def forward(self, kernel: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.head(super().forward(kernel, x))


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


# ---------------------------------------------------------------------------------------------
# SiamFFN


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """max(0, min(1, (x + 1) / 2)) (Eq. 4)."""
    return ((x + 1.0) * 0.5).clamp(0.0, 1.0)


class ScaleAttention(nn.Module):
    """Scale attention (Eq. 2-5): per level GAP -> 1x1 conv (C -> 1) -> ReLU; hard sigmoid over
    the stacked levels; weighted mean of the response maps. Returns (F_out, W (B, L))."""

    def __init__(self, levels: int, channels: int, bias_init: float = 0.5):
        super().__init__()
        self.bias_init = float(bias_init)
        self.convs = nn.ModuleList(nn.Conv2d(channels, 1, 1) for _ in range(levels))

    def init_special(self):
        for conv in self.convs:
            nn.init.zeros_(conv.weight)
            nn.init.constant_(conv.bias, self.bias_init)

    def forward(self, maps: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        pis = [F.relu(conv(f.mean(dim=(2, 3), keepdim=True))) for conv, f in zip(self.convs, maps)]
        w = hard_sigmoid(torch.cat(pis, dim=1))                    # (B, L, 1, 1)
        stacked = torch.stack(list(maps), dim=1)                   # (B, L, C, H, W)
        fused = (stacked * w.unsqueeze(2)).mean(dim=1)
        return fused, w.flatten(1)


def _branch(hidden: int, out: int) -> nn.Sequential:
    """Decoding branch of the shared head: 1x1 conv+BN+ReLU, 1x1 conv (SiamBAN's per-level head)."""
    return nn.Sequential(nn.Conv2d(hidden, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                         nn.ReLU(inplace=True), nn.Conv2d(hidden, out, 1))


class FeatureFusionHead(nn.Module):
    """Three DW-Corr response maps (one shared or three per-level matching modules) -> scale
    attention -> one shared cls / regression head."""

    def __init__(self, levels: int, in_channels: int, hidden: int, bias_init: float,
                 shared_corr: bool = True):
        super().__init__()
        self.levels = levels
        self.corr = nn.ModuleList(DWCorr(in_channels, hidden)
                                  for _ in range(1 if shared_corr else levels))
        self.attention = ScaleAttention(levels, hidden, bias_init)
        self.cls = _branch(hidden, 2)
        self.loc = _branch(hidden, 4)

    def init_special(self):
        for branch in (self.cls, self.loc):
            nn.init.normal_(branch[-1].weight, std=0.01)
            nn.init.zeros_(branch[-1].bias)

    def _corr(self, level: int) -> DWCorr:
        return self.corr[level if len(self.corr) > 1 else 0]

    def kernels(self, zs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        return tuple(self._corr(i).kernel(z) for i, z in enumerate(zs))

    def forward(self, kernels, xs):
        maps = [self._corr(i)(k, x) for i, (k, x) in enumerate(zip(kernels, xs))]
        fused, w = self.attention(maps)
        return self.cls(fused), self.loc(fused), w


class ResultFusionHead(nn.Module):
    """SiamBAN-style ablation: per-level cls / regression DW-Corr heads, results fused with
    softmax-normalised learned weights (``heads.MultiRPN`` with one prediction per point)."""

    def __init__(self, levels: int, in_channels: int, hidden: int):
        super().__init__()
        self.rpn = MultiRPN(levels, in_channels, hidden, 1)

    def init_special(self):
        self.rpn.init_special()

    def kernels(self, zs):
        return self.rpn.kernels(zs)

    def forward(self, kernels, xs):
        cls, loc = self.rpn(kernels, xs)
        return cls, loc, None


# ---------------------------------------------------------------------------------------------
# IBFP


class Branch(nn.Module):
    """``n`` 3x3 convs: n-1 conv+BN+ReLU at ``hidden`` channels, then a conv to ``out``."""

    def __init__(self, cin: int, hidden: int, out: int, n: int):
        super().__init__()
        layers: List[nn.Module] = []
        c = cin
        for _ in range(n - 1):
            layers.append(conv_bn_relu(c, hidden, 3))
            c = hidden
        self.tower = nn.Sequential(*layers)
        self.out = nn.Conv2d(c, out, 3, padding=1)

    def forward(self, x):
        return self.out(self.tower(x))

