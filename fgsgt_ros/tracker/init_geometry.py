"""Where a new target is, from what an init request says (no ROS): a box as centre and size (a
detector's ``Detection2D``, the ``init_target`` service) or, when its size is zero, a point (a
click), whose box is the thermal blob there (``fgsgt_ros.tracker.click``).

Two steps, because between them the caller picks the frame the request means (the ROS node: the
buffered frame with the request's stamp, or the latest one):

    point = check_request(cx, cy, w, h)                  # InvalidBoxError: unusable numbers
    xywh, how = target_box(frame, cx, cy, w, h, click_cfg)  # InvalidBoxError / ClickError

``target_box`` clips the box to the frame and wants at least ``MIN_INSIDE`` pixels of it inside
(a sliver at the border is no target to track); ``how`` describes a point's blob for the log
('' for a box).
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from fgsgt_ros.tracker.base import InvalidBoxError, check_box_values, validate_box
from fgsgt_ros.tracker.click import ClickConfig, box_from_click

__all__ = ["MIN_INSIDE", "is_point", "centre_to_xywh", "check_request", "target_box"]

#: pixels of a box (in width and in height) that must lie inside the frame
MIN_INSIDE = 2.0


def is_point(w: float, h: float) -> bool:
    """A request of zero size means "the blob at this point"."""
    return w == 0 and h == 0


def centre_to_xywh(cx: float, cy: float, w: float, h: float) -> Tuple[float, float, float, float]:
    return (cx - w / 2.0, cy - h / 2.0, w, h)


def check_request(cx: float, cy: float, w: float, h: float) -> bool:
    """Whether the request is a point; InvalidBoxError when its numbers cannot be a target (a
    point that is not finite; a box that is not finite or has no positive size)."""
    if is_point(w, h):
        if not (np.isfinite(cx) and np.isfinite(cy)):
            raise InvalidBoxError(f"point ({cx}, {cy}) is not finite")
        return True
    check_box_values(centre_to_xywh(cx, cy, w, h))
    return False


def target_box(image: np.ndarray, cx: float, cy: float, w: float, h: float,
               click_cfg: Optional[ClickConfig] = None) -> Tuple[np.ndarray, str]:
    """(xywh clipped to ``image``, how) for a request on this frame. Raises ClickError when a
    point finds no blob and InvalidBoxError when too little of the box lies inside the frame."""
    height, width = image.shape[:2]
    requested = centre_to_xywh(cx, cy, w, h)
    how = ""
    if is_point(w, h):
        clicked = box_from_click(image, float(cx), float(cy), click_cfg)
        requested = tuple(float(v) for v in clicked.box)
        how = f" (point ({float(cx):.1f}, {float(cy):.1f}): {clicked.describe()})"
    return validate_box(requested, width, height, min_inside=MIN_INSIDE), how
