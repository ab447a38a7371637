"""Shared clutter building blocks: sample-image textures, smooth noise fields, smooth paths and
the classic clutter background (the rich backdrops start from it)."""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence as Seq

import numpy as np

from fgsgt_ros.data.synth.config import TEXTURE_NAMES, SynthConfig


@lru_cache(maxsize=None)
def _texture(name: str) -> np.ndarray:
    """A scikit-image sample image as float32 grey in [0, 1] (cached)."""
    import skimage.data

    img = np.asarray(getattr(skimage.data, name)())
    if img.ndim == 3:
        img = img[..., :3].astype(np.float32).mean(axis=2)
    return img.astype(np.float32) / 255.0


def _smooth_noise(rng: np.random.Generator, h: int, w: int, sigma: float) -> np.ndarray:
    """Zero-mean, unit-std Gaussian-filtered white noise."""
    import cv2

    n = rng.standard_normal((h, w)).astype(np.float32)
    if sigma > 0:
        n = cv2.GaussianBlur(n, (0, 0), sigma)
    return (n - n.mean()) / (n.std() + 1e-6)


def _normalise(a: np.ndarray) -> np.ndarray:
    return (a - a.mean()) / (a.std() + 1e-6)


def _smooth_path(rng: np.random.Generator, n: int, waypoints: np.ndarray, sigma: float) -> np.ndarray:
    """(n, D) smooth trajectory through (K, D) waypoints spread over n frames."""
    import cv2

    k = len(waypoints)
    t_way = np.linspace(0, n - 1, k)
    t = np.arange(n)
    path = np.stack([np.interp(t, t_way, waypoints[:, d]) for d in range(waypoints.shape[1])], 1)
    if sigma > 0 and n > 3:
        pad = int(3 * sigma) + 1
        padded = np.pad(path, ((pad, pad), (0, 0)), mode="edge").astype(np.float32)
        path = cv2.GaussianBlur(padded, (1, 2 * pad + 1), 0, sigmaY=sigma)[pad:-pad].astype(np.float64)
    return path


def _lowfreq(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Zero-mean, unit-std smooth random field with features of about ``cell`` px (cheap at any size)."""
    import cv2

    gh, gw = max(2, int(h / max(cell, 1.0)) + 2), max(2, int(w / max(cell, 1.0)) + 2)
    f = cv2.resize(rng.standard_normal((gh, gw)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return _normalise(f)


def _background(rng: np.random.Generator, cfg: SynthConfig, H: int, W: int, level: float,
                textures: Seq[str] = TEXTURE_NAMES) -> np.ndarray:
    """Clutter canvas (H, W) float32 in counts: texture + gradients + warm/cold structures."""
    import cv2

    name = textures[int(rng.integers(len(textures)))]
    tex = _texture(name)
    th, tw = tex.shape
    zoom = rng.uniform(0.5, 2.0)
    cw, ch = min(tw, max(16, int(W / zoom))), min(th, max(16, int(H / zoom)))
    x, y = int(rng.integers(0, tw - cw + 1)), int(rng.integers(0, th - ch + 1))
    patch = tex[y:y + ch, x:x + cw]
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    if rng.random() < 0.3:
        patch = 1.0 - patch  # thermal polarity of a visible image is arbitrary
    patch = cv2.resize(np.ascontiguousarray(patch), (W, H), interpolation=cv2.INTER_LINEAR)
    patch = cv2.GaussianBlur(patch, (0, 0), rng.uniform(0.8, 3.0))  # thermal scenes are smooth
    std = rng.uniform(*cfg.clutter_std)
    bg = _normalise(patch) * std * rng.uniform(0.3, 1.0)
    # low-frequency field + sky/ground gradient
    bg += _smooth_noise(rng, H, W, max(H, W) / 6) * std * rng.uniform(0.2, 0.8)
    yy = np.linspace(-1, 1, H, dtype=np.float32)[:, None]
    xx = np.linspace(-1, 1, W, dtype=np.float32)[None, :]
    bg += (rng.uniform(-1, 1) * yy + rng.uniform(-0.5, 0.5) * xx) * std
    if rng.random() < 0.4:  # horizon: colder sky above
        horizon = rng.uniform(-0.6, 0.2)
        bg -= rng.uniform(0.5, 2.0) * std / (1 + np.exp(-(horizon - yy) * 20))
    # structures: warm/cold rectangles and discs (windows, rocks, vents)
    for _ in range(int(rng.integers(0, 8))):
        m = np.zeros((H, W), np.float32)
        cx, cy = int(rng.integers(0, W)), int(rng.integers(0, H))
        r = int(rng.integers(4, max(6, min(H, W) // 5)))
        if rng.random() < 0.5:
            cv2.rectangle(m, (cx - r, cy - r // 2), (cx + r, cy + r // 2), 1.0, -1)
        else:
            cv2.circle(m, (cx, cy), r, 1.0, -1)
        m = cv2.GaussianBlur(m, (0, 0), rng.uniform(0.7, 3.0))
        bg += m * rng.uniform(-1.5, 1.5) * std
    return (bg + level).astype(np.float32)
