"""Tracker logic and thermal preprocessing (no ROS imports).

- ``config.TrackerConfig``: tracking hyperparameters (defaults documented there).
- ``thermal.ThermalPreprocessor``: raw thermal frame -> uint8 (H, W, 3) with AGC.
- ``siamese.SiameseTracker``: the SiamRPN++-style loop around a Siamese network of any family.
- ``families``: each network family's tracker factory (``FAMILY_TRACKERS``, ``make_tracker``).
- ``peers.OpenCVTracker``: CSRT / KCF / MOSSE behind the same interface.
- ``build_tracker(spec)``: one string to any of them (``factory``).
- ``load_model(spec)``: the checkpoint part of ``build_tracker`` alone (network, its config, the
  checkpoint's ``extra`` and path), for callers that build the tracker themselves (the ROS node).
"""

from __future__ import annotations

from fgsgt_ros.tracker.base import InvalidBoxError, TrackResult, TrackState
from fgsgt_ros.tracker.config import TrackerConfig
from fgsgt_ros.tracker.factory import (DEFAULT_TRACKER, LoadedModel, TrackerBuildError,
                                       build_tracker, checkpoint_tracker_config, load_model,
                                       shipped_presets)

__all__ = ["build_tracker", "load_model", "LoadedModel", "checkpoint_tracker_config",
           "TrackerBuildError", "TrackerConfig", "TrackResult", "TrackState", "InvalidBoxError",
           "DEFAULT_TRACKER", "shipped_presets"]
