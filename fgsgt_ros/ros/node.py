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

Where the parts live: this module holds the lifecycle, topics, services and target
(re)initialisation (the geometry of a new target is ROS-free, ``fgsgt_ros.tracker.init_geometry``);
``ros/node_params.py`` the parameters, ``ros/frames.py`` the input callbacks, the worker and what
a frame publishes, ``ros/diagnostics.py`` the counters, stale input and /diagnostics, and
``ros/process.py`` the ``fgsgt_tracker`` process (command line, autostart, executor loop).
"""

from __future__ import annotations

import functools
import gc
import threading
import time
from typing import Optional

from diagnostic_msgs.msg import DiagnosticArray
from fgsgt_ros.msg import TrackerStatus
from fgsgt_ros.srv import InitTarget
from geometry_msgs.msg import Point
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.task import Future
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from std_srvs.srv import Trigger
from vision_msgs.msg import Detection2D, Detection2DArray

from fgsgt_ros.ros import params as P
from fgsgt_ros.ros.buffers import FrameRingBuffer, LatestFrameMailbox
from fgsgt_ros.ros.conversions import quiet_decoder_logs
from fgsgt_ros.ros.diagnostics import DiagnosticsMixin, NodeStats, hardware_id
from fgsgt_ros.ros.frames import FramesMixin, WorkerCommand, stamp_to_ns
from fgsgt_ros.ros.logsafe import LogThrottle, safe_text
from fgsgt_ros.ros.node_params import MODEL_GROUPS, ConfigError, ParametersMixin
from fgsgt_ros.tracker.base import InvalidBoxError
from fgsgt_ros.tracker.click import ClickError
from fgsgt_ros.tracker.init_geometry import check_request, target_box
from fgsgt_ros.tracker.session import ModelLoadError, TrackingSession

NODE_NAME = "fgsgt_tracker"
# Service requests queued per service: back-to-back calls (a script, several operators) are all
# answered instead of the default keep-last-10 silently dropping the older ones. Requests are small.
SERVICE_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1000,
                         reliability=ReliabilityPolicy.RELIABLE)


class TrackerNode(ParametersMixin, FramesMixin, DiagnosticsMixin, LifecycleNode):
    """The node: lifecycle transitions, topics, services and target (re)initialisation here;
    parameters (``node_params``), frames and the worker (``frames``) and what it reports
    (``diagnostics``) in the mixins it is made of."""

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
        self.stats = NodeStats()
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
        values = self._declare_parameters(*MODEL_GROUPS)
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
        try:
            check_request(cx, cy, w, h)
        except InvalidBoxError as exc:
            return False, str(exc), None, None
        frame, why_not = self._frame_at(stamp_ns)
        if frame is None:
            return False, why_not, None, None
        try:
            xywh, how = target_box(frame.image, cx, cy, w, h, self.click_cfg)
        except (ClickError, InvalidBoxError) as exc:
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

    def _frame_at(self, stamp_ns: int):
        """(the buffered frame an init means, '') or (None, why not): the latest frame for a
        zero stamp, else the one with that stamp."""
        if stamp_ns == 0:
            frame = self.ring.latest()
            return (frame, "") if frame is not None else (
                None, "no frame received yet: cannot initialise")
        frame = self.ring.get(stamp_ns)
        if frame is not None:
            return frame, ""
        n, lo, hi = self.ring.span()
        held = (f"buffer holds {n} frames from {lo / 1e9:.3f} to {hi / 1e9:.3f}"
                if n else "no frame received yet")
        return None, (f"no buffered frame with stamp {stamp_ns / 1e9:.3f} ({held}); "
                      f"send a zero stamp to use the latest frame")

    def _submit(self, args: tuple, done: Optional[Future] = None, source: str = "",
                refusal: str = "") -> bool:
        """Queue an init for the worker; False when there is no worker (node not active)."""
        if self._worker is None or self._lifecycle != "active":
            return False
        self.mailbox.put_command(WorkerCommand("init", args, done, source, refusal))
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
            self.mailbox.put_command(WorkerCommand("reset"))
        else:
            self.session.reset()
        response.success, response.message = True, "tracker reset: IDLE until the next init"
        self._message = ""
        self.get_logger().info(response.message)
        return response


if __name__ == "__main__":  # python -m fgsgt_ros.ros.node: the process (fgsgt_ros.ros.process)
    import sys

    from fgsgt_ros.ros.process import main

    sys.exit(main())
