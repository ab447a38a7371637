"""Decoding strategies: a network's raw output for one search crop -> scored candidate boxes.

``SiameseTracker`` owns everything else of a frame (crop geometry, scale/ratio penalty, cosine
window, size smoothing, LOST logic), so a network family with another head only needs a decoder:

- ``AnchorDecoder``: SiamRPN++ anchors (FGSGT, SiamRPN++): ``(cls, loc, sal)`` with cls
  (1, 2A, S, S) logits and loc (1, 4A, S, S) deltas (layout in ``fgsgt_ros.model.anchors``).

A decoder is called with the tuple the network's ``track(x)`` returned and gives ``Candidates``:
one row per score-map position (and anchor), boxes in search-crop pixels relative to the crop
centre, the cosine-window weight of each row and the saliency map over the crop (or None).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np

from fgsgt_ros.model.anchors import anchor_grid, decode


@dataclass
class Candidates:
    """Scored boxes of one search crop."""

    score: np.ndarray                   # (N,) float64 foreground probability in [0, 1]
    boxes: np.ndarray                   # (N, 4) float64 cx, cy, w, h (crop px, from the centre)
    window: np.ndarray                  # (N,) float64 cosine-window weight of each candidate
    saliency: Optional[np.ndarray] = None  # (Hs, Ws) float32 in [0, 1] over the crop, or None


def cosine_window(score_size: int) -> np.ndarray:
    """Flattened (S*S,) outer product of Hanning windows (SiamRPN++'s window penalty)."""
    hann = np.hanning(score_size)
    return np.outer(hann, hann).ravel()


def saliency_of(sal) -> Optional[np.ndarray]:
    """(1, 1, H, W) tensor -> float32 (H, W) clipped to [0, 1]; None stays None."""
    if sal is None:
        return None
    return np.clip(sal[0, 0].float().cpu().numpy(), 0.0, 1.0)


class AnchorDecoder:
    """SiamRPN++ anchor decoding: softmax foreground score, anchor deltas -> boxes."""

    def __init__(self, stride: int, ratios: Sequence[float], scales: Sequence[float]) -> None:
        self.stride = int(stride)
        self.ratios = tuple(ratios)
        self.scales = tuple(scales)
        self._grids: Dict[int, tuple] = {}

    @classmethod
    def from_model_cfg(cls, model_cfg) -> "AnchorDecoder":
        return cls(model_cfg.stride, model_cfg.anchor_ratios, model_cfg.anchor_scales)

    def _grid(self, score_size: int):
        if score_size not in self._grids:
            anchors = anchor_grid(self.stride, self.ratios, self.scales, score_size)
            n_anchor = len(anchors) // (score_size * score_size)
            window = np.tile(cosine_window(score_size), n_anchor)
            self._grids[score_size] = (anchors.astype(np.float64), window)
        return self._grids[score_size]

    def __call__(self, outputs) -> Candidates:
        cls, loc = outputs[0], outputs[1]
        sal = outputs[2] if len(outputs) > 2 else None
        anchors, window = self._grid(cls.shape[-1])
        logits = cls[0].reshape(2, -1).double().cpu().numpy()
        score = 1.0 / (1.0 + np.exp(np.clip(logits[0] - logits[1], -50, 50)))
        boxes = decode(loc[0].reshape(4, -1).double().cpu().numpy(), anchors)
        return Candidates(score, boxes, window, saliency_of(sal))
