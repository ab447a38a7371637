"""Registers the MMNet family (``mmnet.MMNetConfig``, ``MMNet``, ``MMNetLoss``) and its presets.

- ``mmnet``: the paper's size (AlexNet without padding, 96-256-384-384-256 channels with its
  two-tower groups, 127/255 px crops, 17x17 score map) with all four parts;
- ``mmnet_tiny``: the same geometry (127/255 px, stride 8, 17x17 scores) with a 7x7 conv1 and
  16-32-64-64-48 channels: about the per-frame cost of ``fgsgt_tiny`` (one search crop), so it
  trains on the same CPU budget;
- the ablation rows of the paper's Table 1 at both sizes (``<size>_dis``: discriminative matching
  only; ``_cls``: + classification branch; ``_hc``: + fine-grained matching with the holistic
  correlation module only; ``_pc``: + fine-grained matching with the pixel-level module only; the
  plain name is the full model).
"""

from __future__ import annotations

from dataclasses import replace

from .mmnet import MMNet, MMNetBackboneConfig, MMNetConfig, MMNetLoss
from .registry import ModelFamily, register_family

FAMILY = ModelFamily(
    name="mmnet",
    config_type=MMNetConfig,
    build=MMNet,
    loss=MMNetLoss,
    targets="fgsgt_ros.data.targets_mmnet:score_map_targets",
    tracker="fgsgt_ros.tracker.siamfc:SiamFCTracker",
    outputs=("score",),
)

_TINY_BACKBONE = MMNetBackboneConfig(channels=(16, 32, 64, 64, 48), kernels=(7, 5, 3, 3, 3),
                                     groups=(1, 1, 1, 1, 1))


def _rows(base: MMNetConfig):
    """The ablation rows of Table 1 for one size: Dis, +Cls, +Fine-Hc, +Fine-Pc, all."""
    n = base.name
    return {
        f"{n}_dis": replace(base, name=f"{n}_dis", classification=False, fine_holistic=False,
                            fine_pixel=False),
        f"{n}_cls": replace(base, name=f"{n}_cls", fine_holistic=False, fine_pixel=False),
        f"{n}_hc": replace(base, name=f"{n}_hc", fine_pixel=False),
        f"{n}_pc": replace(base, name=f"{n}_pc", fine_holistic=False),
        n: base,
    }


PRESETS = {}
PRESETS.update(_rows(MMNetConfig(name="mmnet")))
PRESETS.update(_rows(MMNetConfig(name="mmnet_tiny", backbone=_TINY_BACKBONE)))

register_family(FAMILY, PRESETS)
