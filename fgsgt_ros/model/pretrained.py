"""Load a torchvision-format ImageNet ResNet-50 state dict from a local file into the backbone.

Nothing is downloaded: pass the path of a file saved with ``torch.save(resnet50().state_dict())``
(or a dict holding it under 'state_dict'/'model'). Parameters are copied where the name and shape
match. The SiamRPN++ geometry changes a few shapes, handled as follows:
- layer2/3/4 ``downsample.0`` is a 3x3 conv here but a 1x1 conv in torchvision: the 1x1 weights are
  placed in the centre tap (other taps zero), which computes the same projection;
- FGPCB blocks (which replace layer3.0-2 in the FGSGT presets) have their own parameter names, so
  they keep their initialisation and the ImageNet layer3.0-2 weights are reported as unused;
- ``fc.*`` (the classifier) is never used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List

import torch
import torch.nn as nn


@dataclass
class LoadReport:
    loaded: List[str] = field(default_factory=list)        # copied as is
    adapted: List[str] = field(default_factory=list)       # 1x1 -> centre of 3x3
    unused: List[str] = field(default_factory=list)        # in the file, no match in the model
    not_loaded: List[str] = field(default_factory=list)    # in the model, kept at init

    def summary(self) -> str:
        return (f"loaded {len(self.loaded)}, adapted {len(self.adapted)}, unused "
                f"{len(self.unused)}, model tensors not loaded {len(self.not_loaded)}")


def _read_state_dict(path) -> Dict[str, torch.Tensor]:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"ResNet-50 weights not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path} is not a readable torch state dict: {exc}") from exc
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{path} does not contain a tensor state dict")
    # Checkpoints saved from DataParallel prefix every name with 'module.'.
    return {k[7:] if k.startswith("module.") else k: v for k, v in obj.items()}


def load_resnet50_imagenet(backbone: nn.Module, path, strict_min: int = 1) -> LoadReport:
    """Copy matching tensors from the torchvision state dict at ``path`` into ``backbone``
    (a ``ResNetBackbone``, or a whole ``FGSGTNet`` whose ``.backbone`` is used). Raises ValueError
    if fewer than ``strict_min`` tensors matched (almost certainly the wrong file)."""
    if hasattr(backbone, "backbone"):
        backbone = backbone.backbone
    source = _read_state_dict(path)
    own = backbone.state_dict()
    report = LoadReport()
    updates = {}
    for name, tensor in source.items():
        if name not in own:
            report.unused.append(name)
            continue
        target = own[name]
        if tuple(target.shape) == tuple(tensor.shape):
            updates[name] = tensor.to(target.dtype)
            report.loaded.append(name)
        elif (target.dim() == 4 and tensor.dim() == 4 and target.shape[:2] == tensor.shape[:2]
              and tensor.shape[2:] == (1, 1) and target.shape[2] == target.shape[3]
              and target.shape[2] % 2 == 1):
            w = torch.zeros_like(target)
            c = target.shape[2] // 2
            w[:, :, c, c] = tensor[:, :, 0, 0].to(target.dtype)
            updates[name] = w
            report.adapted.append(name)
        else:
            report.unused.append(name)
    report.not_loaded = sorted(set(own) - set(updates))
    if len(updates) < strict_min:
        raise ValueError(f"{os.fspath(path)}: no tensor matched the backbone "
                         "(is this a torchvision ResNet-50 state dict?)")
    backbone.load_state_dict(updates, strict=False)
    return report
