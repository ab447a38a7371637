"""FGPCB (fine-grained feature parallel learning convolutional block, Eq. 1-4) and the
multi-layer fine-grained bilinear fusion (Eq. 5-6).

Every "C" of the paper is conv + BatchNorm + LeakyReLU(0.25) (Eq. 1). In Conv4 the SiamRPN++
modification keeps stride 8, so the max-pool M of Eq. 2 is the identity and the 3x3/1x3/3x1 convs
are dilated by 2 (like the Conv4 bottlenecks they replace).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvBNLReLU(nn.Sequential):
    """C(.) of Eq. 1: conv -> BN -> LeakyReLU(negative_slope)."""

    def __init__(self, cin, cout, kernel, dilation=1, negative_slope=0.25):
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        dh = dilation if kh > 1 else 1
        dw = dilation if kw > 1 else 1
        super().__init__(
            nn.Conv2d(cin, cout, (kh, kw), padding=(dh * (kh // 2), dw * (kw // 2)),
                      dilation=(dh, dw), bias=False),
            nn.BatchNorm2d(cout),
            nn.LeakyReLU(negative_slope, inplace=False),
        )


class FGPCB(nn.Module):
    """One FGPCB block (Eq. 2 when ``first`` else Eq. 3/4).

    first:  X = M(C3x1(C1x3(Cat(C1x1(F), C3x3(F))))) + C3x3_res(F)      (M = identity here)
    later:  Y = C3x1(C1x3(C1x1(X) + C3x3(X))) + X
    The dual streams give ``width`` channels each; C3x1 restores ``out_channels`` so the block
    slots into the ResNet stage in place of a bottleneck.
    """

    def __init__(self, in_channels, width, out_channels, first, dilation=2, negative_slope=0.25):
        super().__init__()
        self.first = first
        ns = negative_slope
        self.stream_1x1 = ConvBNLReLU(in_channels, width, 1, negative_slope=ns)
        self.stream_3x3 = ConvBNLReLU(in_channels, width, 3, dilation, ns)
        mid = 2 * width if first else width  # concatenation (first) vs addition (later)
        self.conv_1x3 = ConvBNLReLU(mid, width, (1, 3), dilation, ns)
        self.conv_3x1 = ConvBNLReLU(width, out_channels, (3, 1), dilation, ns)
        if first:
            # Eq. 2 residual: a 3x3 conv projection keeps the dimensions consistent.
            self.residual = ConvBNLReLU(in_channels, out_channels, 3, 1, ns)
        elif in_channels != out_channels:
            raise ValueError("later FGPCB blocks use an identity residual (Eq. 3-4)")

    def forward(self, f):
        a, b = self.stream_1x1(f), self.stream_3x3(f)
        mixed = torch.cat([a, b], 1) if self.first else a + b
        out = self.conv_3x1(self.conv_1x3(mixed))
        return out + (self.residual(f) if self.first else f)


def _signed_sqrt_l2(m: torch.Tensor) -> torch.Tensor:
    """N(.) of Eq. 6: signed square root then L2 normalisation of each (C x C) matrix.
    The 1e-4 offset bounds the square root's gradient near zero."""
    m = torch.sign(m) * (torch.sqrt(m.abs() + 1e-4) - 1e-2)
    flat = m.flatten(1)
    flat = flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-6)
    return flat.view_as(m)


class BilinearFusion(nn.Module):
    """Multi-layer fine-grained feature fusion (Eq. 5-6), our reading (docs/ARCHITECTURE.md).

    X, Y, Z (the three FGPCB outputs) are reduced to c channels and flattened to (B, c, HW);
    beta(P, Q) = P Q^T / HW is the bilinear (outer-product) interaction, giving (B, c, c);
    O = softmax_rows(t * (N(beta(X,Y)) + N(beta(X,Z)) + N(beta(Y,Z))))  (Eq. 5-6, t learned)
    O is a channel-affinity matrix applied to Z (keeps the spatial map), followed by the
    "fully connected layer" (a 1x1 conv, i.e. an FC per position) back to Z's channels:
    Z' = Z + gamma * FC(O @ Z_c), gamma a learned gate.
    """

    def __init__(self, channels, reduced, gate_init=0.1):
        super().__init__()
        self.reduce_x = nn.Conv2d(channels, reduced, 1)
        self.reduce_y = nn.Conv2d(channels, reduced, 1)
        self.reduce_z = nn.Conv2d(channels, reduced, 1)
        self.fc = nn.Sequential(nn.Conv2d(reduced, channels, 1, bias=False),
                                nn.BatchNorm2d(channels))
        self.gamma = nn.Parameter(torch.tensor(float(gate_init)))
        # Learned softmax temperature: the normalised entries are ~1/c, so without a scale the
        # row softmax would be nearly uniform. Starts at c (log-parameterised to stay positive).
        self.log_scale = nn.Parameter(torch.tensor(float(reduced)).log())

    def forward(self, x, y, z):
        b, _, h, w = z.shape
        px = self.reduce_x(x).flatten(2)
        py = self.reduce_y(y).flatten(2)
        pz = self.reduce_z(z).flatten(2)
        hw = float(h * w)

        def beta(p, q):
            return torch.bmm(p, q.transpose(1, 2)) / hw

        o = _signed_sqrt_l2(beta(px, py)) + _signed_sqrt_l2(beta(px, pz)) + \
            _signed_sqrt_l2(beta(py, pz))
        o = F.softmax(o * self.log_scale.exp(), dim=-1)
        att = torch.bmm(o, pz).view(b, -1, h, w)
        return z + self.gamma * self.fc(att)


class FGPCBRefinement(nn.Module):
    """FGPCB on a pretrained backbone: the three blocks (Eq. 2-4) and the bilinear fusion
    (Eq. 5-6) as a residual branch on the backbone's last map, F' = F + g * Z'(F). A pretrained
    backbone's own blocks cannot be replaced by untrained ones without losing what they learned,
    so the blocks are added after them; the gate g starts small so the pretrained map passes
    almost unchanged at the start of training (docs/ARCHITECTURE.md)."""

    def __init__(self, channels, width, num_blocks=3, fusion=True, fusion_channels=16,
                 fusion_gate_init=0.1, gate_init=0.1, negative_slope=0.25):
        super().__init__()
        self.blocks = nn.ModuleList(
            FGPCB(channels, width, channels, first=(i == 0), dilation=1,
                  negative_slope=negative_slope) for i in range(num_blocks))
        self.fusion = None
        if fusion:
            if num_blocks != 3:
                raise ValueError("the bilinear fusion (Eq. 5-6) needs exactly three FGPCB outputs")
            self.fusion = BilinearFusion(channels, fusion_channels, fusion_gate_init)
        self.gate = nn.Parameter(torch.tensor(float(gate_init)))

    def forward(self, f):
        h, outs = f, []
        for block in self.blocks:
            h = block(h)
            outs.append(h)
        if self.fusion is not None:
            h = self.fusion(*outs)
        return f + self.gate * h
