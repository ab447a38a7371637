"""MMNet's backbone: SiamFC's AlexNet without any padding (total stride 8); conv1 (stride 2) +
max-pool, conv2 + max-pool, conv3, conv4, conv5; BatchNorm + ReLU after conv1-4, conv5 linear.
Widths, kernels and groups from ``MMNetBackboneConfig`` (``families/mmnet.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Tuple

import torch
import torch.nn as nn

if TYPE_CHECKING:
    from ..families.mmnet import MMNetBackboneConfig


class AlexNetNoPad(nn.Module):
    """SiamFC's AlexNet (no padding anywhere); ``forward`` -> (conv3, conv5) features."""

    def __init__(self, cfg: MMNetBackboneConfig):
        super().__init__()
        c, k, g = cfg.channels, cfg.kernels, cfg.groups

        def block(cin, cout, ks, groups, stride=1):
            return nn.Sequential(nn.Conv2d(cin, cout, ks, stride=stride, groups=groups, bias=False),
                                 nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

        self.conv1 = block(3, c[0], k[0], g[0], stride=2)
        self.pool1 = nn.MaxPool2d(3, 2)
        self.conv2 = block(c[0], c[1], k[1], g[1])
        self.pool2 = nn.MaxPool2d(3, 2)
        self.conv3 = block(c[1], c[2], k[2], g[2])
        self.conv4 = block(c[2], c[3], k[3], g[3])
        self.conv5 = nn.Conv2d(c[3], c[4], k[4], groups=g[4])

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        x = (x - 128.0) / 64.0                         # 0..255 grey -> about unit range
        x = self.pool1(self.conv1(x))
        x = self.pool2(self.conv2(x))
        f3 = self.conv3(x)
        f5 = self.conv5(self.conv4(f3))
        return f3, f5

