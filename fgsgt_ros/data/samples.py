"""Training pairs for the Siamese network: sampling, augmentation, crops, anchor labels, saliency.

One sample = (template crop, search crop, targets) built as in SiamRPN++ training
("SiamRPN++: Evolution of Siamese Visual Tracking with Very Deep Networks" (Li et al., CVPR 2019)) with thermal-specific augmentation:

1. **Pairs**: a template and a search frame of one sequence, ``|t_s - t_z| <= frame_range``, both
   with the target present (absent frames are never drawn). With probability ``neg_prob`` the
   search frame comes from another sequence (a *negative pair*).
2. **Raw-domain (16-bit) augmentation** before the 16->8-bit conversion: gain/offset change and a
   flat-field-correction jump (offset + fresh column pattern), which change what AGC produces.
3. **8-bit conversion** with the tracker's ``ThermalPreprocessor`` (the same AGC the tracker runs).
4. **Crops** with the tracker's convention: square context region
   ``s_z = sqrt((w + p)(h + p))``, ``p = context_amount * (w + h)``, ``s_x = s_z * instance/exemplar``,
   resized to exemplar/instance size, out-of-image pixels padded with the frame mean. The shift and
   scale augmentation (template 4 px / 5 %, search 64 px / 18 % at a 255 px instance, scaled to the
   model's instance size) is the same affine warp.
5. **Crop augmentation**: blur, noise, contrast/gamma (AGC change), polarity flip (white-hot vs
   black-hot, applied to both crops of a pair).
6. **Targets** of the model's family (``fgsgt_ros.data.targets``). FGSGT: anchor labels (IoU >
   0.6 positive, at most 16; IoU < 0.3 negative, at most 48; negative pairs: only anchors within
   ``neg_window`` cells of where the other object is are negatives), regression targets from
   ``fgsgt_ros.model.anchors.encode``, weights 1/num_pos, the saliency mask (1 inside the target
   box in search-crop pixels, all 0 for negative pairs) and the target box (cx, cy, w, h) relative
   to the search-crop centre.

Randomness comes only from ``numpy.random.default_rng([seed, epoch, index])``: sample ``index`` of
an epoch is the same whatever the worker/process that builds it (needed for exact resume and for
DistributedSampler shards).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from fgsgt_ros.boxes import xywh_to_cxcywh
from fgsgt_ros.data.sequence import Sequence
from fgsgt_ros.data.targets import make_target_builder
from fgsgt_ros.tracker.siamese import context_size, crop_affine  # the tracker's crop geometry

#: pysot's instance size: the search shift of REFERENCE.md (64 px) is given at this size
REFERENCE_INSTANCE_SIZE = 255


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation (probabilities and ranges). Geometric defaults are SiamRPN++'s."""

    template_shift: float = 4.0      # px at the exemplar crop
    template_scale: float = 0.05
    search_shift: float = 64.0       # px at a 255 px instance crop; scaled to the model's size
    search_scale: float = 0.18
    blur_prob: float = 0.2           # SiamRPN++ blur
    blur_sigma: Tuple[float, float] = (0.5, 1.5)
    noise_prob: float = 0.3
    noise_sigma: Tuple[float, float] = (1.0, 6.0)     # grey levels (8-bit)
    contrast_prob: float = 0.5       # linear contrast/brightness + gamma: an AGC change
    contrast: Tuple[float, float] = (0.7, 1.3)
    brightness: Tuple[float, float] = (-20.0, 20.0)
    gamma: Tuple[float, float] = (0.7, 1.4)
    polarity_prob: float = 0.1       # white-hot <-> black-hot on both crops
    raw_gain_prob: float = 0.3       # raw counts: gain/offset change before AGC
    raw_gain: Tuple[float, float] = (0.8, 1.25)
    ffc_prob: float = 0.1            # raw counts: FFC offset jump + fresh column pattern
    ffc_offset: Tuple[float, float] = (10.0, 120.0)
    ffc_column_std: Tuple[float, float] = (1.0, 8.0)


@dataclass(frozen=True)
class SampleConfig:
    """Pair sampling and label assignment (SiamRPN++ values by default)."""

    frame_range: int = 100
    neg_prob: float = 0.2
    context_amount: float = 0.5
    pos_iou: float = 0.6
    neg_iou: float = 0.3
    pos_num: int = 16
    neg_num: int = 48
    neg_window: int = 3              # negative pairs: anchors within +-3 cells are negatives
    augment: AugmentConfig = field(default_factory=AugmentConfig)


# ---------------------------------------------------------------------------------------------
# 8-bit conversion


class FrameAGC:
    """The tracker's thermal preprocessing (``fgsgt_ros.tracker.thermal.ThermalPreprocessor``,
    16-bit -> uint8 HxWx3) applied to single frames: its temporal smoothing is reset before each
    frame because training frames are drawn independently (the tracker's first frame is the same)."""

    def __init__(self, cfg=None):
        from fgsgt_ros.tracker.thermal import ThermalConfig, ThermalPreprocessor

        self._pre = ThermalPreprocessor(cfg if cfg is not None else ThermalConfig())

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        self._pre.reset()
        return self._pre(frame)


def default_preprocessor() -> Callable[[np.ndarray], np.ndarray]:
    return FrameAGC()


# ---------------------------------------------------------------------------------------------
# dataset


class PairDataset:
    """Map-style dataset of ``samples_per_epoch`` training pairs drawn from ``sequences``.

    ``set_epoch(e)`` changes the draw (like ``DistributedSampler.set_epoch``). Items are dicts of
    numpy arrays: ``template`` (1, Z, Z) uint8, ``search`` (1, X, X) uint8, and the loss targets
    ``label_cls``, ``label_loc``, ``label_loc_weight``, ``saliency``, ``target_box``,
    plus ``negative`` (bool). The trainer replicates grey to 3 channels (``to_model_input``).
    """

    def __init__(self, sequences: List[Sequence], model_cfg, cfg: SampleConfig = SampleConfig(),
                 samples_per_epoch: int = 10000, seed: int = 0,
                 preprocess: Optional[Callable[[np.ndarray], np.ndarray]] = None):
        self.cfg = cfg
        self.seed = int(seed)
        self.epoch = 0
        self.samples_per_epoch = int(samples_per_epoch)
        self.exemplar_size = int(model_cfg.exemplar_size)
        self.instance_size = int(model_cfg.instance_size)
        self.preprocess = preprocess if preprocess is not None else default_preprocessor()
        # the loss targets of the model's family (anchor labels + saliency for FGSGT)
        self.targets = make_target_builder(model_cfg, cfg)
        # keep only sequences with at least one present frame; remember the present frame indices
        self.sequences: List[Sequence] = []
        self.present: List[np.ndarray] = []
        for seq in sequences:
            idx = np.flatnonzero(~seq.absent)
            if len(idx):
                self.sequences.append(seq)
                self.present.append(idx)
        if not self.sequences:
            raise ValueError("no sequence has a frame with the target present: nothing to train on")

    def __len__(self) -> int:
        return self.samples_per_epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    # -- sampling
    def _pick_pair(self, rng: np.random.Generator, negative: bool):
        si = int(rng.integers(len(self.sequences)))
        present = self.present[si]
        tz = int(present[rng.integers(len(present))])
        if negative and len(self.sequences) > 1:
            sj = int(rng.integers(len(self.sequences) - 1))
            sj = sj + 1 if sj >= si else sj
            tx = int(self.present[sj][rng.integers(len(self.present[sj]))])
            return (si, tz), (sj, tx), True
        near = present[np.abs(present - tz) <= self.cfg.frame_range]
        tx = int(near[rng.integers(len(near))])
        # a single-sequence negative pair is impossible; fall back to a positive one
        return (si, tz), (si, tx), False

    def _load(self, si: int, t: int, rng: np.random.Generator) -> np.ndarray:
        """Frame as uint8 grey (H, W) after raw-domain augmentation and the thermal AGC."""
        aug = self.cfg.augment
        frame = self.sequences[si].frame(t)
        if frame.dtype == np.uint16 or frame.dtype.kind == "f":
            raw = None
            if rng.random() < aug.raw_gain_prob:
                raw = frame.astype(np.float32)
                mean = float(raw.mean())
                raw = (raw - mean) * rng.uniform(*aug.raw_gain) + mean
            if rng.random() < aug.ffc_prob:
                raw = frame.astype(np.float32) if raw is None else raw
                cols = rng.standard_normal((1, raw.shape[1])).astype(np.float32)
                raw = raw + rng.choice([-1.0, 1.0]) * rng.uniform(*aug.ffc_offset) + cols * rng.uniform(
                    *aug.ffc_column_std)
            if raw is not None:
                hi = 65535.0 if frame.dtype == np.uint16 else np.inf
                frame = np.clip(raw, 0, hi).astype(frame.dtype)
        img = self.preprocess(frame)
        if img.ndim == 3:  # the network sees grey replicated to 3 channels
            import cv2

            img = img[..., 0] if img.shape[2] == 1 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        return np.ascontiguousarray(img)

    def _crop(self, img: np.ndarray, box_xywh: np.ndarray, out_size: int, region: float, shift: float,
              scale: float, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        """Augmented crop and the box (cxcywh relative to the crop centre, crop pixels)."""
        cx, cy, w, h = xywh_to_cxcywh(box_xywh)
        sx_aug = 1.0 + rng.uniform(-scale, scale)
        sy_aug = 1.0 + rng.uniform(-scale, scale)
        dx, dy = rng.uniform(-shift, shift, size=2)
        # region shown: (region / sx_aug) x (region / sy_aug) source px -> target appears sx_aug larger
        src_w, src_h = region / sx_aug, region / sy_aug
        px_x, px_y = src_w / out_size, src_h / out_size  # source px per crop px
        ccx, ccy = cx - dx * px_x, cy - dy * px_y       # target ends up dx, dy crop px from centre
        crop = crop_affine(img, (ccx, ccy), (src_w, src_h), out_size, float(img.mean()))
        box = np.array([(cx - ccx) / px_x, (cy - ccy) / px_y, w / px_x, h / px_y], dtype=np.float32)
        return crop, box

    def _augment_crop(self, crop: np.ndarray, rng: np.random.Generator, contrast) -> np.ndarray:
        import cv2

        aug = self.cfg.augment
        out = crop.astype(np.float32)
        if rng.random() < aug.blur_prob:
            out = cv2.GaussianBlur(out, (0, 0), rng.uniform(*aug.blur_sigma))
        if contrast is not None:
            alpha, beta, gamma = contrast
            out = np.clip(out * alpha + beta + (1 - alpha) * 128.0, 0, 255)
            out = 255.0 * (out / 255.0) ** gamma
        if rng.random() < aug.noise_prob:
            out = out + rng.standard_normal(out.shape).astype(np.float32) * rng.uniform(*aug.noise_sigma)
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    def __getitem__(self, index: int) -> Dict[str, np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        cfg, aug = self.cfg, self.cfg.augment
        negative = bool(rng.random() < cfg.neg_prob)
        (si, tz), (sj, tx), negative = self._pick_pair(rng, negative)
        box_z = self.sequences[si].groundtruth[tz]
        box_x = self.sequences[sj].groundtruth[tx]
        img_z = self._load(si, tz, rng)
        img_x = self._load(sj, tx, rng)

        s_z = context_size(box_z[2], box_z[3], cfg.context_amount)
        # each frame is cropped at its own target's context scale (as SiamRPN++'s curated crops), so
        # the target has about the same size in both crops before the scale augmentation
        s_zx = context_size(box_x[2], box_x[3], cfg.context_amount)
        s_x = s_zx * self.instance_size / self.exemplar_size
        search_shift = aug.search_shift * self.instance_size / REFERENCE_INSTANCE_SIZE
        z, _ = self._crop(img_z, box_z, self.exemplar_size, s_z, aug.template_shift, aug.template_scale, rng)
        x, box = self._crop(img_x, box_x, self.instance_size, s_x, search_shift, aug.search_scale, rng)

        contrast = None
        if rng.random() < aug.contrast_prob:
            contrast = (rng.uniform(*aug.contrast), rng.uniform(*aug.brightness), rng.uniform(*aug.gamma))
        z = self._augment_crop(z, rng, contrast)
        x = self._augment_crop(x, rng, contrast if rng.random() < 0.5 else None)
        if rng.random() < aug.polarity_prob:
            z, x = 255 - z, 255 - x

        info = {"category": getattr(self.sequences[sj], "category", None)}
        sample = {"template": z[None], "search": x[None], "negative": np.bool_(negative)}
        sample.update(self.targets(box, negative, rng, info))
        return sample


#: Keys of a sample that are not loss targets (the trainer sends every other key to the loss).
INPUT_KEYS = ("template", "search", "negative")


def to_model_input(batch_images):
    """(B, 1, H, W) uint8 tensor -> (B, 3, H, W) float 0..255 (grey replicated), the model's input."""
    return batch_images.float().expand(-1, 3, -1, -1).contiguous()
