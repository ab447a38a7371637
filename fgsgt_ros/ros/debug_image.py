"""The node's ``debug_image``: the frame after AGC with the box, score and state drawn (bgr8).

Kept beside the node, outside ``TrackingSession``: drawing is display, not tracking."""

from __future__ import annotations

from typing import Optional

import numpy as np

_STATE_COLOURS = {"TRACKING": (0, 220, 0), "LOST": (0, 0, 255), "IDLE": (200, 200, 200)}


def draw_debug(image: np.ndarray, box_xywh: Optional[np.ndarray], score: float,
               state: str, temperature=None, extra: str = "") -> np.ndarray:
    """The AGC frame with the box (None: none drawn), score and state drawn (bgr8), for rviz;
    with a ``TargetTemperature`` its hottest and background readings in degrees Celsius beside
    the box."""
    import cv2

    out = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    colour = _STATE_COLOURS.get(state, (255, 255, 0))
    scale = max(0.35, min(out.shape[:2]) / 480.0)
    thick = max(1, int(round(scale * 2)))
    if box_xywh is not None and np.isfinite(box_xywh).all():
        x, y, w, h = box_xywh
        cv2.rectangle(out, (int(round(x)), int(round(y))), (int(round(x + w)), int(round(y + h))),
                      colour, thick)
    if temperature is not None and box_xywh is not None and np.isfinite(box_xywh).all():
        x, y, w, h = box_xywh
        text = f"{temperature.hottest_c:.1f}C"
        if np.isfinite(temperature.background_k):
            text += f" (bg {temperature.background_c:.1f}C)"
        size = 0.4 * scale
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, 1)
        tx = int(min(max(0, round(x)), max(0, out.shape[1] - tw)))
        ty = int(round(y + h)) + th + 3
        if ty > out.shape[0] - 2:  # no room below the box: above it
            ty = max(th + 1, int(round(y)) - 3)
        cv2.putText(out, text, (tx, ty), cv2.FONT_HERSHEY_SIMPLEX, size, colour, 1, cv2.LINE_AA)
    label = f"{state} {score:.2f}" + (f" {extra}" if extra else "")
    cv2.putText(out, label, (4, int(16 * scale + 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale,
                colour, thick, cv2.LINE_AA)
    return out
