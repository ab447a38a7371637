"""The state of a rich scene while it is built, and its first draws (frame size, output, category,
backdrop, radiometry). Every step takes the scene's one random generator in a fixed order: the
output depends on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from fgsgt_ros.data.synth.config import CATEGORIES, SynthConfig
from fgsgt_ros.data.synth.rich.backdrop import _BACKDROPS, _Road
from fgsgt_ros.data.synth.rich.figure import _Figure


@dataclass
class _Scene:
    """A rich scene under construction. ``_choose_scene`` fills the first block; then
    ``_target_figure`` (target.py), ``_size_path``, ``_camera_path`` and ``_place_target``
    (camera.py) and ``_world_canvas`` (backdrop.py) fill theirs, in that order."""

    cfg: SynthConfig
    n: int
    W: int
    H: int
    C: np.ndarray  # frame centre (x, y)
    display: bool
    category: str
    backdrop: str
    view: str
    level: float
    std: float
    leave: bool
    cold: bool
    # target figure at frame 1: proportions, rotation, stretch, motion in figure units, size
    params: Optional[Dict[str, float]] = None
    angle: float = 0.0
    stretch: Tuple[float, float] = (1.0, 1.0)
    fig: Optional[_Figure] = None
    v_units: Optional[np.ndarray] = None
    phase: Optional[np.ndarray] = None
    moving: Optional[np.ndarray] = None
    flip: Optional[np.ndarray] = None
    side_cap: float = 0.0
    g0: float = 0.0
    scale0: float = 0.0
    bw0: float = 0.0
    bh0: float = 0.0
    # size path (depth), camera zoom, target velocity (px/frame) and world displacement
    depth: Optional[np.ndarray] = None
    zoom: Optional[np.ndarray] = None
    scale: Optional[np.ndarray] = None
    v_px: Optional[np.ndarray] = None
    disp: Optional[np.ndarray] = None
    # camera centre path (world), whether it follows the target
    follow: bool = False
    cam: Optional[np.ndarray] = None
    # placement: horizon (world y), frame-1 target position, world anchor path
    horizon: float = 0.0
    p0: Optional[np.ndarray] = None
    pos: Optional[np.ndarray] = None
    # world canvas: origin, roads, canvas (counts)
    ox: float = 0.0
    oy: float = 0.0
    short_side: float = 0.0
    roads: Optional[List[_Road]] = None
    bg: Optional[np.ndarray] = None


def _choose_scene(rng: np.random.Generator, cfg: SynthConfig, n: int) -> _Scene:
    """Frame size, raw or display output, target category, backdrop and view, radiometry, whether
    the target leaves the view and whether it is cold."""
    W, H = cfg.frame_sizes[int(rng.choice(len(cfg.frame_sizes), p=np.asarray(cfg.frame_size_probs)
                                          / np.sum(cfg.frame_size_probs)))]
    C = np.array([W / 2.0, H / 2.0])
    display = bool(rng.random() < cfg.p_display)
    category = cfg.categories[int(rng.choice(len(cfg.categories), p=np.asarray(cfg.category_probs)
                                             / np.sum(cfg.category_probs)))]
    if category not in CATEGORIES:
        raise ValueError(f"unknown target category {category!r}; valid: {', '.join(CATEGORIES)}")
    names, probs = _BACKDROPS[category]
    backdrop = names[int(rng.choice(len(names), p=np.asarray(probs)))]
    view = "top" if backdrop == "topdown" and category == "vehicle" else "side"
    if backdrop == "topdown" and category != "vehicle":
        backdrop = "field"
    level = rng.uniform(*cfg.base_level)
    std = rng.uniform(*cfg.clutter_std)
    leave = bool(rng.random() < cfg.p_leave)
    cold = bool(rng.random() < cfg.p_cold_target)
    return _Scene(cfg, n, W, H, C, display, category, backdrop, view, level, std, leave, cold)
