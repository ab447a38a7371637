"""The training loop: FGSGT loss, SGD with warm-up + log-decay, backbone freezing, AMP on CUDA,
per-epoch checkpoints with exact resume, TensorBoard, tqdm, and DistributedDataParallel.

Runs unchanged on one CPU, one GPU, or many GPUs / nodes under ``torchrun`` (the process group is
created from the ``WORLD_SIZE``/``RANK``/``LOCAL_RANK`` environment torchrun sets; NCCL on CUDA,
gloo on CPU). Only rank 0 writes logs and checkpoints.

Exact resume: sample ``i`` of epoch ``e`` is drawn from ``default_rng([seed, e, i])``, the
sampler's permutation from ``(seed, e)``, and the learning rate is a function of the global step,
so restoring model + optimizer + step + RNG states at an epoch boundary reproduces the
uninterrupted run.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn

from fgsgt_ros import devices
from fgsgt_ros.data.samples import INPUT_KEYS, PairDataset, to_model_input
from fgsgt_ros.data.sequence import Sequence
from fgsgt_ros.training.config import TrainConfig

CHECKPOINT_PATTERN = "checkpoint_e{epoch:03d}.pt"


def lr_at(sched, epoch_float: float) -> float:
    """Learning rate at a fractional epoch (warm-up geometric, then log-linear decay)."""
    if sched.warmup_epochs > 0 and epoch_float < sched.warmup_epochs:
        t = epoch_float / sched.warmup_epochs
        return sched.warmup_start_lr * (sched.base_lr / sched.warmup_start_lr) ** t
    span = max(1e-9, sched.epochs - sched.warmup_epochs)
    t = min(1.0, max(0.0, (epoch_float - sched.warmup_epochs) / span))
    return sched.base_lr * (sched.end_lr / sched.base_lr) ** t


class _TrainForward(nn.Module):
    """DDP wraps ``forward``; the network's training pass is ``forward_train``."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, z, x):
        return self.net.forward_train(z, x)


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device) -> DistInfo:
    """Join the torchrun process group if launched by torchrun (WORLD_SIZE > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


class Trainer:
    """Train ``model`` (an FGSGTNet) with ``loss_fn`` on pairs drawn from ``sequences``.

    ``out_dir`` receives ``checkpoint_eNNN.pt`` every epoch, ``last.pt``, ``train_config.json``,
    ``metrics.jsonl`` (per-epoch mean losses) and TensorBoard event files under ``tb/``.
    """

    def __init__(self, model_cfg, train_cfg: TrainConfig, sequences: List[Sequence], out_dir: Path,
                 device: str = "auto", preprocess: Optional[Callable] = None, progress: bool = True,
                 model: Optional[nn.Module] = None):
        from fgsgt_ros.model.registry import family_of

        self.model_cfg = model_cfg
        self.cfg = train_cfg
        self.out_dir = Path(out_dir)
        if train_cfg.threads > 0:
            torch.set_num_threads(train_cfg.threads)
        # under torchrun each process takes cuda:LOCAL_RANK
        probe = torch.device(devices.resolve_device(device, per_process=True))
        self.dist = init_distributed(probe)
        self.device = probe
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        self.progress = progress and self.dist.is_main
        torch.manual_seed(train_cfg.seed)  # identical initial weights on every rank
        family = family_of(model_cfg)  # the loss and the network come from the model's family
        if model is None:
            model = family.build(model_cfg)
            if getattr(getattr(model_cfg, "backbone", None), "pretrained", ""):
                from fgsgt_ros.model.backbones import load_pretrained

                load_pretrained(model)  # a pretrained kind starts from its weights
        self.model = model.to(self.device)
        self.loss_fn = family.make_loss(model_cfg)
        if hasattr(self.loss_fn, "to"):
            self.loss_fn = self.loss_fn.to(self.device)
        self.dataset = PairDataset(sequences, model_cfg, train_cfg.sample, train_cfg.samples_per_epoch,
                                   seed=train_cfg.seed, preprocess=preprocess)
        self.use_amp = bool(train_cfg.amp and self.device.type == "cuda")
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.epoch = 0          # epochs completed
        self.global_step = 0
        self.history: List[Dict[str, float]] = []
        self._frozen: Optional[bool] = None
        self.optimizer: Optional[torch.optim.Optimizer] = None
        self.wrapped: nn.Module = self.model
        self.writer = None

    # ------------------------------------------------------------------ phases
    def _backbone_frozen(self, epoch: int) -> bool:
        return epoch < self.cfg.schedule.freeze_backbone_epochs

    def _setup_phase(self, epoch: int) -> None:
        """(Re)build requires_grad flags, optimizer param groups and the DDP wrapper when the
        backbone freezing changes (DDP registers the trainable parameters at construction)."""
        frozen = self._backbone_frozen(epoch)
        if frozen == self._frozen and self.optimizer is not None:
            return
        sched = self.cfg.schedule
        backbone = getattr(self.model, "backbone", None)
        for p in self.model.parameters():
            p.requires_grad_(True)
        backbone_params: List[nn.Parameter] = []
        if backbone is not None:
            for p in backbone.parameters():
                p.requires_grad_(False)
            if not frozen:
                if "*" in sched.backbone_train_layers:
                    subs = [backbone]
                else:
                    subs = [_submodule(backbone, n) for n in sched.backbone_train_layers]
                    subs = [m for m in subs if m is not None]
                for sub in subs:
                    for p in sub.parameters():
                        p.requires_grad_(True)
                        backbone_params.append(p)
        ids = {id(p) for p in backbone_params}
        head_params = [p for p in self.model.parameters() if p.requires_grad and id(p) not in ids]
        groups = [{"params": head_params, "lr_mult": 1.0}]
        if backbone_params:
            groups.append({"params": backbone_params, "lr_mult": sched.backbone_lr_mult})
        old_state = self.optimizer.state_dict() if self.optimizer is not None else None
        self.optimizer = torch.optim.SGD(groups, lr=sched.base_lr, momentum=sched.momentum,
                                         weight_decay=sched.weight_decay)
        if old_state is not None and [len(g["params"]) for g in old_state["param_groups"]] == [
                len(g["params"]) for g in groups]:
            self.optimizer.load_state_dict(old_state)  # same parameters: keep momentum
        self._frozen = frozen
        if self.dist.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids_ = [self.device.index] if self.device.type == "cuda" else None
            self.wrapped = DDP(_TrainForward(self.model), device_ids=ids_,
                               find_unused_parameters=self.cfg.find_unused_parameters)
        else:
            self.wrapped = _TrainForward(self.model)

    def _set_train_mode(self) -> None:
        self.model.train()
        backbone = getattr(self.model, "backbone", None)
        if backbone is None:
            return
        # frozen parts keep BatchNorm statistics fixed (eval mode), as in SiamRPN++; with
        # freeze_backbone_bn every backbone BatchNorm does
        freeze_all = self.cfg.schedule.freeze_backbone_bn
        for m in backbone.modules():
            params = list(m.parameters(recurse=False))
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and params and (
                    freeze_all or not params[0].requires_grad):
                m.eval()

    # ------------------------------------------------------------------ loop
    def _loader(self, epoch: int):
        from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

        self.dataset.set_epoch(epoch)
        if self.dist.world_size > 1:
            sampler = DistributedSampler(self.dataset, num_replicas=self.dist.world_size,
                                         rank=self.dist.rank, shuffle=True, seed=self.cfg.seed,
                                         drop_last=True)
            sampler.set_epoch(epoch)
        else:
            g = torch.Generator()
            g.manual_seed(self.cfg.seed * 100003 + epoch)
            sampler = RandomSampler(self.dataset, generator=g)
        return DataLoader(self.dataset, batch_size=self.cfg.batch_size, sampler=sampler,
                          num_workers=self.cfg.num_workers, drop_last=True,
                          worker_init_fn=_worker_init, pin_memory=self.device.type == "cuda",
                          persistent_workers=False)

    def _step(self, batch: Dict[str, torch.Tensor], epoch_float: float) -> Dict[str, float]:
        sched = self.cfg.schedule
        lr = lr_at(sched, epoch_float)
        for g in self.optimizer.param_groups:
            g["lr"] = lr * g.get("lr_mult", 1.0)
        dev = self.device
        z = to_model_input(batch["template"].to(dev, non_blocking=True))
        x = to_model_input(batch["search"].to(dev, non_blocking=True))
        targets = {k: v.to(dev, non_blocking=True) for k, v in batch.items() if k not in INPUT_KEYS}
        with torch.autocast(device_type=dev.type, enabled=self.use_amp):
            outputs = self.wrapped(z, x)
        outputs = _to_float(outputs)
        losses = self.loss_fn(outputs, targets)
        total = losses["total"]
        if not torch.isfinite(total):
            raise FloatingPointError(f"non-finite loss at step {self.global_step}: "
                                     f"{ {k: float(v) for k, v in losses.items()} }")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.unscale_(self.optimizer)
        grad_norm = torch.nn.utils.clip_grad_norm_(
            [p for p in self.model.parameters() if p.requires_grad], sched.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.global_step += 1
        out = {k: float(v.detach()) for k, v in losses.items()}
        out["lr"] = lr
        out["grad_norm"] = float(grad_norm)
        return out

    def train(self, epochs: Optional[int] = None, max_steps: Optional[int] = None,
              step_callback: Optional[Callable[[int, Dict[str, float]], None]] = None
              ) -> List[Dict[str, float]]:
        """Train from ``self.epoch`` up to ``epochs`` (default: the schedule's); returns the
        per-epoch mean losses. ``max_steps`` stops early (tests) without writing a checkpoint."""
        from tqdm import tqdm

        total_epochs = self.cfg.schedule.epochs if epochs is None else int(epochs)
        if self.dist.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / "train_config.json").write_text(json.dumps(
                {"train": self.cfg.to_dict(), "model": self.model_cfg.to_dict(),
                 "world_size": self.dist.world_size, "device": str(self.device)}, indent=1))
            if self.writer is None:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(self.out_dir / "tb"))
        while self.epoch < total_epochs:
            epoch = self.epoch
            self._setup_phase(epoch)
            self._set_train_mode()
            loader = self._loader(epoch)
            n_iter = len(loader)
            if n_iter == 0:
                raise ValueError(f"samples_per_epoch {self.cfg.samples_per_epoch} gives no full batch of "
                                 f"{self.cfg.batch_size} on {self.dist.world_size} process(es)")
            sums: Dict[str, float] = {}
            bar = tqdm(loader, total=n_iter, desc=f"epoch {epoch + 1}/{total_epochs}",
                       disable=not self.progress, dynamic_ncols=True)
            t0 = time.time()
            for it, batch in enumerate(bar):
                stats = self._step(batch, epoch + it / n_iter)
                for k, v in stats.items():
                    sums[k] = sums.get(k, 0.0) + v
                if step_callback is not None:
                    step_callback(self.global_step, stats)
                if self.dist.is_main:
                    bar.set_postfix({k: f"{v:.3f}" for k, v in stats.items()
                                     if k not in ("lr", "grad_norm")}, refresh=False)
                    if self.global_step % self.cfg.log_every == 0:
                        for k, v in stats.items():
                            self.writer.add_scalar(f"train/{k}", v, self.global_step)
                if max_steps is not None and self.global_step >= max_steps:
                    bar.close()
                    return self.history
            bar.close()
            means = {k: v / n_iter for k, v in sums.items()}
            means.update(epoch=epoch + 1, step=self.global_step, seconds=time.time() - t0)
            self.history.append(means)
            self.epoch = epoch + 1
            if self.dist.is_main:
                for k, v in means.items():
                    if k not in ("epoch", "step"):
                        self.writer.add_scalar(f"epoch/{k}", v, self.epoch)
                self.writer.flush()
                with open(self.out_dir / "metrics.jsonl", "a") as f:
                    f.write(json.dumps(means) + "\n")
                self.save(self.out_dir / CHECKPOINT_PATTERN.format(epoch=self.epoch))
            if self.dist.world_size > 1:
                dist.barrier()
        return self.history

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> Dict[str, object]:
        return {
            "train_config": self.cfg.to_dict(),
            "epoch": self.epoch,
            "global_step": self.global_step,
            "optimizer": self.optimizer.state_dict() if self.optimizer is not None else None,
            "frozen": self._frozen,
            "scaler": self.scaler.state_dict(),
            "history": self.history,
            "rng": {"torch": torch.get_rng_state(), "numpy": _np_state_to_plain(np.random.get_state())},
        }

    def save(self, path: Path) -> None:
        """Model via fgsgt_ros.model.checkpoint + optimizer/step/RNG state (rank 0 only)."""
        from fgsgt_ros.model.checkpoint import save_checkpoint

        if not self.dist.is_main:
            return
        path = Path(path)
        tmp = path.with_suffix(".tmp")
        save_checkpoint(tmp, self.model, self.model_cfg, extra={"training": self._state()})
        os.replace(tmp, path)
        last = self.out_dir / "last.pt"
        if path != last:
            shutil.copyfile(path, last.with_suffix(".tmp"))
            os.replace(last.with_suffix(".tmp"), last)
        keep = self.cfg.keep_checkpoints
        if keep > 0:
            olds = sorted(self.out_dir.glob("checkpoint_e*.pt"))[:-keep]
            for p in olds:
                p.unlink()

    def resume(self, path: Path) -> None:
        """Restore model, optimizer, step, epoch and RNG state from a checkpoint of this trainer."""
        from fgsgt_ros.model.checkpoint import load_checkpoint

        model, cfg, extra = load_checkpoint(path, device=str(self.device))
        if cfg.to_dict() != self.model_cfg.to_dict():
            raise ValueError(f"{path} holds a {cfg.name!r} model, not the configured {self.model_cfg.name!r}")
        state = (extra or {}).get("training")
        if state is None:
            raise ValueError(f"{path} has no training state (a weights-only file); cannot resume")
        self.model.load_state_dict(model.state_dict())
        self.epoch = int(state["epoch"])
        self.global_step = int(state["global_step"])
        self.history = list(state.get("history", []))
        self._frozen = None
        self.optimizer = None
        self._setup_phase(self.epoch)
        if state.get("optimizer") is not None and state.get("frozen") == self._frozen:
            self.optimizer.load_state_dict(state["optimizer"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        rng = state.get("rng") or {}
        if "torch" in rng:
            torch.set_rng_state(torch.as_tensor(rng["torch"], dtype=torch.uint8).cpu())
        if "numpy" in rng:
            np.random.set_state(_np_state_from_plain(rng["numpy"]))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def export_weights(src: Path, dst: Path, note: Optional[Dict[str, object]] = None) -> None:
    """Write a weights-only copy of a training checkpoint (no optimizer state): the shipped file."""
    from fgsgt_ros.model.checkpoint import load_checkpoint, save_checkpoint

    model, cfg, extra = load_checkpoint(src, device="cpu")
    training = (extra or {}).get("training", {})
    info = {"epoch": training.get("epoch"), "global_step": training.get("global_step"),
            "train_config": training.get("train_config"), "history": training.get("history")}
    if note:
        info.update(note)
    save_checkpoint(dst, model, cfg, extra={"trained": info})


def _submodule(module: nn.Module, name: str) -> Optional[nn.Module]:
    """``module``'s sub-module at the dotted ``name``, None where it has none (the train-layer
    list names the layers of every backbone kind)."""
    try:
        return module.get_submodule(name)
    except AttributeError:
        return None


def _np_state_to_plain(state):
    """numpy's legacy RNG state as tensors/ints (checkpoints load with weights_only=True)."""
    name, keys, pos, has_gauss, cached = state
    return {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached": float(cached)}


def _np_state_from_plain(d):
    return (d["name"], d["keys"].numpy().astype(np.uint32), d["pos"], d["has_gauss"], d["cached"])


def _to_float(outputs):
    if isinstance(outputs, torch.Tensor):
        return outputs.float()
    if isinstance(outputs, dict):
        return {k: _to_float(v) for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return type(outputs)(_to_float(v) for v in outputs)
    return outputs


def _worker_init(_worker_id: int) -> None:
    # workers share the CPU with the training process: one thread each
    torch.set_num_threads(1)
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass
