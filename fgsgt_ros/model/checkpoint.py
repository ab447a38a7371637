"""Checkpoint files that rebuild their own model.

A checkpoint is a ``torch.save`` dict with only plain types (loadable with weights_only=True):
    {'format': 'fgsgt_ros.model', 'version': FORMAT_VERSION, 'preset': cfg.name,
     'family': 'fgsgt' | 'siamffn' | ..., 'config': cfg.to_dict(), 'state_dict': {...},
     'extra': {...}}
(a file without 'family' is an FGSGT-family checkpoint: the key came with the other families).
``load_checkpoint`` rebuilds the model from the stored config (not from the preset table, so a
checkpoint survives preset changes) and raises ``CheckpointError`` with a clear message for a
missing, corrupt, foreign, newer-version or mismatched file.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Optional, Tuple

import torch

from .registry import family_of, get_family

FORMAT = "fgsgt_ros.model"
FORMAT_VERSION = 1


class CheckpointError(RuntimeError):
    """The file is not a usable FGSGT checkpoint (message says why)."""


def save_checkpoint(path, model, cfg, extra: Optional[Dict[str, Any]] = None) -> None:
    """Write ``model``'s weights with its config (of any registered family); ``extra`` must hold
    plain Python/tensor data."""
    try:
        family = family_of(cfg)
    except TypeError:
        raise TypeError("save_checkpoint needs the model config the model was built from") from None
    payload = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "preset": cfg.name,
        "family": family.name,
        "config": cfg.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": dict(extra or {}),
    }
    tmp = f"{os.fspath(path)}.tmp"
    torch.save(payload, tmp)
    os.replace(tmp, path)  # never leave a half-written checkpoint behind


def load_checkpoint(path, device="cpu") -> Tuple[Any, Any, Dict[str, Any]]:
    """Rebuild the model from the file alone -> (model in eval mode on ``device``, cfg, extra)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors of all kinds mean the same thing to a user
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or truncated?): "
                              f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an fgsgt_ros model checkpoint "
                              f"(no '{FORMAT}' format marker)")
    version = payload.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format version {version!r}; this code "
                              f"reads versions up to {FORMAT_VERSION}")
    try:
        family = get_family(payload.get("family", "fgsgt"))
    except ValueError as exc:
        raise CheckpointError(f"{path} holds a model family this code does not know: {exc}") \
            from None
    try:
        cfg = family.config_type.from_dict(payload["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} carries an invalid model config: {exc}") from exc
    model = family.build(cfg)
    state = payload.get("state_dict")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} has no state_dict")
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    bad_shape = sorted(k for k in set(own) & set(state)
                       if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or unexpected or bad_shape:
        def few(names):
            return ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing ({few(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected ({few(unexpected)})")
        if bad_shape:
            parts.append(f"{len(bad_shape)} with wrong shape ({few(bad_shape)})")
        raise CheckpointError(f"{path}: weights do not match the '{cfg.name}' config: "
                              + "; ".join(parts))
    model.load_state_dict(state)
    model.to(device).eval()
    return model, cfg, dict(payload.get("extra") or {})


def extra_to_ship(extra: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """A trained checkpoint's ``extra`` as a shipped file carries it: a run's training state
    reduced to its record (epoch, steps, config, losses; no optimiser state), and no
    ``tracker_config`` (each shipped file is calibrated on its own afterwards)."""
    extra = dict(extra or {})
    training = extra.pop("training", None)
    if training is not None:
        extra["trained"] = {k: training.get(k) for k in ("epoch", "global_step", "train_config",
                                                         "history")}
    extra.pop("tracker_config", None)
    return extra
