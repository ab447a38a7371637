"""``fgsgt eval DATASET --trackers fgsgt,csrt,kcf,mosse --out DIR`` (one-pass or supervised VOT) and
``fgsgt calibrate [CHECKPOINT] [--write]`` (per-model LOST/TRACKING thresholds, see
``fgsgt_ros.evaluation.calibration``)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from fgsgt_ros.cli import UserError
from fgsgt_ros.data.datasets import FORMAT_CHOICES, DatasetError, read_dataset
from fgsgt_ros.model.runtime import DEFAULT_NUM_THREADS, DEFAULT_RUNTIME, RUNTIMES
from fgsgt_ros.tracker.thermal import POLARITIES, ThermalConfig

_DEFAULT_TRACKERS = "fgsgt,csrt,nanotrack,kcf,mosse"
#: ``--out`` when not given: out/eval/<dataset folder name> under the current directory
DEFAULT_OUT_ROOT = Path("out") / "eval"


def default_out(dataset: Path) -> Path:
    return DEFAULT_OUT_ROOT / (Path(dataset).resolve().name or "dataset")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval", help="evaluate trackers on a dataset (OPE success/precision, or VOT protocol)",
        description="Run trackers over every sequence of DATASET, write results/<tracker>/<seq>.txt, "
                    "summary.json and PNG plots under --out, and print the tables. Re-running "
                    "with the same --out resumes (finished sequences are not re-run).")
    p.add_argument("dataset", type=Path, help="dataset folder")
    from fgsgt_ros.tracker import shipped_presets
    p.add_argument("--trackers", default=_DEFAULT_TRACKERS,
                   help="comma-separated: 'fgsgt' (shipped model), OpenCV's csrt, kcf, mosse, "
                        "nanotrack, a shipped "
                        f"model by name ({', '.join(shipped_presets()) or 'none'}), any preset with "
                        "its checkpoint 'fgsgt_tiny:path.pt', a checkpoint path; 'NAME=SPEC' names "
                        f"one (default: {_DEFAULT_TRACKERS})")
    p.add_argument("--out", type=Path, default=None,
                   help=f"output folder (default: {DEFAULT_OUT_ROOT}/<dataset folder name>)")
    p.add_argument("--format", choices=FORMAT_CHOICES, default="auto", metavar="FORMAT",
                   help="dataset layout, the same names as `fgsgt train --format`: "
                        + ", ".join(FORMAT_CHOICES) + " (default: auto = detected)")
    p.add_argument("--split", default=None, help="GOT-10k split: train, val or test")
    p.add_argument("--sequences", default=None, help="comma-separated subset of sequence names")
    p.add_argument("--protocol", choices=("ope", "vot"), default="ope",
                   help="one-pass evaluation (default) or the supervised VOT protocol")
    p.add_argument("--device", default="cpu", help="torch device for network trackers")
    p.add_argument("--runtime", choices=RUNTIMES, default=DEFAULT_RUNTIME,
                   help="inference runtime of network trackers, as the node's 'runtime': auto "
                        "(onnx on a CPU where onnxruntime imports, else torch), torch (PyTorch "
                        "eager) or onnx (exported once, run by onnxruntime; about 2x faster on a "
                        "small CPU) (default: %(default)s)")
    p.add_argument("--threads", type=int, default=DEFAULT_NUM_THREADS,
                   help="CPU threads for the network, as the node's num_threads "
                        "(0 = the library default) (default: %(default)s)")
    p.add_argument("--polarity", choices=POLARITIES, default=ThermalConfig().polarity,
                   help="thermal display polarity fed to the trackers")
    p.add_argument("--set", dest="tracker_set", action="append", default=[],
                   metavar="[NAME:]FIELD=VALUE",
                   help="a tracker setting (a TrackerConfig field, as the node's tracker.* "
                        "parameters) for every tracker, or with NAME: for that one only, over "
                        "its checkpoint's own; repeatable. Example: --trackers "
                        "fgsgt,grid=fgsgt --set grid:lost_scan_proposals=false")
    p.add_argument("--no-resume", action="store_true", help="re-run sequences that have results")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.set_defaults(func=run)
    _register_calibrate(subparsers)


def run(args: argparse.Namespace) -> int:
    specs = [s.strip() for s in args.trackers.split(",") if s.strip()]
    if not specs:
        raise UserError("--trackers is empty")
    if args.threads < 0:
        raise UserError(f"--threads must be >= 0, got {args.threads}")
    if args.out is None:
        args.out = default_out(args.dataset)
    thermal = ThermalConfig(polarity=args.polarity)
    # Build every session first so a bad spec fails before any work (reading a large dataset).
    from fgsgt_ros.evaluation.runner import tracker_name
    from fgsgt_ros.tracker.session import ModelLoadError, TrackingSession
    items = []
    for spec in specs:
        real = spec.split("=", 1)[1] if "=" in spec else spec
        try:
            items.append((tracker_name(spec), TrackingSession.from_spec(
                real, device=args.device, device_fallback=False, runtime=args.runtime,
                num_threads=args.threads, thermal_cfg=thermal)))
        except (ModelLoadError, ValueError) as exc:
            message = str(exc)
            # the message names the spec already ("unknown tracker 'x': ..."): say it once
            raise UserError(message if repr(real) in message or real in message
                            else f"tracker {spec!r}: {message}") from None

    _apply_settings(items, args.tracker_set, args.out, resume=not args.no_resume)

    names = [s.strip() for s in args.sequences.split(",")] if args.sequences else None
    try:
        sequences = read_dataset(args.dataset, args.format, split=args.split, names=names)
    except DatasetError as exc:
        raise UserError(str(exc)) from exc

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


#: ``<out>/SETTINGS_DIR/<tracker>.json``: the settings a tracker's results were made with
SETTINGS_DIR = "tracker_settings"


def _parse_settings(texts, names):
    """``--set`` items -> {tracker name: {field: text}} (a setting without NAME: for every one)."""
    per_tracker = {name: {} for name in names}
    for text in texts:
        target, eq, value = text.partition("=")
        if not eq or not target.strip():
            raise UserError(f"--set {text!r}: expected [NAME:]FIELD=VALUE")
        name, colon, field_name = target.rpartition(":")
        if colon and name not in per_tracker:
            raise UserError(f"--set {text!r}: no tracker named {name!r} in --trackers "
                            f"({', '.join(names)})")
        for tracker in ([name] if colon else names):
            per_tracker[tracker][field_name.strip()] = value
    return per_tracker


def _apply_settings(items, texts, out: Path, resume: bool) -> None:
    """Set ``--set`` values on the built sessions and record every tracker's settings next to
    its results; refuse to resume results that were made with other settings."""
    import json

    per_tracker = _parse_settings(texts, [name for name, _ in items])
    for name, session in items:
        if per_tracker[name]:
            try:
                session.retune(session.tracker_cfg.with_text_overrides(per_tracker[name]))
            except ValueError as exc:
                raise UserError(f"--set for {name}: {exc}") from None
        settings = session.tracker_cfg.to_dict()
        path = out / SETTINGS_DIR / f"{name}.json"
        had_results = any((out / "results" / name).glob("*.txt")) or (out / "vot" / name).exists()
        if resume and had_results:
            before = json.loads(path.read_text()) if path.exists() else None
            if before != settings and (before is not None or per_tracker[name]):
                changed = sorted(k for k in settings if (before or {}).get(k) != settings[k])
                raise UserError(
                    f"{out} holds results of {name!r} made with other tracker settings "
                    f"({', '.join(changed)}); name this run's tracker differently (NAME=SPEC), "
                    "use another --out, or --no-resume to redo them")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings, indent=1, sort_keys=True) + "\n")


def _register_calibrate(subparsers) -> None:
    from fgsgt_ros.evaluation.calibration import CalibrationConfig

    d = CalibrationConfig()
    p = subparsers.add_parser(
        "calibrate", help="measure a model's LOST/TRACKING score thresholds (and store them)",
        description="Run the model's tracker over held-out sequences with absent stretches, label "
                    "each frame on target / off target, choose tracker.lost_threshold (best "
                    "balanced accuracy) and tracker.recover_threshold (mostly on target above it), "
                    "print them with the score distributions, and with --write store them in the "
                    "checkpoint (build_tracker and the ROS node then use them as defaults). "
                    "Data: generated sequences (default) or --dataset; never the real dev clips, "
                    "and never clips the model was trained or fine-tuned on (it scores them higher "
                    "and tighter than new footage, so the thresholds come out too high).")
    p.add_argument("checkpoint", nargs="?", default="fgsgt",
                   help="'fgsgt' (shipped model, default), a checkpoint path or PRESET:PATH")
    p.add_argument("--dataset", type=Path, default=None,
                   help="labelled dataset folder with absent frames instead of generated data; "
                   "not one the model was trained on")
    p.add_argument("--preset", default=d.synth_preset, help="synth preset of the generated data "
                   f"(default: {d.synth_preset})")
    p.add_argument("--sequences", type=int, default=d.sequences,
                   help=f"generated sequences (default: {d.sequences})")
    p.add_argument("--frames", type=int, default=d.frames,
                   help=f"frames per generated sequence (default: {d.frames})")
    p.add_argument("--seed", type=int, default=d.seed,
                   help=f"seed of the generated data, not one used for training (default: {d.seed})")
    p.add_argument("--leave-prob", type=float, default=d.leave_prob,
                   help=f"share of generated targets that leave and return (default: {d.leave_prob})")
    p.add_argument("--on-iou", type=float, default=d.on_iou,
                   help=f"on target: present and IoU above this (default: {d.on_iou})")
    p.add_argument("--off-iou", type=float, default=d.off_iou,
                   help=f"off target: absent or IoU at most this (default: {d.off_iou})")
    p.add_argument("--recover-precision", type=float, default=d.recover_precision,
                   help="share of on-target frames wanted above recover_threshold "
                        f"(default: {d.recover_precision})")
    p.add_argument("--no-check", action="store_true",
                   help="skip the second pass that checks the states with the chosen thresholds")
    p.add_argument("--plot", type=Path, default=None, help="write the score histograms as PNG")
    p.add_argument("--write", action="store_true",
                   help="store the thresholds in the checkpoint's extra['tracker_config']")
    p.add_argument("--device", default="cpu", help="torch device")
    p.set_defaults(func=run_calibrate)


def run_calibrate(args: argparse.Namespace) -> int:
    from fgsgt_ros.evaluation import calibration as C
    from fgsgt_ros.tracker import TrackerBuildError, load_model
    from fgsgt_ros.tracker.families import make_tracker as make_family_tracker

    try:
        cfg = C.CalibrationConfig(
            synth_preset=args.preset, sequences=args.sequences, frames=args.frames, seed=args.seed,
            leave_prob=args.leave_prob, on_iou=args.on_iou, off_iou=args.off_iou,
            recover_precision=args.recover_precision)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    from fgsgt_ros.tracker.peers import peer_name

    if peer_name(args.checkpoint):
        raise UserError("calibrate is for network checkpoints (OpenCV peers keep OpenCV's own "
                        "success flag)")
    try:
        # PyTorch: every family's tracker takes it; the scores match onnxruntime's to float precision
        loaded = load_model(args.checkpoint, device=args.device, runtime="torch")
    except TrackerBuildError as exc:
        raise UserError(str(exc)) from exc
    base = loaded.tracker_config

    def make_tracker(tracker_cfg):
        # the model family's tracker class (SiameseTracker, MMNet's SiamFCTracker, ...)
        return make_family_tracker(loaded.model, loaded.model_cfg, tracker_cfg, device=args.device)

    try:
        if args.dataset is not None:
            if "tir_real_dev" in str(args.dataset.resolve()):
                raise UserError("the real dev clip is for evaluation only: calibrate on other data")
            from fgsgt_ros.data.datasets import DatasetError, read_dataset
            try:
                sequences = read_dataset(args.dataset)
            except DatasetError as exc:
                raise UserError(str(exc)) from exc
            source = f"dataset {args.dataset}"
        else:
            from fgsgt_ros.data.synth import get_preset
            get_preset(cfg.synth_preset)  # clear error for an unknown preset before any work
            sequences = C.synthetic_sequences(cfg, progress=True)
            source = (f"generated: preset {cfg.synth_preset}, p_leave {cfg.leave_prob:g}, "
                      f"{cfg.sequences} x {cfg.frames} frames, seed {cfg.seed}")
        result = C.calibrate(make_tracker, sequences, cfg, base=base, check=not args.no_check,
                             progress=True)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    print(f"model: {loaded.path}  data: {source}")
    print(C.format_report(result, cfg))
    if args.plot is not None:
        print(f"histogram: {C.write_histogram(result, cfg, args.plot, title=loaded.name)}")
    if args.write:
        command = "fgsgt " + " ".join(shlex.quote(a) for a in sys.argv[1:]) \
            if sys.argv and sys.argv[0].endswith(("fgsgt", "__main__.py")) else ""
        try:
            C.write_to_checkpoint(loaded.path, result, cfg, source=source, command=command)
        except (OSError, RuntimeError, ValueError) as exc:
            raise UserError(f"cannot write {loaded.path}: {exc}") from exc
        print(f"wrote tracker_config lost_threshold={result.lost_threshold:.3f} "
              f"recover_threshold={result.recover_threshold:.3f} into {loaded.path}")
    else:
        print("(not written: add --write to store these in the checkpoint)")
    return 0
