"""Where a LOST tracker searches (no ROS imports): around the last box, or a whole-frame scan.

A LOST network tracker searches a region ``reacquire_scale`` times larger around its last box;
the network input stays the same size, so that region is seen at a coarser resolution, which a
3-5 px target does not survive (a returning 2-5 px rat scored 0.97-0.999 in a crop at the
tracking resolution and 0.50-0.93 at twice the context). So every ``lost_scan_every``-th LOST
frame (``TrackerConfig``) searches instead the next ``lost_scan_tiles`` tiles of a grid that
covers the whole frame at the tracking resolution, one network pass each (1 by default: a LOST
frame costs what a tracking frame does; a slow camera leaves time for more). A tile re-acquires
only at the target's own reference score (``LostMonitor.redetect_level``): far from its last
position a look-alike is as likely as the target. ``NetworkTracker.search_plan`` applies this for every network tracker.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

__all__ = ["scan_grid", "scan_schedule", "LostSearch"]


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


class LostSearch:
    """Per-target progress of the whole-frame scan: how many LOST frames so far, the tiles (laid
    out on the first one, from that frame's geometry and the last position), their visiting
    order (``scan_schedule``) and where in it the next scan frame starts."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Back to TRACKING (or a new target): the next LOST spell starts a new scan."""
        self.lost_frames = 0
        self._tiles: Optional[np.ndarray] = None
        self._order: Optional[np.ndarray] = None
        self._next = 0

    def scan_due(self, every: int) -> bool:
        """Count one more LOST frame; True when it is a scan frame (every ``every``-th; 0 = never)."""
        self.lost_frames += 1
        return every > 0 and self.lost_frames % every == 0

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
