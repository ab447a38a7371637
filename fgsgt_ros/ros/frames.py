"""The ``fgsgt_tracker`` node's frames (``FramesMixin``, a part of ``TrackerNode``): the image
callbacks (decode, ring buffer, mailbox, counting bad frames and frames lost in transport), the
worker thread that runs the session on the newest frame and the node's commands (init, reset)
in order, and what each processed frame publishes (detections, saliency, debug image, status)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
from fgsgt_ros.msg import TrackerStatus
from rclpy.task import Future
from sensor_msgs.msg import CompressedImage, Image
from vision_msgs.msg import (BoundingBox2D, Detection2D, Detection2DArray, ObjectHypothesis,
                             ObjectHypothesisWithPose)

from fgsgt_ros.ros.buffers import Frame, LatestFrameMailbox
from fgsgt_ros.ros.conversions import (ConversionError, array_to_image, compressed_to_array,
                                       image_to_array)
from fgsgt_ros.ros.debug_image import draw_debug
from fgsgt_ros.ros.diagnostics import STATE_CODES, temperature_fields
from fgsgt_ros.ros.logsafe import safe_text

#: Seconds a warning stays in status.message after it happened.
_WARNING_SHOWN_S = 5.0


@dataclass
class WorkerCommand:
    """Work for the tracker worker from a service or topic: ``kind`` "init" (``args`` as
    ``TrackerNode._initialise`` takes them) or "reset"; ``done`` (an rclpy Future) gets the
    result of an init whose caller waits for it."""

    kind: str
    args: tuple = ()
    done: Optional[Future] = None
    #: a refusal nobody waits for (init_box, a click) is logged as "<refusal>: <reason>",
    #: throttled by ``source``
    source: str = ""
    refusal: str = ""


def stamp_to_ns(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


class FramesMixin:
    """``TrackerNode``'s input callbacks, worker and per-frame publishing."""

    def _on_image(self, msg: Image, info) -> None:  # no default: rclpy then passes MessageInfo
        self._accept(msg, image_to_array, info)

    def _on_compressed(self, msg: CompressedImage, info) -> None:
        self._accept(msg, compressed_to_array, info)

    def _count_transport_loss(self, info) -> None:
        """Frames that never reached this callback (the subscription's keep-last queue overflowed
        or best effort lost them), from gaps in each publisher's sequence numbers."""
        try:
            seq = int(info["publication_sequence_number"])
            gid = bytes(info["publisher_gid"]["data"])
        except (TypeError, KeyError, ValueError):
            return  # middleware without sequence numbers
        last = self._last_seq.get(gid)
        self._last_seq[gid] = seq
        if last is not None and seq > last + 1:
            with self.stats.lock:
                self.stats.lost_in_transport += seq - last - 1

    def _accept(self, msg, decode, info=None) -> None:
        t0 = time.perf_counter()
        received_ns = time.monotonic_ns()
        if info is not None:
            self._count_transport_loss(info)
        with self.stats.lock:
            self.stats.received += 1
        try:
            image = decode(msg, max_pixels=int(self.cfg.max_image_pixels))
        except ConversionError as exc:
            self._bad_frame(msg, exc.reason, str(exc))
            return
        except (MemoryError, ValueError, TypeError, OverflowError) as exc:  # belt and braces
            self._bad_frame(msg, "malformed", f"{type(exc).__name__}: {exc}")
            return
        frame = Frame(stamp_ns=stamp_to_ns(msg.header.stamp), header=msg.header, image=image,
                      received_ns=received_ns, convert_s=time.perf_counter() - t0)
        with self.stats.lock:
            self.stats.last_frame_mono = time.monotonic()
        self.ring.add(frame)
        self.mailbox.put(frame)

    def _bad_frame(self, msg, reason: str, text: str) -> None:
        with self.stats.lock:
            self.stats.bad_frames += 1
            self.stats.bad_reasons[reason] = self.stats.bad_reasons.get(reason, 0) + 1
        self._warn_throttled("bad_frame:" + reason, f"dropping bad frame (stamp "
                             f"{stamp_to_ns(msg.header.stamp) / 1e9:.3f}): {text}")

    # --- worker ----------------------------------------------------------------------------
    def _work(self, mailbox: LatestFrameMailbox, stop: threading.Event) -> None:
        while not stop.is_set():
            item = mailbox.take(timeout=0.2)
            if item is None:
                continue
            if isinstance(item, WorkerCommand):
                self._run_command(item)
                continue
            if stop.is_set():
                continue
            try:
                self._process(item)
            except Exception as exc:  # a frame must never kill the worker
                with self.stats.lock:
                    self.stats.errors += 1
                self._warn_throttled("process", f"frame {item.stamp_ns / 1e9:.3f} failed: "
                                     f"{type(exc).__name__}: {safe_text(exc, 200)}")

    def _run_command(self, command: WorkerCommand) -> None:
        """An init or a reset, on the worker (between frames); never raises."""
        try:
            if command.kind == "reset":
                if self.session is not None:
                    self.session.reset()
                self._message = ""
                return
            result = self._initialise(*command.args)
        except Exception as exc:  # like a frame: counted, reported, the worker lives on
            with self.stats.lock:
                self.stats.errors += 1
            result = (False, f"initialisation failed: {type(exc).__name__}: "
                      f"{safe_text(exc, 200)}", None, None)
        if not result[0] and command.source:
            self._warn_throttled(command.source, f"{command.refusal}: {result[1]}")
        self._finish(command, result)

    def _finish(self, command: WorkerCommand, result) -> None:
        """Hand an init's result to its waiting service call and wake the executor for it."""
        if command.done is None or command.done.done():
            return
        command.done.set_result(result)
        wake = self._wake
        if wake is not None:
            try:
                wake.trigger()
            except Exception:  # destroyed meanwhile (node going down): nothing waits any more
                pass

    def _status_message(self, state: str, backlog: bool = False, age_ms: float = 0.0) -> str:
        """What status.message says: the state in words (never "tracking" while LOST), a
        backlog, and a warning of the last few seconds."""
        n = self.session.init_count if self.session is not None else 0
        if state == "TRACKING":
            text = f"tracking target {n}"
        elif state == "LOST":
            text = f"target {n} lost: searching around where it was last seen"
        else:
            text = "idle: no target (init_target, init_box or a click starts one)"
        if backlog:
            text += (f"; backlog: this frame was {age_ms:.0f} ms old when its result went out "
                     f"(over backlog_warn_s {self.cfg.backlog_warn_s:g} s)")
        if self._message and time.monotonic() - self._message_mono < _WARNING_SHOWN_S:
            text += f"; {self._message}"
        return text

    def _process(self, frame: Frame) -> None:
        session = self.session
        if session is None:
            return
        resets = self._resets
        # Images are built only when switched on AND someone listens (rviz closed = no cost).
        want_debug = self.cfg.publish_debug_image and self.pub_debug.get_subscription_count() > 0
        want_sal = self.cfg.publish_saliency and self.pub_sal.get_subscription_count() > 0
        result = session.step(frame.image, want_image=want_debug)
        if result.refused:
            self._warn_throttled("agc_refused", f"frame {frame.stamp_ns / 1e9:.3f} not tracked: "
                                 f"{result.refused}")
        t2 = time.perf_counter()
        header = frame.header
        state, score, box = result.state, result.score, result.box
        if resets != self._resets:  # reset while this frame was tracked: its box is void
            state, score, box = "IDLE", 0.0, None
            result.published, result.temperature = None, None

        det = Detection2DArray(header=header)
        if result.published is not None:  # the one output rule (TrackingSession): TRACKING
            # only, and the part of the box inside the image
            det.detections.append(self._detection(header, result.published, score))
        self.pub_det.publish(det)
        if want_sal and box is not None and result.track is not None and \
                result.saliency is not None:
            self.pub_sal.publish(self._saliency_msg(result.saliency, header))
        if want_debug and result.image is not None:
            self.pub_debug.publish(array_to_image(
                draw_debug(result.image, box, score, state, result.temperature), header, "bgr8"))
        t3 = time.perf_counter()

        now = time.time()
        latency_ms = (now - frame.stamp_ns / 1e9) * 1e3
        age_ms = (time.monotonic_ns() - frame.received_ns) / 1e6 if frame.received_ns else 0.0
        backlog = age_ms > self.cfg.backlog_warn_s * 1e3
        with self.stats.lock:
            s = self.stats
            s.processed += 1
            s.done_times.append(time.monotonic())
            s.latency_ms.append(latency_ms)
            s.t_convert.append(frame.convert_s)
            s.t_pre.append(result.times.preprocess_s)
            s.t_tracker.append(result.times.track_s)
            s.t_publish.append(t3 - t2)
            s.t_total.append(frame.convert_s + result.times.total_s + (t3 - t2))
            s.frame_age_ms.append(age_ms)
            s.last_box_received_ns = frame.received_ns
            if backlog:
                s.backlog_frames += 1
            rate = s.rate_hz(time.monotonic())
            processed, dropped = s.processed, self.mailbox.dropped + s.lost_in_transport
        self._last_header = header
        self._last_score = score
        self._last_temperature = result.temperature
        status = TrackerStatus(
            header=header, state=STATE_CODES.get(state, 0), state_name=state, score=score,
            processing_rate_hz=float(rate), latency_ms=float(latency_ms),
            frames_processed=processed, frames_dropped=dropped,
            message=self._status_message(state, backlog, age_ms),
            frame_age_ms=float(age_ms), backlog=bool(backlog),
            **temperature_fields(result.temperature))
        self.pub_status.publish(status)

    def _detection(self, header, box, score) -> Detection2D:
        x, y, w, h = (float(v) for v in box)
        det = Detection2D(header=header, id=str(self.session.init_count))
        bbox = BoundingBox2D()
        bbox.center.position.x, bbox.center.position.y = x + w / 2.0, y + h / 2.0
        bbox.size_x, bbox.size_y = w, h
        det.bbox = bbox
        det.results.append(ObjectHypothesisWithPose(
            hypothesis=ObjectHypothesis(class_id=self.cfg.class_id, score=float(score))))
        return det

    def _saliency_msg(self, saliency: np.ndarray, header) -> Image:
        sal = np.clip(np.asarray(saliency, dtype=np.float32), 0.0, 1.0)
        if self.cfg.saliency_encoding == "32FC1":
            return array_to_image(sal, header, "32FC1")
        return array_to_image((sal * 255.0 + 0.5).astype(np.uint8), header, "mono8")

