"""Classical OpenCV trackers behind the ``SiameseTracker`` interface (init/update/reset/state).

Available in opencv-contrib 5.0 (checked): CSRT and KCF as ``cv2.TrackerCSRT_create`` /
``cv2.TrackerKCF_create``; MOSSE only in the legacy module, ``cv2.legacy.TrackerMOSSE_create``
(boxes as floats there). Frames: uint8 grey or BGR, like the Siamese tracker (grey is converted to
BGR because CSRT needs 3 channels). OpenCV gives no confidence, so ``score`` is 1.0 when it
reports success and 0.0 otherwise; on failure the previous box is kept. LOST follows
``TrackerConfig.lost_frames`` consecutive failures (recover on the next success).
``TrackResult.saliency`` is None (no saliency map).

MOSSE adaptation: OpenCV's MOSSE declares failure (peak-to-sidelobe ratio below its fixed
threshold) on nearly every update when the box is small (measured here: always below ~20 px,
often below 32 px), which thermal targets usually are. As in the MOSSE paper, which correlates a
fixed 64x64 window around the target, we give it a window of ``MOSSE_CONTEXT`` times the box, at
least ``MOSSE_MIN_SIDE`` px (clipped to the frame), and report a box of the initial size around the
tracked centre (MOSSE does not estimate scale). CSRT and KCF get the box unchanged.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional

import cv2
import numpy as np

from fgsgt_ros.tracker.base import (MonitoredTracker, TrackResult, TrackState, as_uint8_image,
                                    validate_box)
from fgsgt_ros.tracker.config import TrackerConfig


def _legacy(name: str) -> Optional[Callable]:
    legacy = getattr(cv2, "legacy", None)
    return getattr(legacy, name, None) if legacy is not None else None


def _factories() -> Dict[str, Optional[Callable]]:
    return {
        "csrt": getattr(cv2, "TrackerCSRT_create", None) or _legacy("TrackerCSRT_create"),
        "kcf": getattr(cv2, "TrackerKCF_create", None) or _legacy("TrackerKCF_create"),
        "mosse": getattr(cv2, "TrackerMOSSE_create", None) or _legacy("TrackerMOSSE_create"),
    }


PEERS = ("csrt", "kcf", "mosse")
MOSSE_CONTEXT = 2.0
MOSSE_MIN_SIDE = 32.0


def available_peers() -> Dict[str, bool]:
    """Which peers this OpenCV build provides."""
    return {k: v is not None for k, v in _factories().items()}


class OpenCVTracker(MonitoredTracker):
    """One OpenCV tracker ("csrt", "kcf" or "mosse") with the project's tracker interface."""

    def __init__(self, kind: str, tracker_cfg: Optional[TrackerConfig] = None) -> None:
        kind = kind.lower()
        factories = _factories()
        if kind not in factories:
            raise ValueError(f"unknown OpenCV tracker {kind!r}; valid: {', '.join(PEERS)}")
        if factories[kind] is None:
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
        if ok and self.kind == "mosse":
            # window centre -> target centre (the window may have been clipped at the border)
            centre = rect[:2] + rect[2:] / 2.0 - self._offset
            self._box = np.concatenate([centre - self._box[2:] / 2.0, self._box[2:]])
        elif ok:
            self._box = rect
        state = self._monitor.step(1.0 if ok else 0.0)
        return TrackResult(box=self._box.copy(), score=1.0 if ok else 0.0, state=state,
                           frame_size=bgr.shape[:2])
