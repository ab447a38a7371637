"""SiamFC-style response-map tracking (no ROS imports): the tracking loop of MMNet (and of any
network whose ``track(x)`` returns one score map per search crop, ``(score,)`` with score
(N, 1, S, S) logits).

Per frame (SiamFC, "Fully-Convolutional Siamese Networks for Object Tracking"; MMNet's tracking
process):

- **scale pyramid**: ``num_scales`` square search crops of side ``s_x * scale_step**k``,
  k = -(n-1)/2 .. (n-1)/2, with the shared crop geometry of ``siamese.py`` (``context_size``,
  ``crop_square``: s_z = sqrt((w + p)(h + p)), p = c(w + h); s_x = s_z * instance / exemplar), all
  through the network in one batch against the cached template;
- **score up-sampling**: each S x S map is resized (bicubic) by ``response_upsample``; maps of the
  scales other than 1 are multiplied by ``scale_penalty``; the scale with the highest peak wins;
- **cosine window**: the winning map is normalised (minus its minimum, divided by its sum) and mixed
  with a Hann window, (1 - WI) r + WI hann, and its arg-max is the new centre: a displacement of
  d up-sampled cells is d * stride / upsample crop px, times s_x(scale) / instance_size frame px;
- **size**: multiplied by (1 - scale_lr) + scale_lr * scale of the winning crop.

Score, states and LOST logic are those of every tracker here (``base.LostMonitor``, ``TrackResult``,
``validate_box``, ``as_uint8_image``; thresholds from ``TrackerConfig``): the frame's score is
sigmoid of the highest raw logit of the winning scale. While LOST the search context is enlarged by
``reacquire_scale``, the window weakened to ``lost_window_influence`` and the box moves only at the
re-acquisition level (``LostMonitor.levels``). The tracker takes 8-bit frames (the caller's AGC, e.g.
``fgsgt_ros.tracker.thermal.ThermalPreprocessor`` or the tracking session); ``saliency`` is the
sigmoid score map of the winning scale over the part of the search crop it covers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

import cv2
import numpy as np
import torch

from fgsgt_ros.tracker.base import NetworkTracker, TrackResult, TrackState, as_uint8_image, validate_box
from fgsgt_ros.tracker.config import TrackerConfig
from fgsgt_ros.tracker.siamese import context_size, crop_square, crop_to_frame

__all__ = ["SiamFCConfig", "SiamFCTracker"]


@dataclass(frozen=True)
class SiamFCConfig:
    """SiamFC's tracking hyperparameters (its published values for the 3-scale version)."""

    num_scales: int = 3
    scale_step: float = 1.0375
    scale_penalty: float = 0.9745
    scale_lr: float = 0.59
    window_influence: float = 0.176
    response_upsample: int = 16

    def __post_init__(self):
        if self.num_scales < 1 or self.num_scales % 2 == 0:
            raise ValueError(f"num_scales must be odd and >= 1, got {self.num_scales}")
        if self.scale_step < 1.0 or not 0.0 < self.scale_penalty <= 1.0:
            raise ValueError("scale_step must be >= 1 and scale_penalty in (0, 1]")
        if not 0.0 <= self.scale_lr <= 1.0 or not 0.0 <= self.window_influence <= 1.0:
            raise ValueError("scale_lr and window_influence must be in [0, 1]")
        if self.response_upsample < 1:
            raise ValueError("response_upsample must be >= 1")

    def to_dict(self):
        return asdict(self)

    @property
    def scales(self) -> np.ndarray:
        k = np.arange(self.num_scales) - (self.num_scales - 1) / 2.0
        return self.scale_step ** k


class SiamFCTracker(NetworkTracker):
    """Response-map tracker around a network with ``template(z)`` and ``track(x) -> (score,)``.

    Args: as ``SiameseTracker`` (``model``, ``model_cfg`` with ``exemplar_size``,
    ``instance_size``, ``stride``; ``tracker_cfg`` a ``TrackerConfig`` for context, minimum size and
    the LOST fields; ``device``; ``name``) plus ``siamfc_cfg`` (``SiamFCConfig()`` by default).
    """

    default_name = "siamfc"

    def __init__(self, model, model_cfg, tracker_cfg: Optional[TrackerConfig] = None,
                 device: str = "cpu", name: Optional[str] = None,
                 siamfc_cfg: Optional[SiamFCConfig] = None) -> None:
        super().__init__(model, model_cfg, tracker_cfg, device, name)
        self.fc = siamfc_cfg or SiamFCConfig()
        self._windows = {}
        #: index into ``SiamFCConfig.scales`` of the last update's winning search scale
        self.last_scale_index: Optional[int] = None

    # ------------------------------------------------------------------ helpers
    def _to_tensor(self, crops) -> torch.Tensor:
        arr = np.stack(crops)
        t = torch.from_numpy(arr)
        t = t[:, None].expand(-1, 3, -1, -1) if arr.ndim == 3 else t.permute(0, 3, 1, 2)
        return t.to(self.device, dtype=torch.float32).contiguous()

    def _window(self, n: int) -> np.ndarray:
        if n not in self._windows:
            hann = np.hanning(n)
            w = np.outer(hann, hann)
            self._windows[n] = w / w.sum()
        return self._windows[n]

    # ------------------------------------------------------------------ API
    @torch.no_grad()
    def init(self, image: np.ndarray, box_xywh) -> None:
        """Start (or restart) tracking ``box_xywh`` in ``image`` (uint8 grey or BGR)."""
        image = as_uint8_image(image, "SiamFCTracker")
        h, w = image.shape[:2]
        box = validate_box(box_xywh, w, h)  # raises before any state changes
        center = np.array([box[0] + box[2] / 2.0, box[1] + box[3] / 2.0])
        size = np.array([box[2], box[3]], dtype=np.float64)
        s_z = context_size(size[0], size[1], self.cfg.context_amount)
        z = crop_square(image, center, s_z, self.model_cfg.exemplar_size, self._fill(image))
        self.model.template(self._to_tensor([z]))
        self._center, self._size = center, size
        self.last_scale_index = None
        self._start_target(image)

    @torch.no_grad()
    def _search(self, image: np.ndarray, fill, crop_center: np.ndarray, s_x: float):
        """The scaled crops around one centre (``fill`` outside the image) against the template:
        (centre, logits (n, S, S), upsampled responses, index of the best scale after the scale
        penalty, its sigmoid peak)."""
        fc, mc = self.fc, self.model_cfg
        crops = [crop_square(image, crop_center, s_x * s, mc.instance_size, fill) for s in fc.scales]
        if isinstance(self.model, torch.nn.Module):  # one batch of crops against the template
            out = self.model.track(self._to_tensor(crops))[0]
        else:  # e.g. the onnx runtime, whose graphs take batch 1
            out = torch.cat([torch.as_tensor(self.model.track(self._to_tensor([c]))[0]) for c in crops])
        logits = out[:, 0].float().cpu().numpy()  # (n, S, S)
        n_scales, size = logits.shape[0], logits.shape[-1]
        up = size * fc.response_upsample
        resp = np.stack([cv2.resize(m.astype(np.float32), (up, up), interpolation=cv2.INTER_CUBIC)
                         for m in logits])
        peaks = resp.reshape(n_scales, -1).max(1)
        centre_idx = (n_scales - 1) // 2
        penalised = np.where(np.arange(n_scales) == centre_idx, peaks,
                             peaks - np.abs(peaks) * (1.0 - fc.scale_penalty))
        best = int(np.argmax(penalised))
        best_score = float(1.0 / (1.0 + np.exp(-np.clip(logits[best].max(), -50, 50))))
        return crop_center, logits, resp, best, best_score

    @torch.no_grad()
    def update(self, image: np.ndarray) -> TrackResult:
        """Track one frame; RuntimeError when IDLE (call ``init`` first)."""
        image = self._update_frame(image)
        frame_h, frame_w = image.shape[:2]
        cfg, fc, mc = self.cfg, self.fc, self.model_cfg
        lost = self.state == TrackState.LOST

        centres, s_x, recover = self.search_plan(
            context_size(self._size[0], self._size[1], cfg.context_amount)
            * mc.instance_size / mc.exemplar_size, image)
        scales = fc.scales
        # one batch of scaled crops per centre; of several scan tiles the best score wins
        fill = self._fill(image)  # the frame mean, once for all of this frame's crops
        crop_center, logits, resp, best, best_score = max(
            (self._search(image, fill, c, s_x) for c in centres), key=lambda found: found[4])
        size = logits.shape[-1]
        up = resp.shape[-1]
        self.last_scale_index = best

        r = resp[best] - resp[best].min()
        r = r / max(float(r.sum()), 1e-12)
        wi = cfg.lost_window_influence if lost else fc.window_influence
        r = (1.0 - wi) * r + wi * self._window(up)
        py, px = np.unravel_index(int(np.argmax(r)), r.shape)
        s_best = s_x * scales[best]
        region = np.array([crop_center[0] - s_best / 2, crop_center[1] - s_best / 2, s_best, s_best])
        # while LOST (a re-acquisition level in the plan) the box moves only where the monitor
        # would re-acquire (the same level)
        if recover is None or best_score >= recover:
            disp = (np.array([px, py], dtype=np.float64) - (up - 1) / 2.0) \
                * mc.stride / fc.response_upsample * s_best / mc.instance_size
            center = crop_center + disp
            factor = (1.0 - fc.scale_lr) + fc.scale_lr * scales[best]
            sz = self._size * factor
            center[0] = np.clip(center[0], 0.0, frame_w)
            center[1] = np.clip(center[1], 0.0, frame_h)
            sz[0] = np.clip(sz[0], min(cfg.min_size, frame_w), frame_w)
            sz[1] = np.clip(sz[1], min(cfg.min_size, frame_h), frame_h)
            self._center, self._size = center, sz
        state = self._monitor.step(best_score, recover)

        # saliency: the winning sigmoid score map over the crop part it covers (score cells are
        # ``stride`` crop px apart, centred on the crop)
        sal = (1.0 / (1.0 + np.exp(-np.clip(logits[best], -50, 50)))).astype(np.float32)
        span = size * mc.stride * s_best / mc.instance_size
        sal_region = np.array([region[0] + (s_best - span) / 2, region[1] + (s_best - span) / 2,
                               span, span])
        fn = (lambda m=sal, rg=sal_region: crop_to_frame(m, rg, frame_h, frame_w))
        return TrackResult(box=self.box, score=best_score, state=state, frame_size=(frame_h, frame_w),
                           saliency_crop=sal, search_region=sal_region, _saliency_fn=fn)
