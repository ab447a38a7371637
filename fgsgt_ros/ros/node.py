"""The ``fgsgt_tracker`` ROS 2 node: a thin adapter around ``TrackingSession``
(``fgsgt_ros.tracker.session``, the same per-frame loop ``fgsgt eval`` runs): the node only
converts messages in and out of it, and draws the debug image (``ros/debug_image.py``).

Topics (relative, so a namespace per camera works):
- in  ``image`` (sensor_msgs/Image) or ``image/compressed`` (sensor_msgs/CompressedImage), by the
  ``input_transport`` parameter; sensor-data QoS unless overridden (``qos_reliability``/``qos_depth``).
- in  ``init_box`` (vision_msgs/Detection2D): start tracking from a detector's box.
- out ``detections`` (vision_msgs/Detection2DArray): one detection while TRACKING, empty otherwise.
- out ``saliency`` (sensor_msgs/Image, input size, mono8 = probability*255 or 32FC1 = probability).
- out ``debug_image`` (bgr8): the frame after AGC with box, score and state drawn.
- out ``status`` (fgsgt_ros/TrackerStatus) per processed frame; ``/diagnostics`` periodically.
Every per-frame output carries the input frame's header; /diagnostics carries the header of the
last processed frame.
Services: ``init_target`` (fgsgt_ros/srv/InitTarget), ``reset`` (std_srvs/Trigger).

Threads: the image callback only decodes the message, files it in a ring buffer (for stamped
init) and drops it in a single-slot mailbox; a worker thread takes the newest frame and runs the
tracker outside the executor, so services and timers (one SingleThreadedExecutor) are answered while
a frame is being processed. Frames overwritten in the mailbox are dropped and counted, never queued.
A MultiThreadedExecutor is deliberately not used: its Python spin loop kept a core busy and took
the GIL from the worker (measured in make demo: 4-6 instead of 15 processed frames/s on 2 cores).
"""

from __future__ import annotations

import functools
import sys
import threading
import time
from collections import deque
from typing import Optional

import numpy as np
import rclpy
from builtin_interfaces.msg import Time as TimeMsg
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from fgsgt_ros.msg import TrackerStatus
from fgsgt_ros.srv import InitTarget
from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                SetParametersResult)
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from std_srvs.srv import Trigger
from vision_msgs.msg import (BoundingBox2D, Detection2D, Detection2DArray, ObjectHypothesis,
                             ObjectHypothesisWithPose)

from fgsgt_ros.ros import params as P
from fgsgt_ros.ros.buffers import Frame, FrameRingBuffer, LatestFrameMailbox
from fgsgt_ros.ros.conversions import (ConversionError, array_to_image, compressed_to_array,
                                       image_to_array, quiet_decoder_logs)
from fgsgt_ros.ros.logsafe import LogThrottle, safe_text
from fgsgt_ros.ros.debug_image import draw_debug
from fgsgt_ros.tracker.base import InvalidBoxError, check_box_values, validate_box
from fgsgt_ros.tracker.session import ModelLoadError, TrackingSession

NODE_NAME = "fgsgt_tracker"
_STATE_CODES = {"IDLE": TrackerStatus.STATE_IDLE, "TRACKING": TrackerStatus.STATE_TRACKING,
                "LOST": TrackerStatus.STATE_LOST}
# Service requests queued per service: back-to-back calls (a script, several operators) are all
# answered instead of the default keep-last-10 silently dropping the older ones. Requests are small.
SERVICE_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1000,
                         reliability=ReliabilityPolicy.RELIABLE)


class ConfigError(ValueError):
    """A parameter value the node cannot start with."""


def stamp_to_ns(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int) -> TimeMsg:
    return TimeMsg(sec=int(ns // 1_000_000_000), nanosec=int(ns % 1_000_000_000))


def _descriptor(spec: P.ParamSpec) -> ParameterDescriptor:
    desc = spec.description
    if spec.choices:
        desc += f" One of: {', '.join(spec.choices)}."
    d = ParameterDescriptor(description=desc, read_only=spec.read_only)
    if spec.choices:
        d.additional_constraints = "one of: " + ", ".join(spec.choices)
    if spec.range and isinstance(spec.default, float):
        d.floating_point_range = [FloatingPointRange(
            from_value=float(spec.range[0]), to_value=float(spec.range[1]),
            step=float(spec.range[2]) if len(spec.range) > 2 else 0.0)]
    elif spec.range and isinstance(spec.default, int) and not isinstance(spec.default, bool):
        d.integer_range = [IntegerRange(
            from_value=int(spec.range[0]), to_value=int(spec.range[1]),
            step=int(spec.range[2]) if len(spec.range) > 2 else 1)]
    return d


class _Stats:
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

    def rate_hz(self, now: float, window_s: float = 3.0) -> float:
        while self.done_times and now - self.done_times[0] > window_s:
            self.done_times.popleft()
        n = len(self.done_times)
        if n < 2:
            return 0.0
        span = self.done_times[-1] - self.done_times[0]
        return (n - 1) / span if span > 0 else 0.0


class TrackerNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__(NODE_NAME, **kwargs)
        # Node parameters first: they name the model. Its checkpoint may carry calibrated tracker
        # settings (fgsgt calibrate --write), which become the defaults of the tracker.*
        # parameters; values from a params file / -p still override them.
        self._specs = {s.name: s for s in P.all_specs() if s.group == "node"}
        values = self._declare_parameters("node")
        self.cfg = P.build_dataclass(P.NodeConfig, values["node"])
        self.session = TrackingSession(
            self.cfg.checkpoint, model_preset=self.cfg.model_preset, device=self.cfg.device,
            precision=self.cfg.precision, num_threads=self.cfg.num_threads,
            warn=lambda s: self.get_logger().warning(s))
        self._specs = {s.name: s for s in P.all_specs(self.session.tracker_defaults)}
        values = self._declare_parameters("tracker", "thermal")
        try:
            tracker_cfg = P.build_dataclass(P.tracker_config_class(), values["tracker"])
            thermal_cfg = P.build_dataclass(P.thermal_config_class(), values["thermal"])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid tracker/thermal parameters: {exc}") from None
        self.session.configure(tracker_cfg, thermal_cfg)
        self._throttle = LogThrottle(lambda text: self.get_logger().warning(text),
                                     lambda: self.cfg.log_throttle_s)
        quiet_decoder_logs()
        self._last_seq: dict = {}
        self.stats = _Stats()
        self.ring = FrameRingBuffer(self.cfg.frame_buffer_size,
                                    int(self.cfg.frame_buffer_max_mb * 1024 * 1024))
        self._stale_since: Optional[float] = None  # when the input went stale (monotonic)
        self._stale_published = 0.0
        self.mailbox = LatestFrameMailbox()
        self._last_header: Optional[Header] = None
        self._last_score = 0.0
        self._message = ""

        in_qos = QoSProfile(
            history=HistoryPolicy.KEEP_LAST, depth=self.cfg.qos_depth,
            reliability=(ReliabilityPolicy.BEST_EFFORT if self.cfg.qos_reliability == "best_effort"
                         else ReliabilityPolicy.RELIABLE))
        # Results are published reliably (REP-2003); a best-effort subscriber still connects.
        out_qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                             reliability=ReliabilityPolicy.RELIABLE)
        # Every callback is guarded: nothing a message or request holds can raise out of it
        # (an exception there would stop the executor and the node).
        if self.cfg.input_transport == "compressed":
            self.create_subscription(CompressedImage, "image/compressed",
                                     self._guard("image", self._on_compressed), in_qos)
        else:
            self.create_subscription(Image, "image", self._guard("image", self._on_image), in_qos)
        if self.cfg.subscribe_init_box:
            self.create_subscription(Detection2D, "init_box",
                                     self._guard("init_box", self._on_init_box), 10)
        self.pub_det = self.create_publisher(Detection2DArray, "detections", out_qos)
        self.pub_status = self.create_publisher(TrackerStatus, "status", out_qos)
        self.pub_sal = self.create_publisher(Image, "saliency", out_qos)
        self.pub_debug = self.create_publisher(Image, "debug_image", out_qos)
        self.pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_service(InitTarget, "init_target", self._guard("init_target", self._srv_init),
                            qos_profile=SERVICE_QOS)
        self.create_service(Trigger, "reset", self._guard("reset", self._srv_reset),
                            qos_profile=SERVICE_QOS)
        self.create_timer(self.cfg.diagnostics_period_s,
                          self._guard("diagnostics", self._publish_diagnostics))
        self.create_timer(0.1, self._guard("stale_check", self._check_stale))
        self.add_on_set_parameters_callback(self._on_set_parameters)

        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._work, name="fgsgt_worker", daemon=True)
        self._worker.start()
        cal = self.session.tracker_defaults
        self.get_logger().info(
            f"tracking with {self.session.model_name or 'model'} on {self.session.device} "
            f"({self.session.precision}); input '{self._input_topic()}' "
            f"({self.cfg.input_transport}, {self.cfg.qos_reliability}, depth {self.cfg.qos_depth}); "
            f"LOST below {tracker_cfg.lost_threshold:g}, recovered at "
            f"{tracker_cfg.recover_threshold:g} (defaults {cal.lost_threshold:g}/"
            f"{cal.recover_threshold:g} from "
            f"{'the checkpoint' if self.session.calibrated else 'TrackerConfig'})")

    # --- parameters ------------------------------------------------------------------------
    def _declare_parameters(self, *groups: str) -> dict:
        values = {"node": {}, "tracker": {}, "thermal": {}}
        for spec in self._specs.values():
            if spec.group not in groups:
                continue
            try:
                value = self.declare_parameter(spec.name, spec.default, _descriptor(spec)).value
            except Exception as exc:  # wrong type / outside range in the params file
                raise ConfigError(f"parameter {spec.name}: {exc}") from None
            reason = P.check_choice(spec, value)
            if reason:
                raise ConfigError(reason)
            values[spec.group][spec.field_name] = value
        return values

    def _on_set_parameters(self, params) -> SetParametersResult:
        for p in params:
            spec = self._specs.get(p.name)
            if spec is None:
                continue
            reason = P.check_choice(spec, p.value)
            if reason:
                return SetParametersResult(successful=False, reason=reason)
        for p in params:
            spec = self._specs.get(p.name)
            if spec is not None and spec.group == "node" and not spec.read_only:
                setattr(self.cfg, spec.field_name, p.value)
        return SetParametersResult(successful=True)

    def _input_topic(self) -> str:
        name = "image/compressed" if self.cfg.input_transport == "compressed" else "image"
        return self.resolve_topic_name(name)

    # --- logging ---------------------------------------------------------------------------
    def _warn_throttled(self, kind: str, text: str) -> None:
        """One log line per kind of problem per ``log_throttle_s``; repeats are counted.

        ``kind`` is a fixed name (e.g. ``bad_frame:encoding``), never text from a message, so a
        stream of distinct bad strings still logs once per period. ``text`` must already quote
        untrusted strings through ``safe_text``; it is cut to one bounded line here as well.
        """
        text = safe_text(text, 400)
        self._message = text
        with self.stats.lock:
            self.stats.last_warning = text
        self._throttle.warn(kind, text)

    def _guard(self, kind: str, callback):
        """``callback`` wrapped so that no exception leaves it: counted, logged (throttled), and a
        service still answers (success false with the reason). Keeps the signature (rclpy looks
        at it to decide whether to pass MessageInfo)."""

        @functools.wraps(callback)
        def guarded(*args):
            try:
                return callback(*args)
            except Exception as exc:
                with self.stats.lock:
                    self.stats.callback_errors += 1
                reason = f"{type(exc).__name__}: {safe_text(exc, 200)}"
                self._warn_throttled("callback:" + kind, f"{kind} failed: {reason}")
                if len(args) == 2 and hasattr(args[1], "success") and hasattr(args[1], "message"):
                    args[1].success, args[1].message = False, f"{kind} failed: {reason}"
                    return args[1]  # a service: answer instead of leaving the caller waiting
                return None
        return guarded

    # --- input -----------------------------------------------------------------------------
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
                      received_ns=time.monotonic_ns(), convert_s=time.perf_counter() - t0)
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

    # --- stale input -----------------------------------------------------------------------
    def _input_age_s(self) -> Optional[float]:
        """Seconds since the last valid frame (None before the first one)."""
        with self.stats.lock:
            last = self.stats.last_frame_mono
        return None if last is None else time.monotonic() - last

    def _check_stale(self) -> None:
        """A stalled camera must not look healthy: once no valid frame came for
        ``stale_input_s``, publish a status saying so (again every ``stale_input_s`` while it
        lasts); /diagnostics reports it too."""
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
            header=header, state=_STATE_CODES.get(state, 0), state_name=state,
            score=float(self._last_score), processing_rate_hz=0.0, latency_ms=float(age * 1e3),
            frames_processed=processed, frames_dropped=dropped, message=text))

    # --- worker ----------------------------------------------------------------------------
    def _work(self) -> None:
        while not self._stop.is_set():
            frame = self.mailbox.take(timeout=0.2)
            if frame is None:
                continue
            try:
                self._process(frame)
            except Exception as exc:  # a frame must never kill the worker
                with self.stats.lock:
                    self.stats.errors += 1
                self._warn_throttled("process", f"frame {frame.stamp_ns / 1e9:.3f} failed: "
                                     f"{type(exc).__name__}: {safe_text(exc, 200)}")

    def _process(self, frame: Frame) -> None:
        # Images are built only when switched on AND someone listens (rviz closed = no cost).
        want_debug = self.cfg.publish_debug_image and self.pub_debug.get_subscription_count() > 0
        want_sal = self.cfg.publish_saliency and self.pub_sal.get_subscription_count() > 0
        result = self.session.step(frame.image, want_image=want_debug)
        if result.refused:
            self._warn_throttled("agc_refused", f"frame {frame.stamp_ns / 1e9:.3f} not tracked: "
                                 f"{result.refused}")
        t2 = time.perf_counter()
        header = frame.header
        state, score, box = result.state, result.score, result.box

        det = Detection2DArray(header=header)
        if result.published is not None:  # the one output rule (TrackingSession): TRACKING only
            det.detections.append(self._detection(header, result.published, score))
        self.pub_det.publish(det)
        if want_sal and result.track is not None and result.saliency is not None:
            self.pub_sal.publish(self._saliency_msg(result.saliency, header))
        if want_debug and result.image is not None:
            self.pub_debug.publish(array_to_image(
                draw_debug(result.image, box, score, state), header, "bgr8"))
        t3 = time.perf_counter()

        now = time.time()
        latency_ms = (now - frame.stamp_ns / 1e9) * 1e3
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
            rate = s.rate_hz(time.monotonic())
            processed, dropped = s.processed, self.mailbox.dropped + s.lost_in_transport
        self._last_header = header
        self._last_score = score
        status = TrackerStatus(
            header=header, state=_STATE_CODES.get(state, 0), state_name=state, score=score,
            processing_rate_hz=float(rate), latency_ms=float(latency_ms),
            frames_processed=processed, frames_dropped=dropped, message=self._message)
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

    # --- target (re)initialisation --------------------------------------------------------
    def _initialise(self, cx, cy, w, h, stamp_ns: int):
        """-> (success, message, frame or None, xywh or None). Never raises."""
        requested = (cx - w / 2.0, cy - h / 2.0, w, h)  # centre/size -> xywh
        try:
            check_box_values(requested)
        except InvalidBoxError as exc:
            return False, str(exc), None, None
        if stamp_ns == 0:
            frame = self.ring.latest()
            if frame is None:
                return False, "no frame received yet: cannot initialise", None, None
        else:
            frame = self.ring.get(stamp_ns)
            if frame is None:
                n, lo, hi = self.ring.span()
                held = (f"buffer holds {n} frames from {lo / 1e9:.3f} to {hi / 1e9:.3f}"
                        if n else "no frame received yet")
                return False, (f"no buffered frame with stamp {stamp_ns / 1e9:.3f} ({held}); "
                               f"send a zero stamp to use the latest frame"), None, None
        height, width = frame.image.shape[:2]
        try:
            # at least 2 px inside: a sliver at the border is no target to track
            xywh = validate_box(requested, width, height, min_inside=2.0)
        except InvalidBoxError as exc:
            return False, str(exc), frame, None
        try:
            self.session.init(frame.image, xywh)  # the AGC re-learns from this frame
        except ValueError as exc:  # InvalidBoxError/BadFrameError: previous target kept
            return False, f"tracker refused the box: {exc}", frame, None
        except Exception as exc:
            with self.stats.lock:
                self.stats.errors += 1
            return False, f"initialisation failed: {type(exc).__name__}: {exc}", frame, None
        msg = (f"tracking target {self.session.init_count} from box x={xywh[0]:.1f} "
               f"y={xywh[1]:.1f} w={xywh[2]:.1f} h={xywh[3]:.1f} on frame "
               f"{frame.stamp_ns / 1e9:.3f}")
        self._message = msg
        self.get_logger().info(msg)
        return True, msg, frame, xywh

    def _srv_init(self, request: InitTarget.Request, response: InitTarget.Response):
        b = request.box
        ok, msg, frame, xywh = self._initialise(
            b.center.position.x, b.center.position.y, b.size_x, b.size_y,
            stamp_to_ns(request.stamp))
        response.success, response.message = ok, msg
        if frame is not None:
            response.frame_stamp = frame.header.stamp
        if xywh is not None:
            response.box.center.position.x = float(xywh[0] + xywh[2] / 2.0)
            response.box.center.position.y = float(xywh[1] + xywh[3] / 2.0)
            response.box.size_x, response.box.size_y = float(xywh[2]), float(xywh[3])
        if not ok:
            self._warn_throttled("init_target", f"init_target refused: {msg}")
        return response

    def _on_init_box(self, msg: Detection2D) -> None:
        b = msg.bbox
        ok, text, _, _ = self._initialise(b.center.position.x, b.center.position.y, b.size_x,
                                          b.size_y, stamp_to_ns(msg.header.stamp))
        if not ok:
            self._warn_throttled("init_box", f"init_box ignored: {text}")

    def _srv_reset(self, request, response):
        self.session.reset()
        response.success, response.message = True, "tracker reset: IDLE until the next init"
        self._message = response.message
        self.get_logger().info(response.message)
        return response

    # --- diagnostics -----------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        with self.stats.lock:
            s = self.stats

            def mean_ms(d):
                return 1e3 * float(np.mean(d)) if d else 0.0

            lat = np.asarray(s.latency_ms) if s.latency_ms else np.zeros(1)
            conv, pre, trk, pub, tot = (
                mean_ms(s.t_convert), mean_ms(s.t_pre), mean_ms(s.t_tracker),
                mean_ms(s.t_publish), mean_ms(s.t_total))
            rate = s.rate_hz(time.monotonic())
            values = {
                "state": self.session.state, "model": self.session.model_name,
                "device": self.session.device, "precision": self.session.precision,
                "input_topic": self._input_topic(),
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
                "buffered_frames": len(self.ring),
                "buffered_mb": f"{self.ring.nbytes / 2**20:.1f}",
                "last_warning": s.last_warning,
            }
            bad = s.bad_frames + s.errors + s.callback_errors
            last_frame = s.last_frame_mono
        age = None if last_frame is None else time.monotonic() - last_frame
        stale = age is None or age >= self.cfg.stale_input_s
        values["input_age_s"] = "none yet" if age is None else f"{age:.2f}"
        values["input_stale"] = str(stale)
        state = values["state"]
        if stale:
            level = DiagnosticStatus.STALE
            message = (f"{state}; input stale: no valid frame for {age:.1f} s" if age is not None
                       else f"{state}; no input frame received yet")
        elif bad and values["last_warning"]:
            level, message = DiagnosticStatus.WARN, f"{state}; {bad} bad frames/errors so far"
        elif state == "LOST":
            level, message = DiagnosticStatus.WARN, "target lost"
        else:
            level, message = DiagnosticStatus.OK, state
        header = Header()
        if self._last_header is not None:
            header.stamp, header.frame_id = self._last_header.stamp, self._last_header.frame_id
        else:
            header.stamp = self.get_clock().now().to_msg()
        status = DiagnosticStatus(
            level=level, name=f"{self.get_fully_qualified_name()}: tracker", message=message,
            hardware_id=values["device"],
            values=[KeyValue(key=k, value=str(v)) for k, v in values.items()])
        self.pub_diag.publish(DiagnosticArray(header=header, status=[status]))

    def shutdown(self) -> None:
        self._stop.set()
        self.mailbox.close()
        self._worker.join(timeout=5.0)


def tune_malloc() -> bool:
    """Keep large buffers on the heap instead of fresh mmaps (glibc only).

    Every image message allocates megabyte buffers (conversion, serialisation); glibc serves
    those with mmap/munmap, so each one page-faults its memory in again. Raising the mmap and
    trim thresholds lets freed buffers be reused: publishing a 640x512 bgr8 image got ~3x faster
    here (bench/bench_node.py). Memory stays bounded (trim above 128 MB of free heap).
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(name)
        m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
        ok = libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024)
        ok &= libc.mallopt(m_trim_threshold, 128 * 1024 * 1024)
        ok &= libc.mallopt(m_top_pad, 16 * 1024 * 1024)
        return bool(ok)
    except (OSError, AttributeError):
        return False


def main(args=None) -> int:
    tune_malloc()
    rclpy.init(args=args)
    logger = rclpy.logging.get_logger(NODE_NAME)
    try:
        node = TrackerNode()
    except (ModelLoadError, ConfigError) as exc:
        logger.fatal(f"cannot start: {exc}")
        rclpy.try_shutdown()
        return 1
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.shutdown()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
