"""The ``fgsgt_tracker`` ROS 2 node: a thin adapter around ``TrackingSession``
(``fgsgt_ros.tracker.session``, the same per-frame loop ``fgsgt eval`` runs): the node only
converts messages in and out of it, and draws the debug image (``ros/debug_image.py``).

A managed (lifecycle) node, which activates itself at start-up unless ``autostart`` is false:
- configure: loads the model (a failure is a failed transition with one line saying why; with
  autostart the process then exits non-zero), declares the ``tracker.*``/``thermal.*``/``click.*``
  parameters (defaults: the checkpoint's calibration), creates the publishers, services and timers;
- activate: subscribes the camera (and ``init_box``, clicks) and starts the worker thread;
- deactivate: stops the worker, unsubscribes, forgets the target and the buffered frames;
- cleanup: frees the model; shutdown ends the process.
``ros2 lifecycle set /fgsgt_tracker deactivate`` etc. drive it from outside.

Topics (relative, so a namespace per camera works):
- in  ``image`` (sensor_msgs/Image) or ``image/compressed`` (sensor_msgs/CompressedImage), by the
  ``input_transport`` parameter; sensor-data QoS unless overridden (``qos_reliability``/``qos_depth``).
- in  ``init_box`` (vision_msgs/Detection2D): start tracking from a detector's box.
- in  clicks (geometry_msgs/Point, pixel x/y) on ``click_topic``, by default the resolved input
  topic + ``_mouse_left``, where rqt_image_view publishes a click on the image it shows: the box
  is the thermal blob under the click (``fgsgt_ros.tracker.click``), tracked from the latest frame.
- out ``detections`` (vision_msgs/Detection2DArray): one detection (clipped to the image) while
  TRACKING, empty otherwise.
- out ``saliency`` (sensor_msgs/Image, input size, mono8 = probability*255 or 32FC1 = probability).
- out ``debug_image`` (bgr8): the frame after AGC with box, score and state drawn.
- out ``status`` (fgsgt_ros/TrackerStatus) per processed frame; ``/diagnostics`` periodically.
Every per-frame output carries the input frame's header; /diagnostics carries the header of the
last processed frame.
Services: ``init_target`` (fgsgt_ros/srv/InitTarget; a box of zero size means "the blob at this
point"), ``reset`` (std_srvs/Trigger).

Parameters say when a change takes effect (``fgsgt_ros.ros.params``): tracker, AGC and click
settings at once, subscription settings at the next activation, model settings at the next
configure; a value that is refused says why.

Threads: the image callback only decodes the message, files it in a ring buffer (for stamped
init) and drops it in a single-slot mailbox; a worker thread takes the newest frame and runs the
tracker outside the executor. Everything that touches the tracker runs on that worker, in order:
frames, and the work of ``init_target`` / ``init_box`` / clicks, queued ahead of frames
(``LatestFrameMailbox.put_command``), so an init waits for at most the frame in progress. The
``init_target`` service is a coroutine: it hands its request to the worker and yields, so the
executor (one SingleThreadedExecutor) keeps taking frames, timers and other calls meanwhile, and
answers when the worker is done. ``reset`` is answered at once: the worker forgets the target
before its next frame, and a frame being tracked while the reset came is published without a
box. Frames overwritten in the mailbox are dropped and counted, never queued. A
MultiThreadedExecutor is deliberately not used: its Python spin loop kept a core busy and took the
GIL from the worker (measured in make demo: 4-6 instead of 15 processed frames/s on 2 cores).
Each status says how old its frame was when it went out (``frame_age_ms``, node clock) and flags
a ``backlog`` above ``backlog_warn_s``; /diagnostics then reports WARN.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import platform
import sys
import textwrap
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Optional

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from fgsgt_ros.msg import TrackerStatus
from fgsgt_ros.srv import InitTarget
from geometry_msgs.msg import Point
from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                SetParametersResult)
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.task import Future
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
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
from fgsgt_ros.tracker.click import ClickError, box_from_click
from fgsgt_ros.tracker.session import ModelLoadError, TrackingSession

NODE_NAME = "fgsgt_tracker"
_STATE_CODES = {"IDLE": TrackerStatus.STATE_IDLE, "TRACKING": TrackerStatus.STATE_TRACKING,
                "LOST": TrackerStatus.STATE_LOST}
# Service requests queued per service: back-to-back calls (a script, several operators) are all
# answered instead of the default keep-last-10 silently dropping the older ones. Requests are small.
SERVICE_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1000,
                         reliability=ReliabilityPolicy.RELIABLE)
#: Groups of parameters declared at configure, from their dataclasses.
_MODEL_GROUPS = ("tracker", "thermal", "click")
#: Seconds a warning stays in status.message after it happened.
_WARNING_SHOWN_S = 5.0
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


class ConfigError(ValueError):
    """A parameter value the node cannot start with."""


@dataclass
class _Command:
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


_WHEN = {"activate": "Takes effect at the next activation (set it while the node is inactive).",
         "configure": "Takes effect at the next configure (set it while the node is unconfigured).",
         "start": "Fixed at start-up."}


def _descriptor(spec: P.ParamSpec) -> ParameterDescriptor:
    desc = spec.description
    if spec.choices:
        desc += f" One of: {', '.join(spec.choices)}."
    if spec.applies in _WHEN:
        desc += " " + _WHEN[spec.applies]
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


class TrackerNode(LifecycleNode):
    def __init__(self, **kwargs) -> None:
        super().__init__(NODE_NAME, **kwargs)
        # What the lifecycle state machine is in (mirrored: parameter changes depend on it).
        self._lifecycle = "unconfigured"
        self._declaring = False  # declare_parameter runs the set-parameters callback too
        self._autostarting = False
        self.finalized = threading.Event()
        self._declared_defaults: dict = {}  # parameter -> default it was declared with
        # Node parameters now (they name the model); tracker/thermal/click ones at configure,
        # where the checkpoint's calibrated settings (fgsgt calibrate --write) become the defaults
        # of the tracker.* parameters (values from a params file / -p still override them).
        self._specs = {s.name: s for s in P.all_specs() if s.group == "node"}
        values = self._declare_parameters("node")
        self.cfg = P.build_dataclass(P.NodeConfig, values["node"])
        self._throttle = LogThrottle(lambda text: self.get_logger().warning(text),
                                     lambda: self.cfg.log_throttle_s)
        quiet_decoder_logs()
        self._last_seq: dict = {}
        self.stats = _Stats()
        self.session: Optional[TrackingSession] = None
        self.tracker_cfg = self.thermal_cfg = None
        self.click_cfg = P.build_dataclass(P.click_config_class(), {})
        self.ring = FrameRingBuffer(self.cfg.frame_buffer_size,
                                    int(self.cfg.frame_buffer_max_mb * 1024 * 1024))
        self.mailbox = LatestFrameMailbox()
        self._stale_since: Optional[float] = None  # when the input went stale (monotonic)
        self._stale_published = 0.0
        self._last_header: Optional[Header] = None
        self._last_score = 0.0
        self._last_temperature = None  # the last processed frame's TargetTemperature
        self._message = ""
        self._message_mono = -1e18
        self._hardware_id = ""
        self._in_subs: list = []
        self._click_sub = None
        self._click_topic_name = ""
        self._out_pubs: list = []
        self._srvs: list = []
        self._out_timers: list = []
        self._diag_timer = None
        self._stop = threading.Event()
        self._worker: Optional[threading.Thread] = None
        # resets asked for so far: a frame being tracked when one came is published without a box
        self._resets = 0
        self._wake = None  # guard condition: wakes the executor when the worker ends a command
        self.add_on_set_parameters_callback(self._on_set_parameters)

    # --- lifecycle -------------------------------------------------------------------------
    def _failed(self, transition: str, reason: str) -> TransitionCallbackReturn:
        """One line saying why; with autostart the process then exits (FATAL)."""
        if self._autostarting:
            self.get_logger().fatal(f"cannot start: {reason}")
        else:
            self.get_logger().error(f"{transition} failed: {reason}")
        return TransitionCallbackReturn.FAILURE

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self._configure()
        except (ModelLoadError, ConfigError) as exc:
            self._release()
            return self._failed("configure", str(exc))
        except Exception as exc:  # anything else: still one line, and the node lives on
            self._release()
            return self._failed("configure", f"{type(exc).__name__}: {safe_text(exc, 300)}")
        self._lifecycle = "inactive"
        return TransitionCallbackReturn.SUCCESS

    def _load_session(self) -> TrackingSession:
        """The model, as the model parameters say (ModelLoadError: one line why not)."""
        cfg = self.cfg
        return TrackingSession.from_spec(
            cfg.checkpoint or "", runtime=cfg.runtime, num_threads=cfg.num_threads,
            device=cfg.device, precision=cfg.precision, model_preset=cfg.model_preset,
            warn=self.get_logger().warning)

    def _configure(self) -> None:
        session = self._load_session()
        self._specs = {s.name: s for s in P.all_specs(session.tracker_defaults)}
        values = self._declare_parameters(*_MODEL_GROUPS)
        try:
            tracker_cfg = P.build_dataclass(P.tracker_config_class(), values["tracker"])
            thermal_cfg = P.build_dataclass(P.thermal_config_class(), values["thermal"])
            click_cfg = P.build_dataclass(P.click_config_class(), values["click"])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid tracker/thermal/click parameters: {exc}") from None
        session.configure(tracker_cfg, thermal_cfg)
        self.session = session
        self.tracker_cfg, self.thermal_cfg, self.click_cfg = tracker_cfg, thermal_cfg, click_cfg
        self._hardware_id = hardware_id(session.device)

        # Results are published reliably (REP-2003); a best-effort subscriber still connects.
        out_qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                             reliability=ReliabilityPolicy.RELIABLE)
        self.pub_det = self.create_lifecycle_publisher(Detection2DArray, "detections", out_qos)
        self.pub_status = self.create_lifecycle_publisher(TrackerStatus, "status", out_qos)
        self.pub_sal = self.create_lifecycle_publisher(Image, "saliency", out_qos)
        self.pub_debug = self.create_lifecycle_publisher(Image, "debug_image", out_qos)
        self._out_pubs = [self.pub_det, self.pub_status, self.pub_sal, self.pub_debug]
        # /diagnostics also while inactive: a managed node that is not running says so.
        self.pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        # Every callback is guarded: nothing a message or request holds can raise out of it
        # (an exception there would stop the executor and the node).
        # An awaiting coroutine keeps its callback group busy: init_target and the wake-up have
        # groups of their own, so frames, timers and reset go on while an init is on the worker.
        self._wake = self.create_guard_condition(lambda: None,
                                                 callback_group=ReentrantCallbackGroup())
        self._srvs = [
            self.create_service(InitTarget, "init_target",
                                self._guard_async("init_target", self._srv_init),
                                qos_profile=SERVICE_QOS,
                                callback_group=MutuallyExclusiveCallbackGroup()),
            self.create_service(Trigger, "reset", self._guard("reset", self._srv_reset),
                                qos_profile=SERVICE_QOS)]
        self._diag_timer = self.create_timer(self.cfg.diagnostics_period_s,
                                             self._guard("diagnostics", self._publish_diagnostics))
        self._out_timers = [self.create_timer(0.1, self._guard("stale_check", self._check_stale))]
        cal = session.tracker_defaults
        self.get_logger().info(
            f"tracking with {session.model_name or 'model'} on {session.device} "
            f"({session.precision}); runtime {session.runtime}; "
            f"LOST below {tracker_cfg.lost_threshold:g}, recovered at "
            f"{tracker_cfg.recover_threshold:g} (defaults {cal.lost_threshold:g}/"
            f"{cal.recover_threshold:g} from "
            f"{'the checkpoint' if session.calibrated else 'TrackerConfig'})")

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = super().on_activate(state)  # enables the lifecycle publishers
        if result != TransitionCallbackReturn.SUCCESS:
            return result
        try:
            self._activate()
        except Exception as exc:
            self._deactivate()
            super().on_deactivate(state)
            return self._failed("activate", f"{type(exc).__name__}: {safe_text(exc, 300)}")
        self._lifecycle = "active"
        return TransitionCallbackReturn.SUCCESS

    def _activate(self) -> None:
        cfg = self.cfg
        self.ring = FrameRingBuffer(cfg.frame_buffer_size,
                                    int(cfg.frame_buffer_max_mb * 1024 * 1024))
        self.mailbox = LatestFrameMailbox()
        self._last_seq = {}
        with self.stats.lock:
            self.stats.last_frame_mono = None
        self._stale_since = None
        in_qos = QoSProfile(
            history=HistoryPolicy.KEEP_LAST, depth=cfg.qos_depth,
            reliability=(ReliabilityPolicy.BEST_EFFORT if cfg.qos_reliability == "best_effort"
                         else ReliabilityPolicy.RELIABLE))
        if cfg.input_transport == "compressed":
            self._in_subs.append(self.create_subscription(
                CompressedImage, "image/compressed", self._guard("image", self._on_compressed),
                in_qos))
        else:
            self._in_subs.append(self.create_subscription(
                Image, "image", self._guard("image", self._on_image), in_qos))
        if cfg.subscribe_init_box:
            self._in_subs.append(self.create_subscription(
                Detection2D, "init_box", self._guard("init_box", self._on_init_box), 10))
        self._subscribe_clicks()
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._work, args=(self.mailbox, self._stop),
                                        name="fgsgt_worker", daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"active: input '{self._input_topic()}' ({cfg.input_transport}, "
            f"{cfg.qos_reliability}, depth {cfg.qos_depth}); clicks on "
            f"'{self._click_topic_name or 'none'}'")

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._deactivate()
        self._lifecycle = "inactive"
        self.get_logger().info("inactive: not subscribed, target and buffered frames forgotten")
        return super().on_deactivate(state)

    def _deactivate(self) -> None:
        """Stop the worker, unsubscribe, forget the target and the frames (never raises)."""
        self._stop.set()
        self.mailbox.close()
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(timeout=10.0)
        self._worker = None
        for command in self.mailbox.drain_commands():  # callers waiting get an answer
            self._finish(command, (False, "node deactivated before the request was handled",
                                   None, None))
        for sub in self._in_subs + ([self._click_sub] if self._click_sub is not None else []):
            self.destroy_subscription(sub)
        self._in_subs, self._click_sub, self._click_topic_name = [], None, ""
        if self.session is not None:
            self.session.reset()
        self.ring.clear()

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        self._lifecycle = "unconfigured"
        self.get_logger().info("unconfigured: model released")
        return TransitionCallbackReturn.SUCCESS

    def _release(self, collect: bool = True) -> None:
        """Destroy what configure made and free the model (``collect``: now, with a garbage
        collection; not needed when the process is about to exit)."""
        for pub in self._out_pubs:
            self.destroy_lifecycle_publisher(pub)
        if getattr(self, "pub_diag", None) is not None:
            self.destroy_publisher(self.pub_diag)
            self.pub_diag = None
        for srv in self._srvs:
            self.destroy_service(srv)
        if self._wake is not None:
            self.destroy_guard_condition(self._wake)
            self._wake = None
        for timer in self._out_timers + ([self._diag_timer] if self._diag_timer else []):
            self.destroy_timer(timer)
        self._out_pubs, self._srvs, self._out_timers, self._diag_timer = [], [], [], None
        device = self.session.device if self.session is not None else ""
        self.session = None
        if not collect:
            return
        gc.collect()
        if device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.teardown()
        self.get_logger().info("finalized: shutting down")
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._deactivate()
        self._release()
        self._lifecycle = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def teardown(self) -> None:
        """Everything stopped and released (shutdown transition, Ctrl-C); the process exits."""
        self._deactivate()
        self._release(collect=False)
        self._lifecycle = "finalized"
        self.finalized.set()

    @property
    def lifecycle_state(self) -> str:
        return self._lifecycle

    # --- parameters ------------------------------------------------------------------------
    def _declare_parameters(self, *groups: str) -> dict:
        values = {g: {} for g in ("node",) + _MODEL_GROUPS}
        self._declaring = True
        try:
            for spec in self._specs.values():
                if spec.group not in groups:
                    continue
                value = self._declare_one(spec)
                reason = P.check_choice(spec, value)
                if reason:
                    raise ConfigError(reason)
                values[spec.group][spec.field_name] = value
        finally:
            self._declaring = False
        return values

    def _declare_one(self, spec: P.ParamSpec):
        if not self.has_parameter(spec.name):
            try:
                value = self.declare_parameter(spec.name, spec.default, _descriptor(spec)).value
            except Exception as exc:  # wrong type / outside range in the params file
                raise ConfigError(f"parameter {spec.name}: {exc}") from None
            self._declared_defaults[spec.name] = spec.default
            return value
        # Configured again (after cleanup, maybe with another checkpoint): a value still at the
        # previous model's calibrated default follows the new model's; a value set by the user
        # stays.
        value = self.get_parameter(spec.name).value
        old_default = self._declared_defaults.get(spec.name)
        if spec.calibrated and value == old_default and spec.default != old_default:
            self.set_parameters([Parameter(spec.name, value=spec.default)])
            value = spec.default
        self._declared_defaults[spec.name] = spec.default
        return value

    def _refuse(self, reason: str) -> SetParametersResult:
        return SetParametersResult(successful=False, reason=reason)

    def _on_set_parameters(self, params) -> SetParametersResult:
        if self._declaring:
            return SetParametersResult(successful=True)  # checked by _declare_parameters
        fqn = self.get_fully_qualified_name()
        changes = []
        for p in params:
            spec = self._specs.get(p.name)
            if spec is None:
                continue  # ROS' own (use_sim_time, ...)
            reason = P.check_choice(spec, p.value)
            if reason:
                return self._refuse(reason)
            if spec.applies == "activate" and self._lifecycle == "active":
                return self._refuse(
                    f"{p.name} is used when the node activates: deactivate it first "
                    f"(ros2 lifecycle set {fqn} deactivate), set it, then activate")
            if spec.applies == "configure" and self._lifecycle not in ("unconfigured",):
                return self._refuse(
                    f"{p.name} needs the model reloaded: deactivate and clean up the node first "
                    f"(ros2 lifecycle set {fqn} deactivate, then cleanup), set it, then "
                    f"configure and activate")
            changes.append((spec, p.value))
        # tracker/thermal/click settings: the dataclasses validate the combination
        new = {}
        current = {"tracker": self.tracker_cfg, "thermal": self.thermal_cfg,
                   "click": self.click_cfg}
        classes = {"tracker": P.tracker_config_class(), "thermal": P.thermal_config_class(),
                   "click": P.click_config_class()}
        for group in _MODEL_GROUPS:
            updates = {s.field_name: v for s, v in changes if s.group == group}
            if not updates:
                continue
            base = current[group] if current[group] is not None else classes[group]()
            values = {f: getattr(base, f) for f in base.__dataclass_fields__}
            values.update(updates)
            try:
                new[group] = P.build_dataclass(classes[group], values)
            except (TypeError, ValueError) as exc:
                return self._refuse(f"{', '.join(group + '.' + k for k in updates)}: {exc}")
        for spec, value in changes:
            if spec.group == "node":
                setattr(self.cfg, spec.field_name, value)
        self._apply_node_changes({s.field_name for s, _ in changes if s.group == "node"})
        self._apply_model_changes(new)
        return SetParametersResult(successful=True)

    def _apply_node_changes(self, names) -> None:
        if "num_threads" in names and self.session is not None:
            import torch

            torch.set_num_threads(int(self.cfg.num_threads) or (os.cpu_count() or 1))
        if "diagnostics_period_s" in names and self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = self.create_timer(
                self.cfg.diagnostics_period_s, self._guard("diagnostics",
                                                           self._publish_diagnostics))
        if "click_topic" in names and self._lifecycle == "active":
            self._subscribe_clicks()

    def _apply_model_changes(self, new: dict) -> None:
        if "click" in new:
            self.click_cfg = new["click"]
        if "tracker" in new or "thermal" in new:
            self.tracker_cfg = new.get("tracker", self.tracker_cfg)
            self.thermal_cfg = new.get("thermal", self.thermal_cfg)
            if self.session is not None:
                kept = self.session.retune(tracker_cfg=new.get("tracker"),
                                           thermal_cfg=new.get("thermal"))
                if not kept:
                    self.get_logger().warning(
                        f"{self.session.model_name} takes no new settings while tracking: "
                        "rebuilt with them, target forgotten (IDLE)")

    def _input_topic(self) -> str:
        name = "image/compressed" if self.cfg.input_transport == "compressed" else "image"
        return self.resolve_topic_name(name)

    def _click_topic(self) -> str:
        """The resolved click topic ('' = none): rqt_image_view publishes a click on the image it
        shows on '<that image's topic>_mouse_left' (the base topic, also for compressed)."""
        topic = (self.cfg.click_topic or "").strip()
        if topic.lower() == "none":
            return ""
        if not topic:
            topic = self.resolve_topic_name("image") + "_mouse_left"
            if self.cfg.input_transport == "compressed":
                base = self._input_topic()
                base = base[: -len("/compressed")] if base.endswith("/compressed") else base
                topic = base + "_mouse_left"
        return self.resolve_topic_name(topic)

    def _subscribe_clicks(self) -> None:
        if self._click_sub is not None:
            self.destroy_subscription(self._click_sub)
            self._click_sub, self._click_topic_name = None, ""
        topic = self._click_topic()
        if topic:
            self._click_sub = self.create_subscription(
                Point, topic, self._guard("click", self._on_click), 10)
            self._click_topic_name = topic

    # --- logging ---------------------------------------------------------------------------
    def _warn_throttled(self, kind: str, text: str) -> None:
        """One log line per kind of problem per ``log_throttle_s``; repeats are counted.

        ``kind`` is a fixed name (e.g. ``bad_frame:encoding``), never text from a message, so a
        stream of distinct bad strings still logs once per period. ``text`` must already quote
        untrusted strings through ``safe_text``; it is cut to one bounded line here as well.
        """
        text = safe_text(text, 400)
        self._message = text
        self._message_mono = time.monotonic()
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

    def _guard_async(self, kind: str, callback):
        """``_guard`` for a coroutine service callback (rclpy awaits it as a task)."""

        @functools.wraps(callback)
        async def guarded(request, response):
            try:
                return await callback(request, response)
            except Exception as exc:
                with self.stats.lock:
                    self.stats.callback_errors += 1
                reason = f"{type(exc).__name__}: {safe_text(exc, 200)}"
                self._warn_throttled("callback:" + kind, f"{kind} failed: {reason}")
                response.success, response.message = False, f"{kind} failed: {reason}"
                return response
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
            header=header, state=_STATE_CODES.get(state, 0), state_name=state,
            score=float(self._last_score), processing_rate_hz=0.0, latency_ms=float(age * 1e3),
            frames_processed=processed, frames_dropped=dropped, message=text,
            frame_age_ms=float(age * 1e3), backlog=False, **temperature_fields(None)))

    # --- worker ----------------------------------------------------------------------------
    def _work(self, mailbox: LatestFrameMailbox, stop: threading.Event) -> None:
        while not stop.is_set():
            item = mailbox.take(timeout=0.2)
            if item is None:
                continue
            if isinstance(item, _Command):
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

    def _run_command(self, command: _Command) -> None:
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

    def _finish(self, command: _Command, result) -> None:
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
            header=header, state=_STATE_CODES.get(state, 0), state_name=state, score=score,
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

    # --- target (re)initialisation --------------------------------------------------------
    def _initialise(self, cx, cy, w, h, stamp_ns: int):
        """-> (success, message, frame or None, xywh or None). Never raises.

        A box of zero size (w = h = 0) is a point: the box is the thermal blob there
        (``fgsgt_ros.tracker.click``), on the same frame."""
        session = self.session
        if session is None or self._lifecycle != "active":
            return (False, f"node is {self._lifecycle}, not active: activate it first "
                    f"(ros2 lifecycle set {self.get_fully_qualified_name()} activate)",
                    None, None)
        point = w == 0 and h == 0
        requested = (cx - w / 2.0, cy - h / 2.0, w, h)  # centre/size -> xywh
        try:
            if point:
                if not (np.isfinite(cx) and np.isfinite(cy)):
                    raise InvalidBoxError(f"point ({cx}, {cy}) is not finite")
            else:
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
        how = ""
        if point:
            try:
                clicked = box_from_click(frame.image, float(cx), float(cy), self.click_cfg)
            except ClickError as exc:
                return False, str(exc), frame, None
            requested = tuple(float(v) for v in clicked.box)
            how = f" (point ({float(cx):.1f}, {float(cy):.1f}): {clicked.describe()})"
        try:
            # at least 2 px inside: a sliver at the border is no target to track
            xywh = validate_box(requested, width, height, min_inside=2.0)
        except InvalidBoxError as exc:
            return False, str(exc), frame, None
        try:
            session.init(frame.image, xywh)  # the AGC re-learns from this frame
        except ValueError as exc:  # InvalidBoxError/BadFrameError: previous target kept
            return False, f"tracker refused the box: {exc}", frame, None
        except Exception as exc:
            with self.stats.lock:
                self.stats.errors += 1
            return False, f"initialisation failed: {type(exc).__name__}: {exc}", frame, None
        msg = (f"tracking target {session.init_count} from box x={xywh[0]:.1f} "
               f"y={xywh[1]:.1f} w={xywh[2]:.1f} h={xywh[3]:.1f} on frame "
               f"{frame.stamp_ns / 1e9:.3f}{how}")
        self._message = ""  # a new target: older warnings no longer apply
        self.get_logger().info(msg)
        return True, msg, frame, xywh

    def _submit(self, args: tuple, done: Optional[Future] = None, source: str = "",
                refusal: str = "") -> bool:
        """Queue an init for the worker; False when there is no worker (node not active)."""
        if self._worker is None or self._lifecycle != "active":
            return False
        self.mailbox.put_command(_Command("init", args, done, source, refusal))
        return True

    async def _srv_init(self, request: InitTarget.Request, response: InitTarget.Response):
        b = request.box
        args = (b.center.position.x, b.center.position.y, b.size_x, b.size_y,
                stamp_to_ns(request.stamp))
        done = Future()
        if self._submit(args, done):
            ok, msg, frame, xywh = await done  # the executor serves others meanwhile
        else:
            ok, msg, frame, xywh = self._initialise(*args)  # not active: says so at once
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
        args = (b.center.position.x, b.center.position.y, b.size_x, b.size_y,
                stamp_to_ns(msg.header.stamp))
        if not self._submit(args, source="init_box", refusal="init_box ignored"):
            self._warn_throttled("init_box", f"init_box ignored: {self._initialise(*args)[1]}")

    def _on_click(self, msg: Point) -> None:
        """A click (rqt_image_view): track the blob under it, on the latest frame."""
        args = (msg.x, msg.y, 0.0, 0.0, 0)
        refusal = f"click at ({safe_text(msg.x)}, {safe_text(msg.y)}) ignored"
        if not self._submit(args, source="click", refusal=refusal):
            self._warn_throttled("click", f"{refusal}: {self._initialise(*args)[1]}")

    def _srv_reset(self, request, response):
        """Answered at once: the worker forgets the target before its next frame, and a frame
        it is tracking now goes out without a box."""
        if self.session is None:
            response.success, response.message = False, f"node is {self._lifecycle}: no tracker"
            return response
        self._resets += 1
        if self._worker is not None and self._lifecycle == "active":
            self.mailbox.put_command(_Command("reset"))
        else:
            self.session.reset()
        response.success, response.message = True, "tracker reset: IDLE until the next init"
        self._message = ""
        self.get_logger().info(response.message)
        return response

    # --- diagnostics -----------------------------------------------------------------------
    def _temperature_text(self) -> str:
        reading = self._last_temperature
        if reading is None:
            if self.session is not None and self.session.thermal_cfg.radiometry == "none":
                return "off (thermal.radiometry none)"
            return "none (not tracking, or no radiometric value under the box)"
        bg = ("" if np.isnan(reading.background_k) else
              f", background {reading.background_k:.2f} K ({reading.background_c:.1f} C)")
        return (f"max {reading.hottest_k:.2f} K ({reading.hottest_c:.1f} C), median "
                f"{reading.median_k:.2f} K ({reading.median_c:.1f} C){bg}")

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
                "target_temperature": self._temperature_text(),
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


def build_parser() -> argparse.ArgumentParser:
    """``fgsgt_tracker --help``: what the node does and its parameters (it takes no other
    arguments; ROS arguments follow ``--ros-args``)."""
    specs = P.all_specs()
    width = max(len(s.name) for s in specs)
    lines = [f"  {s.name:<{width}}  {P._fmt(s.default):<14} {P._APPLIES_TEXT[s.applies]}"
             for s in specs]
    epilog = (
        textwrap.fill(
            "Topics (relative to the namespace): in image (or image/compressed), init_box, "
            "clicks on <input topic>_mouse_left (rqt_image_view); out detections, status, "
            "saliency, debug_image, /diagnostics. Services: init_target (a zero-size box = a "
            "point), reset; lifecycle: change_state, get_state (ros2 lifecycle).", 79)
        + "\n\n" + textwrap.fill(
            "Parameters (default; when a change takes effect), set with -p NAME:=VALUE or "
            "--params-file; details: python -m fgsgt_ros.ros.params --markdown", 79) + "\n"
        + "\n".join(lines) + "\n\nExamples:\n"
        "  fgsgt_tracker --ros-args -r image:=/flir/image_raw -p device:=cuda:0\n"
        "  ros2 launch fgsgt_ros fgsgt.launch.py image:=/flir/image_raw\n"
        "  ros2 lifecycle set /fgsgt_tracker deactivate")
    return argparse.ArgumentParser(
        prog="fgsgt_tracker", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.fill(
            "Thermal-infrared single-object tracker node (ROS 2 lifecycle node: configures and "
            "activates itself unless autostart is false).", 79),
        epilog=epilog)


def main(args=None) -> int:
    from rclpy.utilities import remove_ros_args

    argv = list(sys.argv if args is None else args)
    parser = build_parser()
    try:
        own = remove_ros_args(args=argv)[1:]
    except Exception as exc:  # rclpy's error for a malformed --ros-args section
        parser.error(f"invalid ROS arguments: {safe_text(exc, 300)}")
    # --help (or any argument that is not a ROS one) is answered here, before ROS starts
    parser.parse_args(own)
    tune_malloc()
    rclpy.init(args=argv)
    logger = rclpy.logging.get_logger(NODE_NAME)
    try:
        node = TrackerNode()
    except ConfigError as exc:
        logger.fatal(f"cannot start: {exc}")
        rclpy.try_shutdown()
        return 1
    if node.cfg.autostart:
        node._autostarting = True  # a failed transition is then FATAL and ends the process
        ok = (node.trigger_configure() == TransitionCallbackReturn.SUCCESS
              and node.trigger_activate() == TransitionCallbackReturn.SUCCESS)
        node._autostarting = False
        if not ok:
            node.teardown()
            node.destroy_node()
            rclpy.try_shutdown()
            return 1
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        while rclpy.ok() and not node.finalized.is_set():  # the shutdown transition ends it
            executor.spin_once(timeout_sec=0.5)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        try:
            node.teardown()
        except Exception as exc:  # e.g. handles already gone after Ctrl-C: exit anyway
            logger.warning(f"shutdown: {type(exc).__name__}: {safe_text(exc, 200)}")
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
