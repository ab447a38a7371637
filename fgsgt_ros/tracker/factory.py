"""Trackers from a short specification: ``build_tracker(spec)`` turns one string (the shipped
model, a preset, ``PRESET:PATH``, a checkpoint path or an OpenCV peer) into a tracker, and
``load_model(spec)`` is its checkpoint part alone (network, its config, the checkpoint's
``extra`` and path), for callers that build the tracker themselves (the ROS node). The tracker
class of a network comes from its family (``families.make_tracker``). Everything here is
re-exported by ``fgsgt_ros.tracker``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

from fgsgt_ros.tracker.config import TrackerConfig

#: The name that means "the shipped model" (fgsgt_ros.weights.default_checkpoint()).
DEFAULT_TRACKER = "fgsgt"


class TrackerBuildError(ValueError):
    """The tracker specification cannot be turned into a tracker (message says why and what's valid)."""


def _preset_names():
    from fgsgt_ros.model.registry import PRESETS
    return list(PRESETS)


def checkpoint_tracker_config(extra: Optional[Dict[str, Any]]) -> Optional[TrackerConfig]:
    """The TrackerConfig a checkpoint carries in ``extra["tracker_config"]`` (a dict of some
    TrackerConfig fields, e.g. the LOST thresholds written by ``fgsgt calibrate --write``; the other
    fields keep TrackerConfig's defaults), or None when it has none."""
    values = (extra or {}).get("tracker_config")
    if not isinstance(values, dict):
        return None
    return TrackerConfig.from_dict(values)


@dataclass
class LoadedModel:
    """A network loaded from a checkpoint, with what the file says about it."""

    model: Any
    model_cfg: Any
    extra: Dict[str, Any] = field(default_factory=dict)
    path: Optional[Path] = None  # None for an untrained network
    name: str = ""
    runtime: str = "torch"  # "torch" or "onnx": what ``model`` runs on (never "auto")

    @property
    def tracker_config(self) -> TrackerConfig:
        """The checkpoint's tracker settings (e.g. calibrated LOST thresholds) over
        ``TrackerConfig()``; plain ``TrackerConfig()`` when it carries none."""
        return checkpoint_tracker_config(self.extra) or TrackerConfig()


def _load(path: Path, device: str, expect_preset: Optional[str]):
    from fgsgt_ros.model.checkpoint import CheckpointError, load_checkpoint
    from fgsgt_ros.model.runtime import is_onnx_file, onnx_as_checkpoint_message
    if not path.is_file():
        raise TrackerBuildError(f"checkpoint {path} does not exist (not found)")
    if path.suffix.lower() == ".onnx":
        raise TrackerBuildError(onnx_as_checkpoint_message(path))
    try:
        model, cfg, extra = load_checkpoint(str(path), device=device)
    except CheckpointError as exc:
        if is_onnx_file(path):
            raise TrackerBuildError(onnx_as_checkpoint_message(path)) from None
        raise TrackerBuildError(f"cannot load checkpoint {path}: {exc}") from None
    except Exception as exc:  # anything else from an odd file is still one clear line
        raise TrackerBuildError(f"cannot load checkpoint {path}: {type(exc).__name__}: {exc}") \
            from None
    if expect_preset is not None and getattr(cfg, "name", expect_preset) != expect_preset:
        raise TrackerBuildError(f"checkpoint {path} holds preset {cfg.name!r}, not {expect_preset!r}")
    try:
        checkpoint_tracker_config(extra)
    except (TypeError, ValueError) as exc:
        raise TrackerBuildError(f"checkpoint {path} carries invalid tracker settings: {exc}") \
            from None
    return model, cfg, extra or {}


def _looks_like_path(spec: str) -> bool:
    return "/" in spec or "\\" in spec or spec.endswith((".pt", ".pth", ".onnx"))


def shipped_presets():
    """Presets that have a shipped checkpoint (usable by name as a tracker)."""
    from fgsgt_ros import weights
    return [p for p in _preset_names() if Path(weights.checkpoint_path(p)).is_file()]


def _on_runtime(loaded: "LoadedModel", runtime: str, device: str, num_threads: int):
    """``loaded`` with its network on ``runtime`` (fgsgt_ros.model.runtime.with_runtime)."""
    from fgsgt_ros.model.runtime import RuntimeUnavailableError, resolve_runtime, with_runtime
    try:
        runtime = resolve_runtime(runtime, device)  # "auto" -> what it is here
        loaded.model = with_runtime(loaded.model, runtime, device=device, threads=num_threads,
                                    tracker_config=(loaded.extra or {}).get("tracker_config"))
    except (ValueError, RuntimeUnavailableError) as exc:
        raise TrackerBuildError(str(exc)) from None
    loaded.runtime = runtime
    return loaded


def load_model(spec: str = DEFAULT_TRACKER, *, device: str = "cpu",
               expect_preset: Optional[str] = None, allow_untrained: bool = False,
               runtime: str = "", num_threads: Optional[int] = None) -> LoadedModel:
    """Resolve a network specification (``build_tracker``'s, without the OpenCV peers) and load it.

    ``spec``: ``"fgsgt"`` (the shipped checkpoint), ``"PRESET:PATH"``, ``"PATH"``, ``"PRESET"`` (the
    shipped ``fgsgt_ros/weights/PRESET.pt``; an untrained network if there is none and
    ``allow_untrained``), or the file name of another shipped checkpoint (``"NAME.pt"``).
    ``expect_preset``: refuse a checkpoint holding another model preset.
    ``runtime``: "" (``fgsgt_ros.model.runtime.DEFAULT_RUNTIME``), "auto" (onnx where it is
    installed and the device is a CPU, else torch), "torch" (PyTorch eager) or "onnx" (the network exported once and run by
    onnxruntime with ``num_threads`` intra-op threads, default ``DEFAULT_NUM_THREADS``; see
    ``fgsgt_ros.model.runtime.with_runtime``).
    Raises TrackerBuildError (a ValueError) with a one-line reason (missing file: "not found"; an
    exported .onnx graph given as the checkpoint: says so).
    """
    from fgsgt_ros import devices, weights
    from fgsgt_ros.model.runtime import DEFAULT_NUM_THREADS

    if num_threads is None:
        num_threads = DEFAULT_NUM_THREADS
    try:  # a device this machine lacks: say so before any file is read onto it
        device = devices.resolve_device(device)
    except devices.DeviceError as exc:
        raise TrackerBuildError(str(exc)) from None

    if not isinstance(spec, str) or not spec.strip():
        raise TrackerBuildError("empty tracker specification")
    spec = spec.strip()
    presets = _preset_names()
    preset, path = None, None
    if spec == DEFAULT_TRACKER:
        path = Path(weights.default_checkpoint())
        if not path.is_file():
            raise TrackerBuildError(
                f"the shipped checkpoint {path} is missing (not found: a checkout without "
                "weights?); train one with `fgsgt train` or name a checkpoint as PRESET:PATH")
    elif ":" in spec and spec.split(":", 1)[0] in presets + [DEFAULT_TRACKER]:
        preset, rest = spec.split(":", 1)
        preset = None if preset == DEFAULT_TRACKER else preset
        path = Path(rest).expanduser()
    elif spec in presets:
        preset = spec
        shipped = Path(weights.checkpoint_path(spec))
        if shipped.is_file():
            path = shipped
        elif allow_untrained:
            from fgsgt_ros.model.registry import build_model, get_preset
            if expect_preset is not None and expect_preset != spec:
                raise TrackerBuildError(f"preset {spec!r} is not {expect_preset!r}")
            cfg = get_preset(spec)
            model = build_model(cfg).to(device).eval()
            return _on_runtime(LoadedModel(model, cfg, {}, None, f"{spec}(untrained)"), runtime,
                               device, num_threads)
        else:
            raise TrackerBuildError(f"no shipped checkpoint for preset {spec!r} ({shipped} not "
                                    f"found); use {spec}:PATH to a trained checkpoint")
    elif Path(spec).expanduser().is_file():
        path = Path(spec).expanduser()
    elif "/" not in spec and "\\" not in spec and spec.endswith(".pt") \
            and Path(weights.checkpoint_path(spec)).is_file():
        path = Path(weights.checkpoint_path(spec))  # another shipped file, by name
    elif _looks_like_path(spec):
        raise TrackerBuildError(f"checkpoint {spec} not found (no such file)")
    else:
        from fgsgt_ros.tracker.peers import PEERS
        shipped = shipped_presets()
        raise TrackerBuildError(
            f"unknown tracker {spec!r}: expected {DEFAULT_TRACKER!r}, one of {', '.join(PEERS)}"
            + (f", a shipped model ({', '.join(shipped)})" if shipped else "")
            + ", PRESET:CHECKPOINT (any model preset) or an existing checkpoint file")

    model, cfg, extra = _load(path, device, preset)
    if expect_preset is not None and getattr(cfg, "name", None) != expect_preset:
        raise TrackerBuildError(f"checkpoint {path} holds preset {cfg.name!r}, not "
                                f"{expect_preset!r}")
    name = spec if spec == DEFAULT_TRACKER else (preset or getattr(cfg, "name", path.stem))
    return _on_runtime(LoadedModel(model, cfg, extra, path, name), runtime, device, num_threads)


def build_tracker(spec: str = DEFAULT_TRACKER, *, tracker_cfg: Optional[TrackerConfig] = None,
                  device: str = "cpu", allow_untrained: bool = False,
                  expect_preset: Optional[str] = None, loaded: Optional[LoadedModel] = None,
                  runtime: str = "", num_threads: Optional[int] = None):
    """Build a tracker from a short specification.

    ``spec`` is one of:
    - ``"fgsgt"``: the shipped checkpoint ``fgsgt_ros.weights.default_checkpoint()``;
    - ``"csrt"``, ``"kcf"``, ``"mosse"``: an OpenCV peer;
    - ``"PRESET:PATH"``: a checkpoint file that must hold that model preset (e.g.
      ``"fgsgt_tiny:runs/x/best.pt"``);
    - ``"PATH"`` of an existing checkpoint file;
    - ``"PRESET"``: the shipped checkpoint ``fgsgt_ros/weights/PRESET.pt``; if there is none and
      ``allow_untrained`` is set, an untrained (randomly initialised) network of that preset, which
      is only good for shape/speed checks.
    ``tracker_cfg``: hyperparameters; when None, a checkpoint's ``extra["tracker_config"]`` (a dict of
    TrackerConfig fields, e.g. the LOST thresholds of ``fgsgt calibrate --write``) over
    ``TrackerConfig()`` is used.
    ``expect_preset``: refuse a checkpoint holding another model preset. ``loaded``: a network
    already loaded for this spec (``load_model``), reused instead of loading it again (how
    ``TrackingSession`` rebuilds its tracker with new settings). ``runtime`` / ``num_threads``:
    the network's inference runtime, "auto", "torch" or "onnx" (``load_model``; ignored for OpenCV peers
    and for ``loaded``, which already is on its runtime).
    Raises TrackerBuildError (a ValueError) with a one-line reason.
    """
    from fgsgt_ros.tracker.peers import OpenCVTracker, peer_name

    if not isinstance(spec, str) or not spec.strip():
        raise TrackerBuildError("empty tracker specification")
    spec = spec.strip()
    if peer_name(spec):
        try:
            return OpenCVTracker(peer_name(spec), tracker_cfg)
        except RuntimeError as exc:
            raise TrackerBuildError(str(exc)) from exc

    from fgsgt_ros.tracker.families import make_tracker

    if loaded is None:
        loaded = load_model(spec, device=device, allow_untrained=allow_untrained,
                            expect_preset=expect_preset, runtime=runtime, num_threads=num_threads)
    if tracker_cfg is None:
        tracker_cfg = loaded.tracker_config
    # the tracker class (and its decoding) comes with the network's family
    return make_tracker(loaded.model, loaded.model_cfg, tracker_cfg, device=device,
                        name=loaded.name)
