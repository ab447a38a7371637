"""Layer compositing and ground truth shared by both generators: the in-memory sequence, pasting
a sprite into a frame, alpha blending with the visibility mask, and the visible-pixel box."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from fgsgt_ros.data.synth.config import MAX_COUNT


@dataclass
class SyntheticSequence:
    """A generated sequence in memory: uint16 frames and (N, 4) xywh ground truth (NaN = absent)."""

    frames: List[np.ndarray]
    boxes: np.ndarray
    info: Dict[str, object] = field(default_factory=dict)


def _blend(frame, vis, fy, fx, alpha, value, is_target: bool) -> None:
    """Alpha-blend one layer's radiance into ``frame[fy, fx]``; a target layer marks the pixels it
    covers (alpha > 0.5) as visible, an occluder layer hides them."""
    frame[fy, fx] = frame[fy, fx] * (1 - alpha) + alpha * value
    if is_target:
        vis[fy, fx] |= alpha > 0.5
    else:
        vis[fy, fx] &= ~(alpha > 0.5)


def _visible_box(vis: np.ndarray, min_pixels: float):
    """Tight [x, y, w, h] of the visible target pixels, or None when fewer than ``min_pixels``."""
    ys, xs = np.nonzero(vis)
    if not len(xs) or len(xs) < min_pixels:
        return None
    return [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()]


def _paste(canvas: np.ndarray, x0: int, y0: int, patch: np.ndarray) -> Optional[Tuple[slice, slice, slice, slice]]:
    """Slices (frame rows, frame cols, patch rows, patch cols) of a patch's overlap with canvas."""
    H, W = canvas.shape[:2]
    h, w = patch.shape[:2]
    fx0, fy0 = max(0, x0), max(0, y0)
    fx1, fy1 = min(W, x0 + w), min(H, y0 + h)
    if fx1 <= fx0 or fy1 <= fy0:
        return None
    return slice(fy0, fy1), slice(fx0, fx1), slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0)


def _finish_frame(frame: np.ndarray, vis: np.ndarray, t_area: int, min_visible_fraction: float,
                  sensor, boxes: np.ndarray, i: int) -> np.ndarray:
    """End of one frame in both generators: frame ``i``'s visible target box into ``boxes`` (left
    NaN when too little of the target shows), then the sensor model on the radiance."""
    box = _visible_box(vis, min_visible_fraction * max(1, t_area))
    if box is not None:
        boxes[i] = box
    return sensor.apply(frame, i)


def _to_counts(frame: np.ndarray) -> np.ndarray:
    """Radiance -> the 16-bit counts a frame is stored as."""
    return np.clip(np.round(frame), 0, MAX_COUNT).astype(np.uint16)
