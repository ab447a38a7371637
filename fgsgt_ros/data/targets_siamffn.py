"""Training targets of anchor-free point heads (the SiamFFN family): point labels and (l, t, r, b)
regression targets from ``fgsgt_ros.model.points`` (the geometry the tracker decodes with).

``point_label_targets(model_cfg, sample_cfg)`` -> ``build(box, negative, rng, info)`` returning
``label_cls`` (S*S,) int64 in {-1, 0, 1} and ``label_ltrb`` (4, S*S) float32 crop pixels; the
assignment options come from ``model_cfg.labels`` (``siamffn.PointLabelConfig``), so they are
stored with the model. ``sample_cfg`` (pair sampling, augmentation) is not needed here.
"""

from __future__ import annotations

import numpy as np

from fgsgt_ros.model.points import point_grid, point_targets


def point_label_targets(model_cfg, sample_cfg=None):
    points = point_grid(model_cfg.stride, model_cfg.score_size)
    options = model_cfg.labels.assign_kwargs()

    def build(box: np.ndarray, negative: bool, rng: np.random.Generator, info=None):
        label_cls, label_ltrb = point_targets(box, points, negative, rng, **options)
        return {"label_cls": label_cls, "label_ltrb": label_ltrb}

    return build
