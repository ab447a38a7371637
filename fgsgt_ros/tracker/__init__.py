"""Tracker logic and thermal preprocessing (no ROS imports).

- ``config.TrackerConfig``: tracking hyperparameters (defaults documented there).
- ``thermal.ThermalPreprocessor``: raw thermal frame -> uint8 (H, W, 3) with AGC.
- ``siamese.SiameseTracker``: the SiamRPN++-style loop around an FGSGT-family network.
- ``peers.OpenCVTracker``: CSRT / KCF / MOSSE behind the same interface.
- ``build_tracker(spec)``: one string to any of them (below).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from fgsgt_ros.tracker.base import InvalidBoxError, TrackResult, TrackState
from fgsgt_ros.tracker.config import TrackerConfig

__all__ = ["build_tracker", "TrackerBuildError", "TrackerConfig", "TrackResult", "TrackState",
           "InvalidBoxError", "DEFAULT_TRACKER"]

#: The name that means "the shipped model" (fgsgt_ros.weights.default_checkpoint()).
DEFAULT_TRACKER = "fgsgt"


class TrackerBuildError(ValueError):
    """The tracker specification cannot be turned into a tracker (message says why and what's valid)."""


def _preset_names():
    from fgsgt_ros.model.config import PRESETS
    return list(PRESETS)


def _load(path: Path, device: str, expect_preset: Optional[str]):
    from fgsgt_ros.model.checkpoint import CheckpointError, load_checkpoint
    if not path.is_file():
        raise TrackerBuildError(f"checkpoint {path} does not exist")
    try:
        model, cfg, extra = load_checkpoint(str(path), device=device)
    except CheckpointError as exc:
        raise TrackerBuildError(f"cannot load checkpoint {path}: {exc}") from exc
    if expect_preset is not None and getattr(cfg, "name", expect_preset) != expect_preset:
        raise TrackerBuildError(f"checkpoint {path} holds preset {cfg.name!r}, not {expect_preset!r}")
    return model, cfg, extra or {}


def build_tracker(spec: str = DEFAULT_TRACKER, *, tracker_cfg: Optional[TrackerConfig] = None,
                  device: str = "cpu", allow_untrained: bool = False):
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
    TrackerConfig fields) is used if present, else ``TrackerConfig()``.
    Raises TrackerBuildError (a ValueError) with a one-line reason.
    """
    from fgsgt_ros.tracker.peers import PEERS, OpenCVTracker

    if not isinstance(spec, str) or not spec.strip():
        raise TrackerBuildError("empty tracker specification")
    spec = spec.strip()
    if spec.lower() in PEERS:
        try:
            return OpenCVTracker(spec.lower(), tracker_cfg)
        except RuntimeError as exc:
            raise TrackerBuildError(str(exc)) from exc

    from fgsgt_ros.tracker.siamese import SiameseTracker

    presets = _preset_names()
    preset, path = None, None
    if spec == DEFAULT_TRACKER:
        from fgsgt_ros.weights import default_checkpoint
        path = Path(default_checkpoint())
        if not path.is_file():
            raise TrackerBuildError(
                f"the shipped checkpoint {path} is missing (a checkout without weights?); train one "
                "with `fgsgt train` or name a checkpoint as PRESET:PATH")
    elif ":" in spec and spec.split(":", 1)[0] in presets + [DEFAULT_TRACKER]:
        preset, rest = spec.split(":", 1)
        preset = None if preset == DEFAULT_TRACKER else preset
        path = Path(rest).expanduser()
    elif spec in presets:
        from fgsgt_ros.weights import checkpoint_path
        preset = spec
        shipped = Path(checkpoint_path(spec))
        if shipped.is_file():
            path = shipped
        elif allow_untrained:
            from fgsgt_ros.model.config import get_preset
            from fgsgt_ros.model.network import build_model
            cfg = get_preset(spec)
            return SiameseTracker(build_model(cfg), cfg, tracker_cfg, device=device,
                                  name=f"{spec}(untrained)")
        else:
            raise TrackerBuildError(f"no shipped checkpoint for preset {spec!r} ({shipped}); "
                                    f"use {spec}:PATH to a trained checkpoint")
    elif Path(spec).expanduser().is_file():
        path = Path(spec).expanduser()
    else:
        raise TrackerBuildError(
            f"unknown tracker {spec!r}: expected {DEFAULT_TRACKER!r}, one of {', '.join(PEERS)}, a "
            f"preset ({', '.join(presets)}), PRESET:CHECKPOINT or an existing checkpoint file")

    model, cfg, extra = _load(path, device, preset)
    if tracker_cfg is None and isinstance(extra.get("tracker_config"), dict):
        tracker_cfg = TrackerConfig.from_dict(extra["tracker_config"])
    name = spec if spec == DEFAULT_TRACKER else (preset or getattr(cfg, "name", path.stem))
    return SiameseTracker(model, cfg, tracker_cfg, device=device, name=name)
