"""IBFP: instance-based feature pyramid Siamese network (pure PyTorch), its config and presets.

After Pi, Shao, Gao and Sang, "Instance-based Feature Pyramid for Visual Object Tracking":

- **Backbone** (``backbones.resnet.ResNet18Backbone``): ResNet-18 (BasicBlocks 2-2-2-2, torchvision geometry and parameter names: 7x7/2
  stem, 3x3/2 max-pool, stride-2 3x3 convs in layer2-4, total stride 32). The pyramid uses the
  outputs of ``layer4`` (stride 32, the paper's "layer5"), ``layer3`` (stride 16, "layer4") and
  ``layer2`` (stride 8, "layer3"): levels 0 (deep) to 2 (shallow).
- **CSCS** (``necks.CSCS``, compressed-space channel selection, Eq. 6-8): the search feature ``U`` of a level is
  squeezed by global average and global max pooling, each vector compressed by a 1x1 conv ("fully
  connected") to ``d = eta * C`` channels and the two added into channel weights ``W``; the
  template feature (with background) is compressed by a 1x1 conv, re-weighted channel-wise by
  ``W`` (a depth-wise correlation with a 1x1 kernel), expanded back by a 1x1 conv and added to the
  input: ``G_z = conv(W * conv(F_z)) + F_z``.
- **IBU** (``necks.IBU``, instance-based up-sampling, Eq. 3-5): ``R = T *dw U`` (depth-wise correlation of the
  centre-cropped template feature over the deep search feature, zero-padded so R keeps U's size),
  ``concat(R, U)`` -> 1x1 conv halving the channels -> 3x3 transposed conv, stride 2 (twice the
  side, the shallow level's channels) -> ``V``; ``concat(V, F_shallow)`` -> 3x3 conv -> the next
  level's search feature. Two IBUs in series: layer4 -> layer3 -> layer2 resolution.
- **Head** (Fig. 6, ``heads.Branch``): the depth-wise correlation of the (CSCS re-weighted, cropped) layer2
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
``fgsgt_ros.model.losses.IBFPLoss`` is the focal hinge MSE on the centre map (Eq. 9) + L1 on the
ltrb of the points near the centre (Eq. 10, Fig. 5b); labels from ``points.center_label`` /
``points.regression_mask`` (used by ``fgsgt_ros.data.targets`` and the online branch).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..backbones.resnet import ResNet18Backbone
from ..config import OnlineConfig, config_from_dict
from ..heads import Branch
from ..necks import CSCS, IBU, center_crop, conv_bn_relu, dw_corr_same
from ..points import point_grid
from ..siamese_base import SiameseNet

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
# network


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
            self.concat = conv_bn_relu(c4 + c3 + c2, c2, 1)
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


def build_model(cfg: IBFPConfig) -> IBFPNet:
    if not isinstance(cfg, IBFPConfig):
        raise TypeError(f"expected an IBFPConfig, got {type(cfg).__name__}")
    return IBFPNet(cfg)


def points_of(cfg: IBFPConfig) -> np.ndarray:
    """(S*S, 2) point grid of the model's output (``points.point_grid``)."""
    return point_grid(cfg.stride, cfg.score_size)


__all__ = ["IBFPConfig", "IBFPBackboneConfig", "IBFPLossConfig", "OnlineConfig", "IBFPNet", "PRESETS",
           "level_sizes", "points_of", "build_model"]
