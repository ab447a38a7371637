"""RRSPN: residual refinement saliency prediction network (Fig. 1(c), Eq. 7-10, Algorithm 1).

Runs on the search branch's backbone features F1..F5 (conv1, layer1, layer2, layer3, layer4):
  F_low  = f_conv(Cat(F1, up(F2), up(F3)))                                    (Eq. 7)
  F_high = f_conv(Cat(F4, F5))                                                (Eq. 8)
  S_0    = P(F_high)                                         initial coarse saliency (Eq. 9)
  S_i    = S_{i-1} + Phi_i(Cat(S_{i-1}, F)),  F = F_low (odd i) / F_high (even i)  (Eq. 10, Alg. 1)
All S_i are logits at F1's resolution (conv1: 125x125 for a 255 crop), the output is S_N.

f_conv is three conv layers with PReLU (paper). Its first layer is a 1x1 conv on the concatenation;
because bilinear up-sampling and a 1x1 conv are both linear and commute (interpolation weights sum
to one), we apply a 1x1 conv to each input at its own resolution and sum after up-sampling: the
same function as 1x1(Cat(...)) at a fraction of the cost. Phi_i runs at the resolution of its F
(an SRRB on F_high works on S_{i-1} resized to F_high's size) and its residue is resized back.
"""

from __future__ import annotations

from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


def _resize(t: torch.Tensor, size) -> torch.Tensor:
    """Bilinear resize (align_corners=False) to ``size``; a no-op when the size already matches."""
    if tuple(t.shape[-2:]) == tuple(size):
        return t
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False)


class ConvBNPReLU(nn.Sequential):
    def __init__(self, cin, cout, kernel=3):
        super().__init__(nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(cout), nn.PReLU(cout))


class FConv(nn.Module):
    """f_conv of Eq. 7-8: 1x1 conv on Cat(inputs) (applied per input, then summed at the first
    input's resolution) -> BN -> PReLU -> two 3x3 conv+BN+PReLU."""

    def __init__(self, in_channels: Sequence[int], channels: int):
        super().__init__()
        self.proj = nn.ModuleList(nn.Conv2d(c, channels, 1, bias=(i == 0))
                                  for i, c in enumerate(in_channels))
        self.post = nn.Sequential(nn.BatchNorm2d(channels), nn.PReLU(channels))
        self.convs = nn.Sequential(ConvBNPReLU(channels, channels), ConvBNPReLU(channels, channels))

    def forward(self, feats: Sequence[torch.Tensor], size=None) -> torch.Tensor:
        size = feats[0].shape[-2:] if size is None else size
        h = None
        for proj, f in zip(self.proj, feats):
            p = _resize(proj(f), size)
            h = p if h is None else h + p
        return self.convs(self.post(h))


class SRRB(nn.Module):
    """Siamese residual refinement block (Eq. 10): residue = Phi(Cat(S_{i-1}, F)), S_i = S_{i-1} +
    residue. Phi = 3x3 conv+BN+PReLU, 3x3 conv+BN+PReLU, 3x3 conv to one channel."""

    def __init__(self, channels: int):
        super().__init__()
        self.phi = nn.Sequential(ConvBNPReLU(channels + 1, channels),
                                 ConvBNPReLU(channels, channels),
                                 nn.Conv2d(channels, 1, 3, padding=1))

    def forward(self, s_prev: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        s_at_f = _resize(s_prev, feat.shape[-2:])
        residue = self.phi(torch.cat([s_at_f, feat], 1))
        return s_prev + _resize(residue, s_prev.shape[-2:])


class RRSPN(nn.Module):
    """The saliency branch; ``forward(F1..F5) -> [S_0, ..., S_N]`` logits at F1's resolution
    (``low_level='conv1'``, the paper) or F2's / F3's (``'conv2'`` / ``'conv3'``, cheaper variants
    for the small models: the finer maps are then bilinearly down-sampled)."""

    def __init__(self, feature_channels: Sequence[int], channels: int, num_srrb: int,
                 low_level: str = "conv1", prior_prob: float = 0.05):
        super().__init__()
        self.low_index = {"conv1": 0, "conv2": 1, "conv3": 2}[low_level]
        c1, c2, c3, c4, c5 = feature_channels
        self.low = FConv([c1, c2, c3], channels)
        self.high = FConv([c4, c5], channels)
        self.predict_s0 = nn.Sequential(ConvBNPReLU(channels, channels),
                                        nn.Conv2d(channels, 1, 3, padding=1))
        self.srrbs = nn.ModuleList(SRRB(channels) for _ in range(num_srrb))
        self.prior_prob = prior_prob
        self.init_special()

    def init_special(self):
        """Called after the network-wide init. S_0 starts at a small target prior so the first
        BCE steps are not dominated by the (mostly background) pixels; residues start near zero
        so every S_i starts close to S_0."""
        prior_logit = float(torch.logit(torch.tensor(self.prior_prob)))
        nn.init.constant_(self.predict_s0[-1].bias, prior_logit)
        for block in self.srrbs:
            nn.init.normal_(block.phi[-1].weight, std=1e-3)
            nn.init.zeros_(block.phi[-1].bias)

    def forward(self, f1, f2, f3, f4, f5) -> List[torch.Tensor]:
        f_low = self.low([f1, f2, f3], size=(f1, f2, f3)[self.low_index].shape[-2:])
        f_high = self.high([f4, f5])
        s = _resize(self.predict_s0(f_high), f_low.shape[-2:])
        maps = [s]
        for i, block in enumerate(self.srrbs, start=1):
            s = block(s, f_low if i % 2 == 1 else f_high)
            maps.append(s)
        return maps
