"""SiamFFN: Siamese Feature Fusion Network (Bao, Yan, Yang, Chen, "SiamFFN: Siamese Feature Fusion
Network for Visual Tracking", Electronics 2023), with its ablation (SiamBAN-style result fusion).

Network (pure PyTorch; backbone and neck are the project's SiamRPN++ ResNet and 1x1 neck, the
heads ``heads.FeatureFusionHead`` / ``heads.ResultFusionHead``):

- backbone F3, F4, F5 -> neck (1x1 conv + BN; template centre-cropped to ``template_crop``);
- ``fusion="feature"`` (SiamFFN, paper Fig. 3/4): per level a depth-wise cross-correlation
  (3x3 conv+BN+ReLU on template and search, DW-Corr; one module shared by the levels by default,
  ``shared_corr``) -> similarity response map F_i;
  scale attention (Eq. 2-5): pi_i = ReLU(Conv1x1(GAP(F_i))) (one number per level),
  W = hard_sigmoid(stack(pi_3, pi_4, pi_5)), F_out = mean_i(W_i * F_i); then ONE shared head:
  cls branch (1x1 conv+BN+ReLU, 1x1 conv -> 2 logits) and regression branch (same -> 4);
- ``fusion="result"`` (SiamBAN, the paper's baseline): per level separate cls / reg DW-Corr heads,
  their result maps fused with softmax-normalised learned weights (``heads.MultiRPN`` with one
  "anchor" per point).

Output layout (``fgsgt_ros.model.points``; decoded by ``tracker.decoding.AnchorFreeDecoder``):
cls (B, 2, S, S) softmax logits (channel 1 = target); ltrb (B, 4, S, S) distances in search-crop
pixels, ltrb = stride * exp(clamp(loc_scale * raw)); sal (B, 1, X, X) the target probability laid
over the search crop (display only). Inference API as ``FGSGTNet``::

    kernels = net.template_kernels(z)          # 3 tensors (feature fusion) or 6 (result fusion)
    cls, ltrb, sal = net.track_with_kernels(x, *kernels)
    net.template(z); cls, ltrb, sal = net.track(x)

Training: ``forward_train(z, x) -> {'cls', 'ltrb', 'scale_weights'}``; loss
``fgsgt_ros.model.losses.SiamFFNLoss``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Dict, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..backbones.resnet import ResNetBackbone
from ..config import BackboneConfig, FGPCBConfig, config_from_dict, feature_size
from ..heads import FeatureFusionHead, ResultFusionHead
from ..necks import Neck
from ..points import score_map_to_crop
from ..siamese_base import SiameseNet
from .fgsgt import PRESETS as _FGSGT_PRESETS

FUSIONS = ("feature", "result")
LABEL_REGIONS = ("ellipse", "box")


@dataclass(frozen=True)
class SiamFFNHeadConfig:
    """Neck, DW-Corr and decoding-head widths and the fusion of the three levels."""

    neck_channels: int = 256
    hidden: int = 256              # channels of the DW-Corr response maps and of the head
    template_crop: int = 7         # centre crop of the template feature map (15 -> 7 at 127 px)
    fusion: str = "feature"        # 'feature' (SiamFFN scale attention) | 'result' (SiamBAN)
    #: feature fusion: ONE similarity-matching module (the 3x3 template/search convs of DW-Corr)
    #: applied to all three levels (our reading of the paper's "similarity matching module"; its
    #: 47.64 M parameters fit this, per-level modules would give ~50.1 M); False: one per level
    shared_corr: bool = True
    #: initial bias of the per-level attention convs: ReLU(0.5) -> hard_sigmoid 0.75 on every
    #: level, i.e. the fusion starts as a plain mean (our choice; the paper gives no init)
    attention_bias_init: float = 0.5


@dataclass(frozen=True)
class PointLabelConfig:
    """Label assignment of the score-map points (``points.assign_labels``). The paper trains as
    SiamBAN does; defaults are SiamBAN's: positives inside the ellipse of semi-axes (w/4, h/4)
    around the target centre, negatives outside the one of (w/2, h/2), at most 16 positives and
    64 labelled points per pair; negative pairs: 16 points near the other object are negatives."""

    region: str = "ellipse"        # 'ellipse' (SiamBAN) | 'box' (centre box of half-sides frac*w/h)
    pos_frac: float = 0.25
    neg_frac: float = 0.5
    pos_num: int = 16
    total_num: int = 64
    neg_pair_num: int = 16
    #: a target too small to cover any point makes the point nearest its centre positive
    nearest_positive: bool = True

    def assign_kwargs(self) -> Dict[str, Any]:
        return dict(region=self.region, pos_frac=self.pos_frac, neg_frac=self.neg_frac,
                    pos_num=self.pos_num, total_num=self.total_num,
                    neg_pair_num=self.neg_pair_num, nearest_positive=self.nearest_positive)


@dataclass(frozen=True)
class SiamFFNLossConfig:
    """total = lambda_cls * L_cls + lambda_reg * L_reg.

    L_cls: mean CE over positive points + mean CE over negative points (SiamBAN balances them
    0.5/0.5; we use 1/1 so a positive's CE and its regression term keep Eq. 8's 1:1 ratio).
    L_reg with ``csrl`` (Eq. 8, CSRL): mean over positives of exp(-CE_i) * (1 - IoU_i), so with the
    positives' CE inside L_cls each positive contributes CE + exp(-CE) * IoU-loss; without: mean
    over positives of (1 - IoU_i) (SiamBAN's IoU loss, Eq. 6). ``detach_weight``: stop the gradient
    through exp(-CE) (then CSRL only re-weights the regression; default False: the classification
    branch also learns from the regression quality, the "joint optimisation" of the paper).
    """

    csrl: bool = True
    lambda_cls: float = 1.0
    lambda_reg: float = 1.0
    detach_weight: bool = False


@dataclass(frozen=True)
class SiamFFNConfig:
    """Everything needed to build a SiamFFN-family network (stored in checkpoints)."""

    name: str
    exemplar_size: int = 127
    instance_size: int = 255
    stride: int = 8
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    head: SiamFFNHeadConfig = field(default_factory=SiamFFNHeadConfig)
    labels: PointLabelConfig = field(default_factory=PointLabelConfig)
    loss: SiamFFNLossConfig = field(default_factory=SiamFFNLossConfig)

    def __post_init__(self):
        if self.stride != 8:
            raise ValueError("the backbone geometry is fixed at stride 8 (SiamRPN++ modification)")
        if not self.exemplar_size < self.instance_size:
            raise ValueError(f"instance_size ({self.instance_size}) must be larger than "
                             f"exemplar_size ({self.exemplar_size})")
        if feature_size(self.exemplar_size) < self.head.template_crop:
            raise ValueError(f"exemplar_size {self.exemplar_size} too small for a "
                             f"{self.head.template_crop}x{self.head.template_crop} template crop")
        if self.head.fusion not in FUSIONS:
            raise ValueError(f"head.fusion must be one of {FUSIONS}, not {self.head.fusion!r}")
        if self.labels.region not in LABEL_REGIONS:
            raise ValueError(f"labels.region must be one of {LABEL_REGIONS}, "
                             f"not {self.labels.region!r}")
        if not 0 < self.labels.pos_frac <= self.labels.neg_frac:
            raise ValueError("labels need 0 < pos_frac <= neg_frac")

    @property
    def search_feature_size(self) -> int:
        return feature_size(self.instance_size)

    @property
    def score_size(self) -> int:
        """Side of the cls/ltrb maps (255/127 -> 31 - 7 + 1 = 25; 191/95 -> 17)."""
        return feature_size(self.instance_size) - self.head.template_crop + 1

    @property
    def num_kernels(self) -> int:
        return 3 if self.head.fusion == "feature" else 6

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: Dict[str, Any]) -> "SiamFFNConfig":
        """Inverse of ``to_dict``; unknown keys raise ValueError."""
        return config_from_dict(SiamFFNConfig, d)


# ---------------------------------------------------------------------------------------------
# network


class SiamFFNNet(SiameseNet):
    """SiamFFN (or its result-fusion ablation) on the project's ResNet backbone and neck."""

    def __init__(self, cfg: SiamFFNConfig):
        super().__init__()
        if not isinstance(cfg, SiamFFNConfig):
            raise TypeError(f"SiamFFNNet needs a SiamFFNConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        self.backbone = ResNetBackbone(cfg.backbone, FGPCBConfig(enabled=False, fusion=False))
        h = cfg.head
        self.neck = Neck(self.backbone.channels[2:], h.neck_channels, h.template_crop)
        if h.fusion == "feature":
            self.head = FeatureFusionHead(3, h.neck_channels, h.hidden, h.attention_bias_init,
                                          h.shared_corr)
        else:
            self.head = ResultFusionHead(3, h.neck_channels, h.hidden)
        # SiamBAN's learnable scale of the regression exponent
        self.loc_scale = nn.Parameter(torch.ones(1))
        # exp() argument bound: boxes up to ~e x the crop, never inf
        self._max_log = math.log(cfg.instance_size / cfg.stride) + 1.0
        self._init_weights()


    # -- inference (exported to ONNX) ----------------------------------------------------------
    def template_kernels(self, z: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        f = self.backbone(z)
        return tuple(self.head.kernels(self.neck(f[2:], template=True)))

    def _search(self, x: torch.Tensor, kernels):
        f = self.backbone(x)
        xs = self.neck(f[2:], template=False)
        cls, raw, w = self.head(kernels, xs)
        ltrb = self.cfg.stride * torch.exp((raw * self.loc_scale).clamp(-self._max_log,
                                                                          self._max_log))
        return cls, ltrb, w

    def track_with_kernels(self, x: torch.Tensor, *kernels: torch.Tensor):
        """Search crop against precomputed kernels -> (cls logits, ltrb px, saliency)."""
        if len(kernels) != self.cfg.num_kernels:
            raise ValueError(f"expected {self.cfg.num_kernels} template kernels, "
                             f"got {len(kernels)}")
        if kernels[0].shape[0] != x.shape[0]:
            raise ValueError(f"template kernels are for batch {kernels[0].shape[0]} "
                             f"but the search batch is {x.shape[0]}")
        cls, ltrb, _ = self._search(x, kernels)
        prob = F.softmax(cls, dim=1)[:, 1:2]
        sal = score_map_to_crop(prob, self.cfg.stride, self.cfg.instance_size)
        return cls, ltrb, sal

    # -- training ----------------------------------------------------------------------------
    def forward_train(self, z: torch.Tensor, x: torch.Tensor) -> Dict[str, Any]:
        """-> {'cls' (B, 2, S, S), 'ltrb' (B, 4, S, S) px, 'scale_weights' (B, 3) or None}."""
        cls, ltrb, w = self._search(x, self.template_kernels(z))
        return {"cls": cls, "ltrb": ltrb, "scale_weights": w}


# ---------------------------------------------------------------------------------------------
# presets: the paper's model and its ablation (Table 3), at paper size and at fgsgt_tiny's size

_TINY_REF = _FGSGT_PRESETS["fgsgt_tiny"]   # same backbone, widths and input sizes as fgsgt_tiny
_TINY = dict(exemplar_size=_TINY_REF.exemplar_size, instance_size=_TINY_REF.instance_size,
             backbone=_TINY_REF.backbone)
_TINY_HEAD = dict(neck_channels=_TINY_REF.head.neck_channels, hidden=_TINY_REF.head.hidden,
                  template_crop=_TINY_REF.head.template_crop)
_PLAIN = SiamFFNLossConfig(csrl=False)

#: (suffix, fusion, loss): "" = SiamFFN + CSRL (the paper's tracker), "_nocsrl" = SiamFFN,
#: "_rf" = SiamBAN-style result fusion, "_rf_csrl" = SiamBAN + CSRL (Table 3 rows)
_VARIANTS = (("", "feature", SiamFFNLossConfig()), ("_nocsrl", "feature", _PLAIN),
             ("_rf", "result", _PLAIN), ("_rf_csrl", "result", SiamFFNLossConfig()))


def _presets() -> Dict[str, SiamFFNConfig]:
    out: Dict[str, SiamFFNConfig] = {}
    for suffix, fusion, loss in _VARIANTS:
        name = f"siamffn_r50{suffix}"
        out[name] = SiamFFNConfig(name=name, head=SiamFFNHeadConfig(fusion=fusion), loss=loss)
    for suffix, fusion, loss in _VARIANTS:
        name = f"siamffn_tiny{suffix}"
        out[name] = SiamFFNConfig(name=name, head=SiamFFNHeadConfig(fusion=fusion, **_TINY_HEAD),
                                  loss=loss, **_TINY)
    return out


PRESETS: Dict[str, SiamFFNConfig] = _presets()
