"""The tracker as the node drives it, without ROS: model loading, device, thermal AGC, box checks,
timing, and the debug drawing. The ROS node (node.py) only moves messages in and out of this.

Thread safety: ``lock`` serialises init/update/reset; the node's worker holds it for one frame and
the services take it between frames, so a service waits at most one inference.
"""

from __future__ import annotations

import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

import numpy as np

OPENCV_PEERS = ("csrt", "kcf", "mosse")


class ModelLoadError(RuntimeError):
    """The model cannot be loaded (missing/corrupt/mismatched checkpoint): the node stops."""


def resolve_device(requested: str, warn: Callable[[str], None]) -> str:
    """'auto' -> cuda when available else cpu; an absent 'cuda[:N]' -> cpu with a warning."""
    import torch

    req = (requested or "auto").strip().lower()
    if req == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if req == "cpu":
        return "cpu"
    if req == "cuda" or req.startswith("cuda:"):
        index = 0
        if ":" in req:
            try:
                index = int(req.split(":", 1)[1])
            except ValueError:
                raise ModelLoadError(f"device '{requested}' is not auto, cpu or cuda:N") from None
        if torch.cuda.is_available() and index < torch.cuda.device_count():
            return f"cuda:{index}"
        warn(f"device '{requested}' requested but CUDA device {index} is not available "
             f"({torch.cuda.device_count()} found): falling back to CPU")
        return "cpu"
    raise ModelLoadError(f"device '{requested}' is not auto, cpu or cuda:N")


def load_network(checkpoint: str, model_preset: str, device: str):
    """The node's ``checkpoint``/``model_preset`` parameters -> ``fgsgt_ros.tracker.LoadedModel``, or
    None for an OpenCV peer. Resolution and loading are the tracker package's (``load_model``, the
    same as ``build_tracker``): '' = the shipped model, a .pt path, a preset name (its shipped
    checkpoint), PRESET:PATH or a shipped file name. Any failure is one ModelLoadError line."""
    from fgsgt_ros.tracker import DEFAULT_TRACKER, TrackerBuildError, load_model

    spec = (checkpoint or "").strip()
    if spec.lower() in OPENCV_PEERS:
        return None
    try:
        return load_model(spec or DEFAULT_TRACKER, device=device,
                          expect_preset=(model_preset or "").strip() or None)
    except TrackerBuildError as exc:
        raise ModelLoadError(str(exc)) from None


class TrackerEngine:
    """Thermal preprocessing + the tracker, with the node's device/precision choices applied.

    ``tracker_cfg=None`` uses ``tracker_defaults``: the checkpoint's calibrated settings (its
    ``extra["tracker_config"]``, see ``fgsgt calibrate``) over ``TrackerConfig()``. The node reads
    ``tracker_defaults`` to declare its ``tracker.*`` parameters, then calls ``configure`` with the
    values it got (explicit parameters override the checkpoint's).
    """

    def __init__(self, checkpoint: str, model_preset: str, device: str, precision: str,
                 tracker_cfg=None, thermal_cfg=None, num_threads: int = 0,
                 warn: Callable[[str], None] = lambda s: None) -> None:
        import torch

        from fgsgt_ros.tracker.config import TrackerConfig

        if num_threads > 0:
            torch.set_num_threads(int(num_threads))
        self.lock = threading.RLock()
        self.device = resolve_device(device, warn)
        self.precision = precision
        if precision == "fp16" and not self.device.startswith("cuda"):
            warn("precision fp16 needs CUDA: running fp32 on CPU")
            self.precision = "fp32"
        self.peer = ""
        self.network = load_network(checkpoint, model_preset, self.device)
        if self.network is None:
            self.peer = (checkpoint or "").strip().lower()
            self.model_name, self.checkpoint_path = self.peer, ""
            self.tracker_defaults = TrackerConfig()
            self.calibrated = False
        else:
            self.model_name = getattr(self.network.model_cfg, "name", "") or self.network.name
            self.checkpoint_path = str(self.network.path or "")
            self.tracker_defaults = self.network.tracker_config
            # whether the checkpoint carries its own tracker settings (e.g. calibrated thresholds)
            self.calibrated = "tracker_config" in self.network.extra
        self.init_count = 0
        self.last_network_s = 0.0
        self.configure(tracker_cfg, thermal_cfg)

    def configure(self, tracker_cfg=None, thermal_cfg=None) -> None:
        """(Re)build the tracker and AGC with these settings (None: ``tracker_defaults`` /
        ``ThermalConfig()``); the network stays loaded. The target is forgotten (IDLE)."""
        from fgsgt_ros.tracker.thermal import ThermalPreprocessor

        tracker_cfg = self.tracker_defaults if tracker_cfg is None else tracker_cfg
        with self.lock:
            self.preprocessor = ThermalPreprocessor(thermal_cfg)
            self.tracker_cfg = tracker_cfg
            if self.network is None:
                from fgsgt_ros.tracker.peers import OpenCVTracker

                try:
                    self.tracker = OpenCVTracker(self.peer, tracker_cfg)
                except (ValueError, RuntimeError) as exc:
                    raise ModelLoadError(str(exc)) from None
            else:
                from fgsgt_ros.tracker.siamese import SiameseTracker

                self.tracker = SiameseTracker(self.network.model, self.network.model_cfg,
                                              tracker_cfg, device=self.device, name=self.model_name)
                # Time the network alone (the rest of update() is crop + decode) for diagnostics.
                self.tracker.model = _TimedModel(self.tracker.model)

    def _autocast(self):
        if self.precision == "fp16":
            import torch

            return torch.autocast(device_type="cuda", dtype=torch.float16)
        return nullcontext()

    # --- per-frame API (callers hold self.lock) ---------------------------------------------
    def preprocess(self, raw: np.ndarray) -> np.ndarray:
        """Raw frame (uint8/uint16/float32) -> uint8 (H, W, 3) after AGC."""
        if raw.dtype == np.float32 and not np.isfinite(raw).all():
            finite = raw[np.isfinite(raw)]
            raw = np.nan_to_num(raw, nan=float(finite.min()) if finite.size else 0.0,
                                posinf=float(finite.max()) if finite.size else 0.0,
                                neginf=float(finite.min()) if finite.size else 0.0)
        return self.preprocessor(raw)

    def init(self, image: np.ndarray, box_xywh: np.ndarray) -> None:
        import torch

        with torch.inference_mode(), self._autocast():
            self.tracker.init(image, np.asarray(box_xywh, dtype=np.float64))
        self.init_count += 1

    def update(self, image: np.ndarray):
        """TrackResult of one frame; ``last_network_s`` holds the network's share of it."""
        import torch

        model = getattr(self.tracker, "model", None)
        if isinstance(model, _TimedModel):
            model.elapsed = 0.0
        with torch.inference_mode(), self._autocast():
            result = self.tracker.update(image)
        self.last_network_s = model.elapsed if isinstance(model, _TimedModel) else 0.0
        return result

    def reset(self) -> None:
        self.tracker.reset()

    @property
    def state_name(self) -> str:
        state = self.tracker.state
        return getattr(state, "name", str(state))


class _TimedModel:
    """Transparent wrapper that adds up the wall time of the network's ``track`` calls."""

    def __init__(self, model) -> None:
        self._model = model
        self.elapsed = 0.0

    def track(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return self._model.track(*args, **kwargs)
        finally:
            self.elapsed += time.perf_counter() - t0

    def __getattr__(self, name):
        return getattr(self._model, name)


_STATE_COLOURS = {"TRACKING": (0, 220, 0), "LOST": (0, 0, 255), "IDLE": (200, 200, 200)}


def draw_debug(image: np.ndarray, box_xywh: Optional[np.ndarray], score: float,
               state: str, extra: str = "") -> np.ndarray:
    """The AGC frame with the box, score and state drawn (bgr8), for rviz."""
    import cv2

    out = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    colour = _STATE_COLOURS.get(state, (255, 255, 0))
    scale = max(0.35, min(out.shape[:2]) / 480.0)
    thick = max(1, int(round(scale * 2)))
    if box_xywh is not None and np.isfinite(box_xywh).all():
        x, y, w, h = box_xywh
        cv2.rectangle(out, (int(round(x)), int(round(y))), (int(round(x + w)), int(round(y + h))),
                      colour, thick)
    label = f"{state} {score:.2f}" + (f" {extra}" if extra else "")
    cv2.putText(out, label, (4, int(16 * scale + 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale,
                colour, thick, cv2.LINE_AA)
    return out


def perf() -> float:
    return time.perf_counter()
