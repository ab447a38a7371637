"""The tracked target's temperature on radiometric input.

Radiometric thermal cores deliver a temperature per pixel: the FLIR Lepton 3.5 in TLinear mode
streams kelvin x 100 (centi-kelvin; its high-gain range, about 27,600-29,700 on an outdoor scene)
or, in its low-gain mode, kelvin x 10; Boson and other radiometric cores a linear map of counts.
``ThermalConfig.radiometry`` says which (``none``: the values are not temperatures, e.g. Lepton 3
raw counts, whose absolute level drifts with the sensor's own temperature). 8-bit frames (camera
AGC already applied) never carry a temperature.

``measure_temperature(raw, box, cfg)`` reads three numbers in kelvin:
- ``hottest_k``: the hottest pixel inside the box;
- ``median_k``: the median inside the box (for a box larger than the target it leans towards the
  background; the hottest pixel is what a small target reads reliably);
- ``background_k``: the median of a ring around the box, ``RING_GAP`` px away from it (so the
  target's blurred edge stays out) and ``ring_width`` px wide.
Only finite pixels whose value maps into ``PLAUSIBLE_K`` count (NaN/inf and wrapped or garbage
values from a broken frame are left out); a box partly outside the frame is measured on its part
inside; a box of a few pixels still gives a reading. No reading (None) when nothing usable is
inside the box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

#: how raw values map to kelvin: K = scale * raw + offset (``linear``: the config's own numbers)
RADIOMETRY = ("none", "tlinear_centikelvin", "tlinear_decikelvin", "linear")
_SCALES = {"tlinear_centikelvin": 0.01, "tlinear_decikelvin": 0.1}
#: kelvin readings outside this range are implausible for a tracked scene (-123 .. 1727 degC)
PLAUSIBLE_K: Tuple[float, float] = (150.0, 2000.0)
KELVIN_AT_0C = 273.15
#: pixels between the box and the background ring
RING_GAP = 1


@dataclass(frozen=True)
class TargetTemperature:
    """One frame's reading, in kelvin (``*_c``: the same in degrees Celsius)."""

    hottest_k: float
    median_k: float
    background_k: float   # NaN when the ring holds no usable pixel (box filling the frame)
    pixels: int           # usable pixels inside the box

    @property
    def hottest_c(self) -> float:
        return self.hottest_k - KELVIN_AT_0C

    @property
    def median_c(self) -> float:
        return self.median_k - KELVIN_AT_0C

    @property
    def background_c(self) -> float:
        return self.background_k - KELVIN_AT_0C

    @property
    def contrast_k(self) -> float:
        """Hottest pixel minus background: how much warmer the target reads than around it."""
        return self.hottest_k - self.background_k

    def describe(self) -> str:
        bg = "" if math.isnan(self.background_k) else f", background {self.background_c:.1f} C"
        return f"target {self.hottest_c:.1f} C max, {self.median_c:.1f} C median{bg}"


def kelvin_scale(radiometry: str, gain: float, offset_k: float) -> Optional[Tuple[float, float]]:
    """(scale, offset) with K = scale * raw + offset, or None for ``none``."""
    if radiometry not in RADIOMETRY:
        raise ValueError(f"radiometry must be one of {', '.join(RADIOMETRY)}, not {radiometry!r}")
    if radiometry == "none":
        return None
    if radiometry == "linear":
        return float(gain), float(offset_k)
    return _SCALES[radiometry], 0.0


def ring_width(w: float, h: float) -> int:
    """Width of the background ring: half the box's geometric-mean side, 2 to 16 px."""
    return int(min(16, max(2, round(0.5 * math.sqrt(max(w, 0.0) * max(h, 0.0))))))


def _usable(values: np.ndarray, scale: float, offset: float) -> np.ndarray:
    kelvin = values.astype(np.float64, copy=False).ravel() * scale + offset
    lo, hi = PLAUSIBLE_K
    return kelvin[np.isfinite(kelvin) & (kelvin >= lo) & (kelvin <= hi)]


def measure_temperature(raw: np.ndarray, box_xywh, radiometry: str, gain: float = 1.0,
                        offset_k: float = 0.0) -> Optional[TargetTemperature]:
    """The target's temperature in ``raw`` (the camera's own single-channel frame) under the box
    ``(x, y, w, h)``; None for ``radiometry='none'``, 8-bit or multi-channel frames, a box with
    no usable pixel inside the frame, or a non-finite box."""
    mapping = kelvin_scale(radiometry, gain, offset_k)
    frame = np.asarray(raw)
    if mapping is None or frame.dtype == np.uint8 or frame.ndim != 2 or frame.size == 0:
        return None
    if frame.dtype.kind not in "uif":
        return None
    box = np.asarray(box_xywh, dtype=np.float64).reshape(-1)
    if box.shape != (4,) or not np.isfinite(box).all() or box[2] <= 0 or box[3] <= 0:
        return None
    height, width = frame.shape
    x0, y0 = int(math.floor(box[0])), int(math.floor(box[1]))
    x1, y1 = int(math.ceil(box[0] + box[2])), int(math.ceil(box[1] + box[3]))
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if cx1 <= cx0 or cy1 <= cy0:
        return None
    scale, offset = mapping
    inside = _usable(frame[cy0:cy1, cx0:cx1], scale, offset)
    if inside.size == 0:
        return None
    ring = ring_width(box[2], box[3])
    gap = RING_GAP
    ox0, oy0 = max(x0 - gap - ring, 0), max(y0 - gap - ring, 0)
    ox1, oy1 = min(x1 + gap + ring, width), min(y1 + gap + ring, height)
    outer = frame[oy0:oy1, ox0:ox1]
    mask = np.ones(outer.shape, dtype=bool)
    ix0, iy0 = max(x0 - gap, ox0) - ox0, max(y0 - gap, oy0) - oy0
    ix1, iy1 = min(x1 + gap, ox1) - ox0, min(y1 + gap, oy1) - oy0
    if ix1 > ix0 and iy1 > iy0:
        mask[iy0:iy1, ix0:ix1] = False
    background = _usable(outer[mask], scale, offset)
    return TargetTemperature(
        hottest_k=float(inside.max()), median_k=float(np.median(inside)),
        background_k=float(np.median(background)) if background.size else float("nan"),
        pixels=int(inside.size))
