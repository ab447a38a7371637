"""SiamFFN's model size beside the paper's Table 2 (parameters and FLOPs).

    .venv/bin/python bench/bench_siamffn.py

The paper's "Flops (G)" for SiamRPN++ (59.56) is what counting multiply-adds of one full forward
pass (template 127 px + search 255 px) gives, so the table shows that convention ("GMACs
z+x") beside the project's own per-frame figure (`fgsgt_ros.model.profile.count_gflops`: one
search crop against cached template kernels, 1 MAC = 2 FLOPs, as in docs/BENCHMARKS.md).
Counted with ``torch.utils.flop_counter`` (convolutions and matmuls; element-wise ops excluded).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fgsgt_ros.model.profile import count_gflops, count_params  # noqa: E402
from fgsgt_ros.model.registry import build_model, get_preset  # noqa: E402

#: (our preset, the paper's Table 2 row, its params in M, its "Flops (G)")
ROWS = (
    ("siamffn_r50", "SiamFFN", 47.64, 57.02),
    ("siamffn_r50_rf", "SiamBAN", 53.9, 59.59),
    ("siamrpnpp_r50", "SiamRPN++", 53.95, 59.56),
    ("siamffn_tiny", "-", None, None),
    ("siamffn_tiny_rf", "-", None, None),
    ("siamrpnpp_tiny", "-", None, None),
    ("fgsgt_tiny", "-", None, None),
)


@torch.no_grad()
def full_forward_gmacs(net) -> float:
    """Multiply-adds (G) of template branch + search branch at the preset's input sizes."""
    cfg = net.cfg
    z = torch.rand(1, 3, cfg.exemplar_size, cfg.exemplar_size) * 255
    x = torch.rand(1, 3, cfg.instance_size, cfg.instance_size) * 255
    counter = FlopCounterMode(display=False)
    with counter:
        kernels = net.template_kernels(z)
        net.track_with_kernels(x, *kernels)
    return counter.get_total_flops() / 2e9


def main() -> int:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    lines = ["| preset | paper row | params (M) | paper params (M) | GMACs z+x | paper Flops (G) "
             "| GFLOPs/frame (track) |", "|---|---|---|---|---|---|---|"]
    for name, row, p_params, p_flops in ROWS:
        net = build_model(get_preset(name)).eval()
        params = count_params(net) / 1e6
        macs = full_forward_gmacs(net)
        gflops = count_gflops(net)
        fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
        lines.append(f"| {name} | {row} | {params:.2f} | {fmt(p_params)} | {macs:.2f} | "
                     f"{fmt(p_flops)} | {gflops:.2f} |")
        del net
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
