"""Necks: what sits between a backbone and the correlation heads.

- ``Neck`` (SiamRPN++, FGSGT and SiamFFN): 1x1 conv + BN per level (F3, F4, F5 ->
  ``neck_channels``); the template map is centre-cropped (15x15 -> 7x7 at 127 px) to drop the
  padding-dominated border.
- IBFP's feature pyramid (``families/ibfp.py``): ``IBU`` (instance-based up-sampling, Eq. 3-5)
  and ``CSCS`` (compressed-space channel selection, Eq. 6-8), with the same-size depth-wise
  correlation ``dw_corr_same`` and ``center_crop`` they use.
"""

from __future__ import annotations

from typing import List, Sequence

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


def dw_corr_same(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Depth-wise correlation of (B, C, k, k) kernels (k odd) over (B, C, H, W), zero-padded to
    keep H x W, averaged over the kernel taps."""
    b, c, h, w = x.shape
    kh, kw = kernel.shape[-2:]
    out = F.conv2d(x.reshape(1, b * c, h, w), kernel.reshape(b * c, 1, kh, kw),
                   padding=(kh // 2, kw // 2), groups=b * c)
    return out.reshape(b, c, h, w) / float(kh * kw)


def center_crop(f: torch.Tensor, k: int) -> torch.Tensor:
    n = f.shape[-1]
    if k >= n:
        return f
    lo = (n - k) // 2
    return f[:, :, lo:lo + k, lo:lo + k]


def conv_bn_relu(cin, cout, k):
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class CSCS(nn.Module):
    """Compressed-space channel selection (Eq. 6-8): re-weights the template feature's channels
    from the search feature's pooled statistics. ``G_z = expand(W * compress(F_z)) + F_z``."""

    def __init__(self, channels: int, ratio: float):
        super().__init__()
        d = max(1, int(round(channels * ratio)))
        self.fc_avg = nn.Conv2d(channels, d, 1)
        self.fc_max = nn.Conv2d(channels, d, 1)
        self.compress = nn.Conv2d(channels, d, 1)
        self.expand = nn.Conv2d(d, channels, 1)

    def init_special(self):
        # start close to the identity (G_z ~ F_z) so the pyramid trains first; small, not zero,
        # so every parameter receives a gradient from the first step
        nn.init.normal_(self.expand.weight, std=0.01)

    def forward(self, fz: torch.Tensor, ux: torch.Tensor) -> torch.Tensor:
        w = self.fc_avg(ux.mean(dim=(2, 3), keepdim=True)) + \
            self.fc_max(ux.amax(dim=(2, 3), keepdim=True))
        return self.expand(w * self.compress(fz)) + fz


class IBU(nn.Module):
    """Instance-based up-sampling (Eq. 3-5): deep search feature U (+ its correlation with the
    cropped template T) up-sampled x2 and fused with the shallow search feature."""

    def __init__(self, c_deep: int, c_shallow: int, output_padding: int):
        super().__init__()
        self.reduce = conv_bn_relu(2 * c_deep, c_deep, 1)          # halves concat(R, U)
        self.up = nn.Sequential(
            nn.ConvTranspose2d(c_deep, c_shallow, 3, stride=2, padding=1,
                               output_padding=output_padding, bias=False),
            nn.BatchNorm2d(c_shallow), nn.ReLU(inplace=True))
        self.fuse = conv_bn_relu(2 * c_shallow, c_shallow, 3)

    def forward(self, t: torch.Tensor, u: torch.Tensor, shallow: torch.Tensor) -> torch.Tensor:
        r = dw_corr_same(u, t)                                           # Eq. 3
        v = self.up(self.reduce(torch.cat([r, u], dim=1)))               # Eq. 4
        return self.fuse(torch.cat([v, shallow], dim=1))                 # Eq. 5

