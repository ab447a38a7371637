"""``fgsgt`` sub-commands of the model area: ``model-info`` and ``export-onnx``.

Both take a model the way ``fgsgt eval --trackers`` does: ``fgsgt`` (the shipped model), a shipped
preset name (``fgsgt_tiny``), ``PRESET:PATH`` or a checkpoint path; ``model-info`` also takes a
bare preset name without shipped weights (architecture only).
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

#: export-onnx's --out when not given: out/onnx/<preset>.onnx under the current directory
DEFAULT_EXPORT_DIR = Path("out") / "onnx"


def _load(spec: str, allow_untrained: bool):
    from fgsgt_ros.cli import UserError
    from fgsgt_ros.tracker import DEFAULT_TRACKER, TrackerBuildError, load_model
    from fgsgt_ros.tracker.peers import PEERS

    if spec.strip().lower() in PEERS:
        raise UserError(f"{spec!r} is an OpenCV tracker, not a network")
    if allow_untrained:  # any preset is valid here, with or without shipped weights
        from fgsgt_ros.model.registry import PRESETS
        name = spec.strip()
        if name != DEFAULT_TRACKER and name not in PRESETS and ":" not in name \
                and not Path(name).expanduser().exists() and not name.endswith((".pt", ".onnx")):
            raise UserError(f"unknown model {name!r}; valid: {DEFAULT_TRACKER}, "
                            f"{', '.join(PRESETS)}, PRESET:PATH or a checkpoint path")
    try:
        # the PyTorch module itself: model-info counts its parameters, export-onnx traces it
        return load_model(spec, allow_untrained=allow_untrained, runtime="torch")
    except TrackerBuildError as exc:
        raise UserError(str(exc)) from None


def _training_summary(extra) -> str:
    trained = extra.get("trained")
    if isinstance(trained, str):  # stored as the repr of a dict of plain values
        try:
            trained = ast.literal_eval(trained)
        except (ValueError, SyntaxError):
            return trained[:120]
    if not isinstance(trained, dict):
        return ""
    parts = []
    if "epoch" in trained:
        parts.append(f"{trained['epoch']} epochs")
    tc = trained.get("train_config")
    if isinstance(tc, dict) and tc.get("name"):
        parts.append(f"schedule {tc['name']}")
    if "global_step" in trained:
        parts.append(f"{trained['global_step']} steps")
    return ", ".join(parts)


def _cmd_info(args) -> int:
    from fgsgt_ros.model.profile import count_gflops, count_params
    from fgsgt_ros.model.registry import family_of

    loaded = _load(args.model, allow_untrained=True)
    cfg, net = loaded.model_cfg, loaded.model
    print(f"preset        {cfg.name} (family {family_of(cfg).name})")
    if loaded.path is not None:
        size = loaded.path.stat().st_size / 1e6
        print(f"checkpoint    {loaded.path} ({size:.1f} MB)")
        summary = _training_summary(loaded.extra)
        if summary:
            print(f"trained       {summary}")
        tc = (loaded.extra or {}).get("tracker_config")
        if isinstance(tc, dict) and tc:
            print("tracker cfg   " + ", ".join(f"{k} {v}" for k, v in sorted(tc.items()))
                  + " (checkpoint's own, e.g. from `fgsgt calibrate --write`)")
        else:
            from fgsgt_ros.tracker.config import TrackerConfig
            d = TrackerConfig()
            print(f"tracker cfg   none stored: the generic defaults lost_threshold "
                  f"{d.lost_threshold:g}, recover_threshold {d.recover_threshold:g} apply (not "
                  f"measured for this model); measure them with `fgsgt calibrate --write`")
    else:
        print("checkpoint    none (no shipped weights for this preset: architecture only)")
    print(f"inputs        exemplar {cfg.exemplar_size}, instance {cfg.instance_size}")
    if hasattr(cfg, "anchor_num"):
        print(f"outputs       score {cfg.score_size}x{cfg.score_size} x {cfg.anchor_num} anchors")
    elif hasattr(cfg, "score_size"):
        print(f"outputs       score {cfg.score_size}x{cfg.score_size}")
    if hasattr(cfg, "fgpcb") and hasattr(cfg, "rrspn"):
        print(f"modules       FGPCB {cfg.fgpcb.enabled} (fusion {cfg.fgpcb.fusion}), "
              f"RRSPN {cfg.rrspn.enabled} (N={cfg.rrspn.num_srrb}, guidance {cfg.rrspn.guidance})")
    if hasattr(cfg, "loss") and hasattr(cfg.loss, "iou"):
        print(f"loss          IoU {cfg.loss.iou}, saliency {cfg.loss.saliency}")
    online = getattr(cfg, "online", None)
    if online is not None:
        print("online branch " + (f"on: learned per target while tracking ({online.layers} "
                                   f"layers, {online.hidden} hidden, offline weight "
                                   f"{online.offline_weight:g})" if online.enabled else "off"))
    print(f"parameters    {count_params(net) / 1e6:.2f} M")
    print(f"GFLOPs/frame  {count_gflops(net):.2f} (search branch, template cached)")
    return 0


def _cmd_export(args) -> int:
    from fgsgt_ros.cli import UserError
    from fgsgt_ros.model.export import export_onnx, read_onnx_metadata

    spec = args.model or args.checkpoint
    if not spec:
        raise UserError("name the model to export: fgsgt, a shipped preset, PRESET:PATH or a "
                        "checkpoint path")
    loaded = _load(spec, allow_untrained=False)
    out = args.out or DEFAULT_EXPORT_DIR / f"{loaded.model_cfg.name}.onnx"
    tracker_config = dict(vars(loaded.tracker_config))
    try:
        track, template = export_onnx(loaded.model, out, opset=args.opset,
                                      tracker_config=tracker_config)
    except ImportError as exc:
        raise UserError(f"ONNX export needs the onnx package ({exc})") from None
    meta = read_onnx_metadata(track)
    print(f"wrote {track} (track graph) and {template} (template graph) of "
          f"{loaded.model_cfg.name} from {loaded.path}")
    ins = ", ".join(f"{i['name']} {i['shape']}" for i in meta["inputs"])
    outs = ", ".join(f"{o['name']} {o['shape']}" for o in meta["outputs"])
    print(f"track graph   inputs {ins}; outputs {outs}")
    print(f"input         {meta['preprocessing']['scaling']}")
    print(f"decoding      {meta['decoding']['type']} (details in the graphs' metadata_props "
          f"'fgsgt_ros.*', read with fgsgt_ros.model.export.read_onnx_metadata)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from fgsgt_ros.model.export import OPSET

    model_help = ("fgsgt (the shipped model), a preset name (fgsgt_tiny, ...), PRESET:PATH or a "
                  "checkpoint path")
    p = subparsers.add_parser(
        "model-info", help="architecture, parameters, GFLOPs and training of a model",
        description="Show a model's architecture, parameters and GFLOPs; for a checkpoint also "
                    "its file, training summary and stored tracker settings.")
    p.add_argument("model", nargs="?", default="fgsgt", help=model_help + " (default: fgsgt)")
    p.set_defaults(func=_cmd_info)

    p = subparsers.add_parser(
        "export-onnx", help="export a model's inference path to ONNX (with metadata)",
        description="Write the track graph (OUT) and the template graph (<stem>.template.onnx); "
                    "both carry metadata_props describing inputs, scaling, decoding and the "
                    "tracker settings, for TensorRT / C++ use without this package.")
    p.add_argument("model", nargs="?", default=None,
                   help=model_help.replace("a preset name", "a shipped preset name"))
    p.add_argument("--checkpoint", default=None, help="the model (same as the positional MODEL)")
    p.add_argument("--out", type=Path, default=None,
                   help=f"output .onnx path (default: {DEFAULT_EXPORT_DIR}/<preset>.onnx)")
    p.add_argument("--opset", type=int, default=OPSET, help="ONNX opset (default %(default)s)")
    p.set_defaults(func=_cmd_export)
