"""Model-family registry: every named preset of every network family in one table.

A *family* is one kind of network with its own config dataclass, network class and training loss
(FGSGT / SiamRPN++ share one family; SiamFFN, IBFP and MMNet are others). A *preset* is a named
config of some family (``fgsgt_tiny``, ``siamffn_r50``, ...). Everything that takes a preset name
or a config goes through here, so a new family needs one ``register_family`` call and nothing else
in the model, training, evaluation or ROS code:

    from fgsgt_ros.model.registry import get_preset, build_model, family_of
    cfg = get_preset("fgsgt_tiny"); net = build_model(cfg); loss = family_of(cfg).make_loss(cfg)

A family names the pieces that live outside this (pure PyTorch) package as ``"module:attribute"``
strings, resolved only when used, so ``fgsgt_ros.model`` imports nothing from the tracker or data
packages:

- ``targets``: ``f(model_cfg, sample_cfg) -> builder``; ``builder(box_cxcywh, negative, rng, info)``
  returns the dict of numpy loss targets of one training pair (``box`` in search-crop pixels relative
  to the crop centre, ``info``: the pair's ``Sequence`` metadata such as ``category``);
- ``tracker``: ``f(model, model_cfg, tracker_cfg, device, name) -> tracker`` with the tracker
  interface ``init(image, box)`` / ``update(image) -> TrackResult`` / ``reset()`` / ``state``.

Config dataclasses need ``name``, ``exemplar_size``, ``instance_size``, ``to_dict()`` and a static
``from_dict(d)``; networks need ``template_kernels(z) -> tuple``, ``track_with_kernels(x, *k)``,
``template(z)``, ``track(x)`` and ``forward_train(z, x) -> dict`` (the exportable inference path
and the training path are separate methods, as for ``FGSGTNet``).

Family modules register themselves on import; ``_FAMILY_MODULES`` lists them (imported on first
use of the registry).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, Mapping, Tuple

#: Modules whose import registers a family (one line per family).
_FAMILY_MODULES: Tuple[str, ...] = (
    "fgsgt_ros.model.family_fgsgt",
    "fgsgt_ros.model.family_siamffn",
    "fgsgt_ros.model.family_mmnet",
    "fgsgt_ros.model.family_ibfp",
)


@dataclass(frozen=True)
class ModelFamily:
    """How to build, train, track and export one family of networks."""

    name: str
    config_type: type
    build: Callable[[Any], Any]          # cfg -> nn.Module
    loss: Callable[[Any], Any]           # cfg -> nn.Module computing {"total": ..., terms...}
    targets: str                          # "module:attr", see module docstring
    tracker: str                          # "module:attr", see module docstring
    #: names of ``track_with_kernels``'s outputs (ONNX graph outputs), in order
    outputs: Tuple[str, ...] = ("cls", "loc", "sal")

    def make_loss(self, cfg):
        return self.loss(cfg)

    def make_target_builder(self, cfg, sample_cfg):
        return _resolve(self.targets)(cfg, sample_cfg)

    def make_tracker(self, model, cfg, tracker_cfg=None, device: str = "cpu", name=None):
        return _resolve(self.tracker)(model, cfg, tracker_cfg, device, name)


_FAMILIES: Dict[str, ModelFamily] = {}
_PRESETS: Dict[str, Tuple[str, Any]] = {}  # preset name -> (family name, config)
_loaded = False


def _resolve(ref: str):
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in _FAMILY_MODULES:
            importlib.import_module(module)


def register_family(family: ModelFamily, presets: Mapping[str, Any]) -> None:
    """Add a family and its named presets (names must be unique across families)."""
    if family.name in _FAMILIES and _FAMILIES[family.name] is not family:
        raise ValueError(f"model family {family.name!r} is already registered")
    for name, cfg in presets.items():
        if not isinstance(cfg, family.config_type):
            raise TypeError(f"preset {name!r} is a {type(cfg).__name__}, not a "
                            f"{family.config_type.__name__}")
        if name in _PRESETS and _PRESETS[name][0] != family.name:
            raise ValueError(f"preset {name!r} already belongs to family {_PRESETS[name][0]!r}")
    _FAMILIES[family.name] = family
    for name, cfg in presets.items():
        _PRESETS[name] = (family.name, cfg)


class _PresetView(Mapping):
    """Read-only ``{preset name: config}`` over every registered family (loads them lazily)."""

    def __getitem__(self, name: str):
        _ensure_loaded()
        return _PRESETS[name][1]

    def __iter__(self) -> Iterator[str]:
        _ensure_loaded()
        return iter(list(_PRESETS))

    def __len__(self) -> int:
        _ensure_loaded()
        return len(_PRESETS)


#: Every preset of every family, ``{name: config}``.
PRESETS: Mapping[str, Any] = _PresetView()


def families() -> Dict[str, ModelFamily]:
    _ensure_loaded()
    return dict(_FAMILIES)


def get_family(name: str) -> ModelFamily:
    _ensure_loaded()
    try:
        return _FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown model family {name!r}; valid: {', '.join(_FAMILIES)}") from None


def get_preset(name: str):
    """The named preset of any family; unknown names raise ValueError listing the valid ones."""
    _ensure_loaded()
    try:
        return _PRESETS[name][1]
    except KeyError:
        raise ValueError(f"unknown model preset {name!r}; valid: {', '.join(_PRESETS)}") from None


def family_of(cfg) -> ModelFamily:
    """The family whose config type ``cfg`` is (TypeError for anything else)."""
    _ensure_loaded()
    for fam in _FAMILIES.values():
        if type(cfg) is fam.config_type:
            return fam
    raise TypeError(f"{type(cfg).__name__} is not the config of a registered model family "
                    f"({', '.join(_FAMILIES)})")


def build_model(cfg):
    """Build the network described by ``cfg`` (a config of any registered family)."""
    return family_of(cfg).build(cfg)
