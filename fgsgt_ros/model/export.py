"""ONNX export of the inference path (two graphs, batch 1, opset ``OPSET``).

- ``<stem>.template.onnx``: z (1, 3, E, E) -> kernels k0..k5  (``FGSGTNet.template_kernels``)
- ``<stem>.onnx``:          x (1, 3, I, I), k0..k5 -> cls, loc, sal  (``track_with_kernels``)
The tracker runs the template graph once per target and the track graph per frame, exactly like
``net.template()`` / ``net.track()``. Requires the ``onnx`` package (requirements/model.txt).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Tuple

import torch
import torch.nn as nn

from .network import FGSGTNet

OPSET = 17
KERNEL_NAMES = tuple(f"k{i}" for i in range(6))


class _TemplateGraph(nn.Module):
    def __init__(self, net: FGSGTNet):
        super().__init__()
        self.net = net

    def forward(self, z):
        return self.net.template_kernels(z)


class _TrackGraph(nn.Module):
    def __init__(self, net: FGSGTNet):
        super().__init__()
        self.net = net

    def forward(self, x, k0, k1, k2, k3, k4, k5):
        return self.net.track_with_kernels(x, k0, k1, k2, k3, k4, k5)


def onnx_paths(out) -> Tuple[Path, Path]:
    """(track graph path, template graph path) for an output path like ``model.onnx``."""
    out = Path(out)
    stem = out.with_suffix("") if out.suffix == ".onnx" else out
    return stem.with_suffix(".onnx"), Path(f"{stem}.template.onnx")


def export_onnx(net: FGSGTNet, out, opset: int = OPSET) -> Tuple[Path, Path]:
    """Export ``net`` (moved to CPU, eval mode) and return (track path, template path)."""
    cfg = net.cfg
    was_training = net.training
    net = net.to("cpu").eval()
    track_path, template_path = onnx_paths(out)
    track_path.parent.mkdir(parents=True, exist_ok=True)
    z = torch.rand(1, 3, cfg.exemplar_size, cfg.exemplar_size) * 255
    x = torch.rand(1, 3, cfg.instance_size, cfg.instance_size) * 255
    with torch.no_grad(), warnings.catch_warnings():
        # Tracer notes about shape checks becoming constants: expected for a fixed-size export.
        warnings.simplefilter("ignore")
        kernels = net.template_kernels(z)
        # The wrappers must be in eval mode too: export restores the wrapper's mode afterwards,
        # which would otherwise switch the whole net (its BatchNorms) back to training.
        torch.onnx.export(_TemplateGraph(net).eval(), (z,), os.fspath(template_path),
                          input_names=["z"], output_names=list(KERNEL_NAMES),
                          opset_version=opset, dynamo=False)
        torch.onnx.export(_TrackGraph(net).eval(), (x, *kernels), os.fspath(track_path),
                          input_names=["x", *KERNEL_NAMES], output_names=["cls", "loc", "sal"],
                          opset_version=opset, dynamo=False)
    net.train(was_training)
    return track_path, template_path
