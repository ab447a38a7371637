"""Run trackers over sequences (one-pass evaluation), store results, summarise, plot.

Python API (what ``fgsgt eval`` and the model card use)::

    from fgsgt_ros.data.datasets import read_dataset
    from fgsgt_ros.evaluation import run_ope
    summary = run_ope(["fgsgt", "csrt"], read_dataset("shared/data/tir_real_dev"), "out/eval")
    summary["trackers"]["csrt"]["overall"]["success_auc"]

``run_ope(trackers, sequences, out_dir, ...)``:
- ``trackers``: a list whose items are a ``build_tracker`` spec string (``"fgsgt"``, ``"csrt"``,
  ``"fgsgt_tiny:path.pt"``; ``"NAME=SPEC"`` names it), or a ``(name, tracker)`` pair with any object
  that has ``init(image, box)`` and ``update(image) -> TrackResult``-like (``.box``).
- ``sequences``: ``fgsgt_ros.data.sequence.Sequence`` objects (any reader of ``fgsgt_ros.data.datasets``).
- Frames go through a fresh ``ThermalPreprocessor(thermal_cfg)`` per sequence and tracker (16-bit
  raw frames get AGC; 8-bit frames pass through), so every tracker sees identical images.
- The tracker is initialised on the first frame whose ground truth is present (frame 1 in the
  benchmarks); earlier frames get NaN rows. It is never re-initialised.
- Writes ``<out>/results/<tracker>/<sequence>.txt`` (one ``x,y,w,h`` line per frame, 0-based
  continuous pixels, 4 decimals) and ``<sequence>_time.txt`` (seconds per frame), then
  ``<out>/summary.json`` and the PNG plots. A result file with one line per frame is reused
  (resume); files are written atomically, so an interrupted run resumes cleanly. With the same
  inputs the outputs are identical (no randomness in the trackers on CPU).
- Returns the summary dict: ``{"dataset", "conventions", "sequences", "skipped", "trackers":
  {name: {"overall": {...}, "sequences": {seq: {...}}, "attributes": {tag: {...}}}}}`` with the
  scores ``success_auc``, ``precision_20``, ``norm_precision_20`` (+ ``norm_precision_auc``,
  ``fps``); see ``fgsgt_ros.evaluation.metrics`` for the definitions.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence as Seq, Tuple, Union

import numpy as np

from fgsgt_ros.data.sequence import Sequence, read_box_file
from fgsgt_ros.evaluation.metrics import (CURVE_KEYS, SCORE_KEYS, average_metrics,
                                          sequence_metrics, valid_mask)
from fgsgt_ros.tracker.thermal import ThermalConfig, ThermalPreprocessor

TrackerItem = Union[str, Tuple[str, object]]

# Tags that mark sequences without usable ground truth (results are written, metrics are not).
NO_METRIC_TAGS = ("gt_first_frame_only",)

CONVENTIONS = {
    "boxes": "x,y,w,h continuous 0-based pixels; box covers [x,x+w)x[y,y+h); IoU without +1",
    "success": "mean over 21 thresholds 0:0.05:1 of the fraction of frames with IoU > t",
    "precision": "fraction of frames with centre error <= 20 px",
    "norm_precision": "fraction of frames with gt-size-normalised centre error <= 0.20 "
                      "(norm_precision_auc: mean over thresholds 0:0.01:0.5)",
    "absent_frames": "frames whose ground truth is NaN/empty are excluded from every metric",
    "init": "tracker initialised on the first frame with ground truth, which counts as a hit",
    "aggregation": "per sequence first, then mean over sequences",
}


def tracker_name(spec: str) -> str:
    """Folder name for a tracker spec: ``NAME=SPEC`` -> NAME; ``preset:path/x.pt`` -> ``preset@x``."""
    if "=" in spec:
        name = spec.split("=", 1)[0]
    elif ":" in spec:
        preset, path = spec.split(":", 1)
        name = f"{preset}@{Path(path).stem}"
    else:
        name = spec
    name = re.sub(r"[^A-Za-z0-9_.@+-]", "_", name.strip())
    if not name or name.startswith("."):
        raise ValueError(f"cannot make a tracker name from {spec!r}")
    return name


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_boxes(path: Path, boxes: np.ndarray) -> None:
    lines = ["nan,nan,nan,nan" if not np.isfinite(b).all() else ",".join(f"{v:.4f}" for v in b)
             for b in np.asarray(boxes, dtype=np.float64).reshape(-1, 4)]
    _write_atomic(Path(path), "\n".join(lines) + "\n")


def result_paths(out_dir: Path, name: str, seq_name: str) -> Tuple[Path, Path]:
    base = Path(out_dir) / "results" / name
    return base / f"{seq_name}.txt", base / f"{seq_name}_time.txt"


def _first_valid(seq: Sequence) -> int:
    idx = np.flatnonzero(valid_mask(seq.groundtruth))
    if len(idx) == 0:
        raise ValueError(f"sequence {seq.name!r} has no frame with ground truth to initialise on")
    return int(idx[0])


def track_sequence(tracker, seq: Sequence, thermal_cfg: Optional[ThermalConfig] = None
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """One pass of ``tracker`` over ``seq``: (N, 4) boxes and (N,) seconds per frame."""
    agc = ThermalPreprocessor(thermal_cfg)
    n = len(seq)
    boxes = np.full((n, 4), np.nan)
    times = np.zeros(n)
    start = _first_valid(seq)
    for i in range(start):  # keep the AGC history as a live camera would
        agc(seq.frame(i))
    for i in range(start, n):
        image = agc(seq.frame(i))
        t0 = time.perf_counter()
        if i == start:
            tracker.init(image, seq.groundtruth[i])
            boxes[i] = seq.groundtruth[i]
        else:
            boxes[i] = np.asarray(tracker.update(image).box, dtype=np.float64)
        times[i] = time.perf_counter() - t0
    return boxes, times


def _load_existing(path: Path, n: int) -> Optional[np.ndarray]:
    if not path.is_file():
        return None
    try:
        boxes = read_box_file(path)
    except ValueError:
        return None
    return boxes if len(boxes) == n else None


def _builder(item: TrackerItem, device: str):
    """(name, zero-arg factory) for a tracker list item."""
    if isinstance(item, str):
        spec = item.split("=", 1)[1] if "=" in item else item

        def factory(spec=spec):
            from fgsgt_ros.tracker import build_tracker
            return build_tracker(spec, device=device)
        return tracker_name(item), factory
    name, obj = item
    return tracker_name(name), (lambda obj=obj: obj)


def run_ope(trackers: Seq[TrackerItem], sequences: Iterable[Sequence], out_dir: Union[str, Path], *,
            thermal_cfg: Optional[ThermalConfig] = None, resume: bool = True,
            progress: bool = True, plots: bool = True, device: str = "cpu",
            dataset_name: str = "") -> Dict[str, object]:
    """One-pass evaluation; see the module docstring for inputs, outputs and conventions."""
    out_dir = Path(out_dir)
    sequences = list(sequences)
    if not sequences:
        raise ValueError("no sequences to evaluate")
    builders = [_builder(t, device) for t in trackers]
    names = [n for n, _ in builders]
    if len(set(names)) != len(names):
        raise ValueError(f"tracker names must be unique, got {names}")
    total = len(builders) * sum(len(s) for s in sequences)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=total, unit="frame", desc="OPE", dynamic_ncols=True)
    try:
        for name, factory in builders:
            tracker = None
            for seq in sequences:
                box_path, time_path = result_paths(out_dir, name, seq.name)
                if resume and _load_existing(box_path, len(seq)) is not None:
                    if bar is not None:
                        bar.update(len(seq))
                    continue
                if bar is not None:
                    bar.set_description(f"OPE {name} {seq.name}")
                if tracker is None:
                    tracker = factory()
                boxes, times = track_sequence(tracker, seq, thermal_cfg)
                write_boxes(box_path, boxes)
                _write_atomic(time_path, "\n".join(f"{t:.6f}" for t in times) + "\n")
                if bar is not None:
                    bar.update(len(seq))
    finally:
        if bar is not None:
            bar.close()
    summary = summarise(out_dir, names, sequences, dataset_name=dataset_name)
    if plots:
        from fgsgt_ros.evaluation.plots import write_plots
        overall = {n: summary["trackers"][n]["overall"] for n in names}
        write_plots(overall, out_dir, title=dataset_name)
    return summary


def _jsonable(m: Dict[str, object]) -> Dict[str, object]:
    out = {}
    for k, v in m.items():
        if isinstance(v, np.ndarray):
            v = [round(float(x), 6) for x in v]
        elif isinstance(v, float):
            v = None if not np.isfinite(v) else round(v, 6)
        out[k] = v
    return out


def summarise(out_dir: Union[str, Path], names: Seq[str], sequences: Seq[Sequence],
              dataset_name: str = "") -> Dict[str, object]:
    """Metrics from the stored result files; writes and returns ``<out>/summary.json``."""
    out_dir = Path(out_dir)
    scored = [s for s in sequences if not set(s.tags) & set(NO_METRIC_TAGS)
              and valid_mask(s.groundtruth).any()]
    skipped = [s.name for s in sequences if s not in scored]
    result: Dict[str, object] = {"dataset": dataset_name, "conventions": CONVENTIONS,
                                 "sequences": [s.name for s in scored], "skipped": skipped,
                                 "trackers": {}}
    for name in names:
        per_seq: Dict[str, Dict[str, object]] = {}
        fps_list = []
        for seq in scored:
            box_path, time_path = result_paths(out_dir, name, seq.name)
            boxes = _load_existing(box_path, len(seq))
            if boxes is None:
                raise ValueError(f"missing or incomplete results {box_path}")
            m = sequence_metrics(boxes, seq.groundtruth)
            if time_path.is_file():
                t = np.asarray([float(v) for v in time_path.read_text().split()])
                t = t[_first_valid(seq) + 1:]
                if len(t) and t.sum() > 0:
                    m["fps"] = float(len(t) / t.sum())
                    fps_list.append(m["fps"])
            per_seq[seq.name] = m
        overall = average_metrics(per_seq.values())
        overall["fps"] = float(np.mean(fps_list)) if fps_list else float("nan")
        attributes = {}
        for tag in sorted({t for s in scored for t in s.tags}):
            members = [per_seq[s.name] for s in scored if tag in s.tags]
            att = average_metrics(members)
            attributes[tag] = {k: att[k] for k in ("sequences",) + SCORE_KEYS}
        result["trackers"][name] = {
            "overall": overall,
            "sequences": {k: {kk: vv for kk, vv in v.items() if kk not in CURVE_KEYS}
                          for k, v in per_seq.items()},
            "attributes": attributes,
        }
    serial = json.loads(json.dumps(result, default=lambda o: o.tolist()))  # deep copy
    for name in names:
        t = result["trackers"][name]
        serial["trackers"][name] = {
            "overall": _jsonable(t["overall"]),
            "sequences": {k: _jsonable(v) for k, v in t["sequences"].items()},
            "attributes": {k: _jsonable(v) for k, v in t["attributes"].items()},
        }
    _write_atomic(out_dir / "summary.json", json.dumps(serial, indent=1) + "\n")
    return result


def format_tables(summary: Dict[str, object], max_sequences: int = 30) -> str:
    """Human-readable tables: overall, per sequence (success AUC), per attribute."""
    trackers: Dict[str, Dict[str, object]] = summary["trackers"]
    names = list(trackers)
    lines = []
    head = f"{'tracker':<22}{'success AUC':>12}{'prec@20px':>11}{'nprec@0.20':>12}{'FPS':>8}"
    lines += [f"One-pass evaluation on {summary.get('dataset') or 'dataset'}: "
              f"{len(summary['sequences'])} sequence(s)"
              + (f", {len(summary['skipped'])} without metrics" if summary.get("skipped") else ""),
              head, "-" * len(head)]
    for n in names:
        o = trackers[n]["overall"]
        lines.append(f"{n:<22}{o['success_auc']:>12.3f}{o['precision_20']:>11.3f}"
                     f"{o['norm_precision_20']:>12.3f}{o['fps']:>8.1f}")
    seqs = summary["sequences"]
    if 1 < len(seqs) <= max_sequences or len(seqs) == 1:
        lines += ["", "Per sequence (success AUC / precision@20px):"]
        lines.append(f"{'sequence':<24}" + "".join(f"{n[:17]:>18}" for n in names))
        for s in seqs:
            row = f"{s[:23]:<24}"
            for n in names:
                m = trackers[n]["sequences"][s]
                row += f"{m['success_auc']:>9.3f}/{m['precision_20']:<8.3f}"
            lines.append(row)
    tags = sorted({t for n in names for t in trackers[n]["attributes"]})
    if tags:
        lines += ["", "Per attribute (success AUC):"]
        lines.append(f"{'attribute':<24}{'seqs':>5}" + "".join(f"{n[:13]:>14}" for n in names))
        for tag in tags:
            count = trackers[names[0]]["attributes"][tag]["sequences"]
            lines.append(f"{tag[:23]:<24}{count:>5}" + "".join(
                f"{trackers[n]['attributes'][tag]['success_auc']:>14.3f}" for n in names))
    return "\n".join(lines)
