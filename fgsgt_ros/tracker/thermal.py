"""Thermal frame -> 8-bit 3-channel image for the tracker (and for display).

``ThermalPreprocessor(cfg)(frame) -> uint8 (H, W, 3)`` accepts:

- uint8, 1 channel (camera-side AGC already applied): replicated to 3 channels (optionally stretched);
- uint16 / int16 / int32, 1 channel (raw radiometric counts): automatic gain control (AGC);
- float32 / float64, 1 channel (temperatures, any unit; NaN allowed and shown black): AGC;
- 3 channels: uint8 is passed through (BGR assumed); other dtypes are averaged to one channel and
  go through AGC. A 4th (alpha) channel is dropped.
Any size from 1x1 up, and non-contiguous views (odd strides, row padding) are accepted.

AGC (our design, all knobs in ``ThermalConfig``):
1. Robust range: the ``low_percentile`` / ``high_percentile`` values and the median of the frame,
   computed on a strided sub-sample of at most ``max_samples`` pixels (cheap on 1280x1024).
2. Temporal smoothing: the range limits follow an exponential moving average with weight
   ``smoothing`` (1 = no memory), so the image does not pump frame to frame.
3. Flat-field-correction jumps: when the median moves by more than ``jump_fraction`` of the current
   span in one frame, the whole scene shifted (FFC / shutter offset), so the smoothed limits are
   shifted by the same amount at once instead of being re-learned over many frames.
4. Scene changes: when the median moves by more than ``relearn_spans`` spans, or the frame's span
   differs from the current one by more than a factor ``relearn_span_ratio`` (another camera,
   another unit, e.g. Lepton 3 raw counts ~2,600-3,200 followed by Lepton 3.5 centi-kelvin
   ~27,600-28,700), the range is re-learned from this frame at once (no smoothing, counted in
   ``relearns``): an FFC jump keeps the span, a new scene does not, and a shifted old span would
   stretch the new scene badly for many frames.
5. Linear stretch of [lo, hi] to [0, 255] with saturation; the span is at least ``min_span`` input
   units (and never zero, whatever the magnitude of the values), so a flat scene shows noise as
   noise rather than full-contrast speckle.
Polarity: ``white_hot`` (hot = bright) or ``black_hot`` (inverted).

Bad values (what a broken or hostile publisher can send): only finite, plausible pixels enter the
statistics, computed in float64. Floating-point pixels are implausible when their magnitude exceeds
``max_abs_value`` or is below ``min_abs_value`` without being zero (byte-swapped floats of
ordinary temperatures spread over every magnitude from subnormal to ~1e38, so most of them fall
outside [1e-6, 1e6]); integer pixels are always plausible. In the image, NaN and -inf show
black, +inf and other out-of-range values saturate. A frame with fewer than ``min_valid_fraction``
plausible pixels is refused with ``BadFrameError`` (a ValueError) and leaves the smoothed range as it
was, so the next good frame comes out as if the bad one had never arrived.

The preprocessor keeps state (the smoothed range): use one instance per video stream and call
``reset()`` between unrelated sequences; ``relearn(frame)`` starts the range afresh from ``frame``
(what a new tracking target does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np

from fgsgt_ros.tracker.temperature import RADIOMETRY

POLARITIES = ("white_hot", "black_hot")


class BadFrameError(ValueError):
    """A frame with too few finite, plausible pixels: refused, the AGC state is untouched."""


@dataclass(frozen=True)
class ThermalConfig:
    """Choices of ``ThermalPreprocessor``."""

    #: "white_hot" (hot objects bright) or "black_hot".
    polarity: str = "white_hot"
    #: Robust stretch limits, in percent of pixels.
    low_percentile: float = 1.0
    high_percentile: float = 99.0
    #: EMA weight of the newest frame's limits (1.0 = per-frame stretch, no temporal smoothing).
    smoothing: float = 0.2
    #: A median shift larger than this fraction of the current span is treated as an offset jump (FFC).
    jump_fraction: float = 0.25
    #: A median shift larger than this many spans re-learns the range at once (scene change).
    relearn_spans: float = 3.0
    #: A frame span more than this factor above/below the current span re-learns the range at once.
    relearn_span_ratio: float = 8.0
    #: Smallest stretched span in input units (raw counts or temperature units).
    min_span: float = 8.0
    #: Float pixels with a larger magnitude are implausible (left out of the statistics).
    max_abs_value: float = 1e6
    #: Float pixels with a smaller, non-zero magnitude are implausible (left out of the statistics).
    min_abs_value: float = 1e-6
    #: Frames with a smaller share of finite, plausible pixels are refused (BadFrameError).
    min_valid_fraction: float = 0.5
    #: Also stretch 8-bit input (off: 8-bit frames are taken as already gain-controlled).
    stretch_uint8: bool = False
    #: Pixels used for the percentile estimate (strided sub-sample).
    max_samples: int = 20000
    #: How raw pixel values map to temperature, for the target temperature in the status (the AGC
    #: ignores it): none (not temperatures, e.g. Lepton 3 raw counts), tlinear_centikelvin
    #: (FLIR Lepton 3.5 TLinear, high gain: kelvin x 100), tlinear_decikelvin (TLinear, low gain:
    #: kelvin x 10) or linear (kelvin = radiometric_gain x value + radiometric_offset_k, other
    #: radiometric cores). 8-bit frames never carry a temperature.
    radiometry: str = "none"
    #: Kelvin per raw unit for radiometry linear.
    radiometric_gain: float = 1.0
    #: Kelvin at raw value 0 for radiometry linear.
    radiometric_offset_k: float = 0.0

    def __post_init__(self) -> None:
        if self.polarity not in POLARITIES:
            raise ValueError(f"polarity must be one of {POLARITIES}, got {self.polarity!r}")
        if self.radiometry not in RADIOMETRY:
            raise ValueError(f"radiometry must be one of {', '.join(RADIOMETRY)}, got "
                             f"{self.radiometry!r}")
        if self.radiometry == "linear" and not (np.isfinite(self.radiometric_gain)
                                                and self.radiometric_gain != 0
                                                and np.isfinite(self.radiometric_offset_k)):
            raise ValueError("radiometry linear needs a finite, non-zero radiometric_gain and a "
                             "finite radiometric_offset_k")
        if not 0.0 <= self.low_percentile < self.high_percentile <= 100.0:
            raise ValueError("need 0 <= low_percentile < high_percentile <= 100")
        if not 0.0 < self.smoothing <= 1.0:
            raise ValueError(f"smoothing must be in (0, 1], got {self.smoothing}")
        if self.jump_fraction <= 0 or self.min_span <= 0 or self.max_samples < 16:
            raise ValueError("jump_fraction and min_span must be > 0, max_samples >= 16")
        if self.relearn_spans <= 0 or self.relearn_span_ratio <= 1.0:
            raise ValueError("need relearn_spans > 0 and relearn_span_ratio > 1")
        if not 0 <= self.min_abs_value < self.max_abs_value or \
                not 0.0 < self.min_valid_fraction <= 1.0:
            raise ValueError("need 0 <= min_abs_value < max_abs_value and min_valid_fraction in "
                             "(0, 1]")


class ThermalPreprocessor:
    """Stateful frame converter; see the module docstring for the behaviour."""

    def __init__(self, cfg: Optional[ThermalConfig] = None) -> None:
        self.cfg = cfg or ThermalConfig()
        self.reset()

    def reset(self) -> None:
        """Forget the smoothed range (use between unrelated sequences)."""
        self._lo: Optional[float] = None
        self._hi: Optional[float] = None
        self._median: Optional[float] = None
        self.jumps = 0  # number of offset jumps detected since reset (diagnostics)
        self.relearns = 0  # number of scene changes re-learned since reset (diagnostics)
        self.refused = 0  # number of frames refused since reset (diagnostics)

    def snapshot(self) -> dict:
        """The smoothed state, for ``restore`` (e.g. when an init that re-learned fails)."""
        return {k: getattr(self, k) for k in ("_lo", "_hi", "_median", "jumps", "relearns",
                                               "refused")}

    def restore(self, state: dict) -> None:
        for k, v in state.items():
            setattr(self, k, v)

    def relearn(self, frame: np.ndarray) -> np.ndarray:
        """Forget the range and convert ``frame`` with a range learned from it alone. A refused
        frame (BadFrameError) leaves the previous state."""
        saved = self.snapshot()
        self.reset()
        try:
            return self(frame)
        except Exception:
            self.restore(saved)
            raise

    @property
    def range(self) -> Optional[Tuple[float, float]]:
        """Current (lo, hi) stretch limits in input units, or None before the first AGC frame."""
        return None if self._lo is None else (self._lo, self._hi)

    # ------------------------------------------------------------------ public
    def __call__(self, frame: np.ndarray) -> np.ndarray:
        frame = np.asarray(frame)
        grey = self._to_single_channel(frame)
        if grey is None:  # 3-channel uint8: already an image
            out = frame[..., :3]
            if self.cfg.polarity == "black_hot":
                out = 255 - out
            return np.ascontiguousarray(out)
        if grey.dtype == np.uint8 and not self.cfg.stretch_uint8:
            out8 = grey
        else:
            lo, hi = self._update_range(grey)
            out8 = self._stretch(grey, lo, hi)
        if self.cfg.polarity == "black_hot":
            out8 = 255 - out8
        if not out8.flags.c_contiguous:
            out8 = np.ascontiguousarray(out8)
        return cv2.cvtColor(out8, cv2.COLOR_GRAY2BGR)

    # ------------------------------------------------------------------ steps
    @staticmethod
    def _to_single_channel(frame: np.ndarray) -> Optional[np.ndarray]:
        if frame.ndim == 3 and frame.shape[2] == 1:
            frame = frame[..., 0]
        if frame.ndim == 2:
            grey = frame
        elif frame.ndim == 3 and frame.shape[2] in (3, 4):
            if frame.dtype == np.uint8:
                return None
            grey = frame[..., :3].astype(np.float32).mean(axis=2)
        else:
            raise ValueError(f"expected an (H, W), (H, W, 1) or (H, W, 3) frame, got shape {frame.shape}")
        if grey.size == 0:
            raise ValueError(f"empty frame of shape {frame.shape}")
        if grey.dtype == np.bool_ or not (np.issubdtype(grey.dtype, np.integer)
                                          or np.issubdtype(grey.dtype, np.floating)):
            raise TypeError(f"unsupported frame dtype {grey.dtype}")
        return grey

    def _sample(self, grey: np.ndarray) -> Tuple[np.ndarray, int]:
        """(finite, plausible sampled pixels as float64, number of pixels sampled)."""
        h, w = grey.shape
        step = max(1, int(np.ceil(np.sqrt(h * w / self.cfg.max_samples))))
        sample = grey[::step, ::step].ravel()
        total = sample.size
        if np.issubdtype(sample.dtype, np.floating):
            mag = np.abs(sample)
            with np.errstate(invalid="ignore"):
                ok = np.isfinite(sample) & (mag <= self.cfg.max_abs_value) \
                    & ((mag >= self.cfg.min_abs_value) | (sample == 0))
            sample = sample[ok]
        return sample.astype(np.float64), total

    def _update_range(self, grey: np.ndarray) -> Tuple[float, float]:
        cfg = self.cfg
        sample, total = self._sample(grey)
        if sample.size < max(1.0, cfg.min_valid_fraction * total):
            self.refused += 1
            raise BadFrameError(
                f"frame refused by the AGC: {sample.size} of {total} sampled pixels are finite "
                f"and plausible ({cfg.min_abs_value:g} <= |value| <= {cfg.max_abs_value:g}, or 0); need "
                f"{cfg.min_valid_fraction:.0%}")
        lo, med, hi = (float(v) for v in np.percentile(
            sample, [cfg.low_percentile, 50.0, cfg.high_percentile]))
        if not (np.isfinite(lo) and np.isfinite(med) and np.isfinite(hi)):  # defensive
            self.refused += 1
            raise BadFrameError("frame refused by the AGC: non-finite statistics")
        if self._lo is None:
            self._lo, self._hi, self._median = lo, hi, med
        else:
            span = max(self._hi - self._lo, cfg.min_span)
            new_span = max(hi - lo, cfg.min_span)
            shift = med - self._median
            ratio = new_span / span
            if abs(shift) > cfg.relearn_spans * span or not \
                    1.0 / cfg.relearn_span_ratio <= ratio <= cfg.relearn_span_ratio:
                # another scene (camera, unit, view): learn it now rather than drag the old span
                self._lo, self._hi = lo, hi
                self.relearns += 1
            else:
                if abs(shift) > cfg.jump_fraction * span:
                    # FFC / offset jump: move the remembered range with the scene instead of
                    # re-learning it
                    self._lo += shift
                    self._hi += shift
                    self.jumps += 1
                a = cfg.smoothing
                self._lo = (1 - a) * self._lo + a * lo
                self._hi = (1 - a) * self._hi + a * hi
            self._median = med
        lo_s, hi_s = self._lo, self._hi
        if hi_s - lo_s < cfg.min_span:
            mid = 0.5 * (lo_s + hi_s)
            lo_s, hi_s = mid - cfg.min_span / 2, mid + cfg.min_span / 2
        if not hi_s > lo_s:  # |mid| so large that mid +- min_span/2 == mid in float64
            lo_s, hi_s = float(np.nextafter(lo_s, -np.inf)), float(np.nextafter(hi_s, np.inf))
        return lo_s, hi_s

    @staticmethod
    def _stretch(grey: np.ndarray, lo: float, hi: float) -> np.ndarray:
        """Linear map [lo, hi] -> [0, 255] with saturation (NaN and -inf -> 0, +inf -> 255)."""
        scale = 255.0 / (hi - lo)
        if not np.isfinite(scale) or scale <= 0:  # cannot happen after _update_range; no raise
            scale = 255.0 / max(abs(hi), abs(lo), 1.0)
        if not grey.flags.c_contiguous:
            grey = np.ascontiguousarray(grey)
        if grey.dtype in (np.uint8, np.uint16):
            # Unsigned: subtract saturates at 0, convertScaleAbs saturates at 255 (two fast passes).
            shifted = cv2.subtract(grey, max(lo, 0.0))
            extra = max(0.0, -lo) * scale  # lo < 0 only for a tiny min_span window near zero
            return cv2.convertScaleAbs(shifted, alpha=scale, beta=extra)
        # float64 arithmetic: lo and the values may be far outside float32's range or precision
        with np.errstate(over="ignore", invalid="ignore"):
            out = grey.astype(np.float64)  # a copy we may modify in place
            out -= lo
            out *= scale
            np.clip(out, 0.0, 255.0, out=out)
        if np.issubdtype(grey.dtype, np.floating):
            np.nan_to_num(out, copy=False, nan=0.0)
        return out.astype(np.uint8)
