"""Inference runtimes: PyTorch eager (``"torch"``) or ONNX Runtime (``"onnx"``), one switch.

``with_runtime(net, runtime)`` is the one place a loaded network is put on its runtime; the
tracker's ``load_model(..., runtime=...)`` (and so ``build_tracker``, the tracking session, the node,
``fgsgt eval`` and the demo) call it. ``OnnxNet`` has the template/track interface of the networks
(``cfg``, ``template(z)``, ``track(x)``, ``template_kernels(z)``, ``track_with_kernels(x, *k)``;
torch tensors in, torch tensors out), so the tracker cannot tell the two apart:

    net = OnnxNet.from_checkpoint("fgsgt_ros/weights/fgsgt_nano.pt", threads=1)
    net.template(z); cls, loc, sal = net.track(x)

On this project's small CPU onnxruntime runs the tiny networks about 2x faster than PyTorch eager
(docs/BENCHMARKS.md). The export is cached under ``cache_dir`` (default ``~/.cache/fgsgt_ros/onnx``)
by the weights' content hash, so only the first start pays for it (seconds). Batch size 1 (the
export's fixed size). ``device: cuda:N`` uses onnxruntime's CUDA provider when the installed
onnxruntime has it (onnxruntime-gpu), else the CPU provider with a warning.

``DEFAULT_NUM_THREADS`` is the one default for CPU inference threads (node, eval, demo, benches):
1, the fast setting on a small machine (see docs/BENCHMARKS.md).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any, Optional, Tuple

import numpy as np
import torch

from .export import METADATA_VERSION, export_onnx, onnx_paths

#: The inference runtimes ``with_runtime`` knows ("auto" resolves to one of the other two).
RUNTIMES = ("auto", "torch", "onnx")
#: "auto": onnxruntime on a CPU where the onnx and onnxruntime packages are installed, PyTorch
#: otherwise (on CUDA, and without those packages). The whole tracker step of the shipped model
#: is about 2.2x faster on onnxruntime on one CPU thread (bench/bench_tracker.py,
#: docs/BENCHMARKS.md), the same boxes to float precision.
DEFAULT_RUNTIME = "auto"
#: CPU threads for the network (torch.set_num_threads / onnxruntime intra-op threads); 0 = the
#: library's default (all cores), slower on a small shared CPU.
DEFAULT_NUM_THREADS = 1


class RuntimeUnavailableError(RuntimeError):
    """The requested runtime cannot run here (one-line reason)."""


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fgsgt_ros" / "onnx"


def _cache_path(net, cache_dir, tracker_config: Optional[dict]) -> Path:
    """Export path keyed by the weights, the model config (it decides the graph's outputs, e.g.
    the online branch's feature) and the settings stored in the metadata."""
    digest = hashlib.sha1()
    digest.update(json.dumps(net.cfg.to_dict(), sort_keys=True, default=str).encode())
    for k, v in net.state_dict().items():
        digest.update(k.encode())
        digest.update(v.detach().cpu().numpy().tobytes())
    digest.update(repr(sorted((tracker_config or {}).items())).encode())
    return (Path(cache_dir or _default_cache_dir())
            / f"{net.cfg.name}-{digest.hexdigest()[:16]}-m{METADATA_VERSION}.onnx")


def is_onnx_file(path) -> bool:
    """True for an ONNX graph (by suffix, or a protobuf that onnx parses as a model)."""
    p = Path(path)
    if p.suffix.lower() == ".onnx":
        return True
    try:
        with open(p, "rb") as f:
            head = f.read(2)
    except OSError:
        return False
    # torch.save writes a zip (PK); an ONNX ModelProto starts with field 1 (ir_version, varint)
    return head[:1] == b"\x08" and head != b"PK"


def onnx_as_checkpoint_message(path) -> str:
    """The one-line error for an exported ONNX graph given where a checkpoint is expected."""
    return (f"{path} is an exported ONNX graph, not a checkpoint: give the .pt checkpoint it was "
            "exported from and choose runtime onnx (node parameter runtime:=onnx, "
            "`fgsgt eval --runtime onnx`, demo --runtime onnx)")


def _providers(device: str):
    import onnxruntime as ort

    available = ort.get_available_providers()
    if str(device).startswith("cuda"):
        if "CUDAExecutionProvider" in available:
            index = str(device).split(":", 1)[1] if ":" in str(device) else "0"
            return [("CUDAExecutionProvider", {"device_id": int(index)}), "CPUExecutionProvider"]
        warnings.warn(f"onnxruntime here has no CUDA provider (install onnxruntime-gpu); "
                      f"running {device} requests on the CPU")
    return ["CPUExecutionProvider"]


class OnnxNet:
    """Two onnxruntime sessions (template graph, track graph) behind the networks' inference API."""

    def __init__(self, track_path, template_path, cfg, threads: int = DEFAULT_NUM_THREADS,
                 device: str = "cpu"):
        try:
            import onnxruntime as ort
        except ImportError as exc:  # optional dependency (requirements/model.txt)
            raise RuntimeUnavailableError("runtime onnx needs the onnxruntime package "
                                          "(pip install onnxruntime)") from exc
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(0, int(threads))
        opts.inter_op_num_threads = 1
        providers = _providers(device)
        self.cfg = cfg
        self.device = device
        self.track_path, self.template_path = Path(track_path), Path(template_path)
        self._template = ort.InferenceSession(os.fspath(template_path), opts, providers=providers)
        self._track = ort.InferenceSession(os.fspath(track_path), opts, providers=providers)
        self.providers = self._track.get_providers()
        self._kernel_names = tuple(o.name for o in self._template.get_outputs())
        self._x_name = self._track.get_inputs()[0].name
        self._kernels: Optional[Tuple[np.ndarray, ...]] = None

    @classmethod
    def from_model(cls, net, out=None, threads: int = DEFAULT_NUM_THREADS, device: str = "cpu",
                   tracker_config: Optional[dict] = None) -> "OnnxNet":
        """Export ``net`` (to ``out``, default a cache path keyed by its config and weights) and
        load it."""
        if out is None:
            out = _cache_path(net, None, tracker_config)
        track_path, template_path = onnx_paths(out)
        if not (track_path.exists() and template_path.exists()):
            export_onnx(net, out, tracker_config=tracker_config)
        return cls(track_path, template_path, net.cfg, threads, device)

    @classmethod
    def from_checkpoint(cls, path, cache_dir=None, threads: int = DEFAULT_NUM_THREADS,
                        device: str = "cpu") -> "OnnxNet":
        """Load a checkpoint (``checkpoint.load_checkpoint`` errors apply) and run it with ORT."""
        from .checkpoint import load_checkpoint

        net, _cfg, extra = load_checkpoint(path)
        tracker_config = (extra or {}).get("tracker_config")
        # the one cache key (model config, weights, stored settings), as for from_model
        return cls.from_model(net, _cache_path(net, cache_dir, tracker_config), threads, device,
                              tracker_config)

    # the networks' inference API -------------------------------------------------------------
    @staticmethod
    def _numpy(t) -> np.ndarray:
        if isinstance(t, torch.Tensor):
            t = t.detach().float().cpu().numpy()
        t = np.ascontiguousarray(t, dtype=np.float32)
        if t.shape[0] != 1:
            raise ValueError(f"OnnxNet runs batch 1, got batch {t.shape[0]}")
        return t

    def template_kernels(self, z) -> Tuple[torch.Tensor, ...]:
        outs = self._template.run(None, {"z": self._numpy(z)})
        return tuple(torch.from_numpy(k) for k in outs)

    def track_with_kernels(self, x, *kernels):
        if len(kernels) != len(self._kernel_names):
            raise ValueError(f"expected {len(self._kernel_names)} template kernels, "
                             f"got {len(kernels)}")
        feeds = {self._x_name: self._numpy(x)}
        feeds.update({n: self._numpy(k) for n, k in zip(self._kernel_names, kernels)})
        return tuple(torch.from_numpy(o) for o in self._track.run(None, feeds))

    def template(self, z) -> None:
        self._kernels = tuple(self._template.run(None, {"z": self._numpy(z)}))

    def track(self, x):
        if self._kernels is None:
            raise RuntimeError("OnnxNet.track() called before template()")
        feeds = {self._x_name: self._numpy(x), **dict(zip(self._kernel_names, self._kernels))}
        return tuple(torch.from_numpy(o) for o in self._track.run(None, feeds))

    def eval(self) -> "OnnxNet":
        return self

    def to(self, *args, **kwargs) -> "OnnxNet":
        """Inputs are copied to the host per call; the device was chosen at load time."""
        return self


@functools.lru_cache(maxsize=1)
def _onnx_unavailable() -> str:
    """Why runtime onnx cannot run here, in one line, or "" when the onnx exporter and
    onnxruntime both import (installed is not enough: a build against another NumPy fails on
    import). Probed once per process."""
    for module in ("onnx", "onnxruntime"):
        try:
            __import__(module)
        except ImportError:
            return (f"runtime onnx needs the {module} package (pip install onnx onnxruntime, "
                    "requirements/model.txt)")
        except Exception as exc:  # e.g. a binary built against another NumPy
            return f"runtime onnx: the {module} package does not import here ({type(exc).__name__})"
    return ""


def onnx_available() -> bool:
    """Whether runtime onnx can run here ("auto" means torch where it cannot)."""
    return not _onnx_unavailable()


def resolve_runtime(runtime: str = DEFAULT_RUNTIME, device: str = "cpu") -> str:
    """The concrete runtime ("torch" or "onnx") that ``runtime`` means on ``device``: "auto" is
    onnx on a CPU where onnx and onnxruntime are installed, else torch. Raises ValueError for an
    unknown name."""
    runtime = (runtime or DEFAULT_RUNTIME).strip().lower()
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}: expected one of {', '.join(RUNTIMES)}")
    if runtime == "auto":
        on_cpu = str(device or "cpu").strip().lower().startswith("cpu")
        return "onnx" if on_cpu and onnx_available() else "torch"
    return runtime


def with_runtime(net, runtime: str = DEFAULT_RUNTIME, *, device: str = "cpu",
                 threads: int = DEFAULT_NUM_THREADS, tracker_config: Optional[dict] = None,
                 cache_dir=None) -> Any:
    """``net`` on the chosen runtime: the network itself for "torch", an ``OnnxNet`` (exported
    once, cached by weights hash) for "onnx". Raises ValueError for an unknown runtime and
    RuntimeUnavailableError (one line) when onnx/onnxruntime are missing."""
    runtime = resolve_runtime(runtime, device)
    if runtime == "torch":
        return net
    if _onnx_unavailable():
        raise RuntimeUnavailableError(_onnx_unavailable())
    return OnnxNet.from_model(net, _cache_path(net, cache_dir, tracker_config), threads=threads,
                              device=device,
                              tracker_config=tracker_config)
