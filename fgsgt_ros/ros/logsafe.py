"""Untrusted text into logs, diagnostics and status messages, safely (no ROS imports).

Anything a network peer sends (an image ``encoding``, a ``format`` string, a ``frame_id``, an
exception text that quotes them) may hold newlines, terminal escapes or megabytes. Written as is,
a newline forges a log line (``[FATAL] ...``) and distinct long strings defeat a throttle keyed by
text. ``safe_text`` makes one short printable line of it; ``LogThrottle`` throttles by a fixed
kind of problem (never by the text), so a flood of distinct strings still logs once per period.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Dict, Optional, Tuple

#: Longest piece of untrusted text quoted in a log line or message (characters, after escaping).
MAX_QUOTED = 64

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def safe_text(value, limit: int = MAX_QUOTED) -> str:
    """``value`` as one printable line: control and non-ASCII characters escaped (``\\n``,
    ``\\x1b``, ``\\u2028``), cut to ``limit`` characters with the original length noted."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value[: 4 * limit + 16]).decode("latin-1")
    text = value if isinstance(value, str) else str(value)
    full = len(text)
    head = text[: 4 * limit + 16]  # escape only what can be shown
    escaped = head.encode("ascii", "backslashreplace").decode("ascii")
    escaped = "".join(c if 32 <= ord(c) < 127 else _ESCAPES.get(c, f"\\x{ord(c):02x}")
                      for c in escaped)
    if len(escaped) > limit or full > len(head):
        return f"{escaped[:limit]}...({full} chars)"
    return escaped


class LogThrottle:
    """At most one line per ``kind`` per ``period_s`` seconds; suppressed repeats are counted and
    reported with the next line of that kind. Kinds are fixed names chosen by the caller (a small,
    bounded set), so memory stays bounded whatever arrives."""

    MAX_KINDS = 256

    def __init__(self, emit: Callable[[str], None], period_s: Callable[[], float],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._emit = emit
        self._period = period_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state: Dict[str, Tuple[float, int]] = {}

    def warn(self, kind: str, text: str) -> bool:
        """Log ``text`` (already made safe by the caller) unless ``kind`` logged recently; returns
        whether it was written."""
        now = self._clock()
        with self._lock:
            if kind not in self._state and len(self._state) >= self.MAX_KINDS:
                self._state.clear()
            last, suppressed = self._state.get(kind, (None, 0))
            if last is not None and now - last < self._period():
                self._state[kind] = (last, suppressed + 1)
                return False
            self._state[kind] = (now, 0)
        more = f" ({suppressed} more like this suppressed)" if suppressed else ""
        self._emit(text + more)
        return True

    def suppressed(self, kind: str) -> Optional[int]:
        with self._lock:
            entry = self._state.get(kind)
        return None if entry is None else entry[1]
