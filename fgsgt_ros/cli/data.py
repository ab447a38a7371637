"""``fgsgt generate``: write procedurally generated thermal sequences (plain folder layout)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    from fgsgt_ros.data.synth import PRESETS

    p = subparsers.add_parser(
        "generate", help="generate synthetic thermal sequences with ground truth",
        description="Write N procedurally generated thermal sequences (PNG frames: 16-bit raw counts, "
                    "or 8-bit display video for the display/small/people/realistic presets; "
                    "groundtruth_rect.txt; category.txt) under --out. Deterministic for a seed.")
    p.add_argument("--out", required=True, type=Path, help="output folder (one sub-folder per sequence)")
    p.add_argument("--sequences", type=int, required=True, help="number of sequences")
    p.add_argument("--frames", type=int, required=True, help="frames per sequence (>= 2)")
    p.add_argument("--seed", type=int, required=True, help="random seed")
    p.add_argument("--preset", default="mixed", choices=sorted(PRESETS),
                   help="scene family (see fgsgt_ros/data/synth/config.py and docs/MODEL_CARD.md): %(choices)s "
                        "(default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fgsgt_ros.cli import UserError
    from fgsgt_ros.data.synth import generate_dataset, get_preset

    if args.sequences < 1:
        raise UserError(f"--sequences must be >= 1, got {args.sequences}")
    if args.frames < 2:
        raise UserError(f"--frames must be >= 2, got {args.frames}")
    if args.out.exists() and not args.out.is_dir():
        raise UserError(f"--out {args.out} exists and is not a folder")
    paths = generate_dataset(args.out, get_preset(args.preset), args.sequences, args.frames, args.seed,
                             progress=not args.quiet)
    print(f"wrote {len(paths)} sequences to {args.out}")
    return 0
