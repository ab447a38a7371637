"""Registers the FGSGT / SiamRPN++ family (``config.ModelConfig``, ``FGSGTNet``, ``FGSGTLoss``)."""

from __future__ import annotations

from .config import PRESETS, ModelConfig
from .loss import FGSGTLoss
from .network import FGSGTNet
from .registry import ModelFamily, register_family

FAMILY = ModelFamily(
    name="fgsgt",
    config_type=ModelConfig,
    build=FGSGTNet,
    loss=FGSGTLoss,
    targets="fgsgt_ros.data.samples:anchor_targets",
    tracker="fgsgt_ros.tracker.fgsgt:make_fgsgt_tracker",
    outputs=("cls", "loc", "sal"),
)

register_family(FAMILY, PRESETS)
