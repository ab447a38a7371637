"""Cost measurements of a network: parameters and GFLOPs per frame.

GFLOPs are counted with ``torch.utils.flop_counter.FlopCounterMode`` on one search crop against
cached template kernels (the per-frame work), 1 multiply-add = 2 FLOPs (convolutions, matmuls;
element-wise ops are not counted). Any family's network works (``template_kernels`` /
``track_with_kernels`` and a ``cfg`` with the crop sizes).
"""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode


def count_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def _inputs(net, device="cpu"):
    cfg = net.cfg
    g = torch.Generator().manual_seed(0)
    z = torch.rand(1, 3, cfg.exemplar_size, cfg.exemplar_size, generator=g) * 255
    x = torch.rand(1, 3, cfg.instance_size, cfg.instance_size, generator=g) * 255
    return z.to(device), x.to(device)


@torch.no_grad()
def count_gflops(net) -> float:
    """GFLOPs of one ``track`` call (template kernels cached)."""
    was = net.training
    net.eval()
    z, x = _inputs(net, next(net.parameters()).device)
    kernels = net.template_kernels(z)
    counter = FlopCounterMode(display=False)
    with counter:
        net.track_with_kernels(x, *kernels)
    net.train(was)
    return counter.get_total_flops() / 1e9
