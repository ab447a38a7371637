"""Registers the IBFP family (``ibfp.IBFPConfig``, ``IBFPNet``, ``IBFPLoss``)."""

from __future__ import annotations

from .ibfp import PRESETS, IBFPConfig, IBFPLoss, IBFPNet
from .registry import ModelFamily, register_family

FAMILY = ModelFamily(
    name="ibfp",
    config_type=IBFPConfig,
    build=IBFPNet,
    loss=IBFPLoss,
    targets="fgsgt_ros.data.targets_ibfp:ibfp_targets",
    tracker="fgsgt_ros.tracker.ibfp:make_ibfp_tracker",
    outputs=("center", "ltrb", "feat"),
)

register_family(FAMILY, PRESETS)
