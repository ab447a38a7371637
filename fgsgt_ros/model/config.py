"""Typed configuration of the FGSGT network and its ablations (one source of truth for defaults).

``ModelConfig`` is a frozen dataclass made of nested frozen dataclasses; derive variants with
``dataclasses.replace``. ``PRESETS`` holds the named models:

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

``score_size`` is derived from the input sizes and the backbone geometry (see ``feature_size``), so
it cannot disagree with the network's real output.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, Dict, Tuple


#: backbone kinds (``model/backbones``): the SiamRPN++ ResNet trained from the config's sizes, and
#: two pretrained light networks whose layout is fixed by their weights
BACKBONE_KINDS = ("resnet", "mobilenetv3_nano", "efficientnet_lite0")
#: the weights that initialise a pretrained backbone before training (``backbones.load_pretrained``)
PRETRAINED_WEIGHTS = {"mobilenetv3_nano": "nanotrack_v3", "efficientnet_lite0": "imagenet"}


@dataclass(frozen=True)
class BackboneConfig:
    """``kind='resnet'``: ResNet modified as in SiamRPN++: padding-0 7x7 stem, layer2 stride 2,
    layer3/4 stride 1 with dilation 2/4 (total stride 8). ``planes * expansion`` channels leave
    each stage. The other kinds are pretrained networks with a fixed layout (the ResNet fields do
    not apply); ``ModelConfig.stride`` (8 or 16) is where they are cut or run densely, and
    ``pretrained`` names the weights training starts from (a checkpoint carries its own)."""

    kind: str = "resnet"
    pretrained: str = ""
    stem_channels: int = 64
    layers: Tuple[int, int, int, int] = (3, 4, 6, 3)
    planes: Tuple[int, int, int, int] = (64, 128, 256, 512)
    expansion: int = 4

    def out_channels(self) -> Tuple[int, int, int, int, int]:
        """Channels of conv1, layer1, layer2, layer3, layer4 outputs (F1..F5 of the paper)."""
        return (self.stem_channels,) + tuple(p * self.expansion for p in self.planes)


@dataclass(frozen=True)
class FGPCBConfig:
    """FGPCB blocks replacing Conv4_1..Conv4_3 (Eq. 1-4) and the bilinear fusion (Eq. 5-6)."""

    enabled: bool = True
    num_blocks: int = 3            # the paper replaces Conv4_1..Conv4_3
    width: int = 256               # inner width of the dual streams (paper: unspecified)
    negative_slope: float = 0.25   # LeakyReLU slope (Eq. 1)
    fusion: bool = True            # multi-layer bilinear fusion of X, Y, Z (Eq. 5-6)
    fusion_channels: int = 64      # channels reduced to before the C x C bilinear products
    fusion_gate_init: float = 0.1  # initial residual gate gamma of the fused attention
    #: on a pretrained backbone the blocks cannot replace pretrained ones: they refine its last
    #: map as a residual branch F5' = F5 + g * Z' with the gate g starting here
    #: (docs/ARCHITECTURE.md, "FGSGT on pretrained backbones")
    refine_gate_init: float = 0.1


@dataclass(frozen=True)
class RRSPNConfig:
    """Residual refinement saliency prediction network (Eq. 7-10, Algorithm 1)."""

    enabled: bool = True
    channels: int = 32             # width of F_low / F_high and the SRRB convs
    num_srrb: int = 2              # N (paper: 2)
    low_level: str = "conv1"       # resolution of F_low and the maps: conv1 (paper) | conv2 | conv3
    guidance: bool = True          # F' = F * (1 + sigmoid(S_N)) on the search features


@dataclass(frozen=True)
class HeadConfig:
    """1x1 neck + three DW-Corr RPN heads with learned softmax-weighted fusion (SiamRPN++)."""

    neck_channels: int = 256
    hidden: int = 256
    template_crop: int = 7         # centre crop of the template feature map (15 -> 7 at 127 px)


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
class OnlineConfig:
    """The tracker's online branch (``fgsgt_ros.tracker.online``): not trained offline, learned
    per target while tracking (IBFP's, also available to FGSGT: ``ModelConfig.online``). Paper
    values (IBFP): four conv layers with 256 hidden channels on the layer3 search feature
    ("layer4" in the paper), initialised on the first frame, updated every 10 frames or on a hard
    negative with the hinge MSE, response up-sampled and mixed ``offline_weight`` 0.3 / 0.7 with
    the centre map. The rest is our choice (the paper refers to ATOM): see
    docs/ARCHITECTURE.md, "Online branch"."""

    enabled: bool = True
    hidden: int = 256
    layers: int = 4
    offline_weight: float = 0.3        # w in s = w * s_c + (1 - w) * s_u (Eq. 11)
    update_interval: int = 10          # frames between regular updates
    init_steps: int = 40               # optimiser steps on the first frame's samples
    update_steps: int = 5              # steps per update (regular or hard negative)
    max_steps_per_frame: int = 1       # amortisation: pending steps run at most this many a frame
    lr: float = 0.005                  # Adam
    weight_decay: float = 1e-4
    #: first-frame augmentation: shifts in 8 directions by these fractions of the crop side
    init_shifts: Tuple[float, ...] = (0.1, 0.2)
    memory: int = 24                   # tracked-frame samples kept (FIFO) besides the initial ones
    sample_min_score: float = 0.25     # a frame joins the memory only when its score reaches this
    hard_negative_ratio: float = 0.5   # second peak >= ratio * best peak: hard negative
    hard_negative_exclusion: float = 0.75  # points within this x (w, h) of the best belong to it
    seed: int = 0                      # initialisation of the branch (deterministic per target)

    def __post_init__(self):
        if not 0.0 <= self.offline_weight <= 1.0:
            raise ValueError("online.offline_weight must be in [0, 1]")
        if self.layers < 2 or self.hidden < 1 or self.update_interval < 1:
            raise ValueError("online.layers >= 2, hidden >= 1 and update_interval >= 1 required")
        if self.max_steps_per_frame < 1 or self.memory < 0 or self.init_steps < 0:
            raise ValueError("online.max_steps_per_frame >= 1, memory >= 0, init_steps >= 0")


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


def feature_size(image_size: int) -> int:
    """Side of the stride-8 backbone map for a square input: 7x7/2 conv (pad 0), 3x3/2 max-pool
    (pad 1), 3x3/2 conv (pad 0) in layer2; layer3/4 keep the size (dilated, padded)."""
    n = (image_size - 7) // 2 + 1
    n = (n - 1) // 2 + 1
    return (n - 3) // 2 + 1


def padded_feature_size(image_size: int, stride: int) -> int:
    """Side of the map of a network whose stride-2 layers pad (the pretrained kinds): each halves
    the side rounding up, so a crop of ``stride * k + 1`` px gives ``k + 1`` cells, centred."""
    n = image_size
    for _ in range(int(stride).bit_length() - 1):
        n = (n + 1) // 2
    return n


def config_from_dict(cls, d):
    """Rebuild the frozen config dataclass ``cls`` from ``dataclasses.asdict`` output (every model
    family's ``from_dict``): nested config fields recurse, lists become tuples, unknown keys
    raise ValueError (a config from another version)."""
    if not isinstance(d, dict):
        raise ValueError(f"expected a mapping for {cls.__name__}, got {type(d).__name__}")
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - fields
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in d.items():
        if dataclasses.is_dataclass(hints.get(key)):
            kwargs[key] = config_from_dict(hints[key], value)
        elif isinstance(value, list):
            kwargs[key] = tuple(value)
        else:
            kwargs[key] = value
    return cls(**kwargs)


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

#: The online branch of the shipped ``fgsgt_tiny.pt`` (its checkpoint's ``online``; the preset
#: keeps it off, ``fgsgt_tiny_offline.pt`` holds the same weights without it). Chosen on the real
#: development clips and the generated held-out set: docs/MODEL_CARD.md, "Online branch".
FGSGT_TINY_ONLINE = OnlineConfig(enabled=True, layers=2, hidden=16, memory=16, offline_weight=0.9)

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
