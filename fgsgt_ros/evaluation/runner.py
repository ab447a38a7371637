"""Run trackers over sequences (one-pass evaluation), store results, summarise, plot.

Python API (what ``fgsgt eval`` and the model card use)::

    from fgsgt_ros.data.datasets import read_dataset
    from fgsgt_ros.evaluation import run_ope
    summary = run_ope(["fgsgt", "csrt"], read_dataset("path/to/tir_real_dev"), "out/eval")
    summary["trackers"]["csrt"]["overall"]["success_auc"]

``run_ope(trackers, sequences, out_dir, ...)``:
- ``trackers``: a list whose items are a ``build_tracker`` spec string (``"fgsgt"``, ``"csrt"``,
  ``"fgsgt_tiny:path.pt"``; ``"NAME=SPEC"`` names it), or a ``(name, tracker)`` pair with a
  ``TrackingSession`` or any object that has ``init(image, box)`` and ``update(image) ->
  TrackResult``-like (``.box``, optionally ``.state``/``.score``).
- ``sequences``: ``fgsgt_ros.data.sequence.Sequence`` objects (any reader of ``fgsgt_ros.data.datasets``).
- Every frame goes through ``TrackingSession`` (``fgsgt_ros.tracker.session``), the same per-frame
  loop as the ROS node: AGC (re-learned from the init frame; 8-bit frames pass through), the
  tracker, and the one output rule. The tracker is initialised on the first frame whose ground
  truth is present (frame 1 in the benchmarks); earlier frames get NaN rows. It is never
  re-initialised.
- Writes ``<out>/results/<tracker>/<sequence>.txt``: what the node publishes, one ``x,y,w,h`` line
  per frame (0-based continuous pixels, 4 decimals), ``nan,nan,nan,nan`` where it publishes no
  box (the tracker reports LOST); ``<sequence>_track.txt``: per frame the state, the score and the
  tracker's own box (also while LOST, for the "always a box" score); ``<sequence>_time.txt``
  (seconds per frame); then ``<out>/summary.json`` and the PNG plots. A result file with one line per frame is reused
  (resume); files are written atomically, so an interrupted run resumes cleanly. With the same
  inputs the outputs are identical (no randomness in the trackers on CPU).
- Returns the summary dict: ``{"dataset", "conventions", "sequences", "skipped", "trackers":
  {name: {"overall": {...}, "sequences": {seq: {...}}, "attributes": {tag: {...}}}}}`` with the
  scores ``success_auc``, ``precision_20``, ``norm_precision_20`` (+ ``norm_precision_auc``,
  ``fps``) of the published boxes (the primary scores); ``success_auc_always_box`` and
  ``precision_20_always_box`` of the tracker's own box on every frame (for comparison with papers,
  which score a box on every frame); ``lost_when_visible`` (share of frames with the target present
  reported LOST) and ``tracking_when_absent`` (share of frames with the target absent reported
  TRACKING); see ``fgsgt_ros.evaluation.metrics`` for the definitions.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence as Seq, Tuple, Union

import numpy as np

from fgsgt_ros.boxes import iou_xywh
from fgsgt_ros.data.sequence import Sequence, read_box_file
from fgsgt_ros.evaluation.metrics import (CURVE_KEYS, SCORE_KEYS, average_metrics,
                                          sequence_metrics, valid_mask)
from fgsgt_ros.tracker.session import TrackingSession
from fgsgt_ros.tracker.thermal import ThermalConfig

TrackerItem = Union[str, Tuple[str, object]]

ALWAYS_BOX_KEYS = ("success_auc", "precision_20", "norm_precision_20")
EXTRA_KEYS = tuple(k + "_always_box" for k in ALWAYS_BOX_KEYS) + (
    "lost_when_visible", "lost_when_on_target", "tracking_when_absent")

# Tags that mark sequences without usable ground truth (results are written, metrics are not).
NO_METRIC_TAGS = ("gt_first_frame_only",)

CONVENTIONS = {
    "boxes": "x,y,w,h continuous 0-based pixels; box covers [x,x+w)x[y,y+h); IoU without +1",
    "success": "mean over 21 thresholds 0:0.05:1 of the fraction of frames with IoU > t",
    "precision": "fraction of frames with centre error <= 20 px",
    "norm_precision": "fraction of frames with gt-size-normalised centre error <= 0.20 "
                      "(norm_precision_auc: mean over thresholds 0:0.01:0.5)",
    "absent_frames": "frames whose ground truth is NaN/empty are excluded from every metric",
    "lost_frames": "a result file holds what the node publishes: no box (a NaN row) on a frame "
                   "the tracker reports LOST, which counts as IoU 0 and an infinite centre error "
                   "where the target is present (and is excluded, like every absent frame, where "
                   "it is absent)",
    "always_box": "*_always_box scores: the same metrics on the tracker's own box on every frame, "
                  "LOST frames included (what papers report); not what a robot receives",
    "states": "lost_when_visible: share of frames with the target present (after init) reported "
              "LOST; lost_when_on_target: the same among frames where the tracker's own box is "
              "on the target (IoU > 0.3), i.e. a wrong LOST; tracking_when_absent: share of "
              "frames with the target absent reported TRACKING",
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


def track_path(box_path: Path) -> Path:
    return box_path.with_name(box_path.stem + "_track.txt")


#: the tracker's own box is on the target above this IoU (as ``fgsgt calibrate``'s on_iou)
ON_TARGET_IOU = 0.3


def state_metrics(states: Seq[str], gt: np.ndarray, start: int,
                  own_boxes: Optional[np.ndarray] = None) -> Dict[str, object]:
    """Shares of frames after ``start`` (the init frame): present reported LOST, absent reported
    TRACKING, and (with ``own_boxes``) present with the tracker's own box on the target (IoU >
    ``ON_TARGET_IOU``) reported LOST, a LOST that is wrong; NaN when there is no such frame."""
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    present = valid_mask(gt)
    after = np.arange(len(gt)) > start
    lost = np.array([s == "LOST" for s in states])
    tracking = np.array([s == "TRACKING" for s in states])
    vis, absent = present & after, ~present & after

    def share(a, b):
        return float((a & b).sum() / b.sum()) if b.any() else float("nan")

    out = {"visible_frames": int(vis.sum()), "absent_frames": int(absent.sum()),
           "lost_when_visible": share(lost, vis), "tracking_when_absent": share(tracking, absent)}
    if own_boxes is not None:
        own = np.asarray(own_boxes, dtype=np.float64).reshape(-1, 4)
        iou = np.zeros(len(gt))
        ok = vis & np.isfinite(own).all(axis=1)
        if ok.any():
            iou[ok] = iou_xywh(own[ok], gt[ok])
        on = vis & (iou > ON_TARGET_IOU)
        out["on_target_frames"] = int(on.sum())
        out["lost_when_on_target"] = share(lost, on)
    return out


def _first_valid(seq: Sequence) -> int:
    idx = np.flatnonzero(valid_mask(seq.groundtruth))
    if len(idx) == 0:
        raise ValueError(f"sequence {seq.name!r} has no frame with ground truth to initialise on")
    return int(idx[0])


@dataclass
class SequenceRun:
    """One pass over a sequence: per frame what is published (NaN rows where nothing is), the
    tracker's own box, its state ('' before init) and score, and seconds (AGC + tracker)."""

    published: np.ndarray
    boxes: np.ndarray
    states: List[str]
    scores: np.ndarray
    times: np.ndarray


def as_session(tracker, thermal_cfg: Optional[ThermalConfig] = None) -> TrackingSession:
    """A TrackingSession as given, or one around a tracker object."""
    if isinstance(tracker, TrackingSession):
        return tracker
    return TrackingSession(tracker, thermal_cfg=thermal_cfg)


def track_sequence(tracker, seq: Sequence, thermal_cfg: Optional[ThermalConfig] = None
                   ) -> SequenceRun:
    """One pass of ``tracker`` (a TrackingSession, or a tracker object wrapped in one with
    ``thermal_cfg``) over ``seq`` from its first labelled frame."""
    session = as_session(tracker, thermal_cfg)
    n = len(seq)
    run = SequenceRun(np.full((n, 4), np.nan), np.full((n, 4), np.nan), [""] * n,
                      np.full(n, np.nan), np.zeros(n))
    start = _first_valid(seq)
    session.reset()
    for i in range(start, n):
        if i == start:
            r = session.init(seq.frame(i), seq.groundtruth[i])
            r.published = np.asarray(seq.groundtruth[i], dtype=np.float64)  # init counts as a hit
            r.box = r.published
        else:
            r = session.step(seq.frame(i))
        if r.published is not None:
            run.published[i] = r.published
        if r.box is not None:
            run.boxes[i] = r.box
        run.states[i], run.scores[i], run.times[i] = r.state, r.score, r.times.total_s
    return run


def write_track(path: Path, run: SequenceRun) -> None:
    lines = ["# state,score,x,y,w,h: the tracker's own box on every frame (also while LOST)"]
    for state, score, box in zip(run.states, run.scores, run.boxes):
        values = ["nan"] * 4 if not np.isfinite(box).all() else [f"{v:.4f}" for v in box]
        lines.append(",".join([state or "NONE", f"{score:.6f}" if np.isfinite(score) else "nan"]
                              + values))
    _write_atomic(Path(path), "\n".join(lines) + "\n")


def read_track(path: Path, n: int) -> Optional[Tuple[List[str], np.ndarray, np.ndarray]]:
    """(states, scores, boxes) of a ``_track.txt`` file with ``n`` frames, or None."""
    if not Path(path).is_file():
        return None
    rows = [l.split(",") for l in Path(path).read_text().splitlines()
            if l.strip() and not l.startswith("#")]
    if len(rows) != n or any(len(r) != 6 for r in rows):
        return None
    try:
        states = ["" if r[0] == "NONE" else r[0] for r in rows]
        scores = np.array([float(r[1]) for r in rows])
        boxes = np.array([[float(v) for v in r[2:]] for r in rows])
    except ValueError:
        return None
    return states, scores, boxes


def _load_existing(path: Path, n: int) -> Optional[np.ndarray]:
    if not path.is_file():
        return None
    try:
        boxes = read_box_file(path)
    except ValueError:
        return None
    return boxes if len(boxes) == n else None


def _builder(item: TrackerItem, device: str, thermal_cfg: Optional[ThermalConfig] = None):
    """(name, zero-arg factory of a TrackingSession) for a tracker list item."""
    if isinstance(item, str):
        spec = item.split("=", 1)[1] if "=" in item else item

        def factory(spec=spec):
            return TrackingSession.from_spec(spec, thermal_cfg=thermal_cfg, device=device)
        return tracker_name(item), factory
    name, obj = item
    return tracker_name(name), (lambda obj=obj: as_session(obj, thermal_cfg))


def run_ope(trackers: Seq[TrackerItem], sequences: Iterable[Sequence], out_dir: Union[str, Path], *,
            thermal_cfg: Optional[ThermalConfig] = None, resume: bool = True,
            progress: bool = True, plots: bool = True, device: str = "cpu",
            dataset_name: str = "") -> Dict[str, object]:
    """One-pass evaluation; see the module docstring for inputs, outputs and conventions."""
    out_dir = Path(out_dir)
    sequences = list(sequences)
    if not sequences:
        raise ValueError("no sequences to evaluate")
    builders = [_builder(t, device, thermal_cfg) for t in trackers]
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
                if resume and _load_existing(box_path, len(seq)) is not None \
                        and read_track(track_path(box_path), len(seq)) is not None:
                    if bar is not None:
                        bar.update(len(seq))
                    continue
                if bar is not None:
                    bar.set_description(f"OPE {name} {seq.name}")
                if tracker is None:
                    tracker = factory()
                run = track_sequence(tracker, seq)
                write_track(track_path(box_path), run)
                _write_atomic(time_path, "\n".join(f"{t:.6f}" for t in run.times) + "\n")
                write_boxes(box_path, run.published)  # last: its presence means complete
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
            track = read_track(track_path(box_path), len(seq))
            if track is not None:
                states, _, own = track
                always = sequence_metrics(own, seq.groundtruth)
                for k in ALWAYS_BOX_KEYS:
                    m[k + "_always_box"] = always[k]
                m.update(state_metrics(states, seq.groundtruth, _first_valid(seq), own))
            if time_path.is_file():
                t = np.asarray([float(v) for v in time_path.read_text().split()])
                t = t[_first_valid(seq) + 1:]
                if len(t) and t.sum() > 0:
                    m["fps"] = float(len(t) / t.sum())
                    fps_list.append(m["fps"])
            per_seq[seq.name] = m
        overall = average_metrics(per_seq.values())
        overall["fps"] = float(np.mean(fps_list)) if fps_list else float("nan")
        for k in EXTRA_KEYS:  # means over the sequences that have the value
            vals = [m[k] for m in per_seq.values() if m.get(k) is not None and np.isfinite(m[k])]
            overall[k] = float(np.mean(vals)) if vals else float("nan")
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
    nw = max([22] + [len(n) + 2 for n in names])  # name column: no tracker name is cut
    head = (f"{'tracker':<{nw}}{'success AUC':>12}{'prec@20px':>11}{'nprec@0.20':>12}{'FPS':>8}"
            f"{'always-box AUC':>16}{'LOST|visible':>14}{'TRACK|absent':>14}")
    lines += [f"One-pass evaluation on {summary.get('dataset') or 'dataset'}: "
              f"{len(summary['sequences'])} sequence(s)"
              + (f", {len(summary['skipped'])} without metrics" if summary.get("skipped") else ""),
              head, "-" * len(head)]
    for n in names:
        o = trackers[n]["overall"]
        lines.append(f"{n:<{nw}}{o['success_auc']:>12.3f}{o['precision_20']:>11.3f}"
                     f"{o['norm_precision_20']:>12.3f}{o['fps']:>8.1f}"
                     f"{o.get('success_auc_always_box', float('nan')):>16.3f}"
                     f"{o.get('lost_when_visible', float('nan')):>14.3f}"
                     f"{o.get('tracking_when_absent', float('nan')):>14.3f}")
    lines.append("(scores of the published boxes: no box while LOST; always-box AUC: the tracker's "
                 "own box on every frame, as papers score; LOST|visible, TRACK|absent: shares of "
                 "frames with the target present reported LOST / absent reported TRACKING)")
    seqs = summary["sequences"]
    if 1 < len(seqs) <= max_sequences or len(seqs) == 1:
        lines += ["", "Per sequence (success AUC / precision@20px):"]
        # columns as wide as their header, cells right-aligned under it
        sw = max([24] + [len(s) + 2 for s in seqs])
        widths = [max(len(n), 11) + 2 for n in names]
        lines.append(f"{'sequence':<{sw}}" + "".join(f"{n:>{w}}" for n, w in zip(names, widths)))
        for s in seqs:
            row = f"{s:<{sw}}"
            for n, w in zip(names, widths):
                m = trackers[n]["sequences"][s]
                row += f"{m['success_auc']:.3f}/{m['precision_20']:.3f}".rjust(w)
            lines.append(row)
    tags = sorted({t for n in names for t in trackers[n]["attributes"]})
    if tags:
        lines += ["", "Per attribute (success AUC):"]
        aw = max([24] + [len(t) + 2 for t in tags])
        widths = [max(len(n), 6) + 2 for n in names]
        lines.append(f"{'attribute':<{aw}}{'seqs':>5}"
                     + "".join(f"{n:>{w}}" for n, w in zip(names, widths)))
        for tag in tags:
            count = trackers[names[0]]["attributes"][tag]["sequences"]
            lines.append(f"{tag:<{aw}}{count:>5}" + "".join(
                f"{trackers[n]['attributes'][tag]['success_auc']:>{w}.3f}"
                for n, w in zip(names, widths)))
    return "\n".join(lines)
