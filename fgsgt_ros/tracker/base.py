"""Types shared by every tracker (Siamese and OpenCV peers): states, results, box validation.

Box convention: ``fgsgt_ros.boxes`` (continuous 0-based xywh, the box covers [x, x+w) x [y, y+h)).
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple

import numpy as np

from fgsgt_ros.boxes import clip_xywh
from fgsgt_ros.tracker.scan import LostSearch


class TrackState(enum.Enum):
    IDLE = "idle"          # no target (before init / after reset)
    TRACKING = "tracking"  # confident, or weak for fewer than lost_frames frames
    LOST = "lost"          # weak for lost_frames frames; searching an enlarged region


class InvalidBoxError(ValueError):
    """A target box that cannot be tracked (empty, NaN/inf, entirely outside, wrong shape)."""


@dataclass
class TrackResult:
    """Output of one ``update``.

    ``box``: xywh float64 (4,) in frame pixels. ``score``: the tracker's confidence in [0, 1] (Siamese:
    foreground probability of the chosen anchor; peers: 1 if OpenCV reported success else 0).
    ``saliency``: float32 (H, W) in [0, 1] at frame size, zeros outside the search crop; computed
    lazily on first access from ``saliency_crop`` (the network's map over ``search_region``, an
    xywh square in frame pixels), so callers that never read it pay nothing. ``None`` for trackers
    without a saliency map (the OpenCV peers) or networks that return none.
    """

    box: np.ndarray
    score: float
    state: TrackState
    frame_size: Tuple[int, int] = (0, 0)            # (H, W)
    saliency_crop: Optional[np.ndarray] = field(default=None, repr=False)
    search_region: Optional[np.ndarray] = None
    _saliency_fn: Optional[Callable[[], np.ndarray]] = field(default=None, repr=False, compare=False)
    _saliency: Optional[np.ndarray] = field(default=None, repr=False, compare=False)

    @property
    def saliency(self) -> Optional[np.ndarray]:
        if self._saliency is None and self._saliency_fn is not None:
            self._saliency = self._saliency_fn()
            self._saliency_fn = None
        return self._saliency


def check_box_values(box) -> np.ndarray:
    """The xywh box as 4 floats; InvalidBoxError unless all are finite and the size is positive."""
    try:
        b = np.asarray(box, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidBoxError(f"box must be 4 numbers x, y, w, h; got {box!r}") from exc
    if b.shape != (4,):
        raise InvalidBoxError(f"box must be 4 numbers x, y, w, h; got {b.size} values")
    if not np.isfinite(b).all():
        raise InvalidBoxError(f"box has a non-finite value (NaN or infinite): {b.tolist()}")
    if b[2] <= 0 or b[3] <= 0:
        raise InvalidBoxError(f"box size must be positive, got w={b[2]:g}, h={b[3]:g}")
    return b


def validate_box(box, width: int, height: int, min_inside: float = 0.0) -> np.ndarray:
    """Check an xywh box against a ``width`` x ``height`` frame and clip it to the frame.

    Raises InvalidBoxError if the box has not 4 finite numbers, a non-positive width/height, or
    less than ``min_inside`` pixels (and at least some) of it (in width or height) inside the frame. A box partly
    outside is clipped to the part inside.
    """
    b = check_box_values(box)
    clipped = clip_xywh(b, width, height)
    if min(clipped[2], clipped[3]) <= 0 or min(clipped[2], clipped[3]) < min_inside:
        inside = f"less than {min_inside:g} px inside" if min_inside > 0 else "no overlap"
        raise InvalidBoxError(f"box {b.tolist()} lies outside the {width}x{height} frame ({inside})")
    return clipped


def as_uint8_image(image: np.ndarray, who: str = "tracker") -> np.ndarray:
    """Accept uint8 (H, W) or (H, W, 3|4); anything else is refused with advice."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{who} expects a numpy image, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(f"{who} expects 8-bit frames, got {image.dtype}; convert raw thermal frames "
                        "with fgsgt_ros.tracker.thermal.ThermalPreprocessor first")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)) or image.size == 0:
        raise ValueError(f"{who} expects an (H, W) or (H, W, 3) image, got shape {image.shape}")
    return image


class LostMonitor:
    """TRACKING/LOST bookkeeping shared by all trackers (settings from TrackerConfig, whose
    docstring gives the rule).

    The LOST level is relative to the target's own score history: ``reference`` is the median of
    its last ``reference_frames`` scores while TRACKING (since ``start``, i.e. init), and a frame
    is weak when its score is below ``min(lost_threshold, lost_relative * reference)``;
    ``lost_frames`` weak frames in a row make the state LOST, and a LOST target is re-acquired at
    ``min(recover_threshold, recover_relative * reference)`` (the reference is frozen while LOST).
    The first frame after init, with no history yet, uses the absolute thresholds.
    ``lost_relative`` = 0: absolute thresholds only.

    ``LostMonitor(tracker_cfg)`` or, as before, ``LostMonitor(lost_threshold, lost_frames,
    recover_threshold)`` (the relative settings then keep TrackerConfig's defaults).
    """

    def __init__(self, lost_threshold, lost_frames: Optional[int] = None,
                 recover_threshold: Optional[float] = None, **relative) -> None:
        self.state = TrackState.IDLE
        self.weak = 0
        self._scores: deque = deque()
        self.retune(lost_threshold, lost_frames, recover_threshold, **relative)

    def retune(self, lost_threshold, lost_frames: Optional[int] = None,
               recover_threshold: Optional[float] = None, *, lost_relative: Optional[float] = None,
               recover_relative: Optional[float] = None,
               reference_frames: Optional[int] = None) -> None:
        """New settings from the next score on (a TrackerConfig, or the numbers); the state, the
        weak-frame count and the target's reference score are kept."""
        from fgsgt_ros.tracker.config import TrackerConfig

        if isinstance(lost_threshold, TrackerConfig):
            cfg = lost_threshold
            lost_threshold, lost_frames = cfg.lost_threshold, cfg.lost_frames
            recover_threshold = cfg.recover_threshold
            lost_relative, recover_relative = cfg.lost_relative, cfg.recover_relative
            reference_frames = cfg.reference_frames
        defaults = TrackerConfig
        self.lost_threshold = float(lost_threshold)
        self.lost_frames = int(lost_frames)
        self.recover_threshold = float(recover_threshold)
        self.lost_relative = float(defaults.lost_relative if lost_relative is None
                                   else lost_relative)
        self.recover_relative = float(defaults.recover_relative if recover_relative is None
                                      else recover_relative)
        self.reference_frames = int(defaults.reference_frames if reference_frames is None
                                    else reference_frames)
        while len(self._scores) > self.reference_frames:
            self._scores.popleft()

    @property
    def reference(self) -> Optional[float]:
        """The target's reference score (None before the first score after init)."""
        if not self._scores:
            return None
        return float(np.median(self._scores))

    def levels(self) -> Tuple[float, float]:
        """(lost level, recover level) in force now."""
        lost, recover = self.lost_threshold, self.recover_threshold
        ref = self.reference
        if self.lost_relative > 0 and ref is not None:
            lost = min(lost, self.lost_relative * ref)
            recover = min(recover, self.recover_relative * ref)
        return lost, max(lost, recover)

    def redetect_level(self) -> float:
        """Level for re-acquiring away from the last position (a whole-frame scan): at least the
        target's own reference score, not only the recover level. Far from where the target was,
        a look-alike is as likely as the target, and a look-alike scores below the target's usual
        level far more often than the target does (generated held-out data: a passer-by at 0.94
        against the target's 0.96). ``lost_relative`` = 0 (absolute thresholds only): the
        recover level."""
        ref = self.reference
        if self.lost_relative <= 0 or ref is None:
            return self.levels()[1]
        return max(self.levels()[1], ref)

    def start(self) -> None:
        self.state, self.weak = TrackState.TRACKING, 0
        self._scores.clear()

    def stop(self) -> None:
        self.state, self.weak = TrackState.IDLE, 0
        self._scores.clear()

    def _remember(self, score: float) -> None:
        self._scores.append(score)
        if len(self._scores) > self.reference_frames:
            self._scores.popleft()

    def force_lost(self) -> None:
        """TRACKING -> LOST now, as after ``lost_frames`` weak frames (IDLE stays IDLE)."""
        if self.state != TrackState.IDLE:
            self.state, self.weak = TrackState.LOST, self.lost_frames

    def step(self, score: float, recover: Optional[float] = None) -> TrackState:
        """Feed this frame's score; returns the new state. ``recover``: the re-acquisition level
        for this frame instead of ``levels()``'s (e.g. ``redetect_level()``)."""
        score = float(score) if np.isfinite(score) else 0.0
        lost, level = self.levels()  # from the history before this frame
        recover = level if recover is None else recover
        if self.state == TrackState.TRACKING:
            self.weak = self.weak + 1 if score < lost else 0
            if self.weak >= self.lost_frames:
                self.state = TrackState.LOST
            else:
                self._remember(score)
        elif self.state == TrackState.LOST and score >= recover:
            self.state, self.weak = TrackState.TRACKING, 0
            self._remember(score)
        return self.state


class MonitoredTracker:
    """What every tracker here shares, network or OpenCV peer: its ``TrackerConfig`` and the
    TRACKING/LOST bookkeeping (``LostMonitor``) behind ``state``, ``set_config`` and ``reset``."""

    def __init__(self, tracker_cfg=None) -> None:
        from fgsgt_ros.tracker.config import TrackerConfig

        self.cfg = tracker_cfg or TrackerConfig()
        self._monitor = LostMonitor(self.cfg)

    @property
    def state(self) -> TrackState:
        return self._monitor.state

    def reset(self) -> None:
        """Forget the target (state IDLE)."""
        self._monitor.stop()

    def set_config(self, cfg) -> None:
        """Use ``cfg`` from the next ``update`` on, keeping the target, its template and its state
        (runtime tuning, e.g. the node's tracker.* parameters): every setting is read per frame."""
        self.cfg = cfg
        self._monitor.retune(cfg)


class NetworkTracker(MonitoredTracker):
    """What every network tracker shares (``SiameseTracker``, ``SiamFCTracker``): the model on its
    device in eval mode, the target's centre and size, the TRACKING/LOST bookkeeping
    (``LostMonitor``) and the state API (``state``, ``box``, ``reset``, ``set_config``,
    ``mark_lost``, ``relocate``). Subclasses add ``init(image, box)`` and ``update(image)``."""

    default_name = "tracker"

    def __init__(self, model, model_cfg, tracker_cfg=None, device: str = "cpu",
                 name: Optional[str] = None) -> None:
        import torch  # local: the OpenCV peers use this module without a network

        super().__init__(tracker_cfg)
        self.model_cfg = model_cfg
        self.device = torch.device(device)
        self.model = model.to(self.device) if hasattr(model, "to") else model
        if hasattr(self.model, "eval"):
            self.model.eval()
        self.name = name or getattr(model_cfg, "name", self.default_name)
        self._center = np.zeros(2)
        self._size = np.zeros(2)
        self._lost_search = LostSearch()

    def _start_target(self, image: np.ndarray) -> None:
        """A new target at ``_center`` / ``_size`` in ``image``: its appearance kept for the
        re-detection proposals, the state TRACKING with a fresh score history."""
        self._lost_search.remember(image, self._center, self._size, self.cfg.context_amount)
        self._monitor.start()

    def search_plan(self, side: float, image: np.ndarray):
        """Where this frame's search crops go, from the state: (centres (k, 2), side,
        re-acquisition level). TRACKING: one crop around the box at ``side`` (the tracking
        context; level None: nothing to re-acquire). LOST: the region ``reacquire_scale`` times
        larger around the last box at the recover level, or on every ``lost_scan_every``-th LOST
        frame ``lost_scan_tiles`` crops at ``side`` that re-acquire only at the target's own
        reference score: centred on the best matches of the target's appearance in ``image``
        within reach of the last position (``lost_scan_proposals``), else the next tiles of the
        whole-frame scan (``tracker/scan.py``)."""
        if self.state != TrackState.LOST:
            self._lost_search.reset()
            return self._center[None], side, None
        search, cfg = self._lost_search, self.cfg
        frame_h, frame_w = image.shape[:2]
        if not search.scan_due(cfg.lost_scan_every):
            return self._center[None], side * cfg.reacquire_scale, self._monitor.levels()[1]
        tiles = np.zeros((0, 2))
        if cfg.lost_scan_proposals:
            tiles = search.proposals(image, cfg.lost_scan_tiles, self._size, cfg.context_amount,
                                     self._center, side)
            # crops kept as far inside the frame as the scan's tiles (a quarter side from the edge)
            margin = np.minimum(side / 4.0, np.array([frame_w, frame_h]) / 2.0)
            tiles = np.clip(tiles, margin, np.array([frame_w, frame_h]) - margin)
        if len(tiles) == 0:
            tiles = search.next_tiles(cfg.lost_scan_tiles, side, frame_w, frame_h, self._center)
        return tiles, side, self._monitor.redetect_level()

    @property
    def box(self) -> Optional[np.ndarray]:
        """Current target box (xywh) or None when IDLE."""
        if self.state == TrackState.IDLE:
            return None
        return np.concatenate([self._center - self._size / 2.0, self._size])

    def mark_lost(self) -> None:
        """Declare the target lost now (e.g. an external occlusion cue): the next ``update``
        searches the enlarged region and moves the box only at the re-acquisition level. Also how
        ``fgsgt calibrate`` measures the scores of re-acquisition searches. No-op when IDLE."""
        self._monitor.force_lost()

    def relocate(self, box_xywh) -> None:
        """Move the current box (where the next search is centred, and its size) to ``box_xywh``
        without a new template or a state change, e.g. from an external position cue. Raises
        InvalidBoxError for a non-finite or empty box; no-op when IDLE."""
        try:
            b = np.asarray(box_xywh, dtype=np.float64).reshape(4)
        except (TypeError, ValueError) as exc:
            raise InvalidBoxError(f"box must be 4 numbers x, y, w, h; got {box_xywh!r}") from exc
        if not np.isfinite(b).all() or b[2] <= 0 or b[3] <= 0:
            raise InvalidBoxError(f"box must be finite with a positive size, got {b.tolist()}")
        if self.state != TrackState.IDLE:
            self._center, self._size = b[:2] + b[2:] / 2.0, b[2:].copy()

    def _update_frame(self, image: np.ndarray) -> np.ndarray:
        """The frame an ``update`` works on (8-bit, see ``as_uint8_image``); RuntimeError when
        IDLE (``init`` first)."""
        who = type(self).__name__
        if self.state == TrackState.IDLE:
            raise RuntimeError(f"{who}.update() called before init()")
        return as_uint8_image(image, who)

    @staticmethod
    def _fill(image: np.ndarray):
        """Per-channel frame mean: what crops show outside the image."""
        import cv2

        m = cv2.mean(image)
        return m[0] if image.ndim == 2 else m[:3]
