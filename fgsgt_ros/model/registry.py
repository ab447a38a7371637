"""Model-family registry: the model layer's part of every network family, in one table.

A *family* is one kind of network with its own config dataclass, network class and training loss
(FGSGT / SiamRPN++ share one family; SiamFFN, IBFP and MMNet are others). A *preset* is a named
config of some family (``fgsgt_tiny``, ``siamffn_r50``, ...). Everything that takes a preset name
or a config goes through here:

    from fgsgt_ros.model.registry import get_preset, build_model, family_of
    cfg = get_preset("fgsgt_tiny"); net = build_model(cfg); loss = family_of(cfg).make_loss(cfg)

Each layer keeps its own part of a family in its own table, keyed by the family name, so this
(pure PyTorch) package names nothing above it:

- here, ``FAMILIES``: config type, network, loss, the ONNX outputs and the presets (the code in
  ``families/<name>.py``, the shared blocks in ``backbones/``, ``necks.py``, ``heads.py``,
  ``losses.py``);
- ``fgsgt_ros.data.targets.FAMILY_TARGETS``: the training-target builders;
- ``fgsgt_ros.tracker.families.FAMILY_TRACKERS``: the tracker factories.

A new family is one entry in each of the three tables.

Config dataclasses need ``name``, ``exemplar_size``, ``instance_size``, ``to_dict()`` and a static
``from_dict(d)``; networks need ``template_kernels(z) -> tuple``, ``track_with_kernels(x, *k)``,
``template(z)``, ``track(x)`` and ``forward_train(z, x) -> dict`` (the exportable inference path
and the training path are separate methods, as for ``FGSGTNet``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Dict, Mapping, Tuple

from . import losses
from .families import fgsgt, ibfp, mmnet, siamffn


@dataclass(frozen=True)
class ModelFamily:
    """How to build, train and export one family of networks."""

    name: str
    config_type: type
    build: Callable[[Any], Any]          # cfg -> nn.Module
    loss: Callable[[Any], Any]           # cfg -> nn.Module computing {"total": ..., terms...}
    #: names of ``track_with_kernels``'s outputs (ONNX graph outputs), in order
    outputs: Tuple[str, ...] = ("cls", "loc", "sal")
    #: the family's named configs, ``{preset name: config}``
    presets: Mapping[str, Any] = field(default_factory=dict)

    def make_loss(self, cfg):
        return self.loss(cfg)


#: Every family, by name (the order in which presets are listed).
FAMILIES: Dict[str, ModelFamily] = {fam.name: fam for fam in (
    ModelFamily("fgsgt", fgsgt.ModelConfig, fgsgt.FGSGTNet, losses.FGSGTLoss,
                ("cls", "loc", "sal"), fgsgt.PRESETS),
    ModelFamily("siamffn", siamffn.SiamFFNConfig, siamffn.SiamFFNNet, losses.SiamFFNLoss,
                ("cls", "ltrb", "sal"), siamffn.PRESETS),
    ModelFamily("mmnet", mmnet.MMNetConfig, mmnet.MMNet, losses.MMNetLoss,
                ("score",), mmnet.PRESETS),
    ModelFamily("ibfp", ibfp.IBFPConfig, ibfp.IBFPNet, losses.IBFPLoss,
                ("center", "ltrb", "feat"), ibfp.PRESETS),
)}


def _preset_table() -> Dict[str, Tuple[str, Any]]:
    """preset name -> (family name, config); names must be unique across families."""
    table: Dict[str, Tuple[str, Any]] = {}
    for fam in FAMILIES.values():
        for name, cfg in fam.presets.items():
            if not isinstance(cfg, fam.config_type):
                raise TypeError(f"preset {name!r} is a {type(cfg).__name__}, not a "
                                f"{fam.config_type.__name__}")
            if name in table:
                raise ValueError(f"preset {name!r} already belongs to family {table[name][0]!r}")
            table[name] = (fam.name, cfg)
    return table


_PRESETS = _preset_table()

#: Every preset of every family, ``{name: config}``.
PRESETS: Mapping[str, Any] = MappingProxyType({name: cfg for name, (_, cfg) in _PRESETS.items()})


def families() -> Dict[str, ModelFamily]:
    return dict(FAMILIES)


def get_family(name: str) -> ModelFamily:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown model family {name!r}; valid: {', '.join(FAMILIES)}") from None


def get_preset(name: str):
    """The named preset of any family; unknown names raise ValueError listing the valid ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown model preset {name!r}; valid: {', '.join(PRESETS)}") from None


def family_of(cfg) -> ModelFamily:
    """The family whose config type ``cfg`` is (TypeError for anything else)."""
    for fam in FAMILIES.values():
        if type(cfg) is fam.config_type:
            return fam
    raise TypeError(f"{type(cfg).__name__} is not the config of a registered model family "
                    f"({', '.join(FAMILIES)})")


def build_model(cfg):
    """Build the network described by ``cfg`` (a config of any registered family)."""
    return family_of(cfg).build(cfg)
