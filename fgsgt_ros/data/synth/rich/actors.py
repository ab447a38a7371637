"""Objects of a rich scene (target, look-alikes, other objects, posts) and their radiometry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from fgsgt_ros.data.synth.rich.figure import _Figure


@dataclass
class _Actor:
    """An object of a rich scene: world anchor position (n, 2), world scale (n,) in px per figure
    unit at zoom 1, gait phase, how much it is moving (0 = standing pose), facing left, and its
    radiometry: ``ref`` (the background level it sits on) +/- ``contrast`` x emission."""

    fig: _Figure
    pos: np.ndarray
    scale: np.ndarray
    phase: np.ndarray
    moving: np.ndarray
    flip: np.ndarray
    ref: float
    contrast: float
    cold: bool
    texture: np.ndarray
    lookalike: bool = False

    def value(self, e: np.ndarray) -> np.ndarray:
        import cv2

        tex = cv2.resize(self.texture, (e.shape[1], e.shape[0]), interpolation=cv2.INTER_LINEAR)
        if self.cold:  # cooler than the background everywhere; its warm parts (engine) less so
            return self.ref - self.contrast * np.clip(1.0 - 0.5 * (e - 1.0), 0.2, 1.5) * tex
        return self.ref + self.contrast * e * tex


def _local_stats(bg: np.ndarray, x: float, y: float, r: float) -> Tuple[float, float]:
    """Median and standard deviation of the canvas in a window of radius ``r`` around (x, y)."""
    H, W = bg.shape
    r = max(4, int(r))
    x0, x1 = int(np.clip(x - r, 0, W - 1)), int(np.clip(x + r + 1, 1, W))
    y0, y1 = int(np.clip(y - r, 0, H - 1)), int(np.clip(y + r + 1, 1, H))
    win = bg[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]
    return float(np.median(win)), float(win.std())


def _boxes_overlap(a: Optional[Tuple[float, ...]], b: Optional[Tuple[float, ...]], pad: float = 2.0) -> bool:
    if a is None or b is None:
        return False
    return (a[0] < b[0] + b[2] + pad and b[0] < a[0] + a[2] + pad and a[1] < b[1] + b[3] + pad
            and b[1] < a[1] + a[3] + pad)
