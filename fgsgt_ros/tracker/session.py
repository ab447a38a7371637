"""One tracking session: the per-frame loop that the ROS node, ``fgsgt eval`` (OPE and VOT),
``fgsgt calibrate``, the demo and the benches all run (no ROS imports).

A session owns, for one camera stream and one target at a time:
- the thermal AGC (``ThermalPreprocessor``) and its policy for non-finite and implausible frames;
- the tracker, from a spec (``TrackingSession.from_spec``: an OpenCV peer or a network loaded
  once, on its runtime, onto a device resolved once; ``peers.peer_name`` is the one rule for
  which is which) or handed in ready-made (any object with ``init(image, box)``, ``update(image) -> TrackResult``,
  ``reset()`` and ``state``: the Siamese trackers of every model family, the OpenCV peers, ...);
- the device, the precision (fp16 autocast on CUDA) and torch's inference mode;
- a lock, so a service (init/reset) and the per-frame worker never interleave;
- per-stage timing, returned as fields of each result (no wrapper around the model).

Usage::

    from fgsgt_ros.tracker.session import TrackingSession
    session = TrackingSession.from_spec("fgsgt")   # or "csrt", "fgsgt_tiny:run/best.pt"
    # (TrackingSession(tracker_object) wraps a tracker object)
    session.init(raw_frame0, (x, y, w, h))         # raw 16-bit / float / 8-bit frame
    for raw in frames:
        r = session.step(raw)                      # r.state, r.box, r.score, r.published, r.times
        if r.published is not None: ...            # what a robot gets (the node's detection)

What a frame gives (one rule for the node and the evaluation): ``published`` is the tracker's box
while the state is TRACKING, clipped to the frame (the part of the target inside the image, as an
annotation is), and None otherwise (LOST, IDLE, or a frame the AGC refused while not
tracking). The node publishes exactly ``published`` (an empty ``detections`` for None) and
``fgsgt eval`` writes exactly ``published`` into its result files (a NaN row for None);
``box`` is the tracker's own estimate, also while LOST (the "always a box" score of the
evaluation is computed from it; see docs/EVALUATION.md).

AGC and targets: ``init`` re-learns the AGC range from the init frame (a new target often comes
with a new scene) and ``reset`` forgets it; a frame the AGC refuses (too few finite, plausible
pixels, see ``ThermalPreprocessor``) does not reach the tracker: the result repeats the current
state and box with ``refused`` set and publishes nothing, and tracking goes on with the next good
frame.
"""

from __future__ import annotations

import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from fgsgt_ros import devices
from fgsgt_ros.tracker.base import TrackResult, check_box_values
from fgsgt_ros.tracker.config import TrackerConfig
from fgsgt_ros.tracker.peers import peer_name
from fgsgt_ros.tracker.temperature import TargetTemperature, measure_temperature
from fgsgt_ros.tracker.thermal import BadFrameError, ThermalConfig, ThermalPreprocessor

__all__ = ["TrackingSession", "SessionResult", "StageTimes", "ModelLoadError", "resolve_device"]


class ModelLoadError(RuntimeError):
    """The tracker cannot be built (missing/corrupt/mismatched checkpoint, unknown peer, bad
    device): one line saying why."""


def resolve_device(requested: str, warn: Callable[[str], None] = lambda s: None, *,
                   fallback: bool = True) -> str:
    """The session's device (``fgsgt_ros.devices``): an absent CUDA device falls back to the CPU
    with a warning (a robot keeps tracking when its GPU went missing) unless ``fallback`` is
    False; a name that is no device (or, without fallback, an absent one) is a ModelLoadError."""
    try:
        return devices.resolve_device(requested, fallback=fallback, warn=warn)
    except devices.DeviceError as exc:
        raise ModelLoadError(str(exc)) from None


@dataclass
class StageTimes:
    """Seconds spent on one frame: AGC, the tracker's update (crop + network + decode), all."""

    preprocess_s: float = 0.0
    track_s: float = 0.0
    total_s: float = 0.0


@dataclass
class SessionResult:
    """One frame through the session.

    ``state``: "IDLE", "TRACKING" or "LOST" after this frame. ``box``: the tracker's xywh estimate
    (float64 (4,), None while IDLE). ``score``: the tracker's confidence for this frame (0 when the
    tracker did not run). ``published``: what the node publishes and the evaluation records (the
    box while TRACKING clipped to the frame, else None). ``image``: the frame after AGC (uint8
    (H, W, 3)) when ``step(..., want_image=True)``. ``refused``: why the AGC refused the frame ('' = it did not;
    the tracker then did not run). ``track``: the tracker's TrackResult (None when it did not run);
    ``saliency`` reads its map lazily (on demand only). ``temperature``: the target's
    temperature under the published box on radiometric input (``ThermalConfig.radiometry``),
    else None (``fgsgt_ros.tracker.temperature``).
    """

    state: str
    box: Optional[np.ndarray]
    score: float
    published: Optional[np.ndarray]
    times: StageTimes = field(default_factory=StageTimes)
    image: Optional[np.ndarray] = field(default=None, repr=False)
    refused: str = ""
    track: Optional[TrackResult] = field(default=None, repr=False)
    temperature: Optional[TargetTemperature] = None

    @property
    def saliency(self) -> Optional[np.ndarray]:
        return None if self.track is None else getattr(self.track, "saliency", None)


def _state_name(state) -> str:
    return getattr(state, "name", str(state))


def published_box(state: str, box, frame_size=None) -> Optional[np.ndarray]:
    """The one output rule: the box while TRACKING (and finite), clipped to the frame when its
    ``frame_size`` (H, W) is given (the part of the target inside the image, as annotations
    are); None otherwise, or when no part of it is inside."""
    if state != "TRACKING" or box is None:
        return None
    b = np.asarray(box, dtype=np.float64).reshape(-1)
    if b.shape != (4,) or not np.isfinite(b).all():
        return None
    if frame_size is not None:
        from fgsgt_ros.boxes import clip_xywh

        b = clip_xywh(b, int(frame_size[1]), int(frame_size[0]))
        if b[2] <= 0 or b[3] <= 0:
            return None
    return b


class TrackingSession:
    """AGC + tracker + device/precision/inference mode + lock + timing; see the module docstring.

    Args:
        tracker: a ``build_tracker`` spec (``"fgsgt"``, ``"csrt"``, ``"PRESET:PATH"``, a path; ``""``
            = the shipped model) or a ready tracker object.
        tracker_cfg: tracker settings; None = the checkpoint's calibrated ones over
            ``TrackerConfig()`` (``tracker_defaults``). Ignored for a ready tracker object.
        thermal_cfg: AGC settings (``ThermalConfig()`` when None).
        device: "auto", "cpu" or "cuda[:N]" (an absent CUDA device falls back to CPU with a warning).
        precision: "fp32" or "fp16" (fp16 needs CUDA; CPU stays fp32 with a warning).
        model_preset: refuse a checkpoint holding another model preset ("" = any).
        loaded: an already loaded network (``fgsgt_ros.tracker.LoadedModel``, or anything
            ``build_tracker(loaded=...)`` accepts, e.g. another runtime) used instead of loading
            the spec's checkpoint.
        runtime: the network's inference runtime, "auto", "torch" or "onnx"; "" = the default
            (``fgsgt_ros.model.runtime.DEFAULT_RUNTIME``: onnx on a CPU where installed) (``load_model``; ignored
            for a peer and for ``loaded``, which already is on its runtime).
        num_threads: torch CPU threads (0 = leave torch's setting); also onnxruntime's threads.
        device_fallback: False makes an absent CUDA device a ModelLoadError (command lines)
            instead of the CPU with a warning (the node).
        warn: where warnings go (the node passes its logger).
    Raises ModelLoadError with a one-line reason when the tracker cannot be built.
    """

    def __init__(self, tracker="fgsgt", *, tracker_cfg: Optional[TrackerConfig] = None,
                 thermal_cfg: Optional[ThermalConfig] = None, device: str = "cpu",
                 precision: str = "fp32", model_preset: str = "", loaded=None,
                 runtime: str = "", num_threads: int = 0, allow_untrained: bool = False,
                 device_fallback: bool = True,
                 warn: Callable[[str], None] = lambda s: None) -> None:
        self.lock = threading.RLock()
        self._warn = warn
        if num_threads > 0:
            import torch
            torch.set_num_threads(int(num_threads))
        self.init_count = 0
        self._own_state = "IDLE"  # for a tracker object without a ``state`` of its own
        self.loaded = None
        self.peer = ""
        self.spec = ""
        if isinstance(tracker, str):
            self._open_spec(tracker, device=device, model_preset=model_preset, loaded=loaded,
                            runtime=runtime, num_threads=num_threads,
                            allow_untrained=allow_untrained, device_fallback=device_fallback)
            self._given = None
        else:
            missing = [m for m in ("init", "update") if not callable(getattr(tracker, m, None))]
            if missing:
                raise TypeError(f"a tracker needs init(image, box) and update(image); "
                                f"{type(tracker).__name__} lacks {', '.join(missing)}")
            self._given = tracker
            dev = getattr(tracker, "device", None)
            self.device = str(dev) if dev is not None else "cpu"
            self.tracker_defaults = getattr(tracker, "cfg", None) or TrackerConfig()
            self.calibrated = False
            self.model_name = getattr(tracker, "name", type(tracker).__name__)
            self.checkpoint_path = ""
        self.precision = precision
        if precision not in ("fp32", "fp16"):
            raise ModelLoadError(f"precision {precision!r} is not fp32 or fp16")
        if precision == "fp16" and not self.device.startswith("cuda"):
            warn("precision fp16 needs CUDA: running fp32 on CPU")
            self.precision = "fp32"
        self.configure(tracker_cfg, thermal_cfg)

    @classmethod
    def from_spec(cls, spec: str = "", *, runtime: str = "", num_threads: int = 0,
                  device: str = "cpu", precision: str = "fp32", model_preset: str = "",
                  tracker_cfg: Optional[TrackerConfig] = None,
                  thermal_cfg: Optional[ThermalConfig] = None, allow_untrained: bool = False,
                  device_fallback: bool = True,
                  warn: Callable[[str], None] = lambda s: None) -> "TrackingSession":
        """The session a tracker spec names: the one way the node, ``fgsgt eval``, the demo and
        the benches build one. ``spec``: an OpenCV peer (``"csrt"``, ``"nanotrack"``, ...) or a
        network (``"fgsgt"``, ``"PRESET"``, ``"PRESET:PATH"``, a checkpoint path; ``""`` = the
        shipped model), loaded once onto ``device`` (resolved once, ``fgsgt_ros.devices``; an
        absent CUDA device falls back to the CPU with a warning unless ``device_fallback`` is
        False, then it is a ModelLoadError) on ``runtime`` ("auto", "torch" or "onnx"; "" = the
        default, ``DEFAULT_RUNTIME``; with
        ``num_threads`` threads). Raises ModelLoadError with a one-line reason."""
        if not isinstance(spec, str):
            raise TypeError(f"a tracker spec is a string, not {type(spec).__name__}")
        return cls(spec, runtime=runtime, num_threads=num_threads, device=device,
                   precision=precision, model_preset=model_preset, tracker_cfg=tracker_cfg,
                   thermal_cfg=thermal_cfg, allow_untrained=allow_untrained,
                   device_fallback=device_fallback, warn=warn)

    def _open_spec(self, spec: str, *, device: str, model_preset: str, loaded, runtime: str,
                   num_threads: int, allow_untrained: bool, device_fallback: bool) -> None:
        """Decide peer or network (``peers.peer_name``, the one rule), resolve the device once
        and load the network (unless ``loaded`` is given) on its runtime."""
        from fgsgt_ros.tracker import DEFAULT_TRACKER, TrackerBuildError, load_model

        self.spec = spec.strip() or DEFAULT_TRACKER
        self.peer = peer_name(self.spec)
        # an OpenCV peer runs on the CPU whatever the device says: it never refuses one
        self.device = resolve_device(device, self._warn, fallback=device_fallback or bool(self.peer))
        if self.peer:
            self.tracker_defaults = TrackerConfig()
            self.calibrated = False
            self.model_name, self.checkpoint_path = self.peer, ""
            return
        try:
            self.loaded = loaded if loaded is not None else load_model(
                self.spec, device=self.device, allow_untrained=allow_untrained,
                expect_preset=(model_preset or "").strip() or None, runtime=runtime,
                num_threads=num_threads)
        except TrackerBuildError as exc:
            raise ModelLoadError(str(exc)) from None
        self.tracker_defaults = self.loaded.tracker_config
        # whether the checkpoint carries its own tracker settings (calibrated thresholds)
        self.calibrated = "tracker_config" in self.loaded.extra
        self.model_name = getattr(self.loaded.model_cfg, "name", "") or self.loaded.name
        self.checkpoint_path = str(self.loaded.path or "")

    @property
    def runtime(self) -> str:
        """What the network runs on ("torch", "onnx"), "opencv" for a peer, "" for a tracker
        object handed in."""
        if self.loaded is not None:
            return getattr(self.loaded, "runtime", "torch")
        return "opencv" if self.peer else ""

    # ------------------------------------------------------------------ configuration
    def configure(self, tracker_cfg: Optional[TrackerConfig] = None,
                  thermal_cfg: Optional[ThermalConfig] = None) -> None:
        """(Re)build the tracker and the AGC with these settings (None: ``tracker_defaults`` /
        ``ThermalConfig()``); a loaded network stays loaded. The target is forgotten (IDLE)."""
        with self.lock:
            self.preprocessor = ThermalPreprocessor(thermal_cfg)
            if self._given is not None:
                self.tracker = self._given
                self._reset_tracker()
                self.tracker_cfg = getattr(self.tracker, "cfg", None) or TrackerConfig()
                return
            from fgsgt_ros.tracker import TrackerBuildError, build_tracker

            self.tracker_cfg = self.tracker_defaults if tracker_cfg is None else tracker_cfg
            try:
                self.tracker = build_tracker(self.peer or self.spec, tracker_cfg=self.tracker_cfg,
                                             device=self.device, loaded=self.loaded)
            except (TrackerBuildError, ValueError, RuntimeError) as exc:
                raise ModelLoadError(str(exc)) from None

    def retune(self, tracker_cfg: Optional[TrackerConfig] = None,
               thermal_cfg: Optional[ThermalConfig] = None) -> bool:
        """Apply new settings at once, keeping the target and the AGC's learnt range (runtime
        tuning: the node's tracker.* / thermal.* parameters). A tracker without ``set_config`` is
        rebuilt with them instead, which forgets its target. Returns whether the target (if any)
        was kept."""
        with self.lock:
            if thermal_cfg is not None:
                self.preprocessor.cfg = thermal_cfg  # read per frame; the learnt range stays
            if tracker_cfg is None or tracker_cfg == self.tracker_cfg:
                return True
            set_config = getattr(self.tracker, "set_config", None)
            if callable(set_config):
                set_config(tracker_cfg)
                self.tracker_cfg = tracker_cfg
                return True
            had_target = self.state != "IDLE"
            if self._given is not None:
                raise ModelLoadError(f"{self.model_name} takes no new tracker settings")
            self.configure(tracker_cfg, self.preprocessor.cfg)
            return not had_target

    @property
    def thermal_cfg(self) -> ThermalConfig:
        return self.preprocessor.cfg

    @property
    def state(self) -> str:
        """"IDLE", "TRACKING" or "LOST"."""
        state = getattr(self.tracker, "state", None)
        return self._own_state if state is None else _state_name(state)

    def _reset_tracker(self) -> None:
        if callable(getattr(self.tracker, "reset", None)):
            self.tracker.reset()
        self._own_state = "IDLE"

    @property
    def name(self) -> str:
        return self.model_name

    def _modes(self):
        """torch inference mode (+ fp16 autocast on CUDA) around a tracker call."""
        try:
            import torch
        except ImportError:  # pragma: no cover - torch is a dependency; peers need none of it
            return nullcontext(), nullcontext()
        autocast = (torch.autocast(device_type="cuda", dtype=torch.float16)
                    if self.precision == "fp16" else nullcontext())
        return torch.inference_mode(), autocast

    # ------------------------------------------------------------------ per frame
    def init(self, raw_frame: np.ndarray, box_xywh) -> SessionResult:
        """Start (or restart) tracking ``box_xywh`` (x, y, w, h in frame pixels) in ``raw_frame``.

        The AGC re-learns its range from this frame. Raises ``InvalidBoxError`` (a ValueError) for
        an unusable box and ``BadFrameError`` (a ValueError) for a frame the AGC refuses; either
        way the previous target, state and AGC range are kept."""
        box = check_box_values(box_xywh)
        with self.lock:
            t0 = time.perf_counter()
            saved = self.preprocessor.snapshot()
            try:
                image = self.preprocessor.relearn(raw_frame)
                t1 = time.perf_counter()
                inference, autocast = self._modes()
                with inference, autocast:
                    self.tracker.init(image, box)
            except Exception:
                self.preprocessor.restore(saved)
                raise
            t2 = time.perf_counter()
            self.init_count += 1
            self._own_state = "TRACKING"
            state = self.state
            current = getattr(self.tracker, "box", None)
            current = box if current is None else np.asarray(current, dtype=np.float64)
            return SessionResult(state=state, box=current, score=1.0,
                                 published=published_box(state, current,
                                                         np.shape(raw_frame)[:2]),
                                 times=StageTimes(t1 - t0, t2 - t1, t2 - t0), image=image)

    def step(self, raw_frame: np.ndarray, want_image: bool = False) -> SessionResult:
        """One frame: AGC, then the tracker's update unless IDLE. ``want_image`` keeps the AGC frame
        in the result (the node's debug image). Never raises for a frame the AGC refuses (see
        ``refused``); other exceptions (a frame of an unsupported type) propagate."""
        with self.lock:
            t0 = time.perf_counter()
            refused = ""
            image = None
            try:
                image = self.preprocessor(raw_frame)
            except BadFrameError as exc:
                refused = str(exc)
            t1 = time.perf_counter()
            state = self.state
            track = None
            if state == "IDLE" or refused:
                box = getattr(self.tracker, "box", None)
                box = None if box is None or state == "IDLE" else np.asarray(box, np.float64)
                score = 0.0
            else:
                inference, autocast = self._modes()
                with inference, autocast:
                    track = self.tracker.update(image)
                state = _state_name(getattr(track, "state", "TRACKING"))
                self._own_state = state
                box = np.asarray(track.box, dtype=np.float64)
                score = float(getattr(track, "score", 1.0))
            published = None if refused else published_box(state, box, np.shape(raw_frame)[:2])
            temperature = None
            cfg = self.preprocessor.cfg
            if published is not None and cfg.radiometry != "none":
                temperature = measure_temperature(raw_frame, published, cfg.radiometry,
                                                  cfg.radiometric_gain, cfg.radiometric_offset_k)
            t2 = time.perf_counter()
            return SessionResult(state=state, box=box, score=score, published=published,
                                 times=StageTimes(t1 - t0, t2 - t1, t2 - t0),
                                 image=image if want_image else None, refused=refused,
                                 track=track, temperature=temperature)

    def reset(self) -> None:
        """Forget the target (IDLE) and the AGC range."""
        with self.lock:
            self._reset_tracker()
            self.preprocessor.reset()
