"""Tracker factory of anchor-free (per-point) network families: the one ``SiameseTracker`` with
the ``AnchorFreeDecoder`` strategy (same crop geometry, penalties, window, size smoothing, LOST
logic as the anchor-based models)."""

from __future__ import annotations

from fgsgt_ros.tracker.decoding import AnchorFreeDecoder
from fgsgt_ros.tracker.siamese import SiameseTracker


def anchor_free_tracker(model, model_cfg, tracker_cfg=None, device: str = "cpu", name=None,
                        score: str = "auto"):
    """``SiameseTracker`` decoding ``(score map, ltrb map[, saliency])`` outputs per point
    (``decoding.AnchorFreeDecoder``; ``score`` selects the score transform)."""
    return SiameseTracker(model, model_cfg, tracker_cfg, device, name,
                          decoder=AnchorFreeDecoder.from_model_cfg(model_cfg, score=score))
