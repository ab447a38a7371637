"""The node's ``debug_image``: the frame after AGC with the box, score and state drawn (bgr8).

Kept beside the node, outside ``TrackingSession``: drawing is display, not tracking."""

from __future__ import annotations

from typing import Optional

import numpy as np

_STATE_COLOURS = {"TRACKING": (0, 220, 0), "LOST": (0, 0, 255), "IDLE": (200, 200, 200)}


def draw_debug(image: np.ndarray, box_xywh: Optional[np.ndarray], score: float,
               state: str, extra: str = "") -> np.ndarray:
    """The AGC frame with the box (None: none drawn), score and state drawn (bgr8), for rviz."""
    import cv2

    out = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    colour = _STATE_COLOURS.get(state, (255, 255, 0))
    scale = max(0.35, min(out.shape[:2]) / 480.0)
    thick = max(1, int(round(scale * 2)))
    if box_xywh is not None and np.isfinite(box_xywh).all():
        x, y, w, h = box_xywh
        cv2.rectangle(out, (int(round(x)), int(round(y))), (int(round(x + w)), int(round(y + h))),
                      colour, thick)
    label = f"{state} {score:.2f}" + (f" {extra}" if extra else "")
    cv2.putText(out, label, (4, int(16 * scale + 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale,
                colour, thick, cv2.LINE_AA)
    return out
