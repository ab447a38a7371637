"""IBFP training targets: Gaussian centre label, ltrb regression targets and the regression
sample mask of one training pair (the contract of ``fgsgt_ros.model.ibfp.IBFPLoss``).

- ``center_label`` (1, S, S) float32: exp(-dx^2/2sx^2 - dy^2/2sy^2) around the target centre
  (sigma from ``IBFPLossConfig.label_sigma``); all zeros for a negative pair (the search crop
  shows another object: every point should score low);
- ``ltrb_target`` (4, S, S) float32: distances in crop pixels from each point to the box edges
  (``fgsgt_ros.model.points.encode_ltrb``);
- ``reg_mask`` (1, S, S) float32: 1 on the points within 0.25 x width / height of the centre (the
  paper's Fig. 5b), 0 elsewhere and for negative pairs.

The point grid is ``fgsgt_ros.model.points.point_grid`` (shared with the decoder).
"""

from __future__ import annotations

import numpy as np

from fgsgt_ros.model.ibfp import center_label, points_of, regression_mask
from fgsgt_ros.model.points import encode_ltrb


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
