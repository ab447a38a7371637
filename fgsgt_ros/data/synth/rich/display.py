"""Camera-side conversion of radiometric frames to 8-bit display video."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from fgsgt_ros.data.synth.config import SynthConfig
from fgsgt_ros.data.synth.rich.overlay import _Overlay


class _Display:
    """Camera-side conversion of a radiometric frame to 8-bit display video: AGC (percentile or
    min/max stretch that adapts slowly, or local contrast equalisation), gamma, white-hot or
    black-hot palette, unsharp-mask sharpening (halos), burnt-in overlays, JPEG-like compression."""

    def __init__(self, rng: np.random.Generator, cfg: SynthConfig, H: int, W: int):
        self.rng = rng
        self.mode = str(rng.choice(["percentile", "minmax", "equalise"], p=[0.55, 0.2, 0.25]))
        self.p_lo, self.p_hi = (0.0, 100.0) if self.mode == "minmax" else (rng.uniform(0, 3), rng.uniform(97, 100))
        self.rate = math.exp(rng.uniform(math.log(0.03), math.log(1.0)))
        self.gamma = math.exp(rng.uniform(math.log(0.65), math.log(1.5)))
        self.black_hot = bool(rng.random() < cfg.p_black_hot)
        self.sharpen = (rng.uniform(0.8, 2.5), rng.uniform(0.3, 1.5)) if rng.random() < 0.7 else None
        self.jpeg = int(rng.integers(30, 93)) if rng.random() < cfg.p_jpeg else None
        self.overlay = _Overlay(rng, H, W) if rng.random() < cfg.p_overlay else None
        self.noise = rng.uniform(0.0, 1.5)
        self.clip_limit = rng.uniform(1.5, 4.0)
        self.lo: Optional[float] = None
        self.hi: Optional[float] = None

    def apply(self, frame: np.ndarray, i: int) -> np.ndarray:
        import cv2

        frame = frame.astype(np.float32, copy=False)
        sub = frame[::4, ::4]
        lo, hi = (float(v) for v in np.percentile(sub, [self.p_lo, self.p_hi]))
        if self.lo is None:
            self.lo, self.hi = lo, hi
        else:  # slow AGC: the stretch follows the scene with a lag
            self.lo += self.rate * (lo - self.lo)
            self.hi += self.rate * (hi - self.hi)
        span = max(self.hi - self.lo, 20.0)
        x = np.clip((frame - np.float32(self.lo)) * np.float32(1.0 / span), 0.0, 1.0)
        if self.mode == "equalise":
            clahe = cv2.createCLAHE(clipLimit=self.clip_limit, tileGridSize=(8, 8))
            x = clahe.apply(np.round(x * 255).astype(np.uint8)).astype(np.float32) / 255.0
        x = x ** np.float32(self.gamma)
        if self.black_hot:
            x = 1.0 - x
        if self.sharpen is not None:
            sigma, amount = self.sharpen
            x = x + np.float32(amount) * (x - cv2.GaussianBlur(x, (0, 0), sigma))
        x = x * np.float32(255.0) + self.rng.standard_normal(x.shape, dtype=np.float32) * np.float32(self.noise)
        img = np.clip(np.round(x), 0, 255).astype(np.uint8)
        if self.overlay is not None:
            img = self.overlay.draw(img, i)
        if self.jpeg is not None:
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg])
            if not ok:
                raise RuntimeError("JPEG encoding of a generated frame failed")
            img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
        return img
