"""SiamRPN++-style tracking loop around any FGSGT-family network (no ROS imports).

Usage with raw thermal frames: through ``fgsgt_ros.tracker.session.TrackingSession``, the one
per-frame loop (AGC, bad frames, inference mode, what is published) that the ROS node and
``fgsgt eval`` run::

    from fgsgt_ros.tracker.session import TrackingSession
    session = TrackingSession.from_spec("fgsgt")  # shipped; or "fgsgt_tiny:path.pt", "csrt"
    session.init(raw_frame0, (x, y, w, h))
    for raw in frames:
        r = session.step(raw)              # r.box, .score, .state, .published, .saliency (lazy)

The tracker itself only takes 8-bit frames, (H, W) or (H, W, 3) (grey thermal is replicated to the
3 network channels after cropping, which is cheaper than converting the whole frame); 16-bit or
float frames raise TypeError pointing at ``ThermalPreprocessor``. Keeping AGC outside lets one
preprocessed image serve both the tracker and the display.

Per frame (as in SiamRPN++, "SiamRPN++: Evolution of Siamese Visual Tracking with Very Deep
Networks", and its public implementation):
- context: s_z = sqrt((w + c(w+h)) (h + c(w+h))), c = ``context_amount``; s_x = s_z * instance/exemplar;
- crops: one ``cv2.warpAffine`` from the frame straight to the network size (bilinear), centred on
  the target, out-of-image parts filled with the per-channel frame mean;
- scores: softmax foreground of ``cls``; boxes: anchors of ``fgsgt_ros.model.anchors`` decoded with
  ``loc``; penalty = exp(-(r_c * s_c - 1) K) with the scale change s_c of sz(w, h) =
  sqrt((w+p)(h+p)), p = (w+h)/2 and the ratio change r_c; pscore = penalty*score*(1-WI) + window*WI
  (Hanning window); the best anchor moves the centre fully and the size by lr = penalty*score*LR;
  the centre is clipped to the image and w, h to [max(min_size, min_scale * init size),
  min(max_scale * init size, image size)].
Coordinates are continuous (``fgsgt_ros.boxes``): centre = x + w/2, which is pysot's x + (w-1)/2
in its pixel-index convention.

States (``TrackerConfig`` documents the thresholds): IDLE until ``init``; TRACKING; LOST after
``lost_frames`` weak frames. Re-acquisition while LOST: the network input stays ``instance_size``,
so the search context s_x is enlarged by ``reacquire_scale`` instead (coarser resolution, larger
area); the box stays where it was until a score reaches the re-acquisition level (``LostMonitor``:
``recover_threshold``, or lower relative to the target's own scores). Every
``lost_scan_every``-th LOST frame searches ``lost_scan_tiles`` tiles of a whole-frame scan at the
tracking resolution instead, the best-scoring tile winning (``NetworkTracker.search_plan``,
``tracker/scan.py``): re-detection of a target that comes back elsewhere, at the target's own
reference score (``LostMonitor.redetect_level``).
``init`` may be called again at any time with a new box; an invalid box raises
``InvalidBoxError`` and keeps the previous target and state.

Saliency: the network's map covers the search crop; ``TrackResult.saliency`` warps it back to the
full frame (float32 (H, W), zeros outside the crop) only when first read.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import cv2
import numpy as np
import torch

from fgsgt_ros.tracker.base import (InvalidBoxError, NetworkTracker, TrackResult, TrackState,
                                    as_uint8_image, validate_box)
from fgsgt_ros.tracker.config import TrackerConfig
from fgsgt_ros.tracker.decoding import AnchorDecoder
from fgsgt_ros.tracker.motion import CameraMotion

__all__ = ["SiameseTracker", "TrackResult", "TrackState", "InvalidBoxError", "crop_square",
           "crop_to_frame", "crop_affine", "context_size"]


def context_size(w: float, h: float, context_amount: float) -> float:
    """Side of the square exemplar context region (SiamRPN++): sqrt((w + p)(h + p)), p = c(w + h)."""
    p = context_amount * (w + h)
    return math.sqrt((w + p) * (h + p))


def crop_affine(image: np.ndarray, center: Tuple[float, float], size_xy: Tuple[float, float],
                out_size: int, pad_value) -> np.ndarray:
    """Crop a ``size_xy`` (w, h) region centred at continuous ``center`` and resize to ``out_size``.

    Training's scale augmentation stretches w and h independently; the tracker crops squares
    (``crop_square``).

    Continuous coordinates (fgsgt_ros.boxes): pixel j covers [j, j+1). Outside the image the crop
    is filled with ``pad_value`` (the frame mean, as the tracker does).
    """
    sx = size_xy[0] / out_size
    sy = size_xy[1] / out_size
    # output pixel u (centre u + 0.5) -> continuous source cx + (u + 0.5 - out/2) * s -> cv2 coords -0.5
    m = np.array([[sx, 0.0, center[0] + (0.5 - out_size / 2) * sx - 0.5],
                  [0.0, sy, center[1] + (0.5 - out_size / 2) * sy - 0.5]], dtype=np.float64)
    if np.ndim(pad_value) == 0:
        border = (float(pad_value),) * 4
    else:
        border = tuple(float(v) for v in np.ravel(pad_value)) + (0.0,) * (4 - np.size(pad_value))
    return cv2.warpAffine(image, m, (out_size, out_size),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border)


def crop_square(image: np.ndarray, center, side: float, out_size: int, fill) -> np.ndarray:
    """Square region of ``side`` frame pixels centred on ``center`` (continuous coords), resized to
    ``out_size`` x ``out_size``; parts outside the image take the value ``fill`` (per channel)."""
    return crop_affine(image, center, (side, side), out_size, fill)


def crop_to_frame(crop_map: np.ndarray, region_xywh, frame_h: int, frame_w: int) -> np.ndarray:
    """Inverse of ``crop_square`` for a map covering the square ``region_xywh``: float32 (H, W),
    zeros outside the region."""
    hs, ws = crop_map.shape[:2]
    x0, y0, side_w, side_h = (float(v) for v in region_xywh)
    kx, ky = ws / side_w, hs / side_h
    # frame pixel X (centre X + 0.5) <- map index (X + 0.5 - x0) k - 0.5
    m = np.array([[kx, 0.0, (0.5 - x0) * kx - 0.5], [0.0, ky, (0.5 - y0) * ky - 0.5]])
    return cv2.warpAffine(np.ascontiguousarray(crop_map, dtype=np.float32), m, (frame_w, frame_h),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)


def _change(r: np.ndarray) -> np.ndarray:
    return np.maximum(r, 1.0 / r)


def _sz(w, h):
    pad = (w + h) * 0.5
    return np.sqrt((w + pad) * (h + pad))


class SiameseTracker(NetworkTracker):
    """Tracker around a network with ``template(z)`` and ``track(x) -> (cls, loc, sal)``.

    Args:
        model: the network (``fgsgt_ros.model.families.fgsgt.FGSGTNet`` or anything with that
            interface).
        model_cfg: provides ``exemplar_size`` and ``instance_size`` (and, for the default anchor
            decoder, ``stride``, ``anchor_ratios``, ``anchor_scales``).
        tracker_cfg: hyperparameters (``TrackerConfig()`` defaults when None).
        device: torch device string, e.g. "cpu" or "cuda:0".
        decoder: network output -> ``decoding.Candidates`` (default: SiamRPN++ anchors); other
            heads (anchor-free, ...) plug in here and share the rest of the tracking loop.
        online: optional per-target learner (e.g. IBFP's online branch, ``tracker/online.py``)
            with ``start(x, outputs, box)`` on the first frame's search crop (target centred;
            box cx, cy, w, h in crop pixels from the centre), ``refine(outputs) -> outputs``
            before decoding and ``observe(candidates, best, box, confident)`` after each decision.
    """

    default_name = "siamese"

    def __init__(self, model, model_cfg, tracker_cfg: Optional[TrackerConfig] = None,
                 device: str = "cpu", name: Optional[str] = None, decoder=None,
                 online=None) -> None:
        super().__init__(model, model_cfg, tracker_cfg, device, name)
        self.decoder = decoder if decoder is not None else AnchorDecoder.from_model_cfg(model_cfg)
        self.online = online
        self._init_size = np.ones(2)  # the target's size at init: its own size limits
        self._kernels = None  # template kept by the tracker (template_update), else by the network
        self._camera = CameraMotion() if self.cfg.camera_motion else None

    # ------------------------------------------------------------------ state
    def set_config(self, cfg: TrackerConfig) -> None:
        super().set_config(cfg)
        if cfg.camera_motion and self._camera is None:
            self._camera = CameraMotion()  # starts estimating with the next frame
        elif not cfg.camera_motion:
            self._camera = None

    # ------------------------------------------------------------------ helpers
    def _to_tensor(self, crop: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(crop)
        if crop.ndim == 2:
            t = t[None].expand(3, -1, -1)
        else:
            t = t.permute(2, 0, 1)
        return t[None].to(self.device, dtype=torch.float32, non_blocking=True).contiguous()

    def _context(self) -> float:
        return context_size(self._size[0], self._size[1], self.cfg.context_amount)

    # ------------------------------------------------------------------ template
    def _set_template(self, z_tensor: torch.Tensor) -> None:
        """First-frame template. The tracker keeps the kernels itself (initial and running, so
        ``template_update`` can blend them, also when switched on at run time); a network without
        ``template_kernels`` caches its own template and is never updated."""
        if hasattr(self.model, "template_kernels"):
            kernels = tuple(self.model.template_kernels(z_tensor))
            self._kernels0 = kernels
            self._kernels_run = kernels
            self._kernels = kernels
            self._since_update = 0
        else:
            self.model.template(z_tensor)
            self._kernels = None

    def _track(self, x_tensor: torch.Tensor):
        if self._kernels is not None:
            return self.model.track_with_kernels(x_tensor, *self._kernels)
        return self.model.track(x_tensor)

    def _maybe_update_template(self, image: np.ndarray, score: float) -> None:
        """Linear template update on confident frames: running = (1-g) running + g new, used =
        a initial + (1-a) running (the initial template anchors it against drift)."""
        cfg = self.cfg
        if self._kernels is None or cfg.template_update <= 0:
            return
        self._since_update += 1
        if self._since_update < cfg.template_update_interval or score < cfg.template_update_score:
            return
        self._since_update = 0
        z = crop_square(image, self._center, self._context(), self.model_cfg.exemplar_size,
                        self._fill(image))
        new = self.model.template_kernels(self._to_tensor(z))
        g, a = cfg.template_update, cfg.template_keep_initial
        self._kernels_run = tuple((1 - g) * r + g * n for r, n in zip(self._kernels_run, new))
        self._kernels = tuple(a * k0 + (1 - a) * r for k0, r in zip(self._kernels0, self._kernels_run))

    # ------------------------------------------------------------------ API
    @torch.no_grad()
    def init(self, image: np.ndarray, box_xywh) -> None:
        """Start (or restart) tracking the target ``box_xywh`` in ``image`` (uint8, grey or BGR)."""
        image = as_uint8_image(image, "SiameseTracker")
        h, w = image.shape[:2]
        box = validate_box(box_xywh, w, h)  # raises before any state changes
        center = np.array([box[0] + box[2] / 2.0, box[1] + box[3] / 2.0])
        size = np.array([box[2], box[3]], dtype=np.float64)
        old_center, old_size = self._center, self._size
        self._center, self._size = center, size
        old_init_size, self._init_size = self._init_size, size.copy()
        try:
            z = crop_square(image, center, self._context(), self.model_cfg.exemplar_size,
                            self._fill(image))
            self._set_template(self._to_tensor(z))
            if self.online is not None:  # the first search crop, target centred
                mc = self.model_cfg
                s_x = self._context() * mc.instance_size / mc.exemplar_size
                xt = self._to_tensor(crop_square(image, center, s_x, mc.instance_size,
                                                 self._fill(image)))
                k = mc.instance_size / s_x
                self.online.start(xt, self._track(xt),
                                  np.array([0.0, 0.0, size[0] * k, size[1] * k]))
            if self._camera is not None:
                self._camera.reset()
                self._camera.update(image, box)
        except Exception:
            self._center, self._size, self._init_size = old_center, old_size, old_init_size
            raise
        self._start_target(image)

    @torch.no_grad()
    def _search(self, image: np.ndarray, fill, crop_center: np.ndarray, s_x: float, scale: float,
                window_influence: float):
        """One search crop (``fill`` outside the image) through the network and decoder: (centre,
        candidates, boxes in crop pixels, scale/aspect penalty, index of the best candidate by
        penalised score)."""
        cfg, mc = self.cfg, self.model_cfg
        x = crop_square(image, crop_center, s_x, mc.instance_size, fill)
        out = self._track(self._to_tensor(x))
        if self.online is not None:
            out = self.online.refine(out)
        cand = self.decoder(out)
        pred = cand.boxes
        # scale / aspect-ratio change penalty (in crop pixels)
        target_w, target_h = self._size * scale
        s_c = _change(_sz(pred[:, 2], pred[:, 3]) / _sz(target_w, target_h))
        r_c = _change((target_w / target_h) / (pred[:, 2] / pred[:, 3]))
        penalty = np.exp(-(r_c * s_c - 1.0) * cfg.penalty_k)
        pscore = penalty * cand.score * (1.0 - window_influence) + cand.window * window_influence
        return crop_center, cand, pred, penalty, int(np.argmax(pscore))

    @torch.no_grad()
    def update(self, image: np.ndarray) -> TrackResult:
        """Track one frame; raises RuntimeError when IDLE (call ``init`` first)."""
        image = self._update_frame(image)
        frame_h, frame_w = image.shape[:2]
        cfg, mc = self.cfg, self.model_cfg
        lost = self.state == TrackState.LOST
        if self._camera is not None:  # follow the scene when the camera pans or tilts
            dx, dy = self._camera.update(image, None if lost else self.box)
            self._center = self._center + (dx, dy)

        centres, s_x, recover = self.search_plan(
            self._context() * mc.instance_size / mc.exemplar_size, image)
        scale = mc.instance_size / s_x  # crop pixels per frame pixel
        wi = cfg.lost_window_influence if lost else cfg.window_influence
        # one network pass per crop; of several scan tiles the one with the highest score wins
        fill = self._fill(image)  # the frame mean, once for all of this frame's crops
        searches = [self._search(image, fill, c, s_x, scale, wi) for c in centres]
        crop_center, cand, pred, penalty, best = max(
            searches, key=lambda found: float(found[1].score[found[4]]))
        score = cand.score
        best_score = float(score[best])

        region = np.array([crop_center[0] - s_x / 2, crop_center[1] - s_x / 2, s_x, s_x])
        # while LOST (a re-acquisition level in the plan) the box moves only where the monitor
        # would re-acquire (the same level)
        if recover is None or best_score >= recover:
            bbox = pred[best] / scale
            lr = penalty[best] * score[best] * cfg.lr
            center = crop_center + bbox[:2]
            size = self._size * (1.0 - lr) + bbox[2:] * lr
            center[0] = np.clip(center[0], 0.0, frame_w)
            center[1] = np.clip(center[1], 0.0, frame_h)
            lo = np.maximum(cfg.min_size, cfg.min_scale * self._init_size)
            hi = np.minimum(cfg.max_scale * self._init_size, (frame_w, frame_h))
            size = np.clip(size, np.minimum(lo, hi), hi)
            self._center, self._size = center, size
        state = self._monitor.step(best_score, recover)
        if self.online is not None:
            self.online.observe(cand, best, pred[best], state == TrackState.TRACKING and not lost)
        if state == TrackState.TRACKING and not lost:
            self._maybe_update_template(image, best_score)

        sal_crop = cand.saliency
        fn = None
        if sal_crop is not None:
            fn = (lambda m=sal_crop, r=region: crop_to_frame(m, r, frame_h, frame_w))
        return TrackResult(box=self.box, score=best_score, state=state,
                           frame_size=(frame_h, frame_w), saliency_crop=sal_crop,
                           search_region=region, _saliency_fn=fn)
