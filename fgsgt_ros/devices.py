"""Which compute device a device name means here (one rule for the node, the CLIs and training).

``"auto"`` is CUDA device 0 where PyTorch sees one, else the CPU; ``"cpu"``; ``"cuda"`` /
``"cuda:N"``. A CUDA name this machine cannot serve is either an error that says why and what to
use instead (command lines: a user typed it), or, with ``fallback=True``, the CPU with a warning
(the node: a robot should still track when its GPU went missing).
"""

from __future__ import annotations

import os
from typing import Callable, Optional


class DeviceError(ValueError):
    """A device name this machine cannot serve; the message says why and what to use."""


def _cuda_problem(index: int) -> Optional[str]:
    """Why CUDA device ``index`` cannot be used here (None: it can)."""
    import torch

    if torch.version.cuda is None:
        return f"this PyTorch ({torch.__version__}) was built without CUDA"
    if not torch.cuda.is_available():
        return "PyTorch sees no CUDA device (no GPU, or its driver is not loaded)"
    if index >= torch.cuda.device_count():
        return f"this machine has {torch.cuda.device_count()} CUDA device(s), no cuda:{index}"
    return None


def resolve_device(requested: str, *, fallback: bool = False,
                   warn: Optional[Callable[[str], None]] = None,
                   per_process: bool = False) -> str:
    """The device string to use: ``"cpu"`` or ``"cuda:N"``. Raises DeviceError for a name that
    is not auto/cpu/cuda[:N], and for a CUDA device this machine lacks unless ``fallback``.

    ``per_process`` (training under torchrun): a CUDA device is the process's own,
    ``cuda:LOCAL_RANK``, for "auto"/"cuda" and for any CUDA name when WORLD_SIZE > 1."""
    device = _resolve(requested, fallback, warn)
    if per_process and device.startswith("cuda"):
        req = (requested or "auto").strip().lower()
        if req in ("auto", "cuda") or int(os.environ.get("WORLD_SIZE", "1")) > 1:
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return device


def _resolve(requested: str, fallback: bool, warn: Optional[Callable[[str], None]]) -> str:
    req = (requested or "auto").strip().lower()
    if req == "cpu":
        return "cpu"
    if req == "auto":
        import torch

        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if req == "cuda" or req.startswith("cuda:"):
        try:
            index = int(req.split(":", 1)[1]) if ":" in req else 0
        except ValueError:
            index = -1
        if index < 0:
            raise DeviceError(f"device {requested!r} is not auto, cpu or cuda:N")
        problem = _cuda_problem(index)
        if problem is None:
            return f"cuda:{index}"
        if fallback:
            if warn is not None:
                warn(f"device '{requested}' requested but {problem}: falling back to CPU")
            return "cpu"
        raise DeviceError(f"device '{requested}': {problem}; use 'cpu', or 'auto' (the GPU "
                          "where there is one, else the CPU)")
    raise DeviceError(f"device {requested!r} is not auto, cpu or cuda:N")
