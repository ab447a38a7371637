"""ResNet backbones.

``ResNetBackbone`` (FGSGT / SiamRPN++ / SiamFFN): ResNet modified as in SiamRPN++ (stride 8),
optionally with FGPCB blocks in Conv4.

Geometry (SiamRPN++): conv1 is 7x7/2 with padding 0; max-pool 3x3/2 (pad 1); layer2 down-samples
with a padding-0 3x3/2 conv; layer3 (the paper's Conv4) and layer4 (Conv5) keep stride 1 with
dilation 2 and 4, their first-block projection being a 3x3 conv. 127 px -> 15x15, 255 px -> 31x31.
Parameter names follow torchvision (conv1, bn1, layerK.i.convJ, ...downsample.0) so an ImageNet
ResNet-50 state dict can be loaded where names and shapes match (``load_resnet50_imagenet``).

The forward returns the five feature maps F1..F5 that RRSPN needs (conv1 after BN+ReLU, layer1,
layer2, layer3, layer4); the neck uses F3..F5.

``ResNet18Backbone`` (IBFP): the torchvision ResNet-18 layout (BasicBlocks, stride 32),
returning the layer4, layer3, layer2 maps.

``load_resnet50_imagenet``: load a torchvision-format ImageNet ResNet-50 state dict from a local
file into the backbone.

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
from typing import TYPE_CHECKING, Dict, List

import torch
import torch.nn as nn

from ..config import BackboneConfig, FGPCBConfig
from ..fgpcb import FGPCB, BilinearFusion

if TYPE_CHECKING:
    from ..families.ibfp import IBFPBackboneConfig


class Bottleneck(nn.Module):
    """ResNet bottleneck (1x1 -> 3x3 -> 1x1, identity or projection shortcut), SiamRPN++ padding."""

    def __init__(self, inplanes, planes, expansion, stride=1, dilation=1, downsample=None):
        super().__init__()
        padding = 2 - stride  # stride-2 3x3 convs are unpadded (SiamRPN++)
        if downsample is not None and dilation > 1:
            dilation = dilation // 2  # first block of a dilated stage uses half the dilation
            padding = dilation
        if dilation > 1:
            padding = dilation
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=padding,
                               dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _projection(inplanes, outplanes, stride, dilation):
    """Shortcut projection: 1x1 in undilated stride-1 stages, else a 3x3 conv (SiamRPN++)."""
    if stride == 1 and dilation == 1:
        conv = nn.Conv2d(inplanes, outplanes, 1, stride=stride, bias=False)
    else:
        dd, pad = (dilation // 2, dilation // 2) if dilation > 1 else (1, 0)
        conv = nn.Conv2d(inplanes, outplanes, 3, stride=stride, padding=pad, dilation=dd,
                         bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(outplanes))


class ResNetBackbone(nn.Module):
    """SiamRPN++ ResNet; with ``fgpcb.enabled`` the first ``num_blocks`` blocks of layer3 (the
    paper's Conv4_1..Conv4_3) are FGPCB blocks (Eq. 1-4), and ``fgpcb.fusion`` fuses their outputs
    X, Y, Z bilinearly (Eq. 5-6) into the input of the remaining Conv4 blocks. The forward's
    five maps are F1..F5; the neck reads layer2-4 (``neck_taps``)."""

    saliency_taps = (0, 1, 2, 3, 4)
    neck_taps = (2, 3, 4)

    def __init__(self, cfg: BackboneConfig, fgpcb: FGPCBConfig):
        super().__init__()
        self.cfg = cfg
        e = cfg.expansion
        self.conv1 = nn.Conv2d(3, cfg.stem_channels, 7, stride=2, padding=0, bias=False)
        self.bn1 = nn.BatchNorm2d(cfg.stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.inplanes = cfg.stem_channels
        self.layer1 = self._make_layer(cfg.planes[0], cfg.layers[0], 1, 1)
        self.layer2 = self._make_layer(cfg.planes[1], cfg.layers[1], 2, 1)
        self.num_fgpcb = fgpcb.num_blocks if fgpcb.enabled else 0
        self.layer3 = self._make_layer(cfg.planes[2], cfg.layers[2], 1, 2, fgpcb)
        self.fusion = None
        if fgpcb.enabled and fgpcb.fusion:
            if self.num_fgpcb != 3:
                raise ValueError("the bilinear fusion (Eq. 5-6) needs exactly three FGPCB outputs")
            self.fusion = BilinearFusion(cfg.planes[2] * e, fgpcb.fusion_channels,
                                         fgpcb.fusion_gate_init)
        self.layer4 = self._make_layer(cfg.planes[3], cfg.layers[3], 1, 4)
        self.channels = cfg.out_channels()

    def _make_layer(self, planes, blocks, stride, dilation, fgpcb: FGPCBConfig = None):
        e = self.cfg.expansion
        out = planes * e
        layers: List[nn.Module] = []
        n_fg = fgpcb.num_blocks if (fgpcb is not None and fgpcb.enabled) else 0
        for i in range(blocks):
            if i < n_fg:
                layers.append(FGPCB(self.inplanes, fgpcb.width, out, first=(i == 0),
                                    dilation=dilation, negative_slope=fgpcb.negative_slope))
            else:
                down = None
                if i == 0 and (stride != 1 or self.inplanes != out):
                    down = _projection(self.inplanes, out, stride, dilation)
                layers.append(Bottleneck(self.inplanes, planes, e, stride if i == 0 else 1,
                                         dilation, down))
            self.inplanes = out
        return nn.Sequential(*layers)

    def forward(self, x):
        f1 = self.relu(self.bn1(self.conv1(x)))
        f2 = self.layer1(self.maxpool(f1))
        f3 = self.layer2(f2)
        h = f3
        fg_outputs = []
        for i, block in enumerate(self.layer3):
            h = block(h)
            if i < self.num_fgpcb:
                fg_outputs.append(h)  # X, Y, Z
                if self.fusion is not None and i == self.num_fgpcb - 1:
                    h = self.fusion(*fg_outputs)
        f4 = h
        f5 = self.layer4(f4)
        return f1, f2, f3, f4, f5


class BasicBlock(nn.Module):
    """torchvision ResNet BasicBlock (parameter names conv1/bn1/conv2/bn2/downsample)."""

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18Backbone(nn.Module):
    """torchvision ResNet-18 layout (a torchvision state dict loads by name where widths match);
    returns (layer4, layer3, layer2) features, deep to shallow. ``with_layer4=False`` (the
    single-level ablation, which never uses it) builds no layer4 and returns None in its place."""

    def __init__(self, cfg: IBFPBackboneConfig, with_layer4: bool = True):
        super().__init__()
        self.conv1 = nn.Conv2d(3, cfg.stem_channels, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(cfg.stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        inplanes = cfg.stem_channels
        stages = list(zip(cfg.planes, cfg.layers))[:4 if with_layer4 else 3]
        for i, (planes, blocks) in enumerate(stages):
            stride = 1 if i == 0 else 2
            layer = []
            for j in range(blocks):
                layer.append(BasicBlock(inplanes, planes, stride if j == 0 else 1))
                inplanes = planes
            setattr(self, f"layer{i + 1}", nn.Sequential(*layer))
        self.channels = (cfg.planes[3], cfg.planes[2], cfg.planes[1])

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        f2 = self.layer2(self.layer1(x))
        f3 = self.layer3(f2)
        f4 = self.layer4(f3) if hasattr(self, "layer4") else None
        return f4, f3, f2


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
