"""Thread-safe frame hand-over between the ROS callbacks and the inference worker (no ROS imports).

- ``LatestFrameMailbox``: the worker's inbox. One slot for frames: the image callback overwrites
  it; the worker takes the newest frame. A frame overwritten before the worker took it is dropped
  and counted, never queued, so the node's latency stays at one inference however fast frames
  arrive. Ahead of the frame, a queue of commands (``put_command``: an init, a reset) that the
  worker takes first, in order: a service's work waits for at most the frame in progress, never
  for frames behind it.
- ``FrameRingBuffer``: the last N received frames by stamp, so ``init_target`` can initialise on the
  frame a user drew the box on, even if newer frames have been processed since. Bounded in frames
  and in bytes (the newest frame is always kept), so a stream of large frames cannot make it hold
  N times the largest frame.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
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
    """Single-slot frame mailbox with a command queue in front: ``put`` replaces the frame,
    ``put_command`` appends a command, ``take`` blocks until either (commands first) or close."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Optional[Frame] = None
        self._commands: deque = deque()
        self._closed = False
        self.dropped = 0

    def put_command(self, command: Any) -> None:
        """Queue ``command`` for the worker, ahead of any frame."""
        with self._cond:
            self._commands.append(command)
            self._cond.notify()

    def drain_commands(self) -> list:
        """The commands not taken yet (the node answers them when it stops)."""
        with self._cond:
            pending, self._commands = list(self._commands), deque()
            return pending

    def put(self, item: Frame) -> bool:
        """Store ``item``; returns True if an unprocessed older frame was dropped."""
        with self._cond:
            dropped = self._item is not None
            if dropped:
                self.dropped += 1
            self._item = item
            self._cond.notify()
            return dropped

    def take(self, timeout: Optional[float] = None):
        """The oldest queued command, else the newest frame; None on timeout / after ``close``."""
        with self._cond:
            if self._item is None and not self._commands and not self._closed:
                self._cond.wait(timeout)
            if self._commands:
                return self._commands.popleft()
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class FrameRingBuffer:
    """The last ``capacity`` frames, looked up by exact header stamp, holding at most ``max_bytes``
    of image data (None: no byte bound); the oldest frames go first, the newest always stays."""

    def __init__(self, capacity: int, max_bytes: Optional[int] = None) -> None:
        if capacity < 1:
            raise ValueError(f"frame buffer capacity must be >= 1, got {capacity}")
        if max_bytes is not None and max_bytes < 1:
            raise ValueError(f"frame buffer byte limit must be >= 1, got {max_bytes}")
        self.capacity = int(capacity)
        self.max_bytes = None if max_bytes is None else int(max_bytes)
        self._frames: "OrderedDict[int, Frame]" = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def add(self, frame: Frame) -> None:
        with self._lock:
            old = self._frames.pop(frame.stamp_ns, None)  # same stamp twice: keep the newest copy
            if old is not None:
                self._bytes -= old.image.nbytes
            self._frames[frame.stamp_ns] = frame
            self._bytes += frame.image.nbytes
            while len(self._frames) > self.capacity or (
                    self.max_bytes is not None and self._bytes > self.max_bytes
                    and len(self._frames) > 1):
                _, dropped = self._frames.popitem(last=False)
                self._bytes -= dropped.image.nbytes

    @property
    def nbytes(self) -> int:
        """Bytes of image data held."""
        with self._lock:
            return self._bytes

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
            self._bytes = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._frames)
