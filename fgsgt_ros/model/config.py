"""Configuration shared by the model families: the block configs (backbone, FGPCB, RRSPN, heads),
the tracker-side online branch, the backbone geometry and ``config_from_dict``.

Every config is a frozen dataclass; derive variants with ``dataclasses.replace``. Each family's
own config (``ModelConfig``, ``SiamFFNConfig``, ``IBFPConfig``, ``MMNetConfig``) and its named
presets live with its network in ``fgsgt_ros.model.families``.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Tuple


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

