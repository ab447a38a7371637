"""Training targets of every model family: the data layer's part of each family, in one table.

``FAMILY_TARGETS[family name](model_cfg, sample_cfg) -> build``; ``build(box_cxcywh, negative,
rng, info)`` returns the dict of numpy loss targets of one training pair (``box`` in search-crop
pixels relative to the crop centre, ``negative``: the search crop shows another object, ``info``:
the pair's ``Sequence`` metadata such as ``category``). ``make_target_builder(model_cfg,
sample_cfg)`` picks the builder of the config's family (``fgsgt_ros.model.registry.family_of``).
The other layers' tables: ``fgsgt_ros.model.registry.FAMILIES`` (config, network, loss) and
``fgsgt_ros.tracker.families.FAMILY_TRACKERS``.

- ``fgsgt`` (``anchor_targets``, the contract of ``fgsgt_ros.model.losses.FGSGTLoss``): anchor
  labels (IoU > ``pos_iou`` positive, at most ``pos_num``; IoU < ``neg_iou`` negative, at most
  ``neg_num``; negative pairs: only anchors within ``neg_window`` cells of where the other object
  is are negatives), regression targets from ``fgsgt_ros.model.anchors.encode``, weights 1/num_pos,
  the saliency mask (1 inside the target box in search-crop pixels, all 0 for negative pairs) and
  the target box (cx, cy, w, h) relative to the search-crop centre.
- ``siamffn`` (``point_label_targets``, anchor-free point heads): ``label_cls`` (S*S,) int64 in
  {-1, 0, 1} and ``label_ltrb`` (4, S*S) float32 crop pixels from ``fgsgt_ros.model.points`` (the
  geometry the tracker decodes with); the assignment options come from ``model_cfg.labels``
  (``PointLabelConfig``), so they are stored with the model.
- ``ibfp`` (``ibfp_targets``, the contract of ``IBFPLoss``): ``center_label`` (1, S, S) float32
  exp(-dx^2/2sx^2 - dy^2/2sy^2) around the target centre (sigma from
  ``IBFPLossConfig.label_sigma``), all zeros for a negative pair; ``ltrb_target`` (4, S, S)
  float32 distances in crop pixels from each point to the box edges (``points.encode_ltrb``);
  ``reg_mask`` (1, S, S) float32: 1 on the points within 0.25 x width / height of the centre
  (the paper's Fig. 5b), 0 elsewhere and for negative pairs.
- ``mmnet`` (``score_map_targets``, the contract of ``MMNetLoss``): ``label`` (1, S, S) float32,
  SiamFC's logistic-loss labels on the score map: 1 where the score cell's position in the search
  crop, ``(u - (S - 1) / 2) * stride`` px from the crop centre, lies within ``label_radius`` px of
  the target centre, else 0; all 0 for a negative pair; ``label_weight`` (1, S, S) float32:
  balanced, positives and negatives each sum to 1/2 (a negative pair's map sums to 1);
  ``category`` () int64: index of the pair's object class in the model's ``classes`` (the
  classification branch sees the exemplar), -1 when unknown or for a negative pair (the search
  frame shows another sequence, whose class ``info`` holds, not the exemplar's): ignored by the
  loss.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable, Dict, Sequence as Seq, Tuple

import numpy as np

from fgsgt_ros.boxes import cxcywh_to_xywh, iou_xywh
from fgsgt_ros.model import anchors as anchor_lib
from fgsgt_ros.model.families.ibfp import points_of
from fgsgt_ros.model.points import (center_label, encode_ltrb, point_grid, point_targets,
                                    regression_mask)
from fgsgt_ros.model.registry import family_of

if TYPE_CHECKING:
    from fgsgt_ros.data.samples import SampleConfig


# ---------------------------------------------------------------------------------------------
# FGSGT / SiamRPN++: anchors


class AnchorTarget:
    """Anchor labels and regression targets for a target box in search-crop coordinates."""

    def __init__(self, stride: int, ratios: Seq[float], scales: Seq[float], score_size: int,
                 cfg: SampleConfig):
        self.cfg = cfg
        self.stride = stride
        self.score_size = score_size
        self.num_anchor = len(ratios) * len(scales)
        self.anchors = anchor_lib.anchor_grid(stride, ratios, scales, score_size)  # (A*S*S, 4)
        self._anchors_xywh = cxcywh_to_xywh(self.anchors)

    def __call__(self, box_cxcywh: np.ndarray, negative: bool, rng: np.random.Generator
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(label_cls (N,) int64 in {-1,0,1}, label_loc (4, N) float32, label_loc_weight (N,))."""
        cfg = self.cfg
        n = len(self.anchors)
        a, s = self.num_anchor, self.score_size
        label = np.full(n, -1, dtype=np.int64)
        weight = np.zeros(n, dtype=np.float32)
        box = np.asarray(box_cxcywh, dtype=np.float64)
        delta = anchor_lib.encode(np.maximum(box, [-1e9, -1e9, 1e-3, 1e-3]), self.anchors).astype(np.float32)
        if negative:
            # only anchors near where the (other) object is: "near the centre" of the search crop
            c = s // 2
            cx = c + int(math.ceil(box[0] / self.stride - 0.5)) if np.isfinite(box[0]) else c
            cy = c + int(math.ceil(box[1] / self.stride - 0.5)) if np.isfinite(box[1]) else c
            cx, cy = int(np.clip(cx, 0, s - 1)), int(np.clip(cy, 0, s - 1))
            w = cfg.neg_window
            grid = np.zeros((a, s, s), bool)
            grid[:, max(0, cy - w):cy + w + 1, max(0, cx - w):cx + w + 1] = True
            cand = np.flatnonzero(grid.reshape(-1))
            chosen = _select(rng, cand, cfg.neg_num)
            label[chosen] = 0
            return label, delta, weight
        iou = iou_xywh(self._anchors_xywh, cxcywh_to_xywh(box)[None, :])
        pos = _select(rng, np.flatnonzero(iou > cfg.pos_iou), cfg.pos_num)
        neg = _select(rng, np.flatnonzero(iou < cfg.neg_iou), cfg.neg_num)
        label[pos] = 1
        label[neg] = 0
        if len(pos):
            weight[pos] = 1.0 / len(pos)
        return label, delta, weight


def _select(rng: np.random.Generator, idx: np.ndarray, k: int) -> np.ndarray:
    if len(idx) <= k:
        return idx
    return rng.choice(idx, size=k, replace=False)


def saliency_mask(box_cxcywh: np.ndarray, size: int) -> np.ndarray:
    """(1, size, size) float32: 1 on pixels whose centre is inside the box (centre-relative)."""
    cx, cy, w, h = [float(v) for v in box_cxcywh]
    centres = np.arange(size, dtype=np.float32) + 0.5 - size / 2
    inx = (centres >= cx - w / 2) & (centres < cx + w / 2)
    iny = (centres >= cy - h / 2) & (centres < cy + h / 2)
    m = (iny[:, None] & inx[None, :]).astype(np.float32)
    if m.sum() == 0 and w > 0 and h > 0:  # tiny box: mark the nearest pixel
        j = int(np.clip(np.floor(cx + size / 2), 0, size - 1))
        i = int(np.clip(np.floor(cy + size / 2), 0, size - 1))
        m[i, j] = 1.0
    return m[None]


def anchor_targets(model_cfg, sample_cfg: SampleConfig):
    """The FGSGT family's target builder: anchor labels, regression targets, saliency mask and the
    target box (the contract of ``fgsgt_ros.model.losses.FGSGTLoss``)."""
    anchors = AnchorTarget(model_cfg.stride, model_cfg.anchor_ratios, model_cfg.anchor_scales,
                           model_cfg.score_size, sample_cfg)
    size = int(model_cfg.instance_size)

    def build(box: np.ndarray, negative: bool, rng: np.random.Generator, info=None):
        label_cls, label_loc, label_w = anchors(box, negative, rng)
        sal = (np.zeros((1, size, size), np.float32) if negative else saliency_mask(box, size))
        return {"label_cls": label_cls, "label_loc": label_loc, "label_loc_weight": label_w,
                "saliency": sal, "target_box": np.asarray(box, np.float32)}

    return build


# ---------------------------------------------------------------------------------------------
# SiamFFN: anchor-free points


def point_label_targets(model_cfg, sample_cfg=None):
    points = point_grid(model_cfg.stride, model_cfg.score_size)
    options = model_cfg.labels.assign_kwargs()

    def build(box: np.ndarray, negative: bool, rng: np.random.Generator, info=None):
        label_cls, label_ltrb = point_targets(box, points, negative, rng, **options)
        return {"label_cls": label_cls, "label_ltrb": label_ltrb}

    return build


# ---------------------------------------------------------------------------------------------
# IBFP: Gaussian centre label, ltrb, regression mask


def ibfp_targets(model_cfg, sample_cfg=None):
    """The IBFP family's target builder ``build(box_cxcywh, negative, rng, info) -> dict``."""
    points = points_of(model_cfg)
    s = model_cfg.score_size
    loss = model_cfg.loss

    def build(box: np.ndarray, negative: bool, rng=None, info=None):
        box = np.asarray(box, dtype=np.float64)
        valid = np.isfinite(box).all() and box[2] > 0 and box[3] > 0
        if negative or not valid:
            zeros = np.zeros((1, s, s), np.float32)
            return {"center_label": zeros, "ltrb_target": np.zeros((4, s, s), np.float32),
                    "reg_mask": zeros.copy()}
        label = center_label(box, points, model_cfg.stride, loss).reshape(1, s, s)
        mask = regression_mask(box, points, loss.reg_ratio).astype(np.float32).reshape(1, s, s)
        ltrb = encode_ltrb(box, points).T.astype(np.float32).reshape(4, s, s)
        return {"center_label": label, "ltrb_target": ltrb, "reg_mask": mask}

    return build


# ---------------------------------------------------------------------------------------------
# MMNet: score-map labels


def score_labels(box_cxcywh, negative: bool, score_size: int, stride: int, radius: float):
    """(label, weight), each (1, S, S) float32, for a target centred at box[:2] (crop px from the
    search-crop centre)."""
    s = int(score_size)
    offs = (np.arange(s, dtype=np.float64) - (s - 1) / 2.0) * stride
    if negative or not np.isfinite(np.asarray(box_cxcywh[:2], dtype=np.float64)).all():
        label = np.zeros((s, s), np.float32)
    else:
        cx, cy = float(box_cxcywh[0]), float(box_cxcywh[1])
        dist2 = (offs[None, :] - cx) ** 2 + (offs[:, None] - cy) ** 2
        label = (dist2 <= radius * radius).astype(np.float32)
    n_pos = float(label.sum())
    n_neg = float(label.size - n_pos)
    if n_pos > 0:
        weight = np.where(label > 0, 0.5 / n_pos, 0.5 / max(n_neg, 1.0)).astype(np.float32)
    else:
        weight = np.full((s, s), 1.0 / label.size, np.float32)
    return label[None], weight[None]


def score_map_targets(model_cfg, sample_cfg):
    """The MMNet family's target builder (see the module docstring)."""
    classes = {name: i for i, name in enumerate(model_cfg.classes)}
    size, stride, radius = model_cfg.score_size, model_cfg.stride, model_cfg.label_radius

    def build(box: np.ndarray, negative: bool, rng: np.random.Generator, info=None):
        label, weight = score_labels(box, negative, size, stride, radius)
        category = (info or {}).get("category")
        index = -1 if negative or category is None else classes.get(str(category), -1)
        return {"label": label, "label_weight": weight, "category": np.int64(index)}

    return build


# ---------------------------------------------------------------------------------------------
# the data layer's family table


#: family name (``fgsgt_ros.model.registry.FAMILIES``) -> ``f(model_cfg, sample_cfg) -> build``
FAMILY_TARGETS: Dict[str, Callable] = {
    "fgsgt": anchor_targets,
    "siamffn": point_label_targets,
    "mmnet": score_map_targets,
    "ibfp": ibfp_targets,
}


def make_target_builder(model_cfg, sample_cfg=None):
    """The training-target builder of ``model_cfg``'s family (see the module docstring)."""
    return FAMILY_TARGETS[family_of(model_cfg).name](model_cfg, sample_cfg)
