"""Box geometry shared by the tracker, training and evaluation.

Convention (stated once, used everywhere): boxes are continuous pixel coordinates, 0-based.
``xywh`` = (x, y, w, h) where the box covers [x, x+w) x [y, y+h); ``cxcywh`` = centre and size,
with cx = x + w/2. IoU is the plain continuous-area ratio (no "+1 pixel"), as in the got10k/pysot
Python toolkits. All functions accept arrays of shape (..., 4).
"""

from __future__ import annotations

import numpy as np


def xywh_to_cxcywh(box: np.ndarray) -> np.ndarray:
    box = np.asarray(box, dtype=np.float64)
    x, y, w, h = np.moveaxis(box, -1, 0)
    return np.stack([x + w / 2.0, y + h / 2.0, w, h], axis=-1)


def cxcywh_to_xywh(box: np.ndarray) -> np.ndarray:
    box = np.asarray(box, dtype=np.float64)
    cx, cy, w, h = np.moveaxis(box, -1, 0)
    return np.stack([cx - w / 2.0, cy - h / 2.0, w, h], axis=-1)


def xywh_to_corners(box: np.ndarray) -> np.ndarray:
    box = np.asarray(box, dtype=np.float64)
    x, y, w, h = np.moveaxis(box, -1, 0)
    return np.stack([x, y, x + w, y + h], axis=-1)


def corners_to_xywh(box: np.ndarray) -> np.ndarray:
    box = np.asarray(box, dtype=np.float64)
    x1, y1, x2, y2 = np.moveaxis(box, -1, 0)
    return np.stack([x1, y1, x2 - x1, y2 - y1], axis=-1)


def iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of xywh boxes, broadcasting over leading dims. Empty/NaN boxes give IoU 0."""
    ca, cb = xywh_to_corners(a), xywh_to_corners(b)
    ix = np.clip(np.minimum(ca[..., 2], cb[..., 2]) - np.maximum(ca[..., 0], cb[..., 0]), 0, None)
    iy = np.clip(np.minimum(ca[..., 3], cb[..., 3]) - np.maximum(ca[..., 1], cb[..., 1]), 0, None)
    inter = ix * iy
    area_a = np.clip(ca[..., 2] - ca[..., 0], 0, None) * np.clip(ca[..., 3] - ca[..., 1], 0, None)
    area_b = np.clip(cb[..., 2] - cb[..., 0], 0, None) * np.clip(cb[..., 3] - cb[..., 1], 0, None)
    union = area_a + area_b - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return np.nan_to_num(iou, nan=0.0)


def clip_xywh(box: np.ndarray, width: int, height: int) -> np.ndarray:
    """Clip an xywh box to the image [0, width) x [0, height); may return an empty box."""
    c = xywh_to_corners(box)
    c[..., 0::2] = np.clip(c[..., 0::2], 0, width)
    c[..., 1::2] = np.clip(c[..., 1::2], 0, height)
    return corners_to_xywh(c)
