"""Where a LOST tracker searches (no ROS imports): around the last box, where the target's
appearance matches, or a whole-frame scan.

A LOST network tracker searches a region ``reacquire_scale`` times larger around its last box;
the network input stays the same size, so that region is seen at a coarser resolution, which a
3-5 px target does not survive (a returning 2-5 px rat scored 0.97-0.999 in a crop at the
tracking resolution and 0.50-0.93 at twice the context). So every ``lost_scan_every``-th LOST
frame (``TrackerConfig``) searches instead ``lost_scan_tiles`` crops at the tracking resolution,
one network pass each (1 by default: a LOST frame costs what a tracking frame does): centred on
the best matches of the target's appearance at init (``match_peaks``: one normalised
cross-correlation over the frame, a fraction of a network pass) within reach of the last position
(``lost_scan_proposals``), else the next tiles of a grid that covers the whole frame. A crop
re-acquires only at the target's own reference score (``LostMonitor.redetect_level``): far from
its last position a look-alike is as likely as the target. ``NetworkTracker.search_plan`` applies
this for every network tracker.

Why proposals: the returning rat of the real Lepton clips reaches its reference score only in a
crop that holds it near the centre (one or two of the grid's 130 tiles per frame), so the grid
finds it when its schedule happens to reach that tile (about 25 frames after it came back); the
appearance match puts it among the first two or three candidates on most frames, and a crop
centred there scores it 0.89-0.97.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from fgsgt_ros.tracker.click import to_grey

#: longest side, in pixels, of the appearance patch when matched over the frame: larger targets
#: are matched on a frame shrunk to suit, so a 1920x1080 frame costs about what a Lepton frame does
MATCH_PATCH_SIDE = 16
#: how far a lost target may have moved, in search-crop sides per LOST frame (plus half a side):
#: proposals farther from the last position wait (docs/MODEL_CARD.md: 0.33 let a static
#: look-alike 190 px away take a small drone lost 12 frames earlier)
PROPOSAL_REACH = 0.1
#: proposal frames whose turned-down matches are skipped
PROPOSAL_MEMORY = 16

__all__ = ["scan_grid", "scan_schedule", "appearance_patch", "match_peaks", "LostSearch"]


def scan_grid(frame_w: int, frame_h: int, side: float, near) -> np.ndarray:
    """Centres (N, 2) of square search crops of ``side`` frame pixels that together cover the
    frame, nearest to ``near`` first. A crop's score map covers about its central two thirds, so
    centres half a crop apart leave no gap."""
    step = max(side / 2.0, 1.0)
    nx, ny = max(1, math.ceil(frame_w / step)), max(1, math.ceil(frame_h / step))
    xs = (np.arange(nx) + 0.5) * frame_w / nx
    ys = (np.arange(ny) + 0.5) * frame_h / ny
    centres = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    d = np.hypot(centres[:, 0] - near[0], centres[:, 1] - near[1])
    return centres[np.argsort(d, kind="stable")]


def scan_schedule(n: int) -> np.ndarray:
    """Order in which to visit ``n`` tiles sorted nearest-first: the nearest 1, then the nearest
    2, 4, 8, ... up to all of them, so that the area around the last position, where a target
    that went behind cover most often comes back, is searched again while the scan widens."""
    parts, k = [], 1
    while True:
        parts.append(np.arange(min(k, n)))
        if k >= n:
            return np.concatenate(parts)
        k *= 2


def appearance_patch(image: np.ndarray, center, size, context_amount: float) -> np.ndarray:
    """The target's grey-level appearance with the tracker's context around it: a (h + p) x
    (w + p) patch, p = context_amount * (w + h), replicated at the frame border."""
    import cv2

    w, h = float(size[0]), float(size[1])
    p = context_amount * (w + h)
    pw, ph = max(2, int(round(w + p))), max(2, int(round(h + p)))
    return cv2.getRectSubPix(to_grey(image), (pw, ph), (float(center[0]), float(center[1])))


def match_peaks(image: np.ndarray, patch: np.ndarray, size, context_amount: float, count: int,
                near=None, reach: float = math.inf, exclude=None) -> np.ndarray:
    """Centres (k, 2), best first, of the ``count`` best matches of ``patch``
    (``appearance_patch``, rescaled to the target's current ``size``) over the frame by normalised
    cross-correlation, each at least a patch apart, none farther than ``reach`` from ``near`` and
    none within half a patch of a point of ``exclude`` ((n, 2)). Cheap: one correlation on a frame
    shrunk so that the patch is at most ``MATCH_PATCH_SIDE`` px; insensitive to the AGC's gain and
    offset. Empty for a featureless patch."""
    import cv2

    w, h = float(size[0]), float(size[1])
    p = context_amount * (w + h)
    shrink = min(1.0, MATCH_PATCH_SIDE / max(w + p, h + p))
    pw, ph = max(2, int(round((w + p) * shrink))), max(2, int(round((h + p) * shrink)))
    tmpl = cv2.resize(patch, (pw, ph), interpolation=cv2.INTER_AREA)
    if count < 1 or float(tmpl.std()) < 1e-3:
        return np.zeros((0, 2))
    frame = to_grey(image)
    if shrink < 1.0:  # a 1920x1080 frame then costs about what its patch needs
        frame = cv2.resize(frame, (max(1, int(round(frame.shape[1] * shrink))),
                                   max(1, int(round(frame.shape[0] * shrink)))),
                           interpolation=cv2.INTER_AREA)
    # padded so that a target cut by the frame border is still matched at its centre
    top, left = ph // 2, pw // 2
    frame = cv2.copyMakeBorder(frame, top, ph - 1 - top, left, pw - 1 - left, cv2.BORDER_REPLICATE)
    response = cv2.matchTemplate(frame, tmpl, cv2.TM_CCOEFF_NORMED)
    # a (nearly) flat window (saturated sky, a letterbox, the padding) has no defined correlation
    # (OpenCV returns up to 1 there): windows with under a quarter of the patch's contrast are out
    mean = cv2.blur(frame, (pw, ph))
    var = cv2.blur(frame * frame, (pw, ph)) - mean * mean
    rh, rw = response.shape
    var = var[ph // 2:ph // 2 + rh, pw // 2:pw // 2 + rw]
    response[~np.isfinite(response) | (var < (0.25 * float(tmpl.std())) ** 2)] = -1.0
    # response cell (col, row) <-> patch centre in frame pixels
    offset = np.array([left - pw / 2.0, top - ph / 2.0])
    frame_h, frame_w = image.shape[:2]
    if near is not None and reach < math.hypot(max(near[0], frame_w - near[0]),
                                               max(near[1], frame_h - near[1])):
        cx = (np.arange(response.shape[1]) - offset[0]) / shrink - near[0]
        cy = (np.arange(response.shape[0]) - offset[1]) / shrink - near[1]
        response[cy[:, None] ** 2 + cx[None, :] ** 2 > reach * reach] = -1.0
    for point in ([] if exclude is None else np.asarray(exclude).reshape(-1, 2)):
        c = np.round(point * shrink + offset).astype(int)
        cv2.circle(response, (int(c[0]), int(c[1])), max(1, max(pw, ph) // 2), -1.0, -1)
    peaks = []
    for _ in range(count):
        _, value, _, (px, py) = cv2.minMaxLoc(response)
        if value <= -1.0:
            break
        peaks.append(((px - offset[0]) / shrink, (py - offset[1]) / shrink))
        cv2.circle(response, (px, py), max(pw, ph), -1.0, -1)
    return np.array(peaks, dtype=np.float64).reshape(-1, 2)


class LostSearch:
    """Per-target progress of the search while LOST: the target's appearance at init (for
    ``proposals``), how many LOST frames so far, the matches already turned down, the tiles (laid
    out on the first scan frame, from that frame's geometry and the last position), their visiting
    order (``scan_schedule``) and where in it the next scan frame starts."""

    def __init__(self) -> None:
        self.appearance: Optional[np.ndarray] = None
        self.reset()

    def remember(self, image: np.ndarray, center, size, context_amount: float) -> None:
        """Keep the target's appearance at init (``appearance_patch``) for ``match_peaks``."""
        self.appearance = appearance_patch(image, center, size, context_amount)

    def reset(self) -> None:
        """Back to TRACKING (or a new target): the next LOST spell starts a new scan."""
        self.lost_frames = 0
        self._checked: list = []  # proposals searched on recent scan frames, without success
        self._tiles: Optional[np.ndarray] = None
        self._order: Optional[np.ndarray] = None
        self._next = 0

    def scan_due(self, every: int) -> bool:
        """Count one more LOST frame; True when it is a scan frame (every ``every``-th; 0 = never)."""
        self.lost_frames += 1
        return every > 0 and self.lost_frames % every == 0

    def proposals(self, image: np.ndarray, count: int, size, context_amount: float, near,
                  side: float) -> np.ndarray:
        """Centres (k <= ``count``, 2) of the best matches of the appearance at init
        (``match_peaks``) within reach of ``near``, the last position: a target moves at most
        ``PROPOSAL_REACH`` search sides per frame since it was lost, so a look-alike across the
        frame is not taken for a target lost a few frames ago. Matches searched on the last
        ``PROPOSAL_MEMORY`` proposal frames are skipped: a static look-alike that the network has
        turned down does not hold the first place while the target is elsewhere (``reset``
        forgets them when the target is re-acquired). Empty when nothing matches within reach."""
        if self.appearance is None:
            return np.zeros((0, 2))
        reach = side * (0.5 + PROPOSAL_REACH * self.lost_frames)
        checked = np.concatenate(self._checked) if self._checked else None
        peaks = match_peaks(image, self.appearance, size, context_amount, count, near=near,
                            reach=reach, exclude=checked)
        self._checked = (self._checked + [peaks])[-PROPOSAL_MEMORY:]
        return peaks

    def next_tiles(self, count: int, side: float, frame_w: int, frame_h: int, near) -> np.ndarray:
        """Centres (k, 2) of the next ``count`` different tiles of the schedule (frame pixels,
        continuous coordinates; k is at most the number of tiles in the grid)."""
        if self._tiles is None:
            self._tiles = scan_grid(frame_w, frame_h, side, near)
            self._order = scan_schedule(len(self._tiles))
        picked: list = []
        for _ in range(len(self._order)):
            if len(picked) == min(count, len(self._tiles)):
                break
            index = int(self._order[self._next])
            self._next = (self._next + 1) % len(self._order)
            if index not in picked:
                picked.append(index)
        return self._tiles[picked]
