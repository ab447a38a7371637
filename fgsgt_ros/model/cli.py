"""``fgsgt`` sub-commands of the model area: ``model-info`` and ``export-onnx``."""

from __future__ import annotations

import argparse


def _cmd_info(args) -> int:
    from fgsgt_ros.cli import UserError
    from .registry import get_preset
    from .registry import build_model
    from .profile import count_gflops, count_params

    try:
        cfg = get_preset(args.preset)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    net = build_model(cfg).eval()
    print(f"preset        {cfg.name}")
    print(f"inputs        exemplar {cfg.exemplar_size}, instance {cfg.instance_size}")
    print(f"outputs       score {cfg.score_size}x{cfg.score_size} x {cfg.anchor_num} anchors")
    print(f"modules       FGPCB {cfg.fgpcb.enabled} (fusion {cfg.fgpcb.fusion}), "
          f"RRSPN {cfg.rrspn.enabled} (N={cfg.rrspn.num_srrb}, guidance {cfg.rrspn.guidance})")
    print(f"loss          IoU {cfg.loss.iou}, saliency {cfg.loss.saliency}")
    print(f"parameters    {count_params(net) / 1e6:.2f} M")
    print(f"GFLOPs/frame  {count_gflops(net):.2f} (search branch, template cached)")
    return 0


def _cmd_export(args) -> int:
    from fgsgt_ros.cli import UserError
    from .checkpoint import CheckpointError, load_checkpoint
    from .export import export_onnx

    try:
        net, cfg, _ = load_checkpoint(args.checkpoint)
    except CheckpointError as exc:
        raise UserError(str(exc)) from None
    try:
        track, template = export_onnx(net, args.out, opset=args.opset)
    except ImportError as exc:
        raise UserError(f"ONNX export needs the onnx package ({exc})") from None
    print(f"wrote {track} and {template} ({cfg.name})")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from .registry import PRESETS
    from .export import OPSET

    p = subparsers.add_parser("model-info", help="parameters and GFLOPs of a model preset")
    p.add_argument("preset", help=f"one of: {', '.join(PRESETS)}")
    p.set_defaults(func=_cmd_info)

    p = subparsers.add_parser("export-onnx", help="export a checkpoint's inference path to ONNX")
    p.add_argument("--checkpoint", required=True, help="checkpoint file (.pt)")
    p.add_argument("--out", required=True,
                   help="output .onnx path (the template graph goes to <stem>.template.onnx)")
    p.add_argument("--opset", type=int, default=OPSET, help="ONNX opset (default %(default)s)")
    p.set_defaults(func=_cmd_export)
