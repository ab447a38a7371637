"""Supervised VOT protocol (VOT-TIR2015/2017) as the VOT challenges define it.

Protocol: the tracker is initialised on the first annotated frame; a frame whose prediction has
IoU 0 with the (present) ground truth is a failure, and the tracker is re-initialised ``skip`` (5)
frames later (on the next annotated frame from there). Frames run through ``TrackingSession``, the
node's per-frame loop; the prediction of a frame is what the node publishes, so a frame reported
LOST (no box) with the target present is a failure too. Each (re-)initialisation re-learns the
AGC from its frame, as the node's ``init_target`` does.

Trajectory codes (the VOT toolkit's text format): ``1`` initialisation, ``2`` failure, ``0`` skipped
frame, otherwise ``x,y,w,h``; stored as ``<out>/vot/<tracker>/<sequence>.txt``.

Measures:
- accuracy: mean IoU over frames with a prediction and a present ground truth, excluding the
  ``burnin`` (10) frames right after each initialisation (the initialisation frame has no
  prediction and never counts); per sequence, then averaged over sequences;
- robustness: number of failures per sequence, averaged over sequences (as VOT-TIR reports it);
- EAO: each run is split into segments from an initialisation up to the next failure (inclusive)
  or the end; per-frame overlaps exclude the initialisation frame (frames without ground truth are
  left out); a failed segment is padded with zeros. Phi_L = mean over segments of the mean overlap
  of frames 1..L, using the failed segments and those with at least L frames; EAO = mean of Phi_L
  over L in [L_low, L_high] (VOT2017: 100..356), over the L for which some segment qualifies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence as Seq, Tuple, Union

import numpy as np

from fgsgt_ros.boxes import iou_xywh
from fgsgt_ros.data.sequence import Sequence
from fgsgt_ros.evaluation.metrics import valid_mask
from fgsgt_ros.evaluation.runner import TrackerItem, _builder, _write_atomic, as_session
from fgsgt_ros.tracker.thermal import ThermalConfig

INIT, FAIL, SKIP = "init", "fail", "skip"
EAO_RANGE_VOT2017 = (100, 356)

Entry = Union[str, np.ndarray]


def run_vot_sequence(tracker, seq: Sequence, thermal_cfg: Optional[ThermalConfig] = None,
                     skip: int = 5) -> List[Entry]:
    """Supervised run over one sequence: a list of INIT / FAIL / SKIP markers or xywh boxes.
    ``tracker``: a TrackingSession, or a tracker object (wrapped in one with ``thermal_cfg``)."""
    session = as_session(tracker, thermal_cfg)
    session.reset()
    valid = valid_mask(seq.groundtruth)
    n = len(seq)
    traj: List[Entry] = [SKIP] * n
    next_init = 0
    tracking = False
    for i in range(n):
        if not tracking:
            if i >= next_init and valid[i]:
                session.init(seq.frame(i), seq.groundtruth[i])
                traj[i] = INIT
                tracking = True
            continue
        published = session.step(seq.frame(i)).published
        box = np.full(4, np.nan) if published is None else published
        if valid[i] and (not np.isfinite(box).all() or iou_xywh(box, seq.groundtruth[i]) <= 0.0):
            traj[i] = FAIL
            tracking = False
            next_init = i + skip
        else:
            traj[i] = box
    return traj


def _encode(traj: List[Entry]) -> str:
    codes = {INIT: "1", FAIL: "2", SKIP: "0"}
    return "\n".join(codes[e] if isinstance(e, str) else ",".join(f"{v:.4f}" for v in e)
                     for e in traj) + "\n"


def _decode(text: str) -> List[Entry]:
    codes = {"1": INIT, "2": FAIL, "0": SKIP}
    out: List[Entry] = []
    for line in text.splitlines():
        line = line.strip()
        out.append(codes[line] if line in codes else np.array([float(v) for v in line.split(",")]))
    return out


def vot_sequence_measures(traj: List[Entry], gt: np.ndarray, burnin: int = 10
                          ) -> Tuple[float, int, int, List[Tuple[np.ndarray, bool]]]:
    """(accuracy, accuracy frames, failures, segments[(overlaps, failed)]) of one trajectory."""
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    valid = valid_mask(gt)
    ious, failures = [], 0
    segments: List[Tuple[np.ndarray, bool]] = []
    current: Optional[List[float]] = None
    since_init = 0
    for i, e in enumerate(traj):
        if isinstance(e, str):
            if e == INIT:
                if current is not None:
                    segments.append((np.asarray(current), False))
                current, since_init = [], 0
            elif e == FAIL:
                failures += 1
                if current is not None:
                    current.append(0.0)
                    segments.append((np.asarray(current), True))
                current = None
            continue
        since_init += 1
        if not valid[i]:
            continue
        overlap = float(iou_xywh(e, gt[i]))
        if current is not None:
            current.append(overlap)
        if since_init > burnin:
            ious.append(overlap)
    if current is not None:
        segments.append((np.asarray(current), False))
    accuracy = float(np.mean(ious)) if ious else float("nan")
    return accuracy, len(ious), failures, segments


def expected_average_overlap(segments: List[Tuple[np.ndarray, bool]],
                             eao_range: Tuple[int, int] = EAO_RANGE_VOT2017) -> float:
    """EAO from (overlaps, failed) segments; see the module docstring."""
    low, high = eao_range
    if not 1 <= low <= high:
        raise ValueError(f"bad EAO range {eao_range}")
    phis = []
    for length in range(low, high + 1):
        means = []
        for overlaps, failed in segments:
            if failed:
                padded = np.zeros(length)
                k = min(length, len(overlaps))
                padded[:k] = overlaps[:k]
                means.append(padded.mean())
            elif len(overlaps) >= length:
                means.append(float(np.mean(overlaps[:length])))
        if means:
            phis.append(float(np.mean(means)))
    return float(np.mean(phis)) if phis else float("nan")


def run_vot(trackers: Seq[TrackerItem], sequences, out_dir, *,
            thermal_cfg: Optional[ThermalConfig] = None, resume: bool = True, skip: int = 5,
            burnin: int = 10, eao_range: Tuple[int, int] = EAO_RANGE_VOT2017,
            progress: bool = True, device: str = "cpu", dataset_name: str = "") -> Dict[str, object]:
    """Supervised protocol for every tracker and sequence; writes trajectories and
    ``<out>/vot_summary.json``; returns the summary (accuracy, robustness, failures, eao)."""
    out_dir = Path(out_dir)
    sequences = list(sequences)
    if not sequences:
        raise ValueError("no sequences to evaluate")
    builders = [_builder(t, device, thermal_cfg) for t in trackers]
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(builders) * sum(len(s) for s in sequences), unit="frame", desc="VOT")
    summary: Dict[str, object] = {"dataset": dataset_name, "skip": skip, "burnin": burnin,
                                  "eao_range": list(eao_range), "trackers": {}}
    try:
        for name, factory in builders:
            tracker = None
            per_seq, all_segments = {}, []
            for seq in sequences:
                path = out_dir / "vot" / name / f"{seq.name}.txt"
                traj = None
                if resume and path.is_file():
                    traj = _decode(path.read_text())
                    traj = traj if len(traj) == len(seq) else None
                if traj is None:
                    if tracker is None:
                        tracker = factory()
                    traj = run_vot_sequence(tracker, seq, skip=skip)
                    _write_atomic(path, _encode(traj))
                if bar is not None:
                    bar.update(len(seq))
                acc, frames, fails, segs = vot_sequence_measures(traj, seq.groundtruth, burnin)
                all_segments += segs
                per_seq[seq.name] = {"accuracy": acc, "accuracy_frames": frames, "failures": fails}
            accs = [m["accuracy"] for m in per_seq.values() if np.isfinite(m["accuracy"])]
            fails = [m["failures"] for m in per_seq.values()]
            summary["trackers"][name] = {
                "accuracy": float(np.mean(accs)) if accs else float("nan"),
                "robustness": float(np.mean(fails)),
                "failures": int(np.sum(fails)),
                "eao": expected_average_overlap(all_segments, eao_range),
                "sequences": per_seq,
            }
    finally:
        if bar is not None:
            bar.close()
    text = json.dumps(summary, indent=1, default=float).replace("NaN", "null")
    _write_atomic(out_dir / "vot_summary.json", text + "\n")
    return summary


def format_vot_table(summary: Dict[str, object]) -> str:
    head = f"{'tracker':<22}{'EAO':>8}{'accuracy':>10}{'robustness':>12}{'failures':>10}"
    lines = [f"Supervised VOT protocol on {summary.get('dataset') or 'dataset'} "
             f"(EAO range {summary['eao_range'][0]}..{summary['eao_range'][1]})", head, "-" * len(head)]
    for name, m in summary["trackers"].items():
        lines.append(f"{name:<22}{m['eao']:>8.3f}{m['accuracy']:>10.3f}{m['robustness']:>12.2f}"
                     f"{m['failures']:>10d}")
    return "\n".join(lines)
