"""Driving a running ``fgsgt_tracker`` from another process: used by the demo, the node tests and
the node benchmark (and handy from a Python shell).

- ``ros_env(domain_id)``: environment for an isolated, localhost-only ROS graph.
- ``start_node(params, ...)``: the node in a separate process with a generated params file.
- ``TrackerClient``: a plain rclpy node, spun on a background thread, that publishes frames, calls
  ``init_target``/``reset`` and records every output with its receipt time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np


def ros_env(domain_id: int, base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Environment for processes that must see each other and nobody else."""
    env = dict(os.environ if base is None else base)
    env["ROS_DOMAIN_ID"] = str(int(domain_id))
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # Iron+ (ROS_LOCALHOST_ONLY is deprecated)
    env.pop("ROS_LOCALHOST_ONLY", None)
    env.pop("ROS_STATIC_PEERS", None)
    env.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    env["PYTHONUNBUFFERED"] = "1"
    env["RCUTILS_LOGGING_BUFFERED_STREAM"] = "0"
    env["RCUTILS_COLORIZED_OUTPUT"] = "0"
    return env


def write_params_file(params: Dict[str, object], path: Optional[Path] = None) -> Path:
    """A ROS params file for every node (``/**``); JSON is valid YAML and keeps types exact."""
    if path is None:
        fd, name = tempfile.mkstemp(prefix="fgsgt_params_", suffix=".yaml")
        os.close(fd)
        path = Path(name)
    body = {"/**": {"ros__parameters": dict(params) or {"use_sim_time": False}}}
    Path(path).write_text(json.dumps(body, indent=1))
    return Path(path)


@dataclass
class NodeProcess:
    """A node running in its own process; its log goes to ``log_path``."""

    proc: subprocess.Popen
    log_path: Path
    params_path: Path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(2)  # SIGINT: rclpy shuts down cleanly
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.params_path.unlink(missing_ok=True)  # the temporary params file start_node wrote
        return self.proc.returncode


def start_node(params: Dict[str, object], env: Dict[str, str], namespace: str = "",
               remaps: Sequence[str] = (), log_path: Optional[Path] = None,
               params_file: Optional[Path] = None, module: str = "fgsgt_ros.ros.process",
               extra_args: Sequence[str] = ()) -> NodeProcess:
    """Start ``python -m fgsgt_ros.ros.process`` (the ``fgsgt_tracker`` process) with ``params``
    (and optionally a YAML file first)."""
    pfile = write_params_file(params)
    if log_path is None:
        fd, name = tempfile.mkstemp(prefix="fgsgt_node_", suffix=".log")
        os.close(fd)
        log_path = Path(name)
    cmd = [sys.executable, "-m", module, *extra_args, "--ros-args"]
    if params_file is not None:
        cmd += ["--params-file", str(params_file)]
    cmd += ["--params-file", str(pfile)]
    if namespace:
        cmd += ["-r", f"__ns:={namespace}"]
    for r in remaps:
        cmd += ["-r", r]
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    log.close()
    return NodeProcess(proc, Path(log_path), pfile)


@dataclass
class Received:
    """One received message and the wall-clock time it arrived."""

    t: float
    msg: object


class TrackerClient:
    """A client node for one tracker namespace; outputs are recorded in ``self.received``.
    Frames go out on ``image_topic`` (default: ``image`` in the namespace, the node's own input
    name; give the camera topic when the node's input is remapped)."""

    TOPICS = ("detections", "status", "saliency", "debug_image")

    def __init__(self, namespace: str = "", name: str = "fgsgt_client",
                 record: Sequence[str] = TOPICS, diagnostics: bool = True,
                 transport: str = "raw", keep_images: bool = True, image_topic: str = "image",
                 domain_id: Optional[int] = None) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from fgsgt_ros.msg import TrackerStatus
        from fgsgt_ros.srv import InitTarget
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy, HistoryPolicy
        from sensor_msgs.msg import CompressedImage, Image
        from std_srvs.srv import Trigger
        from vision_msgs.msg import Detection2D, Detection2DArray

        # Own context: several clients (different ROS domains) can live in one test process.
        self.context = rclpy.Context()
        if domain_id is None:
            rclpy.init(args=[], context=self.context)
        else:
            rclpy.init(args=[], context=self.context, domain_id=int(domain_id))
        self.node = rclpy.create_node(name, namespace=namespace or "", context=self.context)
        self.lock = threading.Lock()
        self.received: Dict[str, List[Received]] = defaultdict(list)
        self.keep_images = keep_images
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=100,
                         reliability=ReliabilityPolicy.RELIABLE)
        types = {"detections": Detection2DArray, "status": TrackerStatus, "saliency": Image,
                 "debug_image": Image}
        for topic in record:
            self.node.create_subscription(types[topic], topic, self._recorder(topic), qos)
        if diagnostics:
            self.node.create_subscription(DiagnosticArray, "/diagnostics",
                                          self._recorder("diagnostics"), 10)
        if transport == "compressed":
            self.image_pub = self.node.create_publisher(
                CompressedImage, image_topic.rstrip("/") + "/compressed", qos)
        else:
            self.image_pub = self.node.create_publisher(Image, image_topic, qos)
        self.init_box_pub = self.node.create_publisher(Detection2D, "init_box", 10)
        self.init_client = self.node.create_client(InitTarget, "init_target")
        self.reset_client = self.node.create_client(Trigger, "reset")
        self._InitTarget, self._Trigger = InitTarget, Trigger
        self.executor = SingleThreadedExecutor(context=self.node.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        try:
            self.executor.spin()
        except Exception:  # shutdown while spinning
            pass

    def _recorder(self, topic: str):
        def callback(msg) -> None:
            now = time.time()
            if topic in ("saliency", "debug_image") and not self.keep_images:
                msg = _Header(msg.header)
            with self.lock:
                self.received[topic].append(Received(now, msg))
        return callback

    # --- queries ---------------------------------------------------------------------------
    def count(self, topic: str) -> int:
        with self.lock:
            return len(self.received[topic])

    def messages(self, topic: str) -> List[Received]:
        with self.lock:
            return list(self.received[topic])

    def clear(self) -> None:
        with self.lock:
            self.received.clear()

    def wait_for(self, predicate, timeout: float = 10.0, poll: float = 0.02) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return True
            time.sleep(poll)
        return bool(predicate())

    def wait_ready(self, timeout: float = 60.0, proc: Optional[NodeProcess] = None,
                   node_name: str = "fgsgt_tracker", image: bool = False) -> None:
        """Wait until the tracker is up: its services reachable and its lifecycle state
        ``active`` (fail fast if its process died). Nothing here depends on the camera topic, so
        a node whose input is remapped is found all the same. ``image=True`` also waits until
        the node subscribes to the topic this client publishes frames on (tests that feed it)."""
        end = time.monotonic() + timeout
        state = "unknown"
        while time.monotonic() < end:
            if proc is not None and not proc.alive():
                raise RuntimeError(f"tracker node exited with {proc.proc.returncode}:\n"
                                   f"{proc.log()[-3000:]}")
            if not (self.init_client.wait_for_service(timeout_sec=0.5)
                    and self.reset_client.wait_for_service(timeout_sec=0.5)):
                continue
            try:
                state = self.get_state(node_name, timeout=min(5.0, max(0.5, end - time.monotonic())))
            except TimeoutError:
                continue
            if state != "active":
                time.sleep(0.1)
                continue
            # discovery of services and of a subscription is separate: wait for both
            if not image or self.image_pub.get_subscription_count() > 0:
                return
            time.sleep(0.05)
        raise TimeoutError(f"tracker node {node_name} did not become active (lifecycle state: "
                           f"{state})" + (f":\n{proc.log()[-3000:]}" if proc is not None else ""))

    # --- lifecycle (the node is a managed node; it activates itself unless autostart is off) ---
    def _lifecycle_client(self, srv_type, node_name: str, service: str):
        clients = self.__dict__.setdefault("_lifecycle_clients", {})
        key = (node_name, service)
        if key not in clients:
            clients[key] = self.node.create_client(srv_type, f"{node_name}/{service}")
        return clients[key]

    def get_state(self, node_name: str = "fgsgt_tracker", timeout: float = 10.0) -> str:
        """The node's lifecycle state label (unconfigured, inactive, active, finalized)."""
        from lifecycle_msgs.srv import GetState

        client = self._lifecycle_client(GetState, node_name, "get_state")
        if not client.wait_for_service(timeout_sec=timeout):
            raise TimeoutError(f"{node_name}/get_state not available")
        return self._call(client, GetState.Request(), timeout).current_state.label

    def change_state(self, transition: str, node_name: str = "fgsgt_tracker",
                     timeout: float = 60.0) -> bool:
        """Trigger a lifecycle transition by label (configure, activate, deactivate, cleanup,
        shutdown); True when it succeeded (what ``ros2 lifecycle set`` does)."""
        from lifecycle_msgs.msg import Transition
        from lifecycle_msgs.srv import ChangeState

        client = self._lifecycle_client(ChangeState, node_name, "change_state")
        if not client.wait_for_service(timeout_sec=timeout):
            raise TimeoutError(f"{node_name}/change_state not available")
        request = ChangeState.Request(transition=Transition(label=transition))
        return bool(self._call(client, request, timeout).success)

    # --- actions ---------------------------------------------------------------------------
    def publish(self, msg) -> None:
        self.image_pub.publish(msg)

    def _call(self, client, request, timeout: float):
        future = client.call_async(request)
        done = threading.Event()
        future.add_done_callback(lambda _f: done.set())
        if not done.wait(timeout):
            client.remove_pending_request(future)
            raise TimeoutError(f"service {client.srv_name} did not answer within {timeout} s")
        return future.result()

    def init_target(self, box_xywh, stamp=None, timeout: float = 10.0):
        """Call init_target with an xywh box (converted to centre/size) and an optional stamp."""
        req = self._InitTarget.Request()
        x, y, w, h = (float(v) for v in box_xywh)
        req.box.center.position.x, req.box.center.position.y = x + w / 2.0, y + h / 2.0
        req.box.size_x, req.box.size_y = w, h
        if stamp is not None:
            req.stamp = stamp
        return self._call(self.init_client, req, timeout)

    def init_point(self, x: float, y: float, stamp=None, timeout: float = 10.0):
        """Point form of init_target (a box of zero size): the node makes the box from the
        thermal blob under pixel (x, y)."""
        req = self._InitTarget.Request()
        req.box.center.position.x, req.box.center.position.y = float(x), float(y)
        if stamp is not None:
            req.stamp = stamp
        return self._call(self.init_client, req, timeout)

    def click(self, x: float, y: float, topic: str = "image_mouse_left") -> None:
        """Publish a click at pixel (x, y) as rqt_image_view does (geometry_msgs/Point on
        ``<shown image topic>_mouse_left``; relative names resolve in this client's namespace)."""
        from geometry_msgs.msg import Point

        pubs = self.__dict__.setdefault("_click_pubs", {})
        if topic not in pubs:
            pubs[topic] = self.node.create_publisher(Point, topic, 10)
            end = time.monotonic() + 10.0  # a fresh publisher: let the node discover it
            while pubs[topic].get_subscription_count() == 0 and time.monotonic() < end:
                time.sleep(0.02)
        pubs[topic].publish(Point(x=float(x), y=float(y), z=0.0))

    def reset(self, timeout: float = 10.0):
        return self._call(self.reset_client, self._Trigger.Request(), timeout)

    def set_parameters(self, values: Dict[str, object], node_name: str = "fgsgt_tracker",
                       timeout: float = 10.0, atomic: bool = False) -> list:
        """Set node parameters at run time; returns the SetParametersResult list (one per value,
        set in order; ``atomic``: one result, all values checked and set together, e.g. both LOST
        thresholds, which must keep recover_threshold >= lost_threshold)."""
        from rcl_interfaces.srv import SetParameters, SetParametersAtomically
        from rclpy.parameter import Parameter

        srv_type, service = ((SetParametersAtomically, "set_parameters_atomically") if atomic
                             else (SetParameters, "set_parameters"))
        clients = self.__dict__.setdefault("_set_param_clients", {})
        if (node_name, service) not in clients:
            clients[(node_name, service)] = self.node.create_client(
                srv_type, f"{node_name}/{service}")
        client = clients[(node_name, service)]
        if not client.wait_for_service(timeout_sec=timeout):
            raise TimeoutError(f"{node_name}/{service} not available")
        req = srv_type.Request(parameters=[
            Parameter(k, value=v).to_parameter_msg() for k, v in values.items()])
        reply = self._call(client, req, timeout)
        return [reply.result] if atomic else list(reply.results)

    def get_parameters(self, names: Sequence[str], node_name: str = "fgsgt_tracker",
                       timeout: float = 10.0) -> Dict[str, object]:
        """Current values of node parameters (what ``ros2 param get`` shows), by name."""
        from rcl_interfaces.srv import GetParameters
        from rclpy.parameter import parameter_value_to_python

        clients = self.__dict__.setdefault("_get_param_clients", {})
        if node_name not in clients:
            clients[node_name] = self.node.create_client(GetParameters,
                                                         f"{node_name}/get_parameters")
        if not clients[node_name].wait_for_service(timeout_sec=timeout):
            raise TimeoutError(f"{node_name}/get_parameters not available")
        reply = self._call(clients[node_name], GetParameters.Request(names=list(names)), timeout)
        return {n: parameter_value_to_python(v) for n, v in zip(names, reply.values)}

    def send_init_box(self, box_xywh, header=None) -> None:
        from vision_msgs.msg import Detection2D

        det = Detection2D()
        if header is not None:
            det.header = header
        x, y, w, h = (float(v) for v in box_xywh)
        det.bbox.center.position.x, det.bbox.center.position.y = x + w / 2.0, y + h / 2.0
        det.bbox.size_x, det.bbox.size_y = w, h
        self.init_box_pub.publish(det)

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        self.context.try_shutdown()
        # Join the spin thread: a process that exits while it is still inside rclpy's wait
        # aborts with "terminate called without an active exception".
        self._thread.join(timeout=5.0)


@dataclass
class _Header:
    """Stand-in kept instead of a full image when ``keep_images`` is off (saves memory)."""

    header: object


def make_header(stamp_ns: Optional[int] = None, frame_id: str = "thermal"):
    """A std_msgs/Header stamped with ``stamp_ns`` (default: now, wall clock)."""
    from builtin_interfaces.msg import Time
    from std_msgs.msg import Header

    ns = time.time_ns() if stamp_ns is None else int(stamp_ns)
    return Header(stamp=Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000),
                  frame_id=frame_id)


def detection_box(msg) -> Optional[np.ndarray]:
    """xywh of the first detection in a Detection2DArray, or None when empty."""
    if not msg.detections:
        return None
    b = msg.detections[0].bbox
    return np.array([b.center.position.x - b.size_x / 2.0, b.center.position.y - b.size_y / 2.0,
                     b.size_x, b.size_y])
