"""Loss targets of the MMNet family (the contract of ``fgsgt_ros.model.mmnet.MMNetLoss``).

Per training pair:

- ``label`` (1, S, S) float32: SiamFC's logistic-loss labels on the score map: 1 where the score
  cell's position in the search crop, ``(u - (S - 1) / 2) * stride`` px from the crop centre, lies
  within ``label_radius`` px of the target centre, else 0; all 0 for a negative pair;
- ``label_weight`` (1, S, S) float32: balanced, positives and negatives each sum to 1/2 (a negative
  pair's map sums to 1);
- ``category`` () int64: index of the pair's object class in the model's ``classes`` (the
  classification branch sees the exemplar), -1 when unknown or for a negative pair (the search frame
  shows another sequence, whose class ``info`` holds, not the exemplar's): ignored by the loss.
"""

from __future__ import annotations

import numpy as np


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
