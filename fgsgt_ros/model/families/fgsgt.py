"""The FGSGT / SiamRPN++ family: ``ModelConfig`` (and its loss weights), the named presets and
``FGSGTNet`` (backbone + FGPCB + fusion, neck, RRSPN, three DW-Corr heads). SiamRPN++ is this
network with FGPCB, RRSPN and the FGSGT loss switched off.

Presets (``PRESETS``):

- ``fgsgt_r50``      the paper's model (FGPCB + bilinear fusion + RRSPN + FGSGT loss, Eq. 1-14);
- ``siamrpnpp_r50``  Table 1 baseline: SiamRPN++ (R50, three DW-Corr heads, SiamRPN++ loss);
- ``siam_fgpcb``     Table 1: baseline + FGPCB (and its fusion), SiamRPN++ loss;
- ``siam_rrspn``     Table 1: baseline + RRSPN, SiamRPN++ loss (+ plain BCE on the final map);
- ``siam_t``         Table 1: baseline + FGPCB + RRSPN, SiamRPN++ loss (+ BCE on the final map);
- ``fgsgt_tiny``     the same modules, reduced width/depth and input size (CPU training, real time);
- ``siamrpnpp_tiny`` the tiny baseline: fgsgt_tiny's backbone without FGPCB/RRSPN/FGSGT loss.
- ``fgsgt_nano`` / ``siamrpnpp_nano``: FGSGT and its SiamRPN++ baseline on NanoTrack v3's
  tracking-trained MobileNetV3-small (``fgsgt_nano_noguide``: without the saliency guidance);
- ``fgsgt_lite0`` / ``siamrpnpp_lite0``: the same on ImageNet EfficientNet-Lite0.

``score_size`` is derived from the input sizes and the backbone geometry (see
``config.feature_size``), so it cannot disagree with the network's real output.

Inputs are float tensors (B, 3, H, W) with raw 0..255 pixel values (no mean/std), grey thermal
replicated to three channels. Inference API (plain tensors only, exportable to ONNX):

    kernels = net.template_kernels(z)            # tuple of 6 tensors (cls/loc kernel per level)
    cls, loc, sal = net.track_with_kernels(x, *kernels)
    net.template(z); cls, loc, sal = net.track(x)   # the same with the kernels cached

With ``cfg.online.enabled`` the track graph has a fourth output, ``feat`` (the neck's last search
feature, for the tracker's online branch).

cls (B, 2A, S, S) logits, loc (B, 4A, S, S) deltas (layout in ``anchors.py``), sal (B, 1, Hs, Ws)
saliency probability covering the search crop: sigmoid(S_N) of RRSPN at conv1 resolution, or, for
models without RRSPN, the foreground probability (max over anchors) placed at the score cells'
positions in an instance_size x instance_size map (zero outside the score grid).
Training uses ``forward_train(z, x) -> dict`` (adds the saliency logits S_0..S_N); the losses are
``fgsgt_ros.model.losses.FGSGTLoss``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F

from ..backbones import build_backbone
from ..config import (BACKBONE_KINDS, PRETRAINED_WEIGHTS, BackboneConfig, FGPCBConfig, HeadConfig,
                      OnlineConfig, RRSPNConfig, config_from_dict, feature_size,
                      padded_feature_size)
from ..fgpcb import FGPCBRefinement
from ..heads import MultiRPN
from ..necks import Neck
from ..rrspn import RRSPN, _resize
from ..siamese_base import SiameseNet


@dataclass(frozen=True)
class LossConfig:
    """Loss weights (Eq. 11-14). The paper gives no values; these defaults are our choice.

    total = lambda_cls * L_cls + lambda_reg * (lambda_l1 * L1 + lambda_iou * L_IoU)
            + lambda_sal * L_sal
    ``iou``: add the IoU term of Eq. 14 (FGSGT loss only; SiamRPN++ uses L1 alone).
    ``saliency``: 'none' | 'final' (BCE on S_N only) | 'deep' (Eq. 12, all of S_0..S_N).
    ``saliency_weights``: w_0..w_N for 'deep'; empty means uniform 1/(N+1).
    """

    lambda_cls: float = 1.0
    lambda_reg: float = 1.2        # SiamRPN++'s loc weight
    lambda_l1: float = 1.0
    lambda_iou: float = 1.0
    lambda_sal: float = 1.0
    iou: bool = True
    saliency: str = "deep"
    saliency_weights: Tuple[float, ...] = ()


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to build a network; a checkpoint stores it to rebuild the model."""

    name: str
    exemplar_size: int = 127
    instance_size: int = 255
    stride: int = 8
    anchor_ratios: Tuple[float, ...] = (0.33, 0.5, 1.0, 2.0, 3.0)
    anchor_scales: Tuple[float, ...] = (8.0,)
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    fgpcb: FGPCBConfig = field(default_factory=FGPCBConfig)
    rrspn: RRSPNConfig = field(default_factory=RRSPNConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    #: the tracker-side online branch on the search feature (no weights in the checkpoint;
    #: learned while tracking); off unless a preset or checkpoint switches it on
    online: OnlineConfig = field(default_factory=lambda: OnlineConfig(enabled=False))

    def __post_init__(self):
        kind = self.backbone.kind
        if kind not in BACKBONE_KINDS:
            raise ValueError(f"backbone.kind must be one of {', '.join(BACKBONE_KINDS)}, "
                             f"not {kind!r}")
        if kind == "resnet" and self.stride != 8:
            raise ValueError("the ResNet geometry is fixed at stride 8 (SiamRPN++ modification)")
        if kind != "resnet" and self.stride not in (8, 16):
            raise ValueError(f"a {kind} backbone runs at stride 8 or 16, not {self.stride}")
        if self.backbone.pretrained and self.backbone.pretrained != PRETRAINED_WEIGHTS.get(kind):
            raise ValueError(f"backbone.pretrained {self.backbone.pretrained!r} does not fit a "
                             f"{kind} backbone (it takes {PRETRAINED_WEIGHTS.get(kind, 'none')!r})")
        if not self.exemplar_size < self.instance_size:
            raise ValueError(f"instance_size ({self.instance_size}) must be larger than "
                             f"exemplar_size ({self.exemplar_size})")
        if self.feature_size(self.exemplar_size) < self.head.template_crop:
            raise ValueError(f"exemplar_size {self.exemplar_size} too small for a "
                             f"{self.head.template_crop}x{self.head.template_crop} template crop")
        if self.loss.saliency not in ("none", "final", "deep"):
            raise ValueError(f"loss.saliency must be none|final|deep, not {self.loss.saliency!r}")
        if self.loss.saliency != "none" and not self.rrspn.enabled:
            raise ValueError("saliency supervision needs rrspn.enabled")
        if (self.loss.saliency_weights and
                len(self.loss.saliency_weights) != self.rrspn.num_srrb + 1):
            raise ValueError("loss.saliency_weights needs one weight per map S_0..S_N")
        if self.rrspn.low_level not in ("conv1", "conv2", "conv3"):
            raise ValueError(f"rrspn.low_level must be conv1|conv2|conv3, not "
                             f"{self.rrspn.low_level!r}")
        if (kind == "resnet" and self.fgpcb.enabled
                and self.fgpcb.num_blocks > self.backbone.layers[2]):
            raise ValueError("fgpcb.num_blocks exceeds the number of Conv4 (layer3) blocks")

    @property
    def anchor_num(self) -> int:
        return len(self.anchor_ratios) * len(self.anchor_scales)

    def feature_size(self, image_size: int) -> int:
        """Side of the backbone's output map for a square input of ``image_size`` px."""
        if self.backbone.kind == "resnet":
            return feature_size(image_size)
        return padded_feature_size(image_size, self.stride)

    @property
    def search_feature_size(self) -> int:
        return self.feature_size(self.instance_size)

    @property
    def score_size(self) -> int:
        """Side of the cls/loc maps: search feature side minus the cropped template side plus 1
        (the heads' unpadded 3x3 convs shrink both sides equally). 255/127 -> 31 - 7 + 1 = 25."""
        return self.feature_size(self.instance_size) - self.head.template_crop + 1

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: Dict[str, Any]) -> "ModelConfig":
        """Inverse of ``to_dict``; unknown keys raise ValueError (a config from another version)."""
        return config_from_dict(ModelConfig, d)


# ---------------------------------------------------------------------------------------------
# Presets
_NO_FGPCB = FGPCBConfig(enabled=False, fusion=False)
_NO_RRSPN = RRSPNConfig(enabled=False, guidance=False)
_SIAMRPNPP_LOSS = LossConfig(iou=False, saliency="none")
# Ablation rows with RRSPN but without the FGSGT loss: SiamRPN++ loss, and the saliency map is
# supervised only at the output (no deep supervision), so the branch still predicts saliency.
_SIAMRPNPP_LOSS_SAL = LossConfig(iou=False, saliency="final")

# Tiny: 95/191 inputs (score 17x17), a 1-1-3-1 block ResNet with expansion 2, 64-channel heads.
# Anchors scaled by 95/127 (scale 6 instead of 8) since the target is smaller in the crops.
_TINY_BACKBONE = BackboneConfig(stem_channels=16, layers=(1, 1, 3, 1), planes=(16, 32, 32, 48),
                                expansion=2)
_TINY = dict(exemplar_size=95, instance_size=191, anchor_scales=(6.0,), backbone=_TINY_BACKBONE,
             head=HeadConfig(neck_channels=48, hidden=48))
_TINY_FGPCB = FGPCBConfig(width=32, fusion_channels=16)
# Tiny RRSPN works at conv2 (stride 4) resolution: 4x cheaper than conv1 at the same channels.
_TINY_RRSPN = RRSPNConfig(channels=16, low_level="conv2")

# Pretrained light backbones (docs/ARCHITECTURE.md, "FGSGT on pretrained backbones"): stride 16
# as the weights were trained, crops of 16k + 1 px so the padded network's cells are centred
# (129 -> 9x9, 257 -> 17x17), a 5x5 template crop (80 px: the target and a margin), 13x13
# scores, anchors of the stride-8 models' size (scale 4 at stride 16 = 64 px), 48-channel heads.
# FGPCB refines the deepest head level at the heads' width; RRSPN's maps at stride 8 (33x33).
_NANO_GEOMETRY = dict(exemplar_size=129, instance_size=257, stride=16, anchor_scales=(4.0,),
                      head=HeadConfig(neck_channels=48, hidden=48, template_crop=5))
_NANO_BACKBONE = BackboneConfig(kind="mobilenetv3_nano", pretrained="nanotrack_v3")
_LITE0_BACKBONE = BackboneConfig(kind="efficientnet_lite0", pretrained="imagenet")
_PRETRAINED_FGPCB = FGPCBConfig(width=24, fusion_channels=16)
_PRETRAINED_RRSPN = RRSPNConfig(channels=16, low_level="conv3")

#: The online branch of the shipped FGSGT files, ``fgsgt_nano.pt`` and ``fgsgt_tiny.pt`` (their
#: checkpoints' ``online``; the presets keep it off, ``fgsgt_tiny_offline.pt`` holds the tiny
#: weights without it). Chosen for fgsgt_tiny on the real development clips and the generated
#: held-out set (docs/model_cards/fgsgt.md, "Online branch"); the same branch measured on
#: fgsgt_nano before shipping it ("FGSGT on a pretrained backbone" there).
FGSGT_ONLINE = OnlineConfig(enabled=True, layers=2, hidden=16, memory=16, offline_weight=0.9)
#: fgsgt_nano's: the same branch learning every 20 frames instead of 10. On the real development
#: clips success AUC 0.590 vs 0.586, on the generated held-out set 0.507 vs 0.515; the whole
#: tracker step 7.9 vs 9.9 ms at 160x120 (onnxruntime, one thread): what lets it run at 1.5x
#: CSRT's frame rate (docs/model_cards/fgsgt_nano.md).
FGSGT_NANO_ONLINE = dataclasses.replace(FGSGT_ONLINE, update_interval=20)

PRESETS: Dict[str, ModelConfig] = {
    "fgsgt_r50": ModelConfig(name="fgsgt_r50"),
    "siamrpnpp_r50": ModelConfig(name="siamrpnpp_r50", fgpcb=_NO_FGPCB, rrspn=_NO_RRSPN,
                                 loss=_SIAMRPNPP_LOSS),
    "siam_fgpcb": ModelConfig(name="siam_fgpcb", rrspn=_NO_RRSPN, loss=_SIAMRPNPP_LOSS),
    "siam_rrspn": ModelConfig(name="siam_rrspn", fgpcb=_NO_FGPCB, loss=_SIAMRPNPP_LOSS_SAL),
    "siam_t": ModelConfig(name="siam_t", loss=_SIAMRPNPP_LOSS_SAL),
    "fgsgt_tiny": ModelConfig(name="fgsgt_tiny", fgpcb=_TINY_FGPCB, rrspn=_TINY_RRSPN, **_TINY),
    "siamrpnpp_tiny": ModelConfig(name="siamrpnpp_tiny", fgpcb=_NO_FGPCB, rrspn=_NO_RRSPN,
                                  loss=_SIAMRPNPP_LOSS, **_TINY),
    # on NanoTrack v3's tracking-trained MobileNetV3-small
    "fgsgt_nano": ModelConfig(name="fgsgt_nano", backbone=_NANO_BACKBONE, fgpcb=_PRETRAINED_FGPCB,
                              rrspn=_PRETRAINED_RRSPN, **_NANO_GEOMETRY),
    "siamrpnpp_nano": ModelConfig(name="siamrpnpp_nano", backbone=_NANO_BACKBONE,
                                  fgpcb=_NO_FGPCB, rrspn=_NO_RRSPN, loss=_SIAMRPNPP_LOSS,
                                  **_NANO_GEOMETRY),
    # ablation: FGSGT without the saliency guidance of the search features (RRSPN still trained)
    "fgsgt_nano_noguide": ModelConfig(name="fgsgt_nano_noguide", backbone=_NANO_BACKBONE,
                                      fgpcb=_PRETRAINED_FGPCB,
                                      rrspn=dataclasses.replace(_PRETRAINED_RRSPN, guidance=False),
                                      **_NANO_GEOMETRY),
    # on ImageNet EfficientNet-Lite0 (PyPI wheel; the `pretrained` extra)
    "fgsgt_lite0": ModelConfig(name="fgsgt_lite0", backbone=_LITE0_BACKBONE,
                               fgpcb=_PRETRAINED_FGPCB, rrspn=_PRETRAINED_RRSPN, **_NANO_GEOMETRY),
    "siamrpnpp_lite0": ModelConfig(name="siamrpnpp_lite0", backbone=_LITE0_BACKBONE,
                                   fgpcb=_NO_FGPCB, rrspn=_NO_RRSPN, loss=_SIAMRPNPP_LOSS,
                                   **_NANO_GEOMETRY),
}


def get_preset(name: str) -> ModelConfig:
    """The named preset; unknown names raise ValueError listing the valid ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown model preset {name!r}; valid: {', '.join(PRESETS)}") from None


# ---------------------------------------------------------------------------------------------
# network


class FGSGTNet(SiameseNet):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.backbone = build_backbone(cfg)
        chans = self.backbone.channels
        # a pretrained backbone keeps its blocks; FGPCB refines its deepest level instead, at
        # the neck's width (docs/ARCHITECTURE.md, "FGSGT on pretrained backbones")
        self.refine: Optional[FGPCBRefinement] = None
        if cfg.backbone.kind != "resnet" and cfg.fgpcb.enabled:
            fg = cfg.fgpcb
            self.refine = FGPCBRefinement(cfg.head.neck_channels, fg.width, fg.num_blocks, fg.fusion,
                                          fg.fusion_channels, fg.fusion_gate_init,
                                          fg.refine_gate_init, fg.negative_slope)
        self.neck = Neck([chans[i] for i in self.backbone.neck_taps], cfg.head.neck_channels,
                         cfg.head.template_crop)
        self.rrspn: Optional[RRSPN] = None
        if cfg.rrspn.enabled:
            self.rrspn = RRSPN([chans[i] for i in self.backbone.saliency_taps],
                               cfg.rrspn.channels, cfg.rrspn.num_srrb, cfg.rrspn.low_level)
        self.rpn = MultiRPN(3, cfg.head.neck_channels, cfg.head.hidden, cfg.anchor_num)
        self._init_weights()

    # -- init ------------------------------------------------------------------------------

    # -- pure functional form (exported to ONNX) --------------------------------------------
    def _levels(self, feats, template: bool) -> List[torch.Tensor]:
        """The neck's three maps, the deepest refined by FGPCB on a pretrained backbone."""
        levels = self.neck([feats[i] for i in self.backbone.neck_taps], template=template)
        if self.refine is not None:
            levels[-1] = self.refine(levels[-1])
        return levels

    def template_kernels(self, z: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Template branch: backbone -> neck (centre crop) -> per-level cls/loc kernels (6)."""
        return self.rpn.kernels(self._levels(self.backbone(z), template=True))

    def _search(self, x: torch.Tensor, kernels):
        """-> (cls, loc, saliency logits S_0..S_N, the neck's search features)."""
        feats = self.backbone(x)
        xs = self._levels(feats, template=False)
        sal_logits: List[torch.Tensor] = []
        if self.rrspn is not None:
            sal_logits = self.rrspn(*[feats[i] for i in self.backbone.saliency_taps])
            if self.cfg.rrspn.guidance:
                # Saliency guidance (our reading): F' = F * (1 + sigmoid(S_N)).
                g = torch.sigmoid(_resize(sal_logits[-1], xs[0].shape[-2:]))
                xs = [x_ * (1.0 + g) for x_ in xs]
        cls, loc = self.rpn(kernels, xs)
        return cls, loc, sal_logits, xs

    def track_with_kernels(self, x: torch.Tensor, *kernels: torch.Tensor):
        """Search branch against precomputed kernels -> (cls, loc, sal) plain tensors, and the
        neck's last search feature ``feat`` (B, C, F, F) (stride 8, centred on the crop like the
        score map) as a fourth output when ``cfg.online.enabled``: what the tracker's online
        branch learns on."""
        if len(kernels) != 6:
            raise ValueError(f"expected 6 template kernels, got {len(kernels)}")
        if kernels[0].shape[0] != x.shape[0]:
            raise ValueError(f"template kernels are for batch {kernels[0].shape[0]} "
                             f"but the search batch is {x.shape[0]}")
        cls, loc, sal_logits, xs = self._search(x, kernels)
        if sal_logits:
            sal = torch.sigmoid(sal_logits[-1])
        else:
            sal = self.response_saliency(cls)
        if self.cfg.online.enabled:
            return cls, loc, sal, xs[-1]
        return cls, loc, sal

    def response_saliency(self, cls: torch.Tensor) -> torch.Tensor:
        """Foreground probability (max over anchors) laid out over the whole search crop:
        score cell i is centred (i - S//2) * stride px from the crop centre."""
        b, _, s, _ = cls.shape
        a = self.cfg.anchor_num
        fg = F.softmax(cls.view(b, 2, a, s, s), dim=1)[:, 1].amax(dim=1, keepdim=True)
        stride, size = self.cfg.stride, self.cfg.instance_size
        fg = F.interpolate(fg, size=(s * stride, s * stride), mode="bilinear",
                           align_corners=False)
        pad = size - s * stride
        lo = pad // 2
        return F.pad(fg, (lo, pad - lo, lo, pad - lo))

    # -- training -------------------------------------------------------------------------------
    def forward_train(self, z: torch.Tensor, x: torch.Tensor) -> Dict[str, object]:
        """Template + search in one pass -> {'cls', 'loc', 'saliency_logits': [S_0..S_N]}."""
        kernels = self.template_kernels(z)
        cls, loc, sal_logits, _ = self._search(x, kernels)
        return {"cls": cls, "loc": loc, "saliency_logits": sal_logits}


def build_model(cfg: ModelConfig) -> FGSGTNet:
    """Build the network described by ``cfg`` (a ModelConfig, e.g. ``get_preset('fgsgt_tiny')``)."""
    if not isinstance(cfg, ModelConfig):
        raise TypeError(f"build_model expects a ModelConfig, got {type(cfg).__name__}")
    return FGSGTNet(cfg)
