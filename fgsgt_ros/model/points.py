"""Anchor-free point geometry (SiamBAN / SiamFFN / IBFP heads): one definition for training and
tracking.

Layout contract with anchor-free heads (pure numpy or torch; every function takes either):

- score map ``(B, 2, S, S)`` softmax logits (channel 1 = target), ``(B, 1, S, S)`` logits or
  probabilities (e.g. a centre map);
- ``ltrb`` map ``(B, 4, S, S)``: distances in **search-crop pixels** from the point to the box's
  left, top, right and bottom edges (positive inside the box);
- point ``(row, col)`` sits at ``stride * (col - (S - 1) / 2), stride * (row - (S - 1) / 2)``
  pixels from the search-crop centre (x right, y down), the same grid as the anchor centres of
  ``anchors.py`` for odd S; flattened index ``row * S + col`` (``tensor.view(B, C, S * S)``).

Boxes are ``(cx, cy, w, h)`` relative to the crop centre, in crop pixels (continuous coordinates).
Label assignment for training (``assign_labels``) lives here too, so the target builders of every
anchor-free family share it, and IBFP's Gaussian centre label and regression mask
(``center_label``, ``regression_mask``, also used by the tracker's online branch).
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

try:  # torch is optional for the numpy paths (the tracker's decoding)
    import torch
except ImportError:  # pragma: no cover - torch is a dependency of the package
    torch = None


def _is_torch(x) -> bool:
    return torch is not None and isinstance(x, torch.Tensor)


def _stack(xs, axis):
    return torch.stack(xs, dim=axis) if _is_torch(xs[0]) else np.stack(xs, axis=axis)


def point_offsets(stride: float, score_size: int) -> np.ndarray:
    """(S,) float64 offsets of the point columns (or rows) from the crop centre in crop pixels."""
    return (np.arange(score_size, dtype=np.float64) - (score_size - 1) / 2.0) * float(stride)


def point_grid(stride: float, score_size: int) -> np.ndarray:
    """(S*S, 2) float64 (x, y) of every point, flattened row-major (index = row * S + col)."""
    off = point_offsets(stride, score_size)
    ys, xs = np.meshgrid(off, off, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def encode_ltrb(box_cxcywh, points):
    """ltrb distances (N, 4) from ``points`` (N, 2) to the edges of one box (4,) or of per-point
    boxes (N, 4). Points outside the box get negative components."""
    box = box_cxcywh
    x0, y0 = box[..., 0] - box[..., 2] / 2, box[..., 1] - box[..., 3] / 2
    x1, y1 = box[..., 0] + box[..., 2] / 2, box[..., 1] + box[..., 3] / 2
    px, py = points[..., 0], points[..., 1]
    return _stack([px - x0, py - y0, x1 - px, y1 - py], -1)


def decode_ltrb(ltrb, points):
    """Boxes (..., N, 4) cx, cy, w, h from ltrb (..., N, 4) at ``points`` (N, 2). Inverse of
    ``encode_ltrb`` (exact for any ltrb, also negative ones)."""
    px, py = points[..., 0], points[..., 1]
    l, t, r, b = ltrb[..., 0], ltrb[..., 1], ltrb[..., 2], ltrb[..., 3]
    return _stack([px + (r - l) / 2, py + (b - t) / 2, l + r, t + b], -1)


def iou_ltrb(pred, target, eps: float = 1e-6):
    """IoU of two ltrb boxes at the same point (UnitBox), (..., 4) each, both with non-negative
    components (a point inside both boxes, as for positive samples)."""
    area_p = (pred[..., 0] + pred[..., 2]) * (pred[..., 1] + pred[..., 3])
    area_t = (target[..., 0] + target[..., 2]) * (target[..., 1] + target[..., 3])
    if _is_torch(pred):
        mn = torch.minimum
    else:
        mn = np.minimum
    iw = mn(pred[..., 0], target[..., 0]) + mn(pred[..., 2], target[..., 2])
    ih = mn(pred[..., 1], target[..., 1]) + mn(pred[..., 3], target[..., 3])
    inter = (iw.clamp(min=0) * ih.clamp(min=0)) if _is_torch(pred) else \
        np.maximum(iw, 0) * np.maximum(ih, 0)
    union = area_p + area_t - inter
    return inter / (union.clamp(min=eps) if _is_torch(pred) else np.maximum(union, eps))


def ellipse_distance(box_cxcywh, points, frac: float) -> np.ndarray:
    """(N,) normalised squared distance of the points from the box centre in an ellipse with
    semi-axes ``frac * w`` and ``frac * h`` (< 1 inside). SiamBAN's label ellipses use frac 1/4
    (positives) and 1/2 (negatives outside)."""
    cx, cy, w, h = (float(v) for v in box_cxcywh)
    ax, ay = max(frac * w, 1e-6), max(frac * h, 1e-6)
    return ((points[:, 0] - cx) / ax) ** 2 + ((points[:, 1] - cy) / ay) ** 2


def box_distance(box_cxcywh, points, frac: float) -> np.ndarray:
    """(N,) Chebyshev-style distance: max(|dx| / (frac w), |dy| / (frac h)) (< 1 inside the box
    of half-sides ``frac * w``, ``frac * h`` around the centre; frac 1/2 is the whole box)."""
    cx, cy, w, h = (float(v) for v in box_cxcywh)
    ax, ay = max(frac * w, 1e-6), max(frac * h, 1e-6)
    return np.maximum(np.abs(points[:, 0] - cx) / ax, np.abs(points[:, 1] - cy) / ay)


def assign_labels(box_cxcywh, points: np.ndarray, negative: bool, rng: np.random.Generator, *,
                  region: str = "ellipse", pos_frac: float = 0.25, neg_frac: float = 0.5,
                  pos_num: int = 16, total_num: int = 64, neg_pair_num: int = 16,
                  nearest_positive: bool = True) -> np.ndarray:
    """Point labels (N,) int64 in {-1 ignore, 0 background, 1 target} for one training pair.

    SiamBAN's assignment (the paper trains SiamFFN as SiamBAN): points inside the ``region``
    ('ellipse' or 'box') of size ``pos_frac`` are positives (at most ``pos_num``, random), points
    outside the one of size ``neg_frac`` negatives (``total_num - #pos``, random), the ring between
    is ignored. ``nearest_positive``: a target too small to cover any point gets the point nearest
    its centre as the one positive (our addition for small thermal targets). Negative pairs
    (``box`` is another object): the ``neg_pair_num`` points inside the positive region become
    negatives (the distractor must score low), everything else is ignored.
    """
    dist = {"ellipse": ellipse_distance, "box": box_distance}.get(region)
    if dist is None:
        raise ValueError(f"label region must be 'ellipse' or 'box', not {region!r}")
    n = len(points)
    label = np.full(n, -1, dtype=np.int64)
    box = np.asarray(box_cxcywh, dtype=np.float64)
    if not np.isfinite(box).all() or box[2] <= 0 or box[3] <= 0:
        return label
    inner = dist(box, points, pos_frac)
    pos = np.flatnonzero(inner < 1.0)
    if nearest_positive and len(pos) == 0:
        near = int(np.argmin((points[:, 0] - box[0]) ** 2 + (points[:, 1] - box[1]) ** 2))
        inside = (abs(points[near, 0] - box[0]) <= box[2] / 2
                  and abs(points[near, 1] - box[1]) <= box[3] / 2)
        if inside:
            pos = np.array([near])
    if negative:
        label[_choose(rng, pos, neg_pair_num)] = 0
        return label
    pos = _choose(rng, pos, pos_num)
    neg = np.flatnonzero(dist(box, points, neg_frac) > 1.0)
    neg = _choose(rng, neg, max(total_num - len(pos), 0))
    label[pos] = 1
    label[neg] = 0
    return label


def _choose(rng: np.random.Generator, idx: np.ndarray, k: int) -> np.ndarray:
    if len(idx) <= k:
        return idx
    return rng.choice(idx, size=k, replace=False)


def point_targets(box_cxcywh, points: np.ndarray, negative: bool, rng: np.random.Generator,
                  **assign) -> Tuple[np.ndarray, np.ndarray]:
    """(label_cls (N,) int64, label_ltrb (4, N) float32) for one pair: labels from
    ``assign_labels`` (keyword options passed on), ltrb regression targets of every point (only
    positives are used by the losses; negative pairs get zeros)."""
    label = assign_labels(box_cxcywh, points, negative, rng, **assign)
    box = np.asarray(box_cxcywh, dtype=np.float64)
    if negative or not np.isfinite(box).all():
        ltrb = np.zeros((4, len(points)), np.float32)
    else:
        ltrb = encode_ltrb(box, points).T.astype(np.float32)
    return label, ltrb


def score_map_to_crop(prob, stride: int, instance_size: int):
    """(B, 1, S, S) torch probability map -> (B, 1, X, X) over the search crop (X =
    ``instance_size``): each point's value fills the stride x stride cell centred on the point
    (bilinear between cells), zero outside the grid. For display (the tracker's saliency)."""
    import torch.nn.functional as F

    s = prob.shape[-1]
    up = F.interpolate(prob, size=(s * stride, s * stride), mode="bilinear", align_corners=False)
    pad = instance_size - s * stride
    lo = pad // 2
    return F.pad(up, (lo, pad - lo, lo, pad - lo))


# ---------------------------------------------------------------------------------------------
# IBFP labels (shared by its training targets and the tracker's online branch)


def center_label(box_cxcywh, points: np.ndarray, stride: float, loss) -> np.ndarray:
    """(N,) float32 Gaussian centre label at ``points`` (N, 2) for a box (cx, cy, w, h) relative
    to the crop centre: exp(-dx^2 / 2 sx^2 - dy^2 / 2 sy^2), sigma from ``loss.label_sigma``
    (``loss``: an ``IBFPLossConfig``)."""
    cx, cy, w, h = (float(v) for v in box_cxcywh)
    smin = loss.label_sigma_min_cells * float(stride)
    sx = max(loss.label_sigma * w, smin)
    sy = max(loss.label_sigma * h, smin)
    g = np.exp(-0.5 * (((points[:, 0] - cx) / sx) ** 2 + ((points[:, 1] - cy) / sy) ** 2))
    return g.astype(np.float32)


def regression_mask(box_cxcywh, points: np.ndarray, ratio: float) -> np.ndarray:
    """(N,) bool: points with |dx| <= ratio * w and |dy| <= ratio * h from the box centre (the
    paper's Fig. 5b); a box too small to hold one gets the point nearest its centre if that point
    lies inside the box (small thermal targets)."""
    cx, cy, w, h = (float(v) for v in box_cxcywh)
    dx, dy = np.abs(points[:, 0] - cx), np.abs(points[:, 1] - cy)
    mask = (dx <= ratio * w) & (dy <= ratio * h)
    if not mask.any():
        i = int(np.argmin(dx ** 2 + dy ** 2))
        if dx[i] <= w / 2 and dy[i] <= h / 2:
            mask[i] = True
    return mask

