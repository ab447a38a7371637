"""Camera and motion of a rich scene: the target's size path (depth), zoom, world displacement,
the pan/tilt path (optionally following the target, with shake) and the frame-1 placement."""

from __future__ import annotations

import math
from typing import Tuple

import numpy as np

from fgsgt_ros.data.synth.rich.setup import _Scene
from fgsgt_ros.data.synth.textures import _smooth_path


def _size_path(rng: np.random.Generator, s: _Scene) -> None:
    """Size path (depth changes), camera zoom, the target's velocity in px and its displacement."""
    cfg, n, W, H, category = s.cfg, s.n, s.W, s.H, s.category
    k_way = max(2, n // int(rng.integers(15, 40)) + 2)
    log_scale = np.concatenate([[0.0], rng.uniform(-1, 1, k_way - 1) * math.log(cfg.max_scale_change)])
    depth = np.exp(_smooth_path(rng, n, log_scale[:, None], sigma=3.0)[:, 0])
    depth /= depth[0]  # frame 1 has the fitted size
    zoom = np.ones(n)
    if rng.random() < cfg.p_zoom:
        kz = max(2, n // 40 + 2)
        lz = np.concatenate([[0.0], rng.uniform(-1, 1, kz - 1) * math.log(cfg.max_zoom_change)])
        zoom = np.exp(_smooth_path(rng, n, lz[:, None], sigma=4.0)[:, 0])
        zoom /= zoom[0]
    # keep the target's on-screen size within [min_side, 1.5 x cap]
    g_t = s.g0 * depth * zoom
    depth = depth * np.clip(g_t, cfg.min_side, 1.5 * s.side_cap) / g_t
    scale = s.scale0 * depth
    min_px = rng.uniform(0.1, 0.8)  # small targets still move a little on screen
    v_px = s.v_units * scale[:, None]
    nominal = float(np.median(np.hypot(v_px[:, 0], v_px[:, 1])))
    if category in ("person", "animal", "vehicle") and 0 < nominal < min_px:
        v_px *= min_px / nominal
    disp = np.concatenate([np.zeros((1, 2)), np.cumsum(v_px, axis=0)[:-1]], axis=0)
    span_cap = 1.5 * max(W, H)
    rng_span = float(np.max(disp.max(0) - disp.min(0)))
    if rng_span > span_cap:
        disp *= span_cap / rng_span
    s.depth, s.zoom, s.scale, s.v_px, s.disp = depth, zoom, scale, v_px, disp


def _camera_path(rng: np.random.Generator, s: _Scene) -> None:
    """Camera centre in the world per frame: pan/tilt path, optional following of the target, shake."""
    cfg, n, W, H, C, disp = s.cfg, s.n, s.W, s.H, s.C, s.disp
    follow = bool(rng.random() < cfg.p_follow)
    amp = rng.uniform(*cfg.camera_motion)
    k_cam = max(2, n // 30 + 2)
    pan = _smooth_path(rng, n, np.stack([rng.uniform(-amp * W, amp * W, k_cam),
                                         rng.uniform(-amp * H, amp * H, k_cam)], 1), sigma=4.0)
    pan -= pan[0]
    cam = C[None, :] + pan
    if follow:
        gain = rng.uniform(0.8, 1.0)
        lag = _smooth_path(rng, n, disp, sigma=rng.uniform(1.5, 5.0)) if n > 3 else disp
        cam = cam + (lag - lag[0]) * gain
    shake = rng.standard_normal((n, 2)) * rng.uniform(0.0, 0.8)  # mount/gimbal jitter
    cam = cam + shake - shake[0]
    s.follow, s.cam = follow, cam


def _horizon_and_band(rng: np.random.Generator, s: _Scene, margin: np.ndarray) -> Tuple[float, float, float]:
    """Horizon (frame-1 y) and the band of frame-1 y the target may start in: on the ground for
    walkers and side-view vehicles, in the sky for flyers."""
    H, category, backdrop, view, bh0 = s.H, s.category, s.backdrop, s.view, s.bh0
    if category in ("drone", "bird"):
        hz_frac = rng.uniform(0.55, 1.4) if backdrop == "sky" else rng.uniform(0.3, 0.7)
    elif backdrop in ("street",):
        hz_frac = rng.uniform(0.12, 0.5)
    else:
        hz_frac = rng.uniform(-0.2, 0.4)
    horizon = hz_frac * H
    lo_y, hi_y = margin[1], H - margin[1]
    if category in ("person", "animal") or (category == "vehicle" and view == "side"):
        lo_y = min(max(lo_y, horizon + 0.1 * bh0), hi_y)  # standing on the ground
    elif category in ("drone", "bird"):
        hi_y = max(min(hi_y, horizon - margin[1]), lo_y)  # in the sky
    return horizon, lo_y, hi_y


def _place_target(rng: np.random.Generator, s: _Scene) -> None:
    """Frame-1 position; outside "leave" sequences the path is fitted into the view (slowing the
    target down where it is too long). Sets the horizon, ``p0`` and the world path ``pos``."""
    W, H, C, leave, follow = s.W, s.H, s.C, s.leave, s.follow
    zoom, disp, cam = s.zoom, s.disp, s.cam
    margin = np.array([s.bw0 / 2 + 2, s.bh0 / 2 + 2])

    def on_screen(p0: np.ndarray) -> np.ndarray:
        return zoom[:, None] * (p0[None, :] + disp - cam) + C[None, :]

    horizon, lo_y, hi_y = _horizon_and_band(rng, s, margin)
    if follow:
        p0 = np.array([rng.uniform(0.3 * W, 0.7 * W), rng.uniform(lo_y, hi_y)])
        p0 = np.clip(p0, margin, np.array([W, H]) - margin)
    else:
        rel = on_screen(C) - C[None, :]
        lo = np.array([margin[0], lo_y]) - rel.min(0)
        hi = np.array([W - margin[0], hi_y]) - rel.max(0)
        if not leave and np.any(lo > hi):  # too long a path for the view: slow the target down
            factor = float(np.min(np.where(lo > hi, (np.array([W, hi_y - lo_y + 2 * margin[1]]) - 2 * margin)
                                           / np.maximum(rel.max(0) - rel.min(0), 1e-6), 1.0)))
            disp *= max(0.05, factor * 0.95)
            rel = on_screen(C) - C[None, :]
            lo = np.array([margin[0], lo_y]) - rel.min(0)
            hi = np.array([W - margin[0], hi_y]) - rel.max(0)
        if leave:
            lo, hi = np.array([margin[0], lo_y]), np.array([W - margin[0], hi_y])
        p0 = np.array([rng.uniform(min(lo[0], hi[0]), max(lo[0], hi[0])),
                       rng.uniform(min(lo[1], hi[1]), max(lo[1], hi[1]))])
        p0 = np.clip(p0, margin, np.array([W, H]) - margin)
    s.horizon, s.p0 = horizon, p0
    s.pos = p0[None, :] + disp  # world = frame-1 coordinates
