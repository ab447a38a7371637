"""What the ``fgsgt_tracker`` node reports about itself: the counters and timers it keeps
(``NodeStats``), the TrackerStatus fields of a target's temperature, the hardware it names, the
periodic ``/diagnostics`` message and the status it publishes while its input is stale
(``DiagnosticsMixin``, a part of ``TrackerNode``: it reads the node's session, stats, mailbox,
ring buffer and publishers)."""

from __future__ import annotations

import os
import platform
import threading
import time
from collections import deque
from typing import Optional

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from fgsgt_ros.msg import TrackerStatus
from std_msgs.msg import Header

STATE_CODES = {"IDLE": TrackerStatus.STATE_IDLE, "TRACKING": TrackerStatus.STATE_TRACKING,
               "LOST": TrackerStatus.STATE_LOST}
_NAN = float("nan")


def temperature_fields(reading) -> dict:
    """TrackerStatus' temperature fields for a ``TargetTemperature`` (None: invalid, NaN)."""
    if reading is None:
        return {"temperature_valid": False, "target_max_k": _NAN, "target_median_k": _NAN,
                "background_k": _NAN, "target_max_c": _NAN, "target_median_c": _NAN,
                "background_c": _NAN}
    return {"temperature_valid": True, "target_max_k": reading.hottest_k,
            "target_median_k": reading.median_k, "background_k": reading.background_k,
            "target_max_c": reading.hottest_c, "target_median_c": reading.median_c,
            "background_c": reading.background_c}


def hardware_id(device: str) -> str:
    """The hardware /diagnostics names: the compute device and its model (GPU or CPU name)."""
    if device.startswith("cuda"):
        try:
            import torch

            index = int(device.split(":", 1)[1]) if ":" in device else 0
            return f"{device} {torch.cuda.get_device_name(index)}"
        except Exception:  # no name available: the device alone
            return device
    name = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    name = name or platform.processor() or platform.machine()
    return f"{device} {name} ({os.cpu_count()} logical cores)".strip()


class NodeStats:
    """Counters and cheap timers reported in status and /diagnostics (touched under ``lock``)."""

    WINDOW = 300  # frames kept for latency/timing percentiles

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received = 0
        self.processed = 0
        self.bad_frames = 0
        self.bad_reasons: dict = {}  # ConversionError.reason -> count
        self.errors = 0
        self.callback_errors = 0  # exceptions caught at a callback's edge (should stay 0)
        self.last_frame_mono = None  # monotonic time of the last valid input frame
        self.lost_in_transport = 0
        self.last_warning = ""
        self.done_times: deque = deque()
        self.latency_ms: deque = deque(maxlen=self.WINDOW)
        self.t_convert: deque = deque(maxlen=self.WINDOW)
        self.t_pre: deque = deque(maxlen=self.WINDOW)
        self.t_tracker: deque = deque(maxlen=self.WINDOW)  # update(): crop + network + decode
        self.t_publish: deque = deque(maxlen=self.WINDOW)
        self.t_total: deque = deque(maxlen=self.WINDOW)
        # node clock: receipt of a frame to publication of its status
        self.frame_age_ms: deque = deque(maxlen=self.WINDOW)
        self.last_box_received_ns = 0  # receipt (monotonic ns) of the last processed frame
        self.backlog_frames = 0

    def rate_hz(self, now: float, window_s: float = 3.0) -> float:
        while self.done_times and now - self.done_times[0] > window_s:
            self.done_times.popleft()
        n = len(self.done_times)
        if n < 2:
            return 0.0
        span = self.done_times[-1] - self.done_times[0]
        return (n - 1) / span if span > 0 else 0.0


def temperature_text(reading, radiometry: Optional[str]) -> str:
    """/diagnostics' words for a ``TargetTemperature`` (``radiometry``: the session's
    thermal.radiometry, None without a session)."""
    if reading is None:
        if radiometry == "none":
            return "off (thermal.radiometry none)"
        return "none (not tracking, or no radiometric value under the box)"
    bg = ("" if np.isnan(reading.background_k) else
          f", background {reading.background_k:.2f} K ({reading.background_c:.1f} C)")
    return (f"max {reading.hottest_k:.2f} K ({reading.hottest_c:.1f} C), median "
            f"{reading.median_k:.2f} K ({reading.median_c:.1f} C){bg}")


class DiagnosticsMixin:
    """``TrackerNode``'s stale-input status and ``/diagnostics`` (no state of its own)."""

    def _input_age_s(self) -> Optional[float]:
        """Seconds since the last valid frame (None before the first one)."""
        with self.stats.lock:
            last = self.stats.last_frame_mono
        return None if last is None else time.monotonic() - last

    def _check_stale(self) -> None:
        """A stalled camera must not look healthy: once no valid frame came for
        ``stale_input_s``, publish a status saying so (again every ``stale_input_s`` while it
        lasts); /diagnostics reports it too."""
        if self._lifecycle != "active" or self.session is None:
            return  # an inactive node subscribes to nothing: no input to be stale
        age = self._input_age_s()
        if age is None or age < self.cfg.stale_input_s:
            self._stale_since = None
            return
        now = time.monotonic()
        if self._stale_since is not None and now - self._stale_published < self.cfg.stale_input_s:
            return
        if self._stale_since is None:
            self._stale_since = now
        self._stale_published = now
        text = f"input stale: no valid frame on {self._input_topic()} for {age:.1f} s"
        header = Header(stamp=self.get_clock().now().to_msg())
        if self._last_header is not None:
            header.frame_id = self._last_header.frame_id
        state = self.session.state
        with self.stats.lock:
            processed = self.stats.processed
            dropped = self.mailbox.dropped + self.stats.lost_in_transport
        self.pub_status.publish(TrackerStatus(
            header=header, state=STATE_CODES.get(state, 0), state_name=state,
            score=float(self._last_score), processing_rate_hz=0.0, latency_ms=float(age * 1e3),
            frames_processed=processed, frames_dropped=dropped, message=text,
            frame_age_ms=float(age * 1e3), backlog=False, **temperature_fields(None)))


    def _publish_diagnostics(self) -> None:
        session = self.session
        if session is None or self.pub_diag is None:
            return
        with self.stats.lock:
            s = self.stats

            def mean_ms(d):
                return 1e3 * float(np.mean(d)) if d else 0.0

            lat = np.asarray(s.latency_ms) if s.latency_ms else np.zeros(1)
            ages = np.asarray(s.frame_age_ms) if s.frame_age_ms else np.zeros(1)
            last_age = s.frame_age_ms[-1] if s.frame_age_ms else 0.0
            conv, pre, trk, pub, tot = (
                mean_ms(s.t_convert), mean_ms(s.t_pre), mean_ms(s.t_tracker),
                mean_ms(s.t_publish), mean_ms(s.t_total))
            rate = s.rate_hz(time.monotonic())
            values = {
                "lifecycle_state": self._lifecycle,
                "state": session.state, "model": session.model_name,
                "device": session.device, "precision": session.precision,
                "runtime": session.runtime,
                "input_topic": self._input_topic(), "click_topic": self._click_topic_name,
                "frames_received": s.received, "frames_processed": s.processed,
                # dropped = replaced in the mailbox by a newer frame (newest-frame policy);
                # lost_in_transport = overwritten in the subscription queue / lost by best effort
                "frames_dropped": self.mailbox.dropped,
                "frames_lost_in_transport": s.lost_in_transport, "bad_frames": s.bad_frames,
                "bad_frame_reasons": ", ".join(f"{k}={v}" for k, v in
                                               sorted(s.bad_reasons.items())),
                "processing_errors": s.errors, "callback_errors": s.callback_errors,
                "processing_rate_hz": f"{rate:.2f}",
                "latency_p50_ms": f"{np.percentile(lat, 50):.1f}",
                "latency_p99_ms": f"{np.percentile(lat, 99):.1f}",
                "time_convert_ms": f"{conv:.2f}", "time_preprocess_ms": f"{pre:.2f}",
                "time_tracker_ms": f"{trk:.2f}",
                "time_publish_ms": f"{pub:.2f}", "time_total_ms": f"{tot:.2f}",
                # node = conversion + AGC + publishing (tracker = crop + network + decode)
                "node_overhead_share": f"{(tot - trk) / tot:.3f}" if tot > 0 else "0",
                # receipt of a frame to publication of its result (node clock): queueing
                # behind frame work shows here, whatever the camera's clock says
                "frame_age_p50_ms": f"{np.percentile(ages, 50):.1f}",
                "frame_age_p99_ms": f"{np.percentile(ages, 99):.1f}",
                "box_age_ms": ("none yet" if not s.last_box_received_ns else
                               f"{(time.monotonic_ns() - s.last_box_received_ns) / 1e6:.1f}"),
                "backlog_frames": s.backlog_frames,
                "radiometry": session.thermal_cfg.radiometry,
                "target_temperature": temperature_text(
                    self._last_temperature, session.thermal_cfg.radiometry),
                "buffered_frames": len(self.ring),
                "buffered_mb": f"{self.ring.nbytes / 2**20:.1f}",
                "last_warning": s.last_warning,
            }
            bad = s.bad_frames + s.errors + s.callback_errors
            last_frame = s.last_frame_mono
        active = self._lifecycle == "active"
        age = None if last_frame is None else time.monotonic() - last_frame
        stale = active and (age is None or age >= self.cfg.stale_input_s)
        values["input_age_s"] = "none yet" if age is None else f"{age:.2f}"
        values["input_stale"] = str(stale)
        state = values["state"]
        if not active:
            level, message = DiagnosticStatus.OK, f"{self._lifecycle}: not tracking (lifecycle)"
        elif stale:
            level = DiagnosticStatus.STALE
            message = (f"{state}; input stale: no valid frame for {age:.1f} s" if age is not None
                       else f"{state}; no input frame received yet")
        elif last_age > self.cfg.backlog_warn_s * 1e3:
            level = DiagnosticStatus.WARN
            message = (f"{state}; backlog: the last box came from a frame {last_age:.0f} ms old "
                       f"(backlog_warn_s {self.cfg.backlog_warn_s:g} s)")
        elif bad and values["last_warning"]:
            level, message = DiagnosticStatus.WARN, f"{state}; {bad} bad frames/errors so far"
        elif state == "LOST":
            # LOST is a normal state (the target is hidden or gone), not a fault of the node
            level, message = DiagnosticStatus.OK, "LOST: target not visible, searching"
        else:
            level, message = DiagnosticStatus.OK, state
        header = Header()
        if self._last_header is not None:
            header.stamp, header.frame_id = self._last_header.stamp, self._last_header.frame_id
        else:
            header.stamp = self.get_clock().now().to_msg()
        status = DiagnosticStatus(
            level=level, name=f"{self.get_fully_qualified_name()}: tracker", message=message,
            hardware_id=self._hardware_id or values["device"],
            values=[KeyValue(key=k, value=str(v)) for k, v in values.items()])
        self.pub_diag.publish(DiagnosticArray(header=header, status=[status]))

