"""Raw sensor model shared by both generators (blur, vignetting, fixed-pattern and temporal noise,
drift, FFC jumps)."""

from __future__ import annotations

import numpy as np

from fgsgt_ros.data.synth.config import SynthConfig
from fgsgt_ros.data.synth.textures import _smooth_path


class _Sensor:
    """Raw sensor effects on a float frame in counts: optical blur, vignetting, fixed-pattern
    row/column noise, temporal noise, slow drift and FFC offset jumps (which also redraw the column
    pattern). The random draws happen in a fixed order (the classic scenes' output depends on it)."""

    def __init__(self, rng: np.random.Generator, cfg: SynthConfig, H: int, W: int, n: int):
        self.rng, self.cfg, self.H, self.W = rng, cfg, H, W
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        r2 = ((xx - W / 2) / (W / 2)) ** 2 + ((yy - H / 2) / (H / 2)) ** 2
        self.vignette = -rng.uniform(*cfg.vignetting) * r2 / 2.0
        self.fpn_sigma = rng.uniform(*cfg.fpn_std)
        self.fpn = self._draw_fpn()
        self.noise_sigma = rng.uniform(*cfg.temporal_noise)
        self.blur_sigma = rng.uniform(*cfg.optical_blur)
        self.drift = _smooth_path(rng, n, rng.uniform(-20, 20, (max(2, n // 50 + 2), 1)), 5.0)[:, 0]
        self.ffc_frames = set()
        if rng.random() < cfg.p_ffc and n > 4:
            self.ffc_frames = set(int(f) for f in rng.integers(2, n, size=int(rng.integers(1, 3))))
        self.offset = 0.0

    def _draw_fpn(self) -> np.ndarray:
        rng = self.rng
        return (rng.standard_normal((self.H, 1)) * self.fpn_sigma * rng.uniform(0.3, 1.0)
                + rng.standard_normal((1, self.W)) * self.fpn_sigma).astype(np.float32)

    def apply(self, frame: np.ndarray, i: int) -> np.ndarray:
        import cv2

        if i in self.ffc_frames:  # FFC: offset jump and a fresh column pattern
            self.offset += self.rng.choice([-1, 1]) * self.rng.uniform(*self.cfg.ffc_jump)
            self.fpn = self._draw_fpn()
        frame = cv2.GaussianBlur(frame, (0, 0), self.blur_sigma)
        frame += self.vignette + self.fpn + self.offset + self.drift[i]
        frame += self.rng.standard_normal((self.H, self.W)).astype(np.float32) * self.noise_sigma
        return frame
