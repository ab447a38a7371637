"""Cost measurements of a network: parameters, GFLOPs and per-frame inference time.

GFLOPs are counted with ``torch.utils.flop_counter.FlopCounterMode`` on one search crop against
cached template kernels (the per-frame work), 1 multiply-add = 2 FLOPs (convolutions, matmuls;
element-wise ops are not counted).
"""

from __future__ import annotations

import statistics
import time
from typing import Dict

import torch
from torch.utils.flop_counter import FlopCounterMode

from .network import FGSGTNet


def count_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def _inputs(net: FGSGTNet, device="cpu"):
    cfg = net.cfg
    g = torch.Generator().manual_seed(0)
    z = torch.rand(1, 3, cfg.exemplar_size, cfg.exemplar_size, generator=g) * 255
    x = torch.rand(1, 3, cfg.instance_size, cfg.instance_size, generator=g) * 255
    return z.to(device), x.to(device)


@torch.no_grad()
def count_gflops(net: FGSGTNet) -> float:
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


@torch.no_grad()
def time_track(net: FGSGTNet, repeats: int = 20, warmup: int = 3) -> Dict[str, float]:
    """Wall-clock ms of ``track`` per frame (template cached): median, min and mean."""
    net.eval()
    device = next(net.parameters()).device
    z, x = _inputs(net, device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    net.template(z)
    for _ in range(warmup):
        net.track(x)
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        net.track(x)
        sync()
        times.append((time.perf_counter() - t0) * 1000.0)
    return {"median_ms": statistics.median(times), "min_ms": min(times),
            "mean_ms": statistics.fmean(times)}
