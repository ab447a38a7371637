"""Typed training configuration with named presets (one source of truth for every default).

``TrainConfig`` = schedule (SGD, warm-up, log-decay, backbone freezing) + data sampling
(``fgsgt_ros.data.samples.SampleConfig``) + loop settings. Presets:

- ``siamrpnpp``: the recipe of the SiamRPN++ paper (20 epochs, SGD 0.9 / 1e-4, clip
  10, warm-up 5 epochs 0.001 -> 0.005, log-decay to 0.0005, backbone frozen for 10 epochs then
  layer2-4 at 0.1x, batch 28 per GPU). Meant for a pretrained backbone on GPUs.
- ``cpu_tiny``: what trains the shipped tiny models on a 2-core CPU from scratch: no pretrained
  backbone exists here, so nothing is frozen and layer2-4 train at the full rate (the stem and
  layer1 keep their random initialisation: training them too, ``ALL_BACKBONE_LAYERS``, was
  measured alone and did not pay, docs/MODEL_CARD.md); a short
  warm-up; small batches of small crops.
- ``cpu_tiny_long``: stage 1 of the shipped fgsgt_tiny: ``cpu_tiny`` for 24 epochs with the
  whole backbone trained (``ALL_BACKBONE_LAYERS``).
- ``cpu_tiny_finetune``: stage 2 of every shipped tiny model (lower peak rate, 4 epochs).
- ``cpu_pretrained``: the recipe for the pretrained-backbone presets (``fgsgt_nano``, ...) on a
  2-core CPU: backbone BatchNorm statistics frozen throughout, the backbone frozen for the first
  epochs (only neck, FGPCB, RRSPN and heads learn), then its last stages at 0.1x the rate.
- ``cpu_pretrained_short``: that recipe in 16 epochs (8 frozen), about 30 minutes per preset.
- ``test``: a few tiny iterations for the test suite.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Tuple

from fgsgt_ros.data.samples import AugmentConfig, SampleConfig


#: ``backbone_train_layers`` value that trains the whole backbone, stem (conv1, bn1) and layer1 too
ALL_BACKBONE_LAYERS: Tuple[str, ...] = ("*",)


@dataclass(frozen=True)
class ScheduleConfig:
    """Optimiser and learning-rate schedule. Learning rate at fractional epoch e (per iteration):
    warm-up: geometric from ``warmup_start_lr`` to ``base_lr`` over ``warmup_epochs``;
    then log-linear decay from ``base_lr`` to ``end_lr`` at the last epoch."""

    epochs: int = 20
    warmup_epochs: float = 5.0
    warmup_start_lr: float = 0.001
    base_lr: float = 0.005
    end_lr: float = 0.0005
    momentum: float = 0.9
    weight_decay: float = 1e-4
    grad_clip: float = 10.0
    #: epochs with the backbone frozen (requires_grad off, BatchNorm in eval mode)
    freeze_backbone_epochs: int = 10
    #: backbone sub-modules trained after the frozen phase, at ``backbone_lr_mult`` x lr;
    #: ``ALL_BACKBONE_LAYERS`` trains every one (a from-scratch backbone has no good stem to keep)
    #: (dotted names below the backbone, e.g. ``features.9``)
    backbone_train_layers: Tuple[str, ...] = ("layer2", "layer3", "layer4", "fusion")
    backbone_lr_mult: float = 0.1
    #: keep every backbone BatchNorm in eval mode (running statistics never updated), also
    #: in the layers that train: a pretrained backbone's statistics come from far more images
    #: than a small thermal batch holds
    freeze_backbone_bn: bool = False

    def __post_init__(self):
        if self.epochs < 1:
            raise ValueError("epochs must be >= 1")
        if min(self.warmup_start_lr, self.base_lr, self.end_lr) <= 0:
            raise ValueError("learning rates must be > 0")
        if self.warmup_epochs < 0 or self.freeze_backbone_epochs < 0:
            raise ValueError("warmup_epochs and freeze_backbone_epochs must be >= 0")


@dataclass(frozen=True)
class TrainConfig:
    name: str = "siamrpnpp"
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    batch_size: int = 28                 # per process (GPU)
    samples_per_epoch: int = 75000       # per epoch over all processes (pysot: 600k videos / 8 GPUs)
    num_workers: int = 4                 # DataLoader workers per process
    amp: bool = True                     # mixed precision, used only on CUDA devices
    seed: int = 0
    log_every: int = 20                  # iterations between TensorBoard points
    threads: int = 0                     # torch CPU threads per process (0 = leave torch's default)
    keep_checkpoints: int = 0            # keep only the newest N epoch checkpoints (0 = all)
    find_unused_parameters: bool = False  # DDP option

    def __post_init__(self):
        if self.batch_size < 1 or self.samples_per_epoch < 1:
            raise ValueError("batch_size and samples_per_epoch must be >= 1")

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: Dict[str, Any]) -> "TrainConfig":
        d = dict(d)
        sched = ScheduleConfig(**_tuples(d.pop("schedule")))
        sample = dict(d.pop("sample"))
        aug = AugmentConfig(**_tuples(sample.pop("augment")))
        return TrainConfig(schedule=sched, sample=SampleConfig(augment=aug, **_tuples(sample)), **d)


def _tuples(d: Dict[str, Any]) -> Dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


def _cpu_tiny(name: str, **schedule) -> TrainConfig:
    """The shipped tiny models' CPU recipe family: small batches of small crops, one thread, no
    frozen backbone (nothing here is pretrained); ``schedule`` overrides cpu_tiny's schedule."""
    base = dict(epochs=6, warmup_epochs=0.3, warmup_start_lr=0.002, base_lr=0.01, end_lr=0.001,
                freeze_backbone_epochs=0, backbone_lr_mult=1.0)
    return TrainConfig(name=name, schedule=ScheduleConfig(**{**base, **schedule}), batch_size=16,
                       samples_per_epoch=1920, num_workers=0, threads=1, log_every=10)


PRESETS: Dict[str, TrainConfig] = {
    "siamrpnpp": TrainConfig(),
    "cpu_tiny": _cpu_tiny("cpu_tiny"),
    # First stage of the shipped fgsgt_tiny since issue 9's second round (docs/MODEL_CARD.md):
    # cpu_tiny for four times the preset's epochs with the whole backbone trained.
    "cpu_tiny_long": _cpu_tiny("cpu_tiny_long", epochs=24,
                               backbone_train_layers=ALL_BACKBONE_LAYERS),
    # Second stage of the shipped tiny models (docs/MODEL_CARD.md): fine-tune a cpu_tiny model on
    # generated + real clips at a lower peak rate (--init-weights the first stage's weights).
    "cpu_tiny_finetune": _cpu_tiny("cpu_tiny_finetune", epochs=4, base_lr=0.004),
    # Pretrained backbones (docs/MODEL_CARD.md, "fgsgt_nano"): heads first on frozen features,
    # then the last three MobileNetV3 blocks (NanoTrack's 48/96-channel stages) at 0.1x.
    "cpu_pretrained": TrainConfig(
        name="cpu_pretrained",
        schedule=ScheduleConfig(epochs=40, warmup_epochs=1.0, warmup_start_lr=0.001, base_lr=0.01,
                                end_lr=0.0005, freeze_backbone_epochs=10,
                                backbone_train_layers=("features.7", "features.8", "features.9",
                                                       "_blocks.8", "_blocks.9", "_blocks.10"),
                                backbone_lr_mult=0.1, freeze_backbone_bn=True),
        batch_size=16, samples_per_epoch=3200, num_workers=0, threads=1, log_every=10),
    # the same recipe in 16 epochs (about half an hour per preset on one core): what the shipped
    # fgsgt_nano and its ablation rows were trained with; the frozen-backbone phase does most of it
    "cpu_pretrained_short": TrainConfig(
        name="cpu_pretrained_short",
        schedule=ScheduleConfig(epochs=16, warmup_epochs=1.0, warmup_start_lr=0.001, base_lr=0.01,
                                end_lr=0.0005, freeze_backbone_epochs=8,
                                backbone_train_layers=("features.7", "features.8", "features.9",
                                                       "_blocks.8", "_blocks.9", "_blocks.10"),
                                backbone_lr_mult=0.1, freeze_backbone_bn=True),
        batch_size=16, samples_per_epoch=3200, num_workers=0, threads=1, log_every=10),
    "test": TrainConfig(
        name="test",
        schedule=ScheduleConfig(epochs=2, warmup_epochs=0.5, warmup_start_lr=0.002, base_lr=0.01,
                                end_lr=0.002, freeze_backbone_epochs=1, backbone_lr_mult=1.0),
        batch_size=4, samples_per_epoch=8, num_workers=0, threads=1, log_every=1),
}


def get_preset(name: str) -> TrainConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown training preset {name!r}; valid: {', '.join(PRESETS)}") from None
