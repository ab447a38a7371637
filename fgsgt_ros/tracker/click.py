"""Click to track: a pixel the user clicked on -> a target box to initialise a tracker with (no ROS).

A viewer such as rqt_image_view gives one pixel; a Siamese tracker needs a box whose size matters
(it sets the template's context). In thermal footage a target is a blob that stands out from its
surroundings, warmer (usually) or colder, so the box is the outline of the blob under the click:

1. The frame is reduced to one float channel (raw radiometric values when available: no AGC
   saturation) and smoothed with a 3x3 Gaussian; the noise level ``sigma`` is a robust estimate
   (median absolute deviation of neighbouring-pixel differences, at least half a step for integer
   frames).
2. Around the click, in a square window, the background level is the window's median. The blob's
   polarity is the side (above or below the background) on which the pixels within
   ``snap_radius`` of the click deviate most, and its peak is the most extreme of them (so a click
   a few pixels off a small target still finds it).
3. The blob is the connected region around the peak that is at least ``level`` of the way from
   the background to the target's level (half maximum by default); the target's level is the
   median around the click, or the peak when that alone does not stand out (a click beside a
   small target). When the blob reaches the window's edge, or nothing stands out because the
   window lies inside a large target, the window is doubled; then the background is measured
   again on the window without the blob and the outline is drawn once more with it.
4. The box is the blob's bounding box, grown to ``min_size`` and clipped to the frame.

When nothing around the click stands out by ``min_contrast`` times the noise, the "blob" has no
edge (the level just outside its outline has not fallen by ``min_edge`` of the way to the
background: a brightness gradient), or it covers more than ``max_area_fraction`` of the frame (a
click on background), the box is a
``fallback_size`` square centred on the click: tracking still starts where the user asked, and
``ClickResult.method`` says which way the box was made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np

from fgsgt_ros.boxes import clip_xywh


#: Half side (pixels) of the frame region around a click that is examined (at least 4 windows).
_REGION = 256


class ClickError(ValueError):
    """A click that cannot become a box (outside the frame, non-finite, empty frame)."""


@dataclass(frozen=True)
class ClickConfig:
    """Choices of ``box_from_click``."""

    #: How far (pixels) a click may miss the target: its peak is searched within this radius.
    snap_radius: float = 4.0
    #: Half side (pixels) of the first window examined around the click; doubled while the blob
    #: reaches the window's edge.
    window: int = 32
    #: Contrast (peak minus background) a blob needs, in multiples of the frame's noise level.
    min_contrast: float = 5.0
    #: Outline level, as a fraction of the way from background to peak (0.5 = half maximum).
    level: float = 0.5
    #: Sharpness a blob's outline needs: how far, from the target's level towards the background,
    #: the level just outside the outline has fallen (1 = all the way; a gradient gives ~0.5).
    min_edge: float = 0.7
    #: Smallest box side in pixels.
    min_size: float = 6.0
    #: A region larger than this fraction of the frame is background, not a target.
    max_area_fraction: float = 0.5
    #: Side (pixels) of the square box used when no blob stands out around the click.
    fallback_size: float = 24.0

    def __post_init__(self) -> None:
        if self.snap_radius < 0 or self.window < 4:
            raise ValueError("snap_radius must be >= 0 and window >= 4")
        if self.min_contrast <= 0 or not 0.0 < self.level < 1.0:
            raise ValueError("min_contrast must be > 0 and level in (0, 1)")
        if self.min_size <= 0 or self.fallback_size <= 0:
            raise ValueError("min_size and fallback_size must be > 0")
        if not 0.0 <= self.min_edge <= 1.0:
            raise ValueError("min_edge must be in [0, 1]")
        if not 0.0 < self.max_area_fraction <= 1.0:
            raise ValueError("max_area_fraction must be in (0, 1]")


@dataclass(frozen=True)
class ClickResult:
    """The box (xywh, frame pixels) for a click and how it was made."""

    box: np.ndarray
    #: "blob" (outline of the thermal blob) or "fallback" (fixed square: nothing stood out).
    method: str
    #: Blob polarity: +1 warmer/brighter than its surroundings, -1 colder/darker, 0 for fallback.
    polarity: int
    #: Peak contrast over the background in multiples of the noise level.
    contrast: float

    def describe(self) -> str:
        x, y, w, h = (float(v) for v in self.box)
        if self.method == "blob":
            kind = "warm" if self.polarity > 0 else "cold"
            how = f"outline of the {kind} blob under the click (contrast {self.contrast:.1f} sigma)"
        else:
            how = (f"no blob stands out there (contrast {self.contrast:.1f} sigma): a fixed "
                   f"square around the click")
        return f"box x={x:.1f} y={y:.1f} w={w:.1f} h={h:.1f} from the {how}"


def to_grey(image: np.ndarray) -> np.ndarray:
    """Any frame the node accepts -> float32 (H, W); non-finite values replaced by the median."""
    a = np.asarray(image)
    if a.ndim == 3:
        a = a[..., :3].astype(np.float32).mean(axis=2) if a.shape[2] > 1 else a[..., 0]
    if a.ndim != 2 or a.size == 0:
        raise ClickError(f"expected an (H, W) or (H, W, C) frame, got shape {np.shape(image)}")
    g = a.astype(np.float32, copy=False)
    finite = np.isfinite(g)
    if not finite.all():
        fill = float(np.median(g[finite])) if finite.any() else 0.0
        g = np.where(finite, g, fill).astype(np.float32)
    return g


def noise_sigma(grey: np.ndarray) -> float:
    """Robust noise level: MAD of horizontal and vertical neighbour differences / sqrt(2)."""
    d = np.concatenate([np.diff(grey, axis=1).ravel(), np.diff(grey, axis=0).ravel()])
    if d.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2.0))


def _component(values: np.ndarray, seed: Tuple[int, int], threshold: float) -> np.ndarray:
    """Mask of the 8-connected region of ``values >= threshold`` holding ``seed`` (row, col)."""
    mask = (values >= threshold).astype(np.uint8)
    if not mask[seed]:
        return np.zeros_like(mask, dtype=bool)
    _n, labels = cv2.connectedComponents(mask, connectivity=8)
    return labels == labels[seed]


def _reference(signed, seed, near, peak, bg, sigma, cfg) -> float:
    """The target's level the outline is measured against (signed units): the median around the
    click (the user clicks on the target's body, whose level a hot spot would overstate), or the
    peak when the click's surroundings alone do not stand out (a click beside a small target)."""
    level = float(np.median(near))
    return level if (level - bg) / sigma >= cfg.min_contrast else peak


def box_from_click(image: np.ndarray, x: float, y: float,
                   cfg: Optional[ClickConfig] = None) -> ClickResult:
    """The target box for a click at pixel (``x``, ``y``) (column, row; continuous coordinates:
    pixel (i, j) covers [i, i+1) x [j, j+1)) on ``image`` (raw or 8-bit, 1 or 3 channels).

    Raises ClickError for a point outside the frame or a non-finite one.
    """
    cfg = cfg or ClickConfig()
    frame = np.asarray(image)
    if frame.ndim not in (2, 3) or frame.size == 0:
        raise ClickError(f"expected an (H, W) or (H, W, C) frame, got shape {frame.shape}")
    full_h, full_w = frame.shape[:2]
    if not (np.isfinite(x) and np.isfinite(y)):
        raise ClickError(f"click ({x}, {y}) is not a finite point")
    if not (0.0 <= x < full_w and 0.0 <= y < full_h):
        raise ClickError(f"click ({x:.1f}, {y:.1f}) lies outside the {full_w}x{full_h} frame")
    # Only a region around the click is examined (cost independent of the frame size); its
    # coordinates are used below and the box is moved back to the frame at the end.
    reach = max(_REGION, 4 * int(cfg.window))
    fr, fc = min(int(y), full_h - 1), min(int(x), full_w - 1)
    oy, ox = max(0, fr - reach), max(0, fc - reach)
    grey = to_grey(frame[oy:min(full_h, fr + reach + 1), ox:min(full_w, fc + reach + 1)])
    h, w = grey.shape
    row, col = fr - oy, fc - ox
    smooth = cv2.GaussianBlur(grey, (3, 3), 0) if min(h, w) >= 3 else grey
    # integer frames carry at least their quantisation noise (8-bit display video is often so
    # smooth that the neighbour differences alone say 0)
    floor = 0.5 if np.issubdtype(frame.dtype, np.integer) else 1e-6
    sigma = max(noise_sigma(grey), floor)

    def fallback(contrast: float) -> ClickResult:
        s = cfg.fallback_size
        box = clip_xywh(np.array([x - s / 2.0, y - s / 2.0, s, s]), full_w, full_h)
        return ClickResult(box=box, method="fallback", polarity=0, contrast=contrast)

    # Snap: the most extreme pixel near the click, on the side that deviates most.
    r = int(np.ceil(cfg.snap_radius))
    yy, xx = np.mgrid[max(0, row - r):min(h, row + r + 1), max(0, col - r):min(w, col + r + 1)]
    near = (yy - row) ** 2 + (xx - col) ** 2 <= cfg.snap_radius ** 2 + 1e-9
    ny, nx = yy[near], xx[near]
    nvals = smooth[ny, nx]
    nraw = grey[ny, nx]  # the target's level: a median of unsmoothed values (no hot-spot halo)

    half = int(cfg.window)
    while True:  # doubles the window until the blob fits in it or covers the whole region
        y0, y1 = max(0, row - half), min(h, row + half + 1)
        x0, x1 = max(0, col - half), min(w, col + half + 1)
        win = smooth[y0:y1, x0:x1]
        bg = float(np.median(win))
        up, down = float(nvals.max()) - bg, bg - float(nvals.min())
        polarity = 1 if up >= down else -1
        k = int(np.argmax(nvals)) if polarity > 0 else int(np.argmin(nvals))
        seed = (int(ny[k]) - y0, int(nx[k]) - x0)
        signed = polarity * win
        peak = float(signed[seed])
        contrast = (peak - polarity * bg) / sigma
        whole = y0 == 0 and x0 == 0 and y1 == h and x1 == w
        if contrast < cfg.min_contrast:
            if whole:
                return fallback(contrast)
            half *= 2  # the window may lie inside a large target: look wider
            continue
        ref = _reference(signed, seed, polarity * nraw, peak, polarity * bg, sigma, cfg)
        blob = _component(signed, seed, polarity * bg + cfg.level * (ref - polarity * bg))
        rows, cols = np.nonzero(blob)
        touches = ((rows.min() == 0 and y0 > 0) or (rows.max() == win.shape[0] - 1 and y1 < h)
                   or (cols.min() == 0 and x0 > 0) or (cols.max() == win.shape[1] - 1 and x1 < w))
        if not touches or whole:
            break
        half *= 2
    # Background again without the blob (a large blob pulls the window's median towards it).
    grown = cv2.dilate(blob.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    if (~grown).sum() >= 16:
        bg = float(np.median(win[~grown]))
        contrast = (peak - polarity * bg) / sigma
        if contrast < cfg.min_contrast:
            return fallback(contrast)
        ref = _reference(signed, seed, polarity * nraw, peak, polarity * bg, sigma, cfg)
        blob = _component(signed, seed, polarity * bg + cfg.level * (ref - polarity * bg))
    if blob.sum() > cfg.max_area_fraction * full_h * full_w:
        return fallback(contrast)
    rows, cols = np.nonzero(blob)
    # A target has an edge: just outside its outline the level is back near the background. A
    # brightness gradient (vignetting, sky to ground) has none: there the level outside the
    # outline is still about half-way.
    k = 2 * max(2, int(round(0.25 * min(np.ptp(rows) + 1, np.ptp(cols) + 1)))) + 1
    grown = cv2.dilate(blob.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    ring = cv2.dilate(grown.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool) & ~grown
    if ring.any():
        edge = (ref - float(np.median(signed[ring]))) / max(ref - polarity * bg, 1e-12)
        if edge < cfg.min_edge:
            return fallback(contrast)
    bx0, by0 = float(cols.min() + x0 + ox), float(rows.min() + y0 + oy)
    bw, bh = float(cols.max() - cols.min() + 1), float(rows.max() - rows.min() + 1)
    cx, cy = bx0 + bw / 2.0, by0 + bh / 2.0
    bw, bh = max(bw, cfg.min_size), max(bh, cfg.min_size)
    box = clip_xywh(np.array([cx - bw / 2.0, cy - bh / 2.0, bw, bh]), full_w, full_h)
    return ClickResult(box=box, method="blob", polarity=polarity, contrast=float(contrast))
