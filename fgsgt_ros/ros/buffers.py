"""Thread-safe frame hand-over between the ROS callbacks and the inference worker (no ROS imports).

- ``LatestFrameMailbox``: one slot. The image callback overwrites it; the worker takes the newest
  frame. A frame overwritten before the worker took it is dropped and counted, never queued, so the
  node's latency stays at one inference however fast frames arrive.
- ``FrameRingBuffer``: the last N received frames by stamp, so ``init_target`` can initialise on the
  frame a user drew the box on, even if newer frames have been processed since.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Optional, Tuple

import numpy as np


@dataclass
class Frame:
    """A decoded camera frame and where it came from."""

    stamp_ns: int          # header stamp in nanoseconds (the key for stamped init)
    header: Any            # std_msgs/Header to copy onto every output
    image: np.ndarray      # raw decoded array (uint8/uint16/float32, 1 or 3 channels)
    received_ns: int = 0   # monotonic receive time, for diagnostics
    convert_s: float = 0.0  # time spent decoding the message
    extra: dict = field(default_factory=dict)


class LatestFrameMailbox:
    """Single-slot mailbox: ``put`` replaces, ``take`` blocks until a frame (or close)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Optional[Frame] = None
        self._closed = False
        self.dropped = 0

    def put(self, item: Frame) -> bool:
        """Store ``item``; returns True if an unprocessed older frame was dropped."""
        with self._cond:
            dropped = self._item is not None
            if dropped:
                self.dropped += 1
            self._item = item
            self._cond.notify()
            return dropped

    def take(self, timeout: Optional[float] = None) -> Optional[Frame]:
        """The newest frame, or None on timeout / after ``close``."""
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class FrameRingBuffer:
    """The last ``capacity`` frames, looked up by exact header stamp."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"frame buffer capacity must be >= 1, got {capacity}")
        self.capacity = int(capacity)
        self._frames: "OrderedDict[int, Frame]" = OrderedDict()
        self._lock = threading.Lock()

    def add(self, frame: Frame) -> None:
        with self._lock:
            self._frames.pop(frame.stamp_ns, None)  # same stamp twice: keep the newest copy
            self._frames[frame.stamp_ns] = frame
            while len(self._frames) > self.capacity:
                self._frames.popitem(last=False)

    def latest(self) -> Optional[Frame]:
        with self._lock:
            return next(reversed(self._frames.values()), None)

    def get(self, stamp_ns: int) -> Optional[Frame]:
        with self._lock:
            return self._frames.get(int(stamp_ns))

    def span(self) -> Tuple[int, Optional[int], Optional[int]]:
        """(count, oldest stamp ns, newest stamp ns) for error messages."""
        with self._lock:
            if not self._frames:
                return 0, None, None
            keys = list(self._frames.keys())
            return len(keys), keys[0], keys[-1]

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._frames)
