"""LOST/TRACKING calibration: per-model score thresholds measured on held-out sequences.

Why: ``TrackerConfig.lost_threshold``/``recover_threshold`` compare the *raw* foreground score of
the chosen anchor, and how high a network scores empty background depends on the network and its
training (the shipped tiny model scores background at 0.36-0.5, above the 0.3 default, so it never
reported LOST). The thresholds therefore belong to the model: this module measures them and
``fgsgt calibrate --write`` stores them in the checkpoint's ``extra["tracker_config"]``, which
``build_tracker`` and the ROS node use as defaults (explicit settings still override them).

Procedure (``calibrate``):
1. Sequences with absent stretches: by default generated ones (``fgsgt_ros.data.synth``, preset
   ``hard`` with every target leaving the view and coming back, seed 7007, which no training run
   uses); or any labelled dataset. Never the real dev clip (it is for evaluation only).
2. Tracking pass: the tracker runs over each sequence from its first labelled frame with LOST
   detection off (``lost_threshold`` 0), so every frame is scored in TRACKING mode. Each frame is
   labelled *on target* (target present and IoU(box, gt) > ``on_iou``), *off target* (target
   absent, or IoU <= ``off_iou``: tracking background or a distractor), or neither (ignored).
3. Re-acquisition pass: every frame is searched as a LOST tracker searches around where the
   target was last seen (``SiameseTracker.relocate`` to the last labelled box, ``mark_lost``:
   region enlarged by ``reacquire_scale``, weak cosine window); the best candidate is labelled the
   same way (absent frames: off target). A LOST tracker compares
   *these* scores with ``recover_threshold``; they are lower than tracking scores for the same
   target (it is smaller in the coarser crop), so a threshold taken from the tracking pass would
   rarely let a returning target be re-acquired.
4. ``lost_threshold``: the tracking-pass score maximising balanced accuracy (mean of the
   on-target rate above and the off-target rate below it; not swayed by how many frames of each
   kind there are). ``recover_threshold``: the lowest re-acquisition score >= ``lost_threshold``
   above which at least ``recover_precision`` of the frames are on target (at least
   ``min_support`` frames), so a LOST tracker re-acquires mostly real targets. If no score reaches
   that precision (the search finds look-alikes that score as high as the target), a higher
   threshold would not make re-acquisition more precise, only stop it, so ``recover_threshold`` =
   ``lost_threshold`` and ``recover_target_met`` is False. ``lost_relative``: the
   ``relative_percentile`` of the on-target scores divided by their median (how far a target's
   score dips below its own level while it is still on target); LostMonitor also calls a frame
   weak only when it scores below ``lost_relative`` times the target's recent median, so on
   footage where the network scores a visible target lower than on the calibration data, LOST
   still means "far below this target's own level".
5. Check pass (optional): the tracker runs again with the chosen thresholds and reports whether its
   state tells the truth (TRACKING with the box on the target, LOST otherwise).

Python API::

    from fgsgt_ros.evaluation.calibration import CalibrationConfig, calibrate, synthetic_sequences
    result = calibrate(lambda cfg: build_tracker("fgsgt", tracker_cfg=cfg),
                       synthetic_sequences(CalibrationConfig()), CalibrationConfig())
    result.lost_threshold, result.recover_threshold
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence as Seq, Tuple

import numpy as np

from fgsgt_ros.boxes import iou_xywh
from fgsgt_ros.evaluation.metrics import valid_mask
from fgsgt_ros.tracker.config import TrackerConfig
from fgsgt_ros.tracker.thermal import ThermalConfig

#: A shipped checkpoint must stay small (package data).
MAX_CHECKPOINT_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class CalibrationConfig:
    """What to calibrate on and how the thresholds are chosen (defaults = the CLI defaults)."""

    #: generated data: synth preset, number of sequences, frames each, seed (held out: 7007 is
    #: used by no training run)
    synth_preset: str = "hard"
    sequences: int = 12
    frames: int = 120
    seed: int = 7007
    #: probability that a generated target leaves the view and comes back (1: every sequence has
    #: an absent stretch, which is what LOST is for)
    leave_prob: float = 1.0
    #: a frame is on target when the target is present and IoU(box, gt) > on_iou ...
    on_iou: float = 0.3
    #: ... and off target when the target is absent or IoU <= off_iou (in between: ignored)
    off_iou: float = 0.05
    #: recover_threshold: lowest score above which at least this fraction of frames is on target
    recover_precision: float = 0.95
    #: ... counted over at least this many frames at or above it
    min_support: int = 20
    #: lost_relative: this percentile of the on-target scores over their median
    relative_percentile: float = 5.0

    def __post_init__(self) -> None:
        if self.sequences < 1 or self.frames < 2:
            raise ValueError("need at least 1 sequence of at least 2 frames")
        if not 0.0 <= self.leave_prob <= 1.0:
            raise ValueError(f"leave_prob must be in [0, 1], got {self.leave_prob}")
        if not 0.0 <= self.off_iou < self.on_iou < 1.0:
            raise ValueError(f"need 0 <= off_iou < on_iou < 1, got {self.off_iou}, {self.on_iou}")
        if not 0.5 <= self.recover_precision <= 1.0:
            raise ValueError(f"recover_precision must be in [0.5, 1], got {self.recover_precision}")
        if self.min_support < 1:
            raise ValueError(f"min_support must be >= 1, got {self.min_support}")
        if not 0.0 < self.relative_percentile < 50.0:
            raise ValueError(f"relative_percentile must be in (0, 50), got "
                             f"{self.relative_percentile}")


@dataclass
class Scores:
    """Per-frame scores of a scoring pass (frames after each sequence's init frame)."""

    score: np.ndarray     # (N,) raw foreground score of the chosen anchor
    iou: np.ndarray       # (N,) IoU with the ground truth (0 when absent)
    present: np.ndarray   # (N,) bool, target present in the ground truth
    sequence: np.ndarray  # (N,) int, index of the sequence

    def labels(self, cfg: CalibrationConfig) -> Tuple[np.ndarray, np.ndarray]:
        """(on target, off target) boolean masks."""
        on = self.present & (self.iou > cfg.on_iou)
        off = ~self.present | (self.iou <= cfg.off_iou)
        return on, off


@dataclass
class CalibrationResult:
    lost_threshold: float
    recover_threshold: float
    balanced_accuracy: float        # at lost_threshold (tracking-pass scores)
    on_rate_above_lost: float       # on-target frames scoring >= lost_threshold
    off_rate_below_lost: float      # off-target frames scoring < lost_threshold
    recover_precision: float        # on-target share of search frames scoring >= recover
    recover_target_met: bool
    on_rate_above_recover: float    # on-target search frames scoring >= recover_threshold
    off_rate_above_recover: float   # off-target search frames scoring >= recover_threshold
    n_on: int                       # tracking pass: on-target / off-target / ignored frames
    n_off: int
    n_ignored: int
    on_quantiles: Dict[str, float]  # tracking-pass score percentiles p5, p25, p50, p75, p95
    off_quantiles: Dict[str, float]
    absent_quantiles: Dict[str, float]  # the off-target frames where the target is absent
    search_n_on: int = 0            # re-acquisition pass: on-target / off-target frames
    search_n_off: int = 0
    search_on_quantiles: Dict[str, float] = field(default_factory=dict)
    search_off_quantiles: Dict[str, float] = field(default_factory=dict)
    scores: Optional[Scores] = field(default=None, repr=False)
    search_scores: Optional[Scores] = field(default=None, repr=False)
    check: Dict[str, float] = field(default_factory=dict)
    lost_relative: float = 0.0      # relative_percentile / median of the on-target scores

    def summary(self) -> Dict[str, object]:
        """Plain-type record (what ``--write`` stores as ``extra["lost_calibration"]``)."""
        out = {k: v for k, v in dataclasses.asdict(self).items()
               if k not in ("scores", "search_scores")}
        return _plain(out)


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return round(float(value), 4)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


# --------------------------------------------------------------------------------------------
# data

@dataclass
class LabelledSequence:
    """In-memory or on-disk sequence: ``frame(i)`` and (N, 4) xywh ground truth (NaN = absent)."""

    name: str
    groundtruth: np.ndarray
    _frames: Optional[List[np.ndarray]] = field(default=None, repr=False)
    _reader: Optional[object] = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.groundtruth)

    def frame(self, i: int) -> np.ndarray:
        return self._frames[i] if self._frames is not None else self._reader.frame(i)


def as_labelled(seq) -> LabelledSequence:
    """A ``fgsgt_ros.data.sequence.Sequence`` or a generated ``SyntheticSequence``."""
    if isinstance(seq, LabelledSequence):
        return seq
    if hasattr(seq, "frames") and hasattr(seq, "boxes"):
        return LabelledSequence(getattr(seq, "name", "synthetic"), np.asarray(seq.boxes), seq.frames)
    return LabelledSequence(seq.name, np.asarray(seq.groundtruth), None, seq)


def synthetic_sequences(cfg: CalibrationConfig, progress: bool = False) -> List[LabelledSequence]:
    """The generated calibration set (deterministic for the config)."""
    from fgsgt_ros.data.synth import generate_sequence, get_preset

    synth = dataclasses.replace(get_preset(cfg.synth_preset), p_leave=cfg.leave_prob)
    out = []
    indices = range(cfg.sequences)
    if progress:
        from tqdm import tqdm
        indices = tqdm(indices, desc=f"generate {cfg.synth_preset}", unit="seq")
    for i in indices:
        s = generate_sequence(synth, cfg.frames, cfg.seed, i)
        out.append(LabelledSequence(f"synth_{cfg.seed}_{i:04d}", np.asarray(s.boxes), s.frames))
    return out


# --------------------------------------------------------------------------------------------
# passes

TrackerFactory = Callable[[TrackerConfig], object]


def scoring_config(base: TrackerConfig) -> TrackerConfig:
    """``base`` with LOST detection off: every frame is scored in TRACKING mode."""
    return dataclasses.replace(base, lost_threshold=0.0)


def search_config(base: TrackerConfig) -> TrackerConfig:
    """``base`` for the re-acquisition pass: each frame is a LOST-mode search (enlarged region,
    weak window) whose best candidate the box then takes (recover at 0), so its score and its box
    can be labelled like the tracking pass's."""
    return dataclasses.replace(base, lost_threshold=0.0, recover_threshold=0.0)


def _run(tracker, seq: LabelledSequence, thermal_cfg: Optional[ThermalConfig], bar=None,
         reacquire: bool = False):
    """(scores, boxes, states, start) of one pass from the first labelled frame; ``reacquire``:
    every frame is searched as a LOST tracker would search around where the target was last seen
    (``relocate`` to the last labelled box before the frame, then ``mark_lost``). Frames run
    through ``TrackingSession`` (the node's per-frame loop); boxes are the tracker's own."""
    from fgsgt_ros.evaluation.runner import as_session

    session = as_session(tracker, thermal_cfg)
    session.reset()
    gt = seq.groundtruth
    valid = valid_mask(gt)
    if not valid.any():
        raise ValueError(f"sequence {seq.name!r} has no labelled frame to initialise on")
    start = int(np.flatnonzero(valid)[0])
    n = len(seq)
    scores = np.full(n, np.nan)
    boxes = np.full((n, 4), np.nan)
    states: List[str] = [""] * n
    for i in range(start, n):
        if i == start:
            session.init(seq.frame(i), gt[i])
        else:
            if reacquire:
                session.tracker.relocate(gt[last_seen])
                session.tracker.mark_lost()
            r = session.step(seq.frame(i))
            scores[i] = float(r.score)
            if r.box is not None:
                boxes[i] = r.box
            states[i] = r.state
        if valid[i]:
            last_seen = i
        if bar is not None:
            bar.update(1)
    return scores, boxes, states, start


def _bar(total: int, desc: str, progress: bool):
    if not progress:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="frame", dynamic_ncols=True)


def collect_scores(tracker, sequences: Iterable, thermal_cfg: Optional[ThermalConfig] = None,
                   progress: bool = False, reacquire: bool = False) -> Scores:
    """Scoring pass of ``tracker`` over labelled sequences: the tracking pass (build the tracker
    with ``scoring_config``) or, with ``reacquire``, the re-acquisition pass (``search_config``)."""
    seqs = [as_labelled(s) for s in sequences]
    if not seqs:
        raise ValueError("no sequences to calibrate on")
    bar = _bar(sum(len(s) for s in seqs), "search scores" if reacquire else "tracking scores",
               progress)
    parts = []
    try:
        for k, seq in enumerate(seqs):
            scores, boxes, _, start = _run(tracker, seq, thermal_cfg, bar, reacquire)
            gt = seq.groundtruth[start + 1:]
            present = valid_mask(gt)
            iou = np.zeros(len(gt))
            if present.any():
                iou[present] = iou_xywh(boxes[start + 1:][present], gt[present])
            parts.append((scores[start + 1:], np.nan_to_num(iou), present,
                          np.full(len(gt), k)))
    finally:
        if bar is not None:
            bar.close()
    return Scores(*(np.concatenate([p[j] for p in parts]) for j in range(4)))


def _above(sorted_scores: np.ndarray, t):
    """How many of the sorted scores are >= t."""
    return len(sorted_scores) - np.searchsorted(sorted_scores, t, side="left")


def _candidates(*sorted_scores: np.ndarray) -> np.ndarray:
    """Thresholds midway between neighbouring observed scores (plus both ends), in [0, 1]."""
    values = np.unique(np.concatenate(sorted_scores))
    cand = np.concatenate([[values[0] - 1e-6], (values[1:] + values[:-1]) / 2, [values[-1] + 1e-6]])
    return np.clip(cand, 0.0, 1.0)


def _quantiles(x: np.ndarray) -> Dict[str, float]:
    return {f"p{p}": float(np.percentile(x, p)) for p in (5, 25, 50, 75, 95)} if len(x) else {}


def _split(scores: Scores, cfg: CalibrationConfig, what: str):
    on, off = scores.labels(cfg)
    s_on, s_off = np.sort(scores.score[on]), np.sort(scores.score[off])
    if len(s_on) == 0 or len(s_off) == 0:
        raise ValueError(f"calibration needs on-target and off-target frames in the {what} pass, "
                         f"got {len(s_on)} and {len(s_off)}: use sequences where the target is "
                         "absent for a while (and a model that tracks it the rest of the time)")
    return on, off, s_on, s_off


def choose_thresholds(scores: Scores, cfg: CalibrationConfig,
                      search_scores: Optional[Scores] = None) -> CalibrationResult:
    """Thresholds from labelled scores (see the module docstring); ValueError without both kinds.

    ``scores``: tracking pass (-> ``lost_threshold``); ``search_scores``: re-acquisition pass
    (-> ``recover_threshold``: a LOST tracker compares the scores of its enlarged search, which
    are lower for the same target); None = use ``scores`` for both.
    """
    on, off, s_on, s_off = _split(scores, cfg, "tracking")
    cand = _candidates(s_on, s_off)
    ba = (_above(s_on, cand) / len(s_on) + 1.0 - _above(s_off, cand) / len(s_off)) / 2.0
    best = np.flatnonzero(ba >= ba.max() - 1e-12)
    lost = round(float(cand[best[len(best) // 2]]), 3)  # middle of a tied plateau; 3 decimals

    search = scores if search_scores is None else search_scores
    r_on, r_off, r_s_on, r_s_off = _split(search, cfg, "re-acquisition")
    cand = _candidates(r_s_on, r_s_off)
    n_on_above, n_off_above = _above(r_s_on, cand), _above(r_s_off, cand)
    support = n_on_above + n_off_above
    precision = np.where(support > 0, n_on_above / np.maximum(support, 1), 0.0)
    usable = (cand >= lost) & (support >= min(cfg.min_support, len(r_s_on)))
    met = usable & (precision >= cfg.recover_precision)
    if met.any():
        # 3 decimals (what a parameter file shows); rounded up so it keeps its precision
        recover = math.ceil(float(cand[int(np.flatnonzero(met)[0])]) * 1000 - 1e-9) / 1000
    else:
        # No score makes re-acquisition that reliable: the enlarged search finds look-alikes
        # (distractors) that score as high as the target, so a higher threshold does not make
        # re-acquisition more precise, it only stops it (a returning target is never taken back).
        # Then the lowest allowed value is used: recover at lost_threshold (no extra hysteresis).
        recover = lost
    recover = min(max(recover, lost), 1.0)
    n_rec = _above(r_s_on, recover) + _above(r_s_off, recover)
    median_on = float(np.median(s_on))
    relative = round(min(1.0, float(np.percentile(s_on, cfg.relative_percentile)) / median_on), 3) \
        if median_on > 0 else 0.0

    return CalibrationResult(
        lost_threshold=lost, recover_threshold=recover, lost_relative=relative,
        balanced_accuracy=float(ba.max()),
        on_rate_above_lost=float(_above(s_on, lost) / len(s_on)),
        off_rate_below_lost=float(1.0 - _above(s_off, lost) / len(s_off)),
        recover_precision=float(_above(r_s_on, recover) / n_rec if n_rec else 0.0),
        recover_target_met=bool(met.any()),
        on_rate_above_recover=float(_above(r_s_on, recover) / len(r_s_on)),
        off_rate_above_recover=float(_above(r_s_off, recover) / len(r_s_off)),
        n_on=int(on.sum()), n_off=int(off.sum()), n_ignored=int((~on & ~off).sum()),
        on_quantiles=_quantiles(s_on), off_quantiles=_quantiles(s_off),
        absent_quantiles=_quantiles(scores.score[~scores.present]),
        search_n_on=int(r_on.sum()), search_n_off=int(r_off.sum()),
        search_on_quantiles=_quantiles(r_s_on), search_off_quantiles=_quantiles(r_s_off),
        scores=scores, search_scores=search_scores)


def check_states(tracker, sequences: Iterable, cfg: CalibrationConfig, lost_frames: int,
                 thermal_cfg: Optional[ThermalConfig] = None, progress: bool = False
                 ) -> Dict[str, float]:
    """Run ``tracker`` (with the thresholds to check) and measure whether its state tells the
    truth: TRACKING while its box is on the target, LOST while it is not.

    ``tracking_when_on``: share of frames with the reported box on target (IoU > ``on_iou``)
    reported TRACKING; ``lost_when_off``: share of frames with the target absent or the box off
    it (IoU <= ``off_iou``) reported LOST; ``state_accuracy``: their mean (balanced);
    ``lost_when_absent``: share of absent frames reported LOST, counting frames at least
    ``lost_frames`` into an absent stretch (LOST needs that many weak frames);
    ``returns_recovered``: share of absent stretches (>= ``lost_frames`` long) after which the
    tracker is TRACKING on the target again before the sequence ends.
    """
    seqs = [as_labelled(s) for s in sequences]
    bar = _bar(sum(len(s) for s in seqs), "check", progress)
    n = {"on": 0, "on_tracking": 0, "off": 0, "off_lost": 0, "absent": 0, "absent_lost": 0,
         "returns": 0, "recovered": 0}
    try:
        for seq in seqs:
            _, boxes, states, start = _run(tracker, seq, thermal_cfg, bar)
            gt = seq.groundtruth
            present = valid_mask(gt)
            iou = np.zeros(len(seq))
            if present.any():
                iou[present] = np.nan_to_num(iou_xywh(boxes[present], gt[present]))
            tracking = np.array([s == "TRACKING" for s in states])
            lost = np.array([s == "LOST" for s in states])
            on = present & (iou > cfg.on_iou)
            off = ~present | (iou <= cfg.off_iou)
            frames = np.arange(len(seq)) > start
            n["on"] += int((on & frames).sum())
            n["on_tracking"] += int((on & frames & tracking).sum())
            n["off"] += int((off & frames).sum())
            n["off_lost"] += int((off & frames & lost).sum())
            gap = 0
            for i in range(start + 1, len(seq)):
                if present[i]:
                    if gap >= lost_frames:
                        n["returns"] += 1
                        n["recovered"] += bool((tracking & on)[i:].any())
                    gap = 0
                    continue
                gap += 1
                if gap > lost_frames:
                    n["absent"] += 1
                    n["absent_lost"] += bool(lost[i])
    finally:
        if bar is not None:
            bar.close()

    def share(a, b):
        return n[a] / n[b] if n[b] else float("nan")

    out = {"tracking_when_on": share("on_tracking", "on"), "on_frames": n["on"],
           "lost_when_off": share("off_lost", "off"), "off_frames": n["off"],
           "lost_when_absent": share("absent_lost", "absent"), "absent_frames": n["absent"],
           "returns_recovered": share("recovered", "returns"), "returns": n["returns"]}
    out["state_accuracy"] = (out["tracking_when_on"] + out["lost_when_off"]) / 2
    return out


def calibrate(make_tracker: TrackerFactory, sequences: Seq, cfg: CalibrationConfig,
              base: Optional[TrackerConfig] = None, thermal_cfg: Optional[ThermalConfig] = None,
              check: bool = True, progress: bool = False) -> CalibrationResult:
    """Tracking and re-acquisition scoring passes, threshold choice, optional check pass.
    ``make_tracker(tracker_cfg)`` builds a fresh SiameseTracker (same network) with the given
    settings; ``base``: the other settings (the checkpoint's, or TrackerConfig())."""
    base = base or TrackerConfig()
    sequences = [as_labelled(s) for s in sequences]
    scores = collect_scores(make_tracker(scoring_config(base)), sequences, thermal_cfg, progress)
    search = collect_scores(make_tracker(search_config(base)), sequences, thermal_cfg, progress,
                            reacquire=True)
    result = choose_thresholds(scores, cfg, search)
    if check:
        tuned = calibrated_config(base, result)
        result.check = check_states(make_tracker(tuned), sequences, cfg, tuned.lost_frames,
                                    thermal_cfg, progress)
    return result


def calibrated_config(base: TrackerConfig, result: CalibrationResult) -> TrackerConfig:
    relative = result.lost_relative
    return dataclasses.replace(base, lost_threshold=result.lost_threshold,
                               recover_threshold=result.recover_threshold, lost_relative=relative,
                               recover_relative=max(relative, base.recover_relative))


# --------------------------------------------------------------------------------------------
# output

def format_report(result: CalibrationResult, cfg: CalibrationConfig) -> str:
    def qs(d):
        return " ".join(f"{k}={v:.3f}" for k, v in d.items())

    lines = [
        f"tracking pass: {result.n_on} frames on target (IoU > {cfg.on_iou:g}), {result.n_off} "
        f"off target (absent or IoU <= {cfg.off_iou:g}), {result.n_ignored} in between (ignored)",
        f"  on-target scores:  {qs(result.on_quantiles)}",
        f"  off-target scores: {qs(result.off_quantiles)}",
        f"    of which absent: {qs(result.absent_quantiles)}",
        f"re-acquisition pass (LOST-mode search every frame): {result.search_n_on} on target, "
        f"{result.search_n_off} off target",
        f"  on-target scores:  {qs(result.search_on_quantiles)}",
        f"  off-target scores: {qs(result.search_off_quantiles)}",
        f"lost_threshold    = {result.lost_threshold:.3f}  (balanced accuracy "
        f"{result.balanced_accuracy:.3f}: {100 * result.on_rate_above_lost:.1f} % of on-target "
        f"frames at or above, {100 * result.off_rate_below_lost:.1f} % of off-target below)",
        f"recover_threshold = {result.recover_threshold:.3f}  ({100 * result.recover_precision:.1f}"
        f" % of search frames at or above are on target, target {100 * cfg.recover_precision:.0f}"
        f" %{'' if result.recover_target_met else ' NOT reached: recover = lost'}; "
        f"{100 * result.on_rate_above_recover:.1f} % of on-target and "
        f"{100 * result.off_rate_above_recover:.1f} % of off-target search frames at or above)",
        f"lost_relative     = {result.lost_relative:.3f}  (p{cfg.relative_percentile:g} / median of "
        f"the on-target scores: weak also needs a score below this times the target's recent "
        f"median)",
    ]
    c = result.check
    if c:
        lines.append(
            f"check with these thresholds: TRACKING in {100 * c['tracking_when_on']:.1f} % of "
            f"frames with the box on target ({c['on_frames']}), LOST in "
            f"{100 * c['lost_when_off']:.1f} % of frames with the target absent or the box off it "
            f"({c['off_frames']}; state accuracy {c['state_accuracy']:.3f}); LOST in "
            f"{100 * c['lost_when_absent']:.1f} % of absent frames ({c['absent_frames']} past the "
            f"first lost_frames of a gap); back on target after {100 * c['returns_recovered']:.0f}"
            f" % of {c['returns']} returns")
    return "\n".join(lines)


def write_histogram(result: CalibrationResult, cfg: CalibrationConfig, path: Path,
                    title: str = "") -> Path:
    """PNG: score histograms of on-target and off-target frames, tracking pass (with
    ``lost_threshold``) and re-acquisition pass (with ``recover_threshold``)."""
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    panels = [("tracking pass", result.scores, result.lost_threshold, "lost_threshold", "--")]
    if result.search_scores is not None:
        panels.append(("re-acquisition pass (LOST-mode search)", result.search_scores,
                       result.recover_threshold, "recover_threshold", ":"))
    bins = np.linspace(0.0, 1.0, 51)
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 3.2 * len(panels)), squeeze=False)
    for ax, (name, scores, thr, thr_name, style) in zip(axes[:, 0], panels):
        on, off = scores.labels(cfg)
        ax.hist(scores.score[on], bins=bins, alpha=0.6, density=True, color="tab:green",
                label=f"on target (IoU > {cfg.on_iou:g}), n={int(on.sum())}")
        ax.hist(scores.score[off], bins=bins, alpha=0.6, density=True, color="tab:red",
                label=f"off target (absent or IoU <= {cfg.off_iou:g}), n={int(off.sum())}")
        ax.axvline(thr, color="k", ls=style, label=f"{thr_name} {thr:.3f}")
        ax.set_ylabel("density")
        ax.set_title(f"{title or 'LOST calibration'}: {name}", fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
    axes[-1, 0].set_xlabel("raw foreground score of the chosen anchor")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_to_checkpoint(path, result: CalibrationResult, cfg: CalibrationConfig,
                        source: str = "", command: str = "") -> Dict[str, object]:
    """Store the thresholds in the checkpoint's ``extra["tracker_config"]`` (other entries kept)
    and the measurement in ``extra["lost_calibration"]``; the file is rewritten atomically and
    checked by loading it again. Returns the new ``extra``."""
    import torch

    from fgsgt_ros.model.checkpoint import load_checkpoint, save_checkpoint
    from fgsgt_ros.tracker import checkpoint_tracker_config

    path = Path(path)
    model, model_cfg, extra = load_checkpoint(path)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    tracker_config = dict(extra.get("tracker_config") or {})
    tracker_config.update(lost_threshold=result.lost_threshold,
                          recover_threshold=result.recover_threshold,
                          lost_relative=result.lost_relative)
    TrackerConfig.from_dict(tracker_config)  # valid before anything is written
    extra = dict(extra)
    extra["tracker_config"] = tracker_config
    extra["lost_calibration"] = {
        **result.summary(), "config": _plain(dataclasses.asdict(cfg)), "data": source,
        "command": command, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds")}
    save_checkpoint(path, model, model_cfg, extra)
    size = os.path.getsize(path)
    model2, _, extra2 = load_checkpoint(path)
    same = all(torch.equal(before[k], v) for k, v in model2.state_dict().items())
    if not same or checkpoint_tracker_config(extra2) != TrackerConfig.from_dict(tracker_config):
        raise RuntimeError(f"{path} did not round-trip after writing the calibration")
    if size > MAX_CHECKPOINT_BYTES:
        raise RuntimeError(f"{path} is {size / 2**20:.1f} MB, above the "
                           f"{MAX_CHECKPOINT_BYTES / 2**20:.0f} MB limit for a checkpoint")
    return extra2
