"""Shipped model checkpoints (package data).

``fgsgt_nano.pt`` (the default, ``fgsgt``) is FGSGT on NanoTrack v3's tracking-trained
MobileNetV3-small, trained on generated thermal sequences and real thermal clips
(docs/model_cards/fgsgt_nano.md); ``fgsgt_tiny.pt``, the default before it, is trained from
scratch (docs/model_cards/fgsgt.md). Consumers must handle a missing file with a clear error:
:func:`default_checkpoint` only returns the path.
"""
from __future__ import annotations

import pathlib

_HERE = pathlib.Path(__file__).resolve().parent

#: File name of the default shipped checkpoint (fgsgt_nano preset), chosen by measurement on real
#: and generated held-out footage (docs/model_cards/fgsgt_nano.md).
DEFAULT_CHECKPOINT_NAME = "fgsgt_nano.pt"


def default_checkpoint() -> pathlib.Path:
    """Path of the default shipped checkpoint (``fgsgt_nano.pt``) beside this module.

    The file may not exist (e.g. a source checkout without the weights); callers
    check ``.exists()`` and report a clear error.
    """
    return _HERE / DEFAULT_CHECKPOINT_NAME


def checkpoint_path(name: str) -> pathlib.Path:
    """Path of a shipped checkpoint by file stem, e.g. ``checkpoint_path('siamrpnpp_tiny')``."""
    if not name or "/" in name or "\\" in name:
        raise ValueError(f"invalid shipped checkpoint name: {name!r}")
    return _HERE / (name if name.endswith(".pt") else name + ".pt")
