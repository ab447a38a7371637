"""ONNX Runtime inference with the same interface as ``FGSGTNet`` (``template``/``track``).

On this project's small CPU, onnxruntime runs the exported tiny network about 2x faster than
PyTorch eager (bench/bench_model.py). ``OnnxNet`` is a drop-in for the tracker, which only needs
``cfg``, ``template(z)`` and ``track(x) -> (cls, loc, sal)`` (torch tensors in, torch tensors out):

    net = OnnxNet.from_checkpoint("fgsgt_ros/weights/fgsgt_tiny.pt", threads=1)
    net.template(z); cls, loc, sal = net.track(x)

The export is cached under ``cache_dir`` (default ``~/.cache/fgsgt_ros/onnx``) by the checkpoint's
content hash, so only the first start pays for it. Batch size 1 (the export's fixed size).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import torch

from .config import ModelConfig
from .export import KERNEL_NAMES, export_onnx, onnx_paths


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fgsgt_ros" / "onnx"


class OnnxNet:
    """Two onnxruntime sessions (template graph, track graph) behind FGSGTNet's inference API."""

    def __init__(self, track_path, template_path, cfg: ModelConfig, threads: int = 1):
        try:
            import onnxruntime as ort
        except ImportError as exc:  # optional dependency (requirements/model.txt)
            raise ImportError("OnnxNet needs the onnxruntime package") from exc
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        self.cfg = cfg
        self._template = ort.InferenceSession(os.fspath(template_path), opts, providers=providers)
        self._track = ort.InferenceSession(os.fspath(track_path), opts, providers=providers)
        self._kernels: Optional[Tuple[np.ndarray, ...]] = None

    @classmethod
    def from_model(cls, net, out=None, threads: int = 1) -> "OnnxNet":
        """Export ``net`` (to ``out``, default a cache path keyed by its weights) and load it."""
        if out is None:
            digest = hashlib.sha1()
            for k, v in net.state_dict().items():
                digest.update(k.encode())
                digest.update(v.detach().cpu().numpy().tobytes())
            out = _default_cache_dir() / f"{net.cfg.name}-{digest.hexdigest()[:16]}.onnx"
        track_path, template_path = onnx_paths(out)
        if not (track_path.exists() and template_path.exists()):
            export_onnx(net, out)
        return cls(track_path, template_path, net.cfg, threads)

    @classmethod
    def from_checkpoint(cls, path, cache_dir=None, threads: int = 1) -> "OnnxNet":
        """Load a checkpoint (``checkpoint.load_checkpoint`` errors apply) and run it with ORT."""
        from .checkpoint import load_checkpoint

        net, cfg, _ = load_checkpoint(path)
        with open(path, "rb") as f:
            digest = hashlib.sha1(f.read()).hexdigest()[:16]
        out = Path(cache_dir or _default_cache_dir()) / f"{cfg.name}-{digest}.onnx"
        return cls.from_model(net, out, threads)

    # FGSGTNet-compatible inference API -------------------------------------------------------
    @staticmethod
    def _numpy(t) -> np.ndarray:
        if isinstance(t, torch.Tensor):
            t = t.detach().cpu().numpy()
        t = np.ascontiguousarray(t, dtype=np.float32)
        if t.shape[0] != 1:
            raise ValueError(f"OnnxNet runs batch 1, got batch {t.shape[0]}")
        return t

    def template(self, z) -> None:
        self._kernels = tuple(self._template.run(None, {"z": self._numpy(z)}))

    def track(self, x):
        if self._kernels is None:
            raise RuntimeError("OnnxNet.track() called before template()")
        feeds = {"x": self._numpy(x), **dict(zip(KERNEL_NAMES, self._kernels))}
        cls, loc, sal = self._track.run(None, feeds)
        return torch.from_numpy(cls), torch.from_numpy(loc), torch.from_numpy(sal)

    def eval(self) -> "OnnxNet":
        return self
