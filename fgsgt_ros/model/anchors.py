"""SiamRPN++ anchors (pure numpy), shared by the tracker (decoding) and training (labels).

Layout contract with the network heads (pysot-compatible):
- ``cls`` has shape (B, 2A, S, S); channel ``k*A + a`` is class k (0 background, 1 target) of anchor
  shape a.
- ``loc`` has shape (B, 4A, S, S); channel ``j*A + a`` is (dx, dy, dw, dh)[j] of anchor shape a.
- Flattened anchor index = a*S*S + row*S + col, matching ``tensor.view(B, k, A*S*S)``.
Anchor centres are offsets (in search-crop pixels) from the search-crop centre: (i - S//2) * stride.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def anchor_shapes(stride: int, ratios: Sequence[float], scales: Sequence[float]) -> np.ndarray:
    """(A, 2) anchor widths and heights; SiamRPN++ gives 104x32, 88x40, 64x64, 40x80, 32x96."""
    base_area = stride * stride
    shapes = []
    for r in ratios:
        w0 = int(math.sqrt(base_area / r))
        h0 = int(w0 * r)
        for s in scales:
            shapes.append((w0 * s, h0 * s))
    return np.asarray(shapes, dtype=np.float32)


def anchor_grid(stride: int, ratios: Sequence[float], scales: Sequence[float],
                score_size: int) -> np.ndarray:
    """(A*S*S, 4) anchors as (cx, cy, w, h), centres relative to the search-crop centre."""
    shapes = anchor_shapes(stride, ratios, scales)
    offsets = (np.arange(score_size, dtype=np.float32) - score_size // 2) * stride
    ys, xs = np.meshgrid(offsets, offsets, indexing="ij")
    a = len(shapes)
    out = np.zeros((a, score_size, score_size, 4), dtype=np.float32)
    out[..., 0] = xs[None]
    out[..., 1] = ys[None]
    out[..., 2] = shapes[:, 0, None, None]
    out[..., 3] = shapes[:, 1, None, None]
    return out.reshape(-1, 4)


def decode(loc: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Decode (4, N) deltas against (N, 4) cxcywh anchors into (N, 4) cxcywh boxes."""
    cx = loc[0] * anchors[:, 2] + anchors[:, 0]
    cy = loc[1] * anchors[:, 3] + anchors[:, 1]
    w = np.exp(np.clip(loc[2], -10, 10)) * anchors[:, 2]
    h = np.exp(np.clip(loc[3], -10, 10)) * anchors[:, 3]
    return np.stack([cx, cy, w, h], axis=1)


def encode(boxes: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Regression targets (4, N) of cxcywh boxes (N, 4) or one box (4,) against anchors (N, 4)."""
    boxes = np.broadcast_to(np.asarray(boxes, dtype=np.float32), anchors.shape)
    return np.stack([
        (boxes[:, 0] - anchors[:, 0]) / anchors[:, 2],
        (boxes[:, 1] - anchors[:, 1]) / anchors[:, 3],
        np.log(boxes[:, 2] / anchors[:, 2]),
        np.log(boxes[:, 3] / anchors[:, 3]),
    ], axis=0)
