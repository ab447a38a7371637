"""The target of a rich scene: its figure, motion, aspect ratio and size at frame 1."""

from __future__ import annotations

import math

import numpy as np

from fgsgt_ros.data.synth.rich.figure import _Figure, _fit_scale, _render_figure, _tight_box
from fgsgt_ros.data.synth.rich.motion import _rich_motion
from fgsgt_ros.data.synth.rich.parts import _figure_params
from fgsgt_ros.data.synth.rich.setup import _Scene


def _target_figure(rng: np.random.Generator, s: _Scene) -> None:
    """Figure, motion (figure units), aspect (stretched into the configured range) and the scale
    at which frame 1 has the drawn size; sets the target fields of ``s``."""
    cfg, n, W, H, category, view = s.cfg, s.n, s.W, s.H, s.category, s.view
    params = _figure_params(rng, category, view)
    angle = float(rng.choice([0.0, 90.0, 180.0, 270.0])) if view == "top" else 0.0
    fig = _Figure(category, params, angle)
    v_units, phase, moving, flip = _rich_motion(rng, category, fig, n, s.leave)
    _, _, a_nat, _ = _render_figure(fig, 0.0, 0.0, 80.0 / max(fig.extent[1] - fig.extent[0],
                                                               fig.extent[3] - fig.extent[2]),
                                    float(phase[0]), float(moving[0]), bool(flip[0]))
    nb = _tight_box(a_nat, 0, 0)
    natural = nb[2] / nb[3] if nb is not None else 1.0
    want = float(np.clip(natural * math.exp(rng.uniform(-0.12, 0.12)), *cfg.target_aspect))
    stretch = (math.sqrt(want / natural), 1.0 / math.sqrt(want / natural))
    fig = _Figure(category, params, angle, stretch)
    side_cap = min(cfg.max_side, 0.45 * min(W, H))
    if category in ("drone", "bird"):
        side_cap = min(side_cap, 64.0)  # flying targets are seen from afar
    g_lo = min(cfg.target_size[0], side_cap)
    g0 = math.exp(rng.uniform(math.log(g_lo), math.log(max(g_lo, min(cfg.target_size[1], side_cap)))))
    scale0 = _fit_scale(fig, g0, side_cap, float(phase[0]), float(moving[0]), bool(flip[0]), cfg.min_side,
                        (cfg.target_aspect[0] / 1.2, cfg.target_aspect[1] * 1.2))
    _, _, a0, _ = _render_figure(fig, 0.0, 0.0, scale0, float(phase[0]), float(moving[0]), bool(flip[0]))
    b0 = _tight_box(a0, 0, 0) or (0.0, 0.0, g0, g0)
    s.params, s.angle, s.stretch, s.fig = params, angle, stretch, fig
    s.v_units, s.phase, s.moving, s.flip = v_units, phase, moving, flip
    s.side_cap, s.g0, s.scale0, s.bw0, s.bh0 = side_cap, g0, scale0, b0[2], b0[3]
