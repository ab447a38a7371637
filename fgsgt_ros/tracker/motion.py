"""Camera (ego-)motion between consecutive frames, so a panning or tilting camera does not push
the target out of the search region.

A thermal camera on a mast, a pan-tilt unit or a drone turns: the whole scene moves by tens of
pixels between frames, more than a small target's search region covers. ``CameraMotion`` estimates
the global translation between the previous and the current frame by phase correlation on
down-scaled copies (``cv2.phaseCorrelate`` with a Hanning window), with the target's own
neighbourhood blanked out in both so that a large moving target is not mistaken for the scene.
The tracker moves its search centre by that translation before cropping. A static camera gives a
near-zero shift (the background dominates), and a weak correlation peak (a flat sky, heavy noise)
gives no shift at all.
"""

from __future__ import annotations

from typing import Optional, Tuple

import cv2
import numpy as np


class CameraMotion:
    """Global frame-to-frame translation, in full-frame pixels.

    Args:
        max_side: frames are down-scaled so that their longer side is at most this (cost ~1 ms).
        min_response: phase-correlation peak below which the shift is taken as unreliable (0, 0).
    """

    def __init__(self, max_side: int = 256, min_response: float = 0.1) -> None:
        self.max_side = int(max_side)
        self.min_response = float(min_response)
        self._prev: Optional[np.ndarray] = None
        self._window: Optional[np.ndarray] = None
        self._scale = 1.0

    def reset(self) -> None:
        self._prev = None

    def _small(self, image: np.ndarray) -> np.ndarray:
        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        h, w = grey.shape[:2]
        self._scale = min(1.0, self.max_side / float(max(h, w)))
        if self._scale < 1.0:
            size = (max(8, int(round(w * self._scale))), max(8, int(round(h * self._scale))))
            grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        return grey.astype(np.float32)

    def _blank(self, img: np.ndarray, box_xywh) -> np.ndarray:
        """The frame with the target's neighbourhood (2x its box) set to the frame mean."""
        if box_xywh is None:
            return img
        x, y, w, h = (float(v) * self._scale for v in box_xywh)
        x0, y0 = int(max(0, x - w / 2)), int(max(0, y - h / 2))
        x1, y1 = int(min(img.shape[1], x + 1.5 * w + 1)), int(min(img.shape[0], y + 1.5 * h + 1))
        if x1 > x0 and y1 > y0:
            img = img.copy()
            img[y0:y1, x0:x1] = float(img.mean())
        return img

    def update(self, image: np.ndarray, box_xywh=None) -> Tuple[float, float]:
        """Shift (dx, dy) of the scene from the previous frame to ``image`` (full-frame pixels);
        (0, 0) for the first frame, a frame of another size, or an unreliable estimate."""
        cur = self._small(image)
        prev, self._prev = self._prev, cur
        if prev is None or prev.shape != cur.shape or min(cur.shape) < 16:
            return 0.0, 0.0
        if self._window is None or self._window.shape != cur.shape:
            self._window = cv2.createHanningWindow((cur.shape[1], cur.shape[0]), cv2.CV_32F)
        (dx, dy), response = cv2.phaseCorrelate(self._blank(prev, box_xywh),
                                                self._blank(cur, box_xywh), self._window)
        if not np.isfinite(response) or response < self.min_response or \
                not (np.isfinite(dx) and np.isfinite(dy)):
            return 0.0, 0.0
        return float(dx) / self._scale, float(dy) / self._scale
