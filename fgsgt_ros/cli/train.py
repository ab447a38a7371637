"""``fgsgt train``: train a model preset on tracking datasets (1 CPU, 1 GPU, or torchrun DDP).

Examples::

    fgsgt train --preset fgsgt_tiny --schedule cpu_tiny --data synth/ --out runs/tiny
    torchrun --nproc_per_node 8 -m fgsgt_ros.cli train --preset fgsgt_r50 --schedule siamrpnpp \\
        --data LSOTB-TIR/ --format lsotb --out runs/fgsgt_r50
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path



def register(subparsers) -> None:
    from fgsgt_ros.training.config import PRESETS as TRAIN_PRESETS

    p = subparsers.add_parser(
        "train", help="train a tracker network (CPU, GPU or torchrun multi-GPU)",
        description="Train a model preset on one or more datasets. Defaults come from the "
                    "--schedule preset (fgsgt_ros/training/config.py); flags override them.")
    p.add_argument("--preset", required=True, help="model preset of any family (fgsgt_ros.model.registry.PRESETS)")
    p.add_argument("--schedule", default="siamrpnpp", choices=sorted(TRAIN_PRESETS),
                   help="training preset (default: %(default)s, the SiamRPN++ recipe)")
    p.add_argument("--data", required=True, type=Path, action="append",
                   help="dataset folder (repeat for several; pairs are drawn uniformly over all "
                        "sequences, so naming a folder N times weights its sequences N times)")
    from fgsgt_ros.data.datasets import FORMAT_CHOICES
    p.add_argument("--format", default="auto", choices=FORMAT_CHOICES, metavar="FORMAT",
                   help="dataset layout, the same names as `fgsgt eval --format`: "
                        + ", ".join(FORMAT_CHOICES) + " (default: auto = detected)")
    p.add_argument("--out", required=True, type=Path, help="run folder (checkpoints, TensorBoard)")
    p.add_argument("--epochs", type=int, help="override the schedule's number of epochs")
    p.add_argument("--batch-size", type=int, help="per-process batch size")
    p.add_argument("--samples-per-epoch", type=int)
    p.add_argument("--workers", type=int, help="DataLoader workers per process")
    p.add_argument("--threads", type=int, help="torch CPU threads per process (0 = torch default)")
    p.add_argument("--lr", type=float, help="peak learning rate (base_lr)")
    p.add_argument("--seed", type=int)
    p.add_argument("--no-amp", action="store_true", help="disable mixed precision on CUDA")
    p.add_argument("--device", default="auto", help="auto|cpu|cuda|cuda:N (default: %(default)s)")
    p.add_argument("--resume", help="checkpoint to resume from, or 'auto' for OUT/last.pt if present")
    p.add_argument("--init-weights", type=Path,
                   help="load model weights (e.g. a pretrained backbone checkpoint) before training")
    p.add_argument("--export", type=Path, help="after training, write a weights-only checkpoint here")
    p.set_defaults(func=run)


def build_train_config(args: argparse.Namespace):
    from fgsgt_ros.training.config import get_preset

    cfg = get_preset(args.schedule)
    sched_over = {}
    if args.epochs is not None:
        sched_over["epochs"] = args.epochs
    if args.lr is not None:
        sched_over["base_lr"] = args.lr
    if sched_over:
        cfg = dataclasses.replace(cfg, schedule=dataclasses.replace(cfg.schedule, **sched_over))
    over = {}
    for flag, key in (("batch_size", "batch_size"), ("samples_per_epoch", "samples_per_epoch"),
                      ("workers", "num_workers"), ("threads", "threads"), ("seed", "seed")):
        if getattr(args, flag) is not None:
            over[key] = getattr(args, flag)
    if args.no_amp:
        over["amp"] = False
    return dataclasses.replace(cfg, **over) if over else cfg


def load_sequences(paths, fmt: str):
    from fgsgt_ros.data.datasets import read_dataset, resolve_format

    seqs = []
    for root in paths:
        f = resolve_format(root, fmt)
        seqs.extend(read_dataset(root, f, split="train" if f == "got10k" else None))
    return seqs


def run(args: argparse.Namespace) -> int:
    from fgsgt_ros.cli import UserError
    from fgsgt_ros.model.registry import get_preset as get_model_preset

    try:
        model_cfg = get_model_preset(args.preset)
        train_cfg = build_train_config(args)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    for root in args.data:
        if not root.is_dir():
            raise UserError(f"--data {root} is not a folder")
    try:
        sequences = load_sequences(args.data, args.format)
    except ValueError as exc:
        raise UserError(str(exc)) from None

    from fgsgt_ros.training.trainer import Trainer, export_weights

    try:
        trainer = Trainer(model_cfg, train_cfg, sequences, args.out, device=args.device)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.init_weights is not None:
        _load_init_weights(trainer, args.init_weights)
    resume = args.resume
    if resume == "auto":
        resume = args.out / "last.pt" if (args.out / "last.pt").is_file() else None
    if resume:
        if not Path(resume).is_file():
            raise UserError(f"--resume {resume} does not exist")
        try:
            trainer.resume(Path(resume))
        except ValueError as exc:
            raise UserError(f"cannot resume from {resume}: {exc} (resume with the --preset, "
                            f"--schedule and flags the run started with: {args.out}/"
                            "train_config.json records them)") from None
        if trainer.dist.is_main:
            print(f"resumed from {resume} at epoch {trainer.epoch}, step {trainer.global_step}")
    if trainer.dist.is_main:
        print(f"training {model_cfg.name} ({train_cfg.name}) on {len(trainer.dataset.sequences)} sequences, "
              f"device {trainer.device}, {trainer.dist.world_size} process(es) -> {args.out}")
    try:
        history = trainer.train()
    finally:
        trainer.close()
    if trainer.dist.is_main:
        if history:
            last = history[-1]
            print("last epoch: " + ", ".join(f"{k}={v:.4f}" for k, v in last.items()
                                             if isinstance(v, float)))
        if args.export is not None:
            export_weights(args.out / "last.pt", args.export)
            print(f"weights written to {args.export}")
    return 0


def _load_init_weights(trainer, path: Path) -> None:
    import torch

    from fgsgt_ros.cli import UserError

    if not path.is_file():
        raise UserError(f"--init-weights {path} does not exist")
    try:
        from fgsgt_ros.model.checkpoint import load_checkpoint

        model, _, _ = load_checkpoint(path)
        state = model.state_dict()
    except Exception:  # not a project checkpoint: a plain state dict (e.g. ImageNet backbone)
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
    own = trainer.model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not usable:  # an ImageNet classification ResNet (torchvision names): our backbone.* tensors
        usable = {f"backbone.{k}": v for k, v in state.items()
                  if f"backbone.{k}" in own and own[f"backbone.{k}"].shape == v.shape}
    if not usable:
        raise UserError(f"--init-weights {path}: no tensor matches the model's names and shapes")
    trainer.model.load_state_dict(usable, strict=False)
    if trainer.dist.is_main:
        print(f"initialised {len(usable)}/{len(own)} tensors from {path}")
