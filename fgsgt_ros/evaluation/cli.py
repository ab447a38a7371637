"""``fgsgt eval DATASET --trackers fgsgt,csrt,kcf,mosse --out DIR`` (one-pass or supervised VOT)."""

from __future__ import annotations

import argparse
from pathlib import Path

from fgsgt_ros.cli import UserError
from fgsgt_ros.data.datasets import FORMATS, DatasetError, read_dataset
from fgsgt_ros.tracker.thermal import POLARITIES, ThermalConfig

_DEFAULT_TRACKERS = "fgsgt,csrt,kcf,mosse"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval", help="evaluate trackers on a dataset (OPE success/precision, or VOT protocol)",
        description="Run trackers over every sequence of DATASET, write results/<tracker>/<seq>.txt, "
                    "summary.json and PNG plots under --out, and print the tables. Re-running "
                    "with the same --out resumes (finished sequences are not re-run).")
    p.add_argument("dataset", type=Path, help="dataset folder")
    p.add_argument("--trackers", default=_DEFAULT_TRACKERS,
                   help="comma-separated: 'fgsgt' (shipped model), csrt, kcf, mosse, a preset with "
                        "its checkpoint 'fgsgt_tiny:path.pt', a checkpoint path; 'NAME=SPEC' names "
                        f"one (default: {_DEFAULT_TRACKERS})")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="dataset layout (default: detected from the folder)")
    p.add_argument("--split", default=None, help="GOT-10k split: train, val or test")
    p.add_argument("--sequences", default=None, help="comma-separated subset of sequence names")
    p.add_argument("--protocol", choices=("ope", "vot"), default="ope",
                   help="one-pass evaluation (default) or the supervised VOT protocol")
    p.add_argument("--device", default="cpu", help="torch device for network trackers")
    p.add_argument("--polarity", choices=POLARITIES, default=ThermalConfig().polarity,
                   help="thermal display polarity fed to the trackers")
    p.add_argument("--no-resume", action="store_true", help="re-run sequences that have results")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    specs = [s.strip() for s in args.trackers.split(",") if s.strip()]
    if not specs:
        raise UserError("--trackers is empty")
    names = [s.strip() for s in args.sequences.split(",")] if args.sequences else None
    try:
        sequences = read_dataset(args.dataset, args.format, split=args.split, names=names)
    except DatasetError as exc:
        raise UserError(str(exc)) from exc

    # Build every tracker once up front so a bad spec fails before any work is done.
    from fgsgt_ros.evaluation.runner import tracker_name
    from fgsgt_ros.tracker import TrackerBuildError, build_tracker
    items = []
    for spec in specs:
        real = spec.split("=", 1)[1] if "=" in spec else spec
        try:
            items.append((tracker_name(spec), build_tracker(real, device=args.device)))
        except (TrackerBuildError, ValueError) as exc:
            raise UserError(f"tracker {spec!r}: {exc}") from exc

    thermal = ThermalConfig(polarity=args.polarity)
    dataset_name = args.dataset.resolve().name
    try:
        if args.protocol == "ope":
            from fgsgt_ros.evaluation.runner import format_tables, run_ope
            summary = run_ope(items, sequences, args.out, thermal_cfg=thermal,
                              resume=not args.no_resume, plots=not args.no_plots,
                              device=args.device, dataset_name=dataset_name)
            print(format_tables(summary))
            print(f"\nresults: {args.out / 'results'}  summary: {args.out / 'summary.json'}"
                  + ("" if args.no_plots else f"  plots: {args.out}/*_plot.png"))
        else:
            from fgsgt_ros.evaluation.vot import format_vot_table, run_vot
            summary = run_vot(items, sequences, args.out, thermal_cfg=thermal,
                              resume=not args.no_resume, dataset_name=dataset_name)
            print(format_vot_table(summary))
            print(f"\nresults: {args.out / 'vot'}  summary: {args.out / 'vot_summary.json'}")
    except (ValueError, OSError) as exc:
        raise UserError(str(exc)) from exc
    return 0
