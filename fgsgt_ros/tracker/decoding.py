"""Decoding strategies: a network's raw output for one search crop -> scored candidate boxes.

``SiameseTracker`` owns everything else of a frame (crop geometry, scale/ratio penalty, cosine
window, size smoothing, LOST logic), so a network family with another head only needs a decoder:

- ``AnchorDecoder``: SiamRPN++ anchors (FGSGT, SiamRPN++): ``(cls, loc, sal)`` with cls
  (1, 2A, S, S) logits and loc (1, 4A, S, S) deltas (layout in ``fgsgt_ros.model.anchors``).
- ``AnchorFreeDecoder``: per-point heads (SiamFFN, SiamBAN-style, IBFP): a score map and an
  (l, t, r, b) map in crop pixels (layout in ``fgsgt_ros.model.points``).

A decoder is called with the tuple the network's ``track(x)`` returned and gives ``Candidates``:
one row per score-map position (and anchor), boxes in search-crop pixels relative to the crop
centre, the cosine-window weight of each row and the saliency map over the crop (or None).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np

from fgsgt_ros.model.anchors import anchor_grid, decode
from fgsgt_ros.model.points import decode_ltrb, point_grid


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


#: score-map transforms of ``AnchorFreeDecoder`` (``auto``: softmax for 2 channels, sigmoid for 1)
SCORE_TRANSFORMS = ("auto", "softmax", "sigmoid", "prob")


class AnchorFreeDecoder:
    """Anchor-free (per-point) decoding: score map + (l, t, r, b) map -> one box per point.

    Expected network output (a tuple; positions configurable with the ``*_index`` arguments):

    - ``outputs[score_index]``: score map (1, C, S, S), C = 2 softmax logits (channel 1 = target)
      or C = 1 (logit or probability, e.g. a centre map); turned into a probability in [0, 1] by
      ``score``: ``"softmax"`` (C = 2), ``"sigmoid"`` (C = 1 logits), ``"prob"`` (C = 1, already a
      probability, clipped to [0, 1]) or ``"auto"`` (softmax for C = 2, sigmoid for C = 1);
    - ``outputs[ltrb_index]``: (1, 4, S, S) distances from each point to the box's left, top,
      right, bottom edges in search-crop pixels (already decoded by the network, e.g. exp());
    - ``outputs[saliency_index]`` (optional, when the tuple is long enough): (1, 1, H, W) map over
      the crop in [0, 1] for display, or None.

    Point (row, col) lies at ``stride * (index - (S - 1) / 2)`` crop pixels from the crop centre
    (``fgsgt_ros.model.points.point_grid``; flattened index ``row * S + col``); its box is
    ``points.decode_ltrb`` and its cosine-window weight the Hanning window at (row, col), so
    ``SiameseTracker``'s penalties, window, size smoothing and LOST logic apply unchanged.
    Widths/heights below 1e-3 px (ltrb with l + r <= 0) are raised to 1e-3.
    Training targets use the same geometry (``points.encode_ltrb`` / ``points.assign_labels``).
    """

    def __init__(self, stride: float, score: str = "auto", score_index: int = 0,
                 ltrb_index: int = 1, saliency_index: Optional[int] = 2) -> None:
        if score not in SCORE_TRANSFORMS:
            raise ValueError(f"score transform must be one of {SCORE_TRANSFORMS}, not {score!r}")
        if stride <= 0:
            raise ValueError(f"stride must be positive, got {stride}")
        self.stride = float(stride)
        self.score = score
        self.score_index = int(score_index)
        self.ltrb_index = int(ltrb_index)
        self.saliency_index = saliency_index
        self._grids: Dict[int, tuple] = {}

    @classmethod
    def from_model_cfg(cls, model_cfg, **kwargs) -> "AnchorFreeDecoder":
        return cls(model_cfg.stride, **kwargs)

    def _grid(self, score_size: int):
        if score_size not in self._grids:
            self._grids[score_size] = (point_grid(self.stride, score_size),
                                       cosine_window(score_size))
        return self._grids[score_size]

    def probabilities(self, score_map) -> np.ndarray:
        """(1, C, S, S) tensor -> (S*S,) float64 target probability (see ``score``)."""
        c = score_map.shape[1]
        s = score_map[0].reshape(c, -1).double().cpu().numpy()
        mode = self.score
        if mode == "auto":
            mode = "softmax" if c == 2 else "sigmoid"
        if mode == "softmax":
            if c != 2:
                raise ValueError(f"softmax scores need a 2-channel score map, got {c} channels")
            return 1.0 / (1.0 + np.exp(np.clip(s[0] - s[1], -50, 50)))
        if c != 1:
            raise ValueError(f"{mode} scores need a 1-channel score map, got {c} channels")
        if mode == "sigmoid":
            return 1.0 / (1.0 + np.exp(-np.clip(s[0], -50, 50)))
        return np.clip(s[0], 0.0, 1.0)

    def __call__(self, outputs) -> Candidates:
        score_map, ltrb = outputs[self.score_index], outputs[self.ltrb_index]
        size = score_map.shape[-1]
        if score_map.shape[-2] != size or tuple(ltrb.shape[-3:]) != (4, size, size):
            raise ValueError(f"anchor-free decoding needs a square score map and a (4, S, S) "
                             f"ltrb map; got {tuple(score_map.shape)} and {tuple(ltrb.shape)}")
        points, window = self._grid(size)
        score = self.probabilities(score_map)
        d = ltrb[0].reshape(4, -1).double().cpu().numpy().T
        boxes = decode_ltrb(d, points)
        # a degenerate (non-positive) side would break the tracker's size/ratio penalty
        boxes[:, 2:] = np.maximum(boxes[:, 2:], 1e-3)
        sal = None
        i = self.saliency_index
        if i is not None and len(outputs) > i:
            sal = saliency_of(outputs[i])
        return Candidates(score, boxes, window, sal)
