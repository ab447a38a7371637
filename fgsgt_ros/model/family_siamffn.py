"""Registers the SiamFFN family (``siamffn.SiamFFNConfig``, ``SiamFFNNet``, ``SiamFFNLoss``):
SiamFFN and its SiamBAN-style result-fusion ablation, anchor-free point heads."""

from __future__ import annotations

from .registry import ModelFamily, register_family
from .siamffn import PRESETS, SiamFFNConfig, SiamFFNNet
from .siamffn_loss import SiamFFNLoss

FAMILY = ModelFamily(
    name="siamffn",
    config_type=SiamFFNConfig,
    build=SiamFFNNet,
    loss=SiamFFNLoss,
    targets="fgsgt_ros.data.targets_siamffn:point_label_targets",
    tracker="fgsgt_ros.tracker.anchor_free:anchor_free_tracker",
    outputs=("cls", "ltrb", "sal"),
)

register_family(FAMILY, PRESETS)
