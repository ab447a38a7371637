"""OpenCV's trackers behind the ``SiameseTracker`` interface (init/update/reset/state): the
classical CSRT, KCF and MOSSE, and OpenCV's deep NanoTrack.

Available in opencv-contrib 5.0 (checked): CSRT and KCF as ``cv2.TrackerCSRT_create`` /
``cv2.TrackerKCF_create``; MOSSE only in the legacy module, ``cv2.legacy.TrackerMOSSE_create``
(boxes as floats there); NanoTrack as ``cv2.TrackerNano_create`` with the NanoTrack v2 ONNX pair
shipped in ``fgsgt_ros/weights/pretrained/nanotrack_v2`` (Apache-2.0, SOURCE.md there), the
deep tracker every OpenCV install can run (it takes 0-255 BGR frames, no mean/std). Frames: uint8
grey or BGR, like the Siamese tracker (grey is converted to BGR because CSRT and NanoTrack need 3
channels), so a peer sees exactly the 8-bit frames the project's AGC gives the networks. The
classical trackers give no confidence, so ``score`` is 1.0 when they report success and 0.0
otherwise; NanoTrack's ``score`` is its own tracking score. On failure the previous box is kept.
LOST follows ``TrackerConfig.lost_frames`` consecutive failures (recover on the next success), for
NanoTrack too (OpenCV's own success flag, not a threshold of ours on its score).
``TrackResult.saliency`` is None (no saliency map).

MOSSE adaptation: OpenCV's MOSSE declares failure (peak-to-sidelobe ratio below its fixed
threshold) on nearly every update when the box is small (measured here: always below ~20 px,
often below 32 px), which thermal targets usually are. As in the MOSSE paper, which correlates a
fixed 64x64 window around the target, we give it a window of ``MOSSE_CONTEXT`` times the box, at
least ``MOSSE_MIN_SIDE`` px (clipped to the frame), and report a box of the initial size around the
tracked centre (MOSSE does not estimate scale). CSRT and KCF get the box unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, Optional

import cv2
import numpy as np

from fgsgt_ros.tracker.base import (MonitoredTracker, TrackResult, TrackState, as_uint8_image,
                                    validate_box)
from fgsgt_ros.tracker.config import TrackerConfig


def _legacy(name: str) -> Optional[Callable]:
    legacy = getattr(cv2, "legacy", None)
    return getattr(legacy, name, None) if legacy is not None else None


#: NanoTrack v2's ONNX pair (backbone, neck + head), as ``cv2.TrackerNano`` loads them
NANOTRACK_FILES = tuple(Path(__file__).resolve().parents[1] / "weights" / "pretrained" /
                        "nanotrack_v2" / f for f in ("backbone.onnx", "head.onnx"))


def _nanotrack_factory() -> Optional[Callable]:
    create = getattr(cv2, "TrackerNano_create", None)
    if create is None or not all(p.is_file() for p in NANOTRACK_FILES):
        return None

    def make():
        params = cv2.TrackerNano_Params()
        params.backbone, params.neckhead = (str(p) for p in NANOTRACK_FILES)
        logging = getattr(getattr(cv2, "utils", None), "logging", None)
        if logging is None:
            return create(params)
        level = logging.getLogLevel()
        logging.setLogLevel(logging.LOG_LEVEL_ERROR)  # OpenCV's DNN warns on every create
        try:
            return create(params)
        finally:
            logging.setLogLevel(level)

    return make


def _factories() -> Dict[str, Optional[Callable]]:
    return {
        "csrt": getattr(cv2, "TrackerCSRT_create", None) or _legacy("TrackerCSRT_create"),
        "kcf": getattr(cv2, "TrackerKCF_create", None) or _legacy("TrackerKCF_create"),
        "mosse": getattr(cv2, "TrackerMOSSE_create", None) or _legacy("TrackerMOSSE_create"),
        "nanotrack": _nanotrack_factory(),
    }


#: every OpenCV tracker a tracker spec may name (the one list the session, node and CLIs use)
PEERS = ("csrt", "kcf", "mosse", "nanotrack")
MOSSE_CONTEXT = 2.0
MOSSE_MIN_SIDE = 32.0


def peer_name(spec) -> str:
    """The OpenCV peer a tracker spec names (``"csrt"`` for ``" CSRT "``), '' when it names a
    network: the one rule the session, ``build_tracker`` and the CLIs decide peer or network by."""
    if not isinstance(spec, str):
        return ""
    name = spec.strip().lower()
    return name if name in PEERS else ""


class OpenCVTracker(MonitoredTracker):
    """One OpenCV tracker (a name in ``PEERS``) with the project's tracker interface."""

    def __init__(self, kind: str, tracker_cfg: Optional[TrackerConfig] = None) -> None:
        kind = kind.lower()
        factories = _factories()
        if kind not in factories:
            raise ValueError(f"unknown OpenCV tracker {kind!r}; valid: {', '.join(PEERS)}")
        if factories[kind] is None:
            if kind == "nanotrack" and hasattr(cv2, "TrackerNano_create"):
                raise RuntimeError("the NanoTrack ONNX files are missing: "
                                   f"{', '.join(str(p) for p in NANOTRACK_FILES)}")
            raise RuntimeError(f"this OpenCV build ({cv2.__version__}) has no {kind.upper()} "
                               "tracker; install opencv-contrib-python-headless")
        self.kind = kind
        self.name = kind
        self._factory = factories[kind]
        super().__init__(tracker_cfg)
        self._tracker = None
        self._box = np.zeros(4)

    @property
    def box(self) -> Optional[np.ndarray]:
        return None if self.state == TrackState.IDLE else self._box.copy()

    def reset(self) -> None:
        self._tracker = None
        super().reset()

    @staticmethod
    def _bgr(image: np.ndarray) -> np.ndarray:
        image = as_uint8_image(image, "OpenCVTracker")
        if image.ndim == 2:
            return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        return image if image.flags.c_contiguous else np.ascontiguousarray(image)

    def init(self, image: np.ndarray, box_xywh) -> None:
        bgr = self._bgr(image)
        h, w = bgr.shape[:2]
        target = validate_box(box_xywh, w, h)
        box = target
        if self.kind == "mosse":
            side = np.maximum(target[2:] * MOSSE_CONTEXT, MOSSE_MIN_SIDE)
            centre = target[:2] + target[2:] / 2.0
            box = validate_box(np.concatenate([centre - side / 2.0, side]), w, h)
        # integer rectangle inside the image, at least 1x1 (OpenCV's Rect2i)
        x0, y0 = int(np.floor(box[0])), int(np.floor(box[1]))
        x1 = min(w, max(x0 + 1, int(np.ceil(box[0] + box[2]))))
        y1 = min(h, max(y0 + 1, int(np.ceil(box[1] + box[3]))))
        rect = (x0, y0, x1 - x0, y1 - y0)
        tracker = self._factory()
        tracker.init(bgr, rect)
        self._tracker = tracker
        self._box = target
        # tracked-window centre minus target centre (MOSSE window may be clipped at the border)
        self._offset = np.array([x0 + rect[2] / 2.0, y0 + rect[3] / 2.0]) - (target[:2] + target[2:] / 2.0)
        self._monitor.start()

    def update(self, image: np.ndarray) -> TrackResult:
        if self.state == TrackState.IDLE or self._tracker is None:
            raise RuntimeError(f"{self.kind} tracker: update() called before init()")
        bgr = self._bgr(image)
        ok, rect = self._tracker.update(bgr)
        rect = np.asarray(rect, dtype=np.float64).reshape(-1)
        ok = bool(ok) and rect.size == 4 and np.isfinite(rect).all() and rect[2] > 0 and rect[3] > 0
        score = 1.0 if ok else 0.0
        if self.kind == "nanotrack":
            score = float(np.clip(self._tracker.getTrackingScore(), 0.0, 1.0)) if ok else 0.0
        if ok and self.kind == "mosse":
            # window centre -> target centre (the window may have been clipped at the border)
            centre = rect[:2] + rect[2:] / 2.0 - self._offset
            self._box = np.concatenate([centre - self._box[2:] / 2.0, self._box[2:]])
        elif ok:
            self._box = rect
        state = self._monitor.step(1.0 if ok else 0.0)
        return TrackResult(box=self._box.copy(), score=score, state=state,
                           frame_size=bgr.shape[:2])
