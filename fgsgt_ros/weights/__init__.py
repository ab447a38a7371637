"""Shipped model checkpoints (package data).

``fgsgt_tiny.pt`` is trained on procedurally generated thermal sequences (see
docs/MODEL_CARD.md for data, recipe and measured metrics). Consumers must handle
its absence with a clear error: :func:`default_checkpoint` only returns the path.
"""
from __future__ import annotations

import pathlib

_HERE = pathlib.Path(__file__).resolve().parent

#: File name of the default shipped checkpoint (fgsgt_tiny preset).
DEFAULT_CHECKPOINT_NAME = "fgsgt_tiny.pt"


def default_checkpoint() -> pathlib.Path:
    """Path of the shipped ``fgsgt_tiny.pt`` checkpoint beside this module.

    The file may not exist (e.g. a source checkout without the weights); callers
    check ``.exists()`` and report a clear error.
    """
    return _HERE / DEFAULT_CHECKPOINT_NAME


def checkpoint_path(name: str) -> pathlib.Path:
    """Path of a shipped checkpoint by file stem, e.g. ``checkpoint_path('siamrpnpp_tiny')``."""
    if not name or "/" in name or "\\" in name:
        raise ValueError(f"invalid shipped checkpoint name: {name!r}")
    return _HERE / (name if name.endswith(".pt") else name + ".pt")
