"""One-pass-evaluation metrics (the OTB / LaSOT conventions), pure numpy.

Conventions (also in docs/EVALUATION.md):
- Boxes: continuous 0-based xywh (``fgsgt_ros.boxes``); IoU is the plain area ratio (no "+1 pixel"),
  as in the got10k / pysot Python toolkits. Centres are x + w/2 (the +-0.5 offset of other
  conventions cancels in a centre error).
- Success: fraction of frames with IoU > t, t in 0, 0.05, ..., 1 (21 thresholds); score = mean of
  the curve (AUC).
- Precision: fraction of frames with centre error <= t px, t in 0..50; score = value at 20 px.
- Normalised precision: centre error after dividing x by the ground-truth width and y by its
  height, thresholds 0..0.5 step 0.01; score = value at 0.20 (the LSOTB-TIR/LaSOT paper reading;
  ``norm_precision_auc`` = mean of that curve is reported too, which is what some Python toolkits use).
- Absent frames (ground truth NaN or non-positive size) are left out of every metric, for success
  and precision alike; a missing prediction (NaN row) counts as IoU 0 and infinite centre error.
- Frame 1 (the initialisation frame) counts, with the ground truth as prediction.
- Per sequence first, then the dataset score is the mean over sequences (curves averaged likewise).
"""

from __future__ import annotations

from typing import Dict, Iterable, List

import numpy as np

from fgsgt_ros.boxes import iou_xywh

SUCCESS_THRESHOLDS = np.linspace(0.0, 1.0, 21)
PRECISION_THRESHOLDS = np.arange(0, 51, dtype=np.float64)
NORM_PRECISION_THRESHOLDS = np.linspace(0.0, 0.5, 51)
PRECISION_AT = 20.0
NORM_PRECISION_AT = 0.20


def valid_mask(gt: np.ndarray) -> np.ndarray:
    """Frames whose ground truth is present (finite, positive size)."""
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    return np.isfinite(gt).all(axis=1) & (np.nan_to_num(gt[:, 2]) > 0) & (np.nan_to_num(gt[:, 3]) > 0)


def center_errors(pred: np.ndarray, gt: np.ndarray, normalise: bool = False) -> np.ndarray:
    """Euclidean centre distance per frame (pixels, or in units of the gt width/height)."""
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    d = (pred[:, :2] + pred[:, 2:] / 2.0) - (gt[:, :2] + gt[:, 2:] / 2.0)
    if normalise:
        d = d / gt[:, 2:]
    err = np.sqrt((d ** 2).sum(axis=1))
    return np.where(np.isfinite(err), err, np.inf)


def sequence_metrics(pred: np.ndarray, gt: np.ndarray) -> Dict[str, object]:
    """OPE metrics of one sequence (see module docstring). Returns scores and curves; ``frames`` is
    the number of frames that counted (0 -> scores are NaN)."""
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    if pred.shape != gt.shape:
        raise ValueError(f"{len(pred)} predicted boxes for {len(gt)} ground-truth rows")
    keep = valid_mask(gt)
    p, g = pred[keep], gt[keep]
    if len(g) == 0:
        nan21, nan51 = np.full(21, np.nan), np.full(51, np.nan)
        return {"frames": 0, "success_auc": float("nan"), "precision_20": float("nan"),
                "norm_precision_20": float("nan"), "norm_precision_auc": float("nan"),
                "success_curve": nan21, "precision_curve": nan51, "norm_precision_curve": nan51}
    ious = np.where(np.isfinite(p).all(axis=1), iou_xywh(p, g), 0.0)
    ce = center_errors(p, g)
    nce = center_errors(p, g, normalise=True)
    succ = (ious[:, None] > SUCCESS_THRESHOLDS[None]).mean(axis=0)
    prec = (ce[:, None] <= PRECISION_THRESHOLDS[None]).mean(axis=0)
    nprec = (nce[:, None] <= NORM_PRECISION_THRESHOLDS[None] + 1e-12).mean(axis=0)
    return {
        "frames": int(len(g)),
        "success_auc": float(succ.mean()),
        "precision_20": float(prec[int(PRECISION_AT)]),
        "norm_precision_20": float(nprec[int(round(NORM_PRECISION_AT / 0.01))]),
        "norm_precision_auc": float(nprec.mean()),
        "success_curve": succ,
        "precision_curve": prec,
        "norm_precision_curve": nprec,
    }


SCORE_KEYS = ("success_auc", "precision_20", "norm_precision_20", "norm_precision_auc")
CURVE_KEYS = ("success_curve", "precision_curve", "norm_precision_curve")


def average_metrics(per_sequence: Iterable[Dict[str, object]]) -> Dict[str, object]:
    """Mean over sequences of scores and curves (sequences with no counted frame are skipped)."""
    items: List[Dict[str, object]] = [m for m in per_sequence if m.get("frames", 0) > 0]
    out: Dict[str, object] = {"sequences": len(items)}
    for k in SCORE_KEYS:
        out[k] = float(np.mean([m[k] for m in items])) if items else float("nan")
    for k in CURVE_KEYS:
        out[k] = np.mean([np.asarray(m[k]) for m in items], axis=0) if items else None
    return out
