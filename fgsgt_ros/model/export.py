"""ONNX export of the inference path (two graphs, batch 1, opset ``OPSET``), with metadata.

- ``<stem>.template.onnx``: z (1, 3, E, E) -> kernels k0..kN  (``net.template_kernels``)
- ``<stem>.onnx``:          x (1, 3, I, I), k0..kN -> the family's outputs, e.g. cls, loc, sal
  (``net.track_with_kernels``)
The tracker runs the template graph once per target and the track graph per frame, exactly like
``net.template()`` / ``net.track()``. Any network with that template/track interface exports (the
number of kernels and the output names come from the network and its model family).

Both graphs carry ``metadata_props`` (``read_onnx_metadata`` returns them, JSON values decoded) so a
TensorRT or C++ user needs no Python: keys ``fgsgt_ros.<name>`` with

- ``graph``: "template" or "track"; ``family``, ``preset``, ``package_version``;
- ``model_config``: the full model config (JSON), as the checkpoint stores it;
- ``inputs`` / ``outputs``: name, shape, dtype, layout and meaning of every tensor;
- ``preprocessing``: input scaling (raw 0..255 floats, no mean/std), channel order, and the crop
  geometry (context, search scale, fill value);
- ``decoding``: how outputs become boxes (anchor shapes and grid, delta formula, index order; or the
  anchor-free point grid) and the saliency map's extent;
- ``tracker_config``: the tracking settings to post-process with (penalty K, window influence, size
  rate, calibrated LOST thresholds of the checkpoint).
Requires the ``onnx`` package (requirements/model.txt).
"""

from __future__ import annotations

import inspect
import json
import os
import warnings
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

OPSET = 17
#: Kernel names of the FGSGT family (6 kernels); other families get k0..k{n-1} for their count.
KERNEL_NAMES = tuple(f"k{i}" for i in range(6))
METADATA_PREFIX = "fgsgt_ros."
METADATA_VERSION = 1


class _TemplateGraph(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, z):
        return tuple(self.net.template_kernels(z))


class _TrackGraph(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, *kernels):
        return tuple(self.net.track_with_kernels(x, *kernels))


def onnx_paths(out) -> Tuple[Path, Path]:
    """(track graph path, template graph path) for an output path like ``model.onnx``."""
    out = Path(out)
    stem = out.with_suffix("") if out.suffix == ".onnx" else out
    return stem.with_suffix(".onnx"), Path(f"{stem}.template.onnx")


def _output_names(cfg, count: int) -> Tuple[str, ...]:
    try:
        from .registry import family_of
        names = tuple(family_of(cfg).outputs)
    except (ImportError, TypeError, ValueError, AttributeError):
        names = ()
    online = getattr(cfg, "online", None)
    if online is not None and online.enabled and "feat" not in names:
        names += ("feat",)  # the search feature the tracker's online branch learns on
    return names if len(names) == count else tuple(f"out{i}" for i in range(count))


def _family_name(cfg) -> str:
    try:
        from .registry import family_of
        return family_of(cfg).name
    except (ImportError, TypeError, ValueError, AttributeError):
        return ""


def _tensor_spec(name: str, t: torch.Tensor, meaning: str = "") -> Dict[str, Any]:
    spec = {"name": name, "shape": list(t.shape), "dtype": "float32"}
    if t.dim() == 4:
        spec["layout"] = "NCHW"
    if meaning:
        spec["meaning"] = meaning
    return spec


_OUTPUT_MEANING = {
    "cls": "classification logits (1, 2A, S, S); channel k*A + a is class k (0 background, "
           "1 target) of anchor shape a; score = softmax over k, channel 1",
    "loc": "anchor deltas (1, 4A, S, S); channel j*A + a is (dx, dy, dw, dh)[j] of anchor a",
    "ltrb": "anchor-free box distances (1, 4, S, S) in search-crop pixels from each point to the "
            "box's left, top, right and bottom edges",
    "feat": "search feature (1, C, F, F) the tracker's online branch learns on (not used for "
            "decoding; grid centred on the crop like the score map)",
    "sal": "saliency probability (1, 1, H, W) in [0, 1] over the whole search crop "
           "(instance_size x instance_size pixels)",
}


def decoding_metadata(cfg, output_names: Sequence[str]) -> Dict[str, Any]:
    """How the track graph's outputs become boxes, from the model config (no tracker import)."""
    stride = getattr(cfg, "stride", None)
    score_size = getattr(cfg, "score_size", None)
    grid = ("cell (row, col) of the S x S map is centred stride * (col - S//2), "
            "stride * (row - S//2) search-crop pixels from the crop centre (x right, y down)")
    if hasattr(cfg, "anchor_ratios") and hasattr(cfg, "anchor_scales"):
        from .anchors import anchor_shapes
        shapes = anchor_shapes(cfg.stride, cfg.anchor_ratios, cfg.anchor_scales)
        return {
            "type": "siamrpn_anchors",
            "stride": stride, "score_size": score_size, "anchor_num": int(len(shapes)),
            "anchor_ratios": list(cfg.anchor_ratios), "anchor_scales": list(cfg.anchor_scales),
            "anchor_shapes_wh": [[float(w), float(h)] for w, h in shapes],
            "anchor_centres": grid,
            "flat_index": "a*S*S + row*S + col (tensor.view(1, k, A*S*S))",
            "boxes": "cx = dx*aw + acx; cy = dy*ah + acy; w = exp(dw)*aw; h = exp(dh)*ah "
                     "(search-crop pixels relative to the crop centre; divide by the crop scale "
                     "instance_size / s_x for frame pixels)",
            "score": "softmax(cls viewed as (1, 2, A*S*S), dim 1)[:, 1]",
            "outputs": list(output_names),
        }
    return {
        "type": "anchor_free_points",
        "stride": stride, "score_size": score_size,
        "points": grid.replace("cell", "point").replace("S//2", "(S-1)/2"),
        "boxes": "an (l, t, r, b) map gives distances in search-crop pixels from each point to the "
                 "box edges: box = (px - l, py - t, px + r, py + b)",
        "outputs": list(output_names),
    }


def export_metadata(net, graph: str, inputs, outputs, tracker_config: Optional[dict] = None
                    ) -> Dict[str, Any]:
    """The ``fgsgt_ros.*`` metadata of one exported graph (values JSON-serialisable)."""
    from fgsgt_ros import __version__

    cfg = net.cfg
    out_names = [o["name"] for o in outputs]
    meta: Dict[str, Any] = {
        "metadata_version": METADATA_VERSION,
        "graph": graph,
        "package_version": __version__,
        "family": _family_name(cfg),
        "preset": getattr(cfg, "name", ""),
        "model_config": cfg.to_dict() if hasattr(cfg, "to_dict") else {},
        "inputs": inputs,
        "outputs": outputs,
        "preprocessing": {
            "scaling": "float32 pixel values 0..255 of the 8-bit frame, no mean/std "
                       "normalisation (the network takes raw values)",
            "channels": "3; a grey (thermal after AGC) crop is copied to all 3 channels, a "
                        "colour frame is in OpenCV BGR order",
            "exemplar_size": getattr(cfg, "exemplar_size", None),
            "instance_size": getattr(cfg, "instance_size", None),
            "crop": "square crops centred on the target, bilinear, out-of-frame parts filled with "
                    "the frame's per-channel mean; exemplar side s_z = sqrt((w + c(w+h)) "
                    "(h + c(w+h))) frame pixels with c = tracker_config.context_amount, scaled to "
                    "exemplar_size; search side s_x = s_z * instance_size / exemplar_size, "
                    "scaled to instance_size",
        },
        "decoding": decoding_metadata(cfg, [n for n in out_names]),
        "tracker_config": dict(tracker_config or {}),
        "usage": "run the template graph once per target on the exemplar crop, keep its outputs "
                 "and feed them with each frame's search crop to the track graph",
    }
    hook = getattr(net, "export_metadata", None)  # a family may add or override entries
    if callable(hook):
        meta.update(hook())
    return meta


def _write_metadata(path: Path, meta: Dict[str, Any]) -> None:
    import onnx

    model = onnx.load(os.fspath(path))
    props = {METADATA_PREFIX + k: (v if isinstance(v, str) else json.dumps(v))
             for k, v in meta.items()}
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, props)
    model.doc_string = (f"fgsgt_ros {meta['graph']} graph of {meta['preset']} "
                        f"({meta['family'] or 'unknown family'}); metadata_props "
                        f"'{METADATA_PREFIX}*' describe inputs, preprocessing and decoding")
    onnx.save(model, os.fspath(path))


def read_onnx_metadata(path) -> Dict[str, Any]:
    """The ``fgsgt_ros.*`` metadata of an exported graph, JSON values decoded ({} if none)."""
    import onnx

    model = onnx.load(os.fspath(path), load_external_data=False)
    out: Dict[str, Any] = {}
    for prop in model.metadata_props:
        if prop.key.startswith(METADATA_PREFIX):
            key = prop.key[len(METADATA_PREFIX):]
            try:
                out[key] = json.loads(prop.value)
            except ValueError:
                out[key] = prop.value
    return out


def _export(module, args, path, input_names, output_names, opset) -> None:
    kwargs = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the TorchScript exporter (torch >= 2.5 has both)
    torch.onnx.export(module, args, os.fspath(path), input_names=list(input_names),
                      output_names=list(output_names), opset_version=opset, **kwargs)


def export_onnx(net, out, opset: int = OPSET, tracker_config: Optional[dict] = None
                ) -> Tuple[Path, Path]:
    """Export ``net`` (moved to CPU, eval mode) and return (track path, template path).

    ``tracker_config``: tracking settings stored in the metadata (e.g. ``TrackerConfig`` fields
    with a checkpoint's calibrated LOST thresholds)."""
    import onnx  # noqa: F401  (fail early with ImportError when the package is missing)

    cfg = net.cfg
    was_training = net.training
    device = next(net.parameters()).device
    net = net.to("cpu").eval()
    track_path, template_path = onnx_paths(out)
    track_path.parent.mkdir(parents=True, exist_ok=True)
    z = torch.rand(1, 3, cfg.exemplar_size, cfg.exemplar_size) * 255
    x = torch.rand(1, 3, cfg.instance_size, cfg.instance_size) * 255
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # Tracer notes about shape checks becoming constants: expected for a fixed-size export.
            warnings.simplefilter("ignore")
            kernels = tuple(net.template_kernels(z))
            outs = tuple(net.track_with_kernels(x, *kernels))
            k_names = tuple(f"k{i}" for i in range(len(kernels)))
            o_names = _output_names(cfg, len(outs))
            # The wrappers must be in eval mode too: export restores the wrapper's mode afterwards,
            # which would otherwise switch the whole net (its BatchNorms) back to training.
            _export(_TemplateGraph(net).eval(), (z,), template_path, ["z"], k_names, opset)
            _export(_TrackGraph(net).eval(), (x, *kernels), track_path, ["x", *k_names],
                    o_names, opset)
    finally:
        net.to(device).train(was_training)
    z_spec = _tensor_spec("z", z, "exemplar crop (template), see preprocessing")
    x_spec = _tensor_spec("x", x, "search crop, see preprocessing")
    k_specs = [_tensor_spec(n, k, "template kernel: output of the template graph")
               for n, k in zip(k_names, kernels)]
    o_specs = [_tensor_spec(n, o, _OUTPUT_MEANING.get(n, "")) for n, o in zip(o_names, outs)]
    _write_metadata(template_path, export_metadata(net, "template", [z_spec], k_specs,
                                                   tracker_config))
    _write_metadata(track_path, export_metadata(net, "track", [x_spec, *k_specs], o_specs,
                                                tracker_config))
    return track_path, template_path
