"""IBFP: instance-based feature pyramid Siamese network (pure PyTorch), its config and loss.

After Pi, Shao, Gao and Sang, "Instance-based Feature Pyramid for Visual Object Tracking":

- **Backbone**: ResNet-18 (BasicBlocks 2-2-2-2, torchvision geometry and parameter names: 7x7/2
  stem, 3x3/2 max-pool, stride-2 3x3 convs in layer2-4, total stride 32). The pyramid uses the
  outputs of ``layer4`` (stride 32, the paper's "layer5"), ``layer3`` (stride 16, "layer4") and
  ``layer2`` (stride 8, "layer3"): levels 0 (deep) to 2 (shallow).
- **CSCS** (compressed-space channel selection, Eq. 6-8): the search feature ``U`` of a level is
  squeezed by global average and global max pooling, each vector compressed by a 1x1 conv ("fully
  connected") to ``d = eta * C`` channels and the two added into channel weights ``W``; the
  template feature (with background) is compressed by a 1x1 conv, re-weighted channel-wise by
  ``W`` (a depth-wise correlation with a 1x1 kernel), expanded back by a 1x1 conv and added to the
  input: ``G_z = conv(W * conv(F_z)) + F_z``.
- **IBU** (instance-based up-sampling, Eq. 3-5): ``R = T *dw U`` (depth-wise correlation of the
  centre-cropped template feature over the deep search feature, zero-padded so R keeps U's size),
  ``concat(R, U)`` -> 1x1 conv halving the channels -> 3x3 transposed conv, stride 2 (twice the
  side, the shallow level's channels) -> ``V``; ``concat(V, F_shallow)`` -> 3x3 conv -> the next
  level's search feature. Two IBUs in series: layer4 -> layer3 -> layer2 resolution.
- **Head** (Fig. 6): the depth-wise correlation of the (CSCS re-weighted, cropped) layer2
  template feature with the up-sampled search feature feeds two branches of ``head_layers`` 3x3
  convs (``head_hidden`` channels): a centre map (B, 1, S, S), regressed to a Gaussian label, and
  an ltrb map (B, 4, S, S): distances in search-crop pixels from each point to the box edges
  (``ltrb_ref * exp(.)``), on the point grid of ``fgsgt_ros.model.points``.

Ablation rows of the paper's Table I (``fusion``): ``"single"`` uses layer3 alone (no pyramid,
stride 16), ``"concat"`` up-samples layer4/layer3 bilinearly to layer2's size and concatenates
them (+1x1 conv) for template and search alike, ``"ibu"`` the IBU modules (``cscs`` on/off).

Geometry: input sides ``32 m + 1`` (checked) keep every level's cell centres symmetric about the
crop centre with the torchvision padding, so the network's output cells sit exactly on the
symmetric point grid of ``points.py`` (a 288 px crop would put them 3.5 px off). ``ibfp_r18``
therefore searches 289 px crops (37x37 points at stride 8; the paper: 288 px, 36x36) with
129 px templates. The paper's template image is as large as the search image and its feature is
centre-cropped; a template crop of half the search crop's side computes the same centre region
directly (the project's crop geometry: ``SiameseTracker``), and its feature map with background
is what CSCS takes, centre-cropped to ``template_crop`` cells for the correlations.

Inference (exportable, plain tensors)::

    kernels = net.template_kernels(z)                 # template features, one per used level
    center, ltrb, feat = net.track_with_kernels(x, *kernels)
    net.template(z); center, ltrb, feat = net.track(x)

``feat`` is the search crop's layer3 feature (stride 16): what the tracker's online branch
(``fgsgt_ros.tracker.online``) learns on. Training: ``forward_train(z, x) -> {center, ltrb}``;
``IBFPLoss`` is the focal hinge MSE on the centre map (Eq. 9) + L1 on the ltrb of the points near
the centre (Eq. 10, Fig. 5b); labels from ``center_label`` / ``regression_mask`` below (used by
``fgsgt_ros.data.targets_ibfp`` and the online branch).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import OnlineConfig, config_from_dict
from .loss import check_targets
from .points import point_grid
from .siamese_base import SiameseNet

FUSIONS = ("single", "concat", "ibu")


# ---------------------------------------------------------------------------------------------
# configuration


@dataclass(frozen=True)
class IBFPBackboneConfig:
    """ResNet-18 (BasicBlock) widths and depths; the paper's is the default."""

    stem_channels: int = 64
    layers: Tuple[int, int, int, int] = (2, 2, 2, 2)
    planes: Tuple[int, int, int, int] = (64, 128, 256, 512)


@dataclass(frozen=True)
class IBFPLossConfig:
    """Focal hinge MSE (Eq. 9) + L1 regression (Eq. 10). alpha/gamma/tau are the paper's.

    Eq. 9 prints absolute values but is called a (hinge) MSE: ``power`` 2 (default) squares both
    branches, 1 is the literal printed form. Normalisation (not in the paper): the centre loss is
    summed over all points and divided by the number of label points >= tau in the batch (at
    least 1); the L1 is summed over l, t, r, b and averaged over the selected points, in units of
    ``ltrb_ref`` pixels so both terms are O(1).
    """

    alpha: float = 0.9
    gamma: float = 0.1
    tau: float = 0.05
    power: float = 2.0
    lambda_center: float = 1.0
    lambda_reg: float = 1.0
    #: regression points: |dx| <= ratio * w and |dy| <= ratio * h from the box centre (Fig. 5b)
    reg_ratio: float = 0.25
    #: Gaussian label sigma: max(sigma * w (or h), sigma_min_cells * stride) crop pixels
    label_sigma: float = 1.0 / 6.0
    label_sigma_min_cells: float = 0.75


@dataclass(frozen=True)
class IBFPConfig:
    """Everything that builds an IBFP network; a checkpoint stores it to rebuild the model."""

    name: str
    exemplar_size: int = 129
    instance_size: int = 289
    backbone: IBFPBackboneConfig = field(default_factory=IBFPBackboneConfig)
    fusion: str = "ibu"                # single | concat | ibu (Table I rows)
    cscs: bool = True
    cscs_ratio: float = 0.5            # eta
    #: centre crop of the template feature (cells) at levels layer4, layer3, layer2
    template_crop: Tuple[int, int, int] = (3, 5, 9)
    head_hidden: int = 256
    head_layers: int = 5               # convs per head branch, the output conv included
    loss: IBFPLossConfig = field(default_factory=IBFPLossConfig)
    #: the tracker-side online branch (no weights in the checkpoint; learned while tracking)
    online: OnlineConfig = field(default_factory=OnlineConfig)

    def __post_init__(self):
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, not {self.fusion!r}")
        if self.cscs and self.fusion != "ibu":
            raise ValueError("CSCS belongs to the IBU pyramid (fusion='ibu')")
        for what, n in (("exemplar_size", self.exemplar_size), ("instance_size", self.instance_size)):
            if n < 33 or (n - 1) % 32:
                raise ValueError(f"{what} must be 32 m + 1 (>= 33) so the feature cells are centred "
                                 f"on the crop (e.g. 65, 129, 289), got {n}")
        if not self.exemplar_size < self.instance_size:
            raise ValueError("instance_size must be larger than exemplar_size")
        if self.head_layers < 2 or self.head_hidden < 1:
            raise ValueError("head_layers must be >= 2 and head_hidden >= 1")
        zs = level_sizes(self.exemplar_size)
        for lvl, (k, n) in enumerate(zip(self.template_crop, zs)):
            if k % 2 == 0 or k > n:
                raise ValueError(f"template_crop[{lvl}]={k} must be odd and <= the template "
                                 f"feature side {n}")
        if self.backbone.planes[2] < 1 or len(self.backbone.layers) != 4:
            raise ValueError("backbone needs four stages")

    # geometry ---------------------------------------------------------------------------------
    @property
    def stride(self) -> int:
        """Stride of the output point grid (layer2 = 8 for the pyramids, layer3 = 16 alone)."""
        return 16 if self.fusion == "single" else 8

    @property
    def score_size(self) -> int:
        s4, s3, s2 = level_sizes(self.instance_size)
        return s3 if self.fusion == "single" else s2

    @property
    def ltrb_ref(self) -> float:
        """Regression scale: about half the target side in crop pixels (the template crop holds
        the target with as much context again, so the target is ~exemplar/2)."""
        return self.exemplar_size / 4.0

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: Dict[str, Any]) -> "IBFPConfig":
        """Inverse of ``to_dict``; unknown keys raise ValueError."""
        return config_from_dict(IBFPConfig, d)


def level_sizes(image_size: int) -> Tuple[int, int, int]:
    """Sides of the layer4, layer3, layer2 maps of a square input (each stride-2 op: ceil(n/2))."""
    n = image_size
    sizes = []
    for _ in range(5):
        n = (n + 1) // 2
        sizes.append(n)
    # conv1, maxpool, layer2, layer3, layer4
    return sizes[4], sizes[3], sizes[2]


_R18 = dict(exemplar_size=129, instance_size=289)
# Tiny: ResNet-18's BasicBlocks at reduced width (one layer4 block), 65/161 crops (21x21 points at
# stride 8; the search side is ~2.5 template sides, ~5 target sides with the 0.5 context, where
# fgsgt_tiny's is 2 template sides), 64-channel heads; params and GFLOPs about fgsgt_tiny's (bench/bench_model.py).
_TINY = dict(exemplar_size=65, instance_size=161, template_crop=(3, 3, 5),
             backbone=IBFPBackboneConfig(stem_channels=16, layers=(2, 2, 2, 1),
                                         planes=(16, 32, 48, 96)),
             head_hidden=64, head_layers=5, online=OnlineConfig(hidden=32, memory=16))

PRESETS: Dict[str, IBFPConfig] = {
    # the paper's model and its Table I ablation rows
    "ibfp_r18": IBFPConfig(name="ibfp_r18", **_R18),
    "ibfp_r18_single": IBFPConfig(name="ibfp_r18_single", fusion="single", cscs=False, **_R18),
    "ibfp_r18_concat": IBFPConfig(name="ibfp_r18_concat", fusion="concat", cscs=False, **_R18),
    "ibfp_r18_ibu": IBFPConfig(name="ibfp_r18_ibu", cscs=False, **_R18),
    # CPU-trainable size, same rows
    "ibfp_tiny": IBFPConfig(name="ibfp_tiny", **_TINY),
    "ibfp_tiny_single": IBFPConfig(name="ibfp_tiny_single", fusion="single", cscs=False, **_TINY),
    "ibfp_tiny_concat": IBFPConfig(name="ibfp_tiny_concat", fusion="concat", cscs=False, **_TINY),
    "ibfp_tiny_ibu": IBFPConfig(name="ibfp_tiny_ibu", cscs=False, **_TINY),
    # the same network without the online branch (its own shipped file: own LOST calibration)
    "ibfp_tiny_offline": IBFPConfig(name="ibfp_tiny_offline",
                                    **dict(_TINY, online=OnlineConfig(enabled=False, hidden=32,
                                                                      memory=16))),
}


# ---------------------------------------------------------------------------------------------
# labels (numpy; shared by the training targets and the tracker's online branch)


def center_label(box_cxcywh, points: np.ndarray, stride: float, loss: IBFPLossConfig) -> np.ndarray:
    """(N,) float32 Gaussian centre label at ``points`` (N, 2) for a box (cx, cy, w, h) relative
    to the crop centre: exp(-dx^2 / 2 sx^2 - dy^2 / 2 sy^2), sigma from ``loss.label_sigma``."""
    cx, cy, w, h = (float(v) for v in box_cxcywh)
    smin = loss.label_sigma_min_cells * float(stride)
    sx = max(loss.label_sigma * w, smin)
    sy = max(loss.label_sigma * h, smin)
    g = np.exp(-0.5 * (((points[:, 0] - cx) / sx) ** 2 + ((points[:, 1] - cy) / sy) ** 2))
    return g.astype(np.float32)


def regression_mask(box_cxcywh, points: np.ndarray, ratio: float) -> np.ndarray:
    """(N,) bool: points with |dx| <= ratio * w and |dy| <= ratio * h from the box centre (the
    paper's Fig. 5b); a box too small to hold one gets the point nearest its centre if that point
    lies inside the box (small thermal targets)."""
    cx, cy, w, h = (float(v) for v in box_cxcywh)
    dx, dy = np.abs(points[:, 0] - cx), np.abs(points[:, 1] - cy)
    mask = (dx <= ratio * w) & (dy <= ratio * h)
    if not mask.any():
        i = int(np.argmin(dx ** 2 + dy ** 2))
        if dx[i] <= w / 2 and dy[i] <= h / 2:
            mask[i] = True
    return mask


# ---------------------------------------------------------------------------------------------
# building blocks


def dw_corr_same(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Depth-wise correlation of (B, C, k, k) kernels (k odd) over (B, C, H, W), zero-padded to
    keep H x W, averaged over the kernel taps."""
    b, c, h, w = x.shape
    kh, kw = kernel.shape[-2:]
    out = F.conv2d(x.reshape(1, b * c, h, w), kernel.reshape(b * c, 1, kh, kw),
                   padding=(kh // 2, kw // 2), groups=b * c)
    return out.reshape(b, c, h, w) / float(kh * kw)


def center_crop(f: torch.Tensor, k: int) -> torch.Tensor:
    n = f.shape[-1]
    if k >= n:
        return f
    lo = (n - k) // 2
    return f[:, :, lo:lo + k, lo:lo + k]


def _conv_bn_relu(cin, cout, k):
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


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


class CSCS(nn.Module):
    """Compressed-space channel selection (Eq. 6-8): re-weights the template feature's channels
    from the search feature's pooled statistics. ``G_z = expand(W * compress(F_z)) + F_z``."""

    def __init__(self, channels: int, ratio: float):
        super().__init__()
        d = max(1, int(round(channels * ratio)))
        self.fc_avg = nn.Conv2d(channels, d, 1)
        self.fc_max = nn.Conv2d(channels, d, 1)
        self.compress = nn.Conv2d(channels, d, 1)
        self.expand = nn.Conv2d(d, channels, 1)

    def init_special(self):
        # start close to the identity (G_z ~ F_z) so the pyramid trains first; small, not zero,
        # so every parameter receives a gradient from the first step
        nn.init.normal_(self.expand.weight, std=0.01)

    def forward(self, fz: torch.Tensor, ux: torch.Tensor) -> torch.Tensor:
        w = self.fc_avg(ux.mean(dim=(2, 3), keepdim=True)) + \
            self.fc_max(ux.amax(dim=(2, 3), keepdim=True))
        return self.expand(w * self.compress(fz)) + fz


class IBU(nn.Module):
    """Instance-based up-sampling (Eq. 3-5): deep search feature U (+ its correlation with the
    cropped template T) up-sampled x2 and fused with the shallow search feature."""

    def __init__(self, c_deep: int, c_shallow: int, output_padding: int):
        super().__init__()
        self.reduce = _conv_bn_relu(2 * c_deep, c_deep, 1)          # halves concat(R, U)
        self.up = nn.Sequential(
            nn.ConvTranspose2d(c_deep, c_shallow, 3, stride=2, padding=1,
                               output_padding=output_padding, bias=False),
            nn.BatchNorm2d(c_shallow), nn.ReLU(inplace=True))
        self.fuse = _conv_bn_relu(2 * c_shallow, c_shallow, 3)

    def forward(self, t: torch.Tensor, u: torch.Tensor, shallow: torch.Tensor) -> torch.Tensor:
        r = dw_corr_same(u, t)                                           # Eq. 3
        v = self.up(self.reduce(torch.cat([r, u], dim=1)))               # Eq. 4
        return self.fuse(torch.cat([v, shallow], dim=1))                 # Eq. 5


class Branch(nn.Module):
    """``n`` 3x3 convs: n-1 conv+BN+ReLU at ``hidden`` channels, then a conv to ``out``."""

    def __init__(self, cin: int, hidden: int, out: int, n: int):
        super().__init__()
        layers: List[nn.Module] = []
        c = cin
        for _ in range(n - 1):
            layers.append(_conv_bn_relu(c, hidden, 3))
            c = hidden
        self.tower = nn.Sequential(*layers)
        self.out = nn.Conv2d(c, out, 3, padding=1)

    def forward(self, x):
        return self.out(self.tower(x))


class IBFPNet(SiameseNet):
    def __init__(self, cfg: IBFPConfig):
        super().__init__()
        self.cfg = cfg
        self.backbone = ResNet18Backbone(cfg.backbone, with_layer4=cfg.fusion != "single")
        c4, c3, c2 = self.backbone.channels
        x4, x3, x2 = level_sizes(cfg.instance_size)
        self.ibu = self.cscs = self.concat = None
        if cfg.fusion == "ibu":
            self.ibu = nn.ModuleList([IBU(c4, c3, x3 - (2 * x4 - 1)), IBU(c3, c2, x2 - (2 * x3 - 1))])
            if cfg.cscs:
                self.cscs = nn.ModuleList([CSCS(c, cfg.cscs_ratio) for c in (c4, c3, c2)])
        elif cfg.fusion == "concat":
            self.concat = _conv_bn_relu(c4 + c3 + c2, c2, 1)
        head_in = c3 if cfg.fusion == "single" else c2
        self.center_head = Branch(head_in, cfg.head_hidden, 1, cfg.head_layers)
        self.ltrb_head = Branch(head_in, cfg.head_hidden, 4, cfg.head_layers)
        self._init_weights()

    kaiming_types = (nn.Conv2d, nn.ConvTranspose2d)

    def _init_weights(self):
        super()._init_weights()
        # outputs start small: centre map ~0, ltrb ~ltrb_ref
        for head in (self.center_head, self.ltrb_head):
            nn.init.normal_(head.out.weight, std=0.001)
            nn.init.zeros_(head.out.bias)

    # -- pieces ---------------------------------------------------------------------------------
    def _concat(self, feats):
        f4, f3, f2 = feats
        size = f2.shape[-2:]
        # align_corners: with 32m+1 inputs every level's cell centres map exactly onto layer2's
        up = [F.interpolate(f, size=size, mode="bilinear", align_corners=True) for f in (f4, f3)]
        return self.concat(torch.cat(up + [f2], dim=1))

    def template_kernels(self, z: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Template branch: the template features the search branch correlates with (uncropped:
        CSCS re-weights them per search crop before the centre crop). ibu: (layer4, layer3,
        layer2); concat: (fused,); single: (layer3,)."""
        feats = self.backbone(z)
        if self.cfg.fusion == "ibu":
            return tuple(feats)
        if self.cfg.fusion == "concat":
            return (self._concat(feats),)
        return (feats[1],)

    def _pick(self, fz: torch.Tensor, ux: torch.Tensor, level: int) -> torch.Tensor:
        if self.cscs is not None:
            fz = self.cscs[level](fz, ux)
        return center_crop(fz, self.cfg.template_crop[level])

    def _search(self, x: torch.Tensor, kernels) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f4, f3, f2 = self.backbone(x)
        cfg = self.cfg
        if cfg.fusion == "ibu":
            z4, z3, z2 = kernels
            u = f4
            for level, (zk, shallow) in enumerate(((z4, f3), (z3, f2))):
                u = self.ibu[level](self._pick(zk, u, level), u, shallow)
            resp = dw_corr_same(u, self._pick(z2, u, 2))
        elif cfg.fusion == "concat":
            u = self._concat((f4, f3, f2))
            resp = dw_corr_same(u, center_crop(kernels[0], cfg.template_crop[2]))
        else:
            resp = dw_corr_same(f3, center_crop(kernels[0], cfg.template_crop[1]))
        center = self.center_head(resp)
        ltrb = cfg.ltrb_ref * torch.exp(self.ltrb_head(resp).clamp(-6.0, 4.0))
        return center, ltrb, f3

    # -- inference -----------------------------------------------------------------------------
    def num_kernels(self) -> int:
        return 3 if self.cfg.fusion == "ibu" else 1

    def track_with_kernels(self, x: torch.Tensor, *kernels: torch.Tensor):
        """Search branch against precomputed template features -> (center, ltrb, feat):
        centre map (B, 1, S, S), ltrb (B, 4, S, S) crop pixels, layer3 search feature."""
        if len(kernels) != self.num_kernels():
            raise ValueError(f"expected {self.num_kernels()} template kernels, got {len(kernels)}")
        if kernels[0].shape[0] != x.shape[0]:
            raise ValueError(f"template kernels are for batch {kernels[0].shape[0]} "
                             f"but the search batch is {x.shape[0]}")
        return self._search(x, kernels)

    # -- training -------------------------------------------------------------------------------
    def forward_train(self, z: torch.Tensor, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        center, ltrb, _ = self._search(x, self.template_kernels(z))
        return {"center": center, "ltrb": ltrb}


# ---------------------------------------------------------------------------------------------
# loss


def focal_hinge_mse(score: torch.Tensor, label: torch.Tensor, alpha: float, gamma: float,
                    tau: float, power: float = 2.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-point focal hinge loss of Eq. 9 (elementwise) and the positive mask (label >= tau):
    label >= tau: label^gamma * |s - label|^power; else alpha * max(0, s)^power."""
    pos = label >= tau
    lab = label.clamp_min(1e-12)
    pos_term = lab.pow(gamma) * (score - label).abs().pow(power)
    neg_term = alpha * score.clamp_min(0.0).pow(power)
    return torch.where(pos, pos_term, neg_term), pos


class IBFPLoss(nn.Module):
    """``loss(outputs, targets) -> {'total', 'center', 'reg'}``.

    targets: ``center_label`` (B, 1, S, S) Gaussian, ``ltrb_target`` (B, 4, S, S) crop pixels,
    ``reg_mask`` (B, 1, S, S) 0/1 (the points near the centre; all 0 for negative pairs).
    """

    def __init__(self, cfg: IBFPConfig):
        super().__init__()
        self.cfg = cfg
        self.lc = cfg.loss

    def forward(self, outputs: Dict, targets: Dict) -> Dict[str, torch.Tensor]:
        center, ltrb = outputs["center"], outputs["ltrb"]
        b, _, s, _ = center.shape
        need = {"center_label": (b, 1, s, s), "ltrb_target": (b, 4, s, s), "reg_mask": (b, 1, s, s)}
        check_targets("IBFPLoss", targets, need)
        lc = self.lc
        label = targets["center_label"].to(center.dtype)
        per_point, pos = focal_hinge_mse(center, label, lc.alpha, lc.gamma, lc.tau, lc.power)
        center_loss = per_point.sum() / pos.sum().clamp_min(1).to(center.dtype)
        mask = targets["reg_mask"].to(ltrb.dtype)
        diff = ((ltrb - targets["ltrb_target"].to(ltrb.dtype)).abs() / self.cfg.ltrb_ref).sum(1, keepdim=True)
        reg = torch.where(mask > 0, diff, torch.zeros_like(diff)).sum() / mask.sum().clamp_min(1.0)
        total = lc.lambda_center * center_loss + lc.lambda_reg * reg
        return {"total": total, "center": center_loss, "reg": reg}


def build_model(cfg: IBFPConfig) -> IBFPNet:
    if not isinstance(cfg, IBFPConfig):
        raise TypeError(f"expected an IBFPConfig, got {type(cfg).__name__}")
    return IBFPNet(cfg)


def points_of(cfg: IBFPConfig) -> np.ndarray:
    """(S*S, 2) point grid of the model's output (``points.point_grid``)."""
    return point_grid(cfg.stride, cfg.score_size)


__all__ = ["IBFPConfig", "IBFPBackboneConfig", "IBFPLossConfig", "OnlineConfig", "IBFPNet", "IBFPLoss", "PRESETS",
           "center_label", "regression_mask", "focal_hinge_mse", "dw_corr_same", "level_sizes",
           "points_of", "build_model"]
