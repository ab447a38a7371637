"""The ROS 2 foundation is real: rclpy over Fast DDS between separate processes, and our generated
interfaces (fgsgt_ros/msg, fgsgt_ros/srv, vision_msgs) travel through DDS with every field intact.

Each test runs a peer in a child process (``ros_process`` fixture) on a domain id reserved for the
test, with localhost-only discovery, and talks to it from an rclpy node in this process.
"""

from __future__ import annotations

import math
import time

import pytest

rclpy = pytest.importorskip("rclpy")

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402

DEADLINE_S = 60.0  # discovery + child start-up on a loaded 2-core machine; normally ~2-4 s

# --- peers run in their own process ------------------------------------------------------------

IMAGE_PUBLISHER = r"""
import rclpy
from rclpy.node import Node
from sensor_msgs.msg import Image

rclpy.init()
node = Node("foundation_image_pub")
pub = node.create_publisher(Image, "thermal/image_raw", 10)
w, h = 160, 120
# 16-bit little-endian ramp: pixel (x, y) = 1000 + 7 * x + 3 * y, the same formula as the test.
data = bytearray()
for y in range(h):
    for x in range(w):
        data += int(1000 + 7 * x + 3 * y).to_bytes(2, "little")
seq = 0
def tick():
    global seq
    msg = Image()
    msg.header.frame_id = "lepton"
    msg.header.stamp.sec = 1700000000 + seq
    msg.header.stamp.nanosec = 123456789
    msg.height, msg.width = h, w
    msg.encoding = "mono16"
    msg.is_bigendian = 0
    msg.step = 2 * w
    msg.data = bytes(data)
    pub.publish(msg)
    seq += 1
node.create_timer(0.1, tick)
try:
    rclpy.spin(node)
except KeyboardInterrupt:
    pass
"""

INIT_TARGET_SERVER = r"""
import rclpy
from rclpy.node import Node
from fgsgt_ros.srv import InitTarget

def handle(req, resp):
    # Echo the request back in a way the client can check: the frame stamp is the requested one
    # (or 42 s for "latest"), the box is clipped to a 160x120 image.
    b = req.box
    x0 = max(0.0, b.center.position.x - b.size_x / 2); x1 = min(160.0, b.center.position.x + b.size_x / 2)
    y0 = max(0.0, b.center.position.y - b.size_y / 2); y1 = min(120.0, b.center.position.y + b.size_y / 2)
    resp.box.center.position.x = (x0 + x1) / 2
    resp.box.center.position.y = (y0 + y1) / 2
    resp.box.center.theta = b.center.theta
    resp.box.size_x = x1 - x0
    resp.box.size_y = y1 - y0
    latest = req.stamp.sec == 0 and req.stamp.nanosec == 0
    resp.frame_stamp.sec = 42 if latest else req.stamp.sec
    resp.frame_stamp.nanosec = 0 if latest else req.stamp.nanosec
    resp.success = resp.box.size_x > 0 and resp.box.size_y > 0
    resp.message = "initialised" if resp.success else "box outside the image"
    return resp

rclpy.init()
node = Node("foundation_init_server")
node.create_service(InitTarget, "fgsgt/init_target", handle)
try:
    rclpy.spin(node)
except KeyboardInterrupt:
    pass
"""

ECHO = r"""
import sys
import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from fgsgt_ros.msg import TrackerStatus
from vision_msgs.msg import Detection2DArray

rclpy.init()
node = Node("foundation_echo")
qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
for name, cls in (("status", TrackerStatus), ("detections", Detection2DArray)):
    pub = node.create_publisher(cls, "echo/out/" + name, qos)
    node.create_subscription(cls, "echo/in/" + name, pub.publish, qos)
try:
    rclpy.spin(node)
except KeyboardInterrupt:
    pass
"""


# --- helpers -----------------------------------------------------------------------------------

def spin_until(executor, predicate, proc, what: str, timeout: float = DEADLINE_S, each=None):
    """Spin until ``predicate()``; fail early with the peer's output if the peer died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if not proc.alive():
            pytest.fail(f"peer {proc.name} exited with {proc.proc.returncode} before {what}:\n"
                        f"{proc.output()}")
        if each is not None:
            each()
        executor.spin_once(timeout_sec=0.1)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; peer output:\n{proc.output()}")


def leaves(msg, path="msg"):
    """(path, value) for every scalar leaf of a ROS message (arrays expanded)."""
    if hasattr(msg, "get_fields_and_field_types"):
        for field in msg.get_fields_and_field_types():
            yield from leaves(getattr(msg, field), f"{path}.{field}")
    elif isinstance(msg, (list, tuple)) or (hasattr(msg, "__len__") and hasattr(msg, "tolist")
                                            and not isinstance(msg, (str, bytes))):
        items = list(msg)
        if not items:
            yield path, items
        for i, item in enumerate(items):
            yield from leaves(item, f"{path}[{i}]")
    else:
        yield path, msg


def assert_fully_populated(msg, path: str = "msg") -> None:
    """Every leaf differs from its default and every array is non-empty, so comparing the echoed
    message with the sent one really covers every field."""
    default = type(msg)()
    for field in msg.get_fields_and_field_types():
        value, dflt, where = getattr(msg, field), getattr(default, field), f"{path}.{field}"
        if hasattr(value, "get_fields_and_field_types"):
            assert_fully_populated(value, where)
        elif isinstance(value, (str, bytes, bool, int, float)):
            assert value != dflt, f"{where} is left at its default {dflt!r}: it would prove nothing"
        else:  # sequences (list of messages, numpy / array.array of numbers)
            items = list(value)
            assert items, f"{where} is empty: it would prove nothing"
            for i, item in enumerate(items):
                if hasattr(item, "get_fields_and_field_types"):
                    assert_fully_populated(item, f"{where}[{i}]")
                else:
                    assert item != 0, f"{where}[{i}] is 0 (the default)"


def full_tracker_status():
    from fgsgt_ros.msg import TrackerStatus

    m = TrackerStatus()
    m.header.stamp.sec = 1700000123
    m.header.stamp.nanosec = 987654321
    m.header.frame_id = "lepton_optical"
    m.state = TrackerStatus.STATE_LOST
    m.state_name = "LOST"
    m.score = 0.3125  # exactly representable in float32
    m.processing_rate_hz = 8.75
    m.latency_ms = 41.5
    m.frames_processed = 2**40 + 7  # needs all 64 bits
    m.frames_dropped = 3
    m.message = "target lost for 5 frames; searching 3x wider (ünïcödé ok)"
    m.frame_age_ms = 612.5
    m.backlog = True
    m.temperature_valid = True  # values exactly representable in float32
    m.target_max_k, m.target_median_k, m.background_k = 310.25, 305.5, 288.75
    m.target_max_c, m.target_median_c, m.background_c = 37.125, 32.375, 15.625
    return m


def full_detection_array():
    from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

    arr = Detection2DArray()
    arr.header.stamp.sec = 1700000124
    arr.header.stamp.nanosec = 5
    arr.header.frame_id = "lepton_optical"
    for k in range(2):
        d = Detection2D()
        d.header.stamp.sec = 1700000124
        d.header.stamp.nanosec = 5 + k
        d.header.frame_id = f"lepton_optical_{k}"
        d.id = f"target-{k}"
        d.bbox.center.position.x = 57.5 + k
        d.bbox.center.position.y = 93.25 - k
        d.bbox.center.theta = 0.125 + k
        d.bbox.size_x = 12.0 + k
        d.bbox.size_y = 11.0 + k
        h = ObjectHypothesisWithPose()
        h.hypothesis.class_id = f"possum_{k}"
        h.hypothesis.score = 0.875 - 0.25 * k
        h.pose.pose.position.x, h.pose.pose.position.y, h.pose.pose.position.z = 1.5, -2.5, 3.5 + k
        q = (0.1, 0.2, 0.3, math.sqrt(1 - 0.14))
        (h.pose.pose.orientation.x, h.pose.pose.orientation.y,
         h.pose.pose.orientation.z, h.pose.pose.orientation.w) = q
        h.pose.covariance = [0.5 + i + 100 * k for i in range(36)]
        d.results.append(h)
        arr.detections.append(d)
    return arr


# --- tests -------------------------------------------------------------------------------------

def test_image_published_in_one_process_arrives_intact_in_another(ros_process, rclpy_context):
    from rclpy.node import Node
    from sensor_msgs.msg import Image

    pub = ros_process(IMAGE_PUBLISHER, name="image_pub")
    node = Node("foundation_image_sub", context=rclpy_context)
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    got = []
    node.create_subscription(Image, "thermal/image_raw", got.append, 10)
    try:
        spin_until(executor, lambda: len(got) >= 2, pub, "two images")
    finally:
        node.destroy_node()

    msg = got[-1]
    assert (msg.width, msg.height, msg.encoding, msg.step, msg.is_bigendian) == (160, 120, "mono16", 320, 0)
    assert msg.header.frame_id == "lepton"
    assert msg.header.stamp.nanosec == 123456789 and msg.header.stamp.sec >= 1700000000
    # Distinct messages (a stream, not one latched sample).
    assert got[-1].header.stamp.sec > got[0].header.stamp.sec
    import numpy as np

    pixels = np.frombuffer(bytes(msg.data), dtype="<u2").reshape(120, 160)
    yy, xx = np.mgrid[0:120, 0:160]
    np.testing.assert_array_equal(pixels, 1000 + 7 * xx + 3 * yy)


def test_init_target_service_call_across_processes(ros_process, rclpy_context):
    from fgsgt_ros.srv import InitTarget
    from rclpy.node import Node

    server = ros_process(INIT_TARGET_SERVER, name="init_server")
    node = Node("foundation_init_client", context=rclpy_context)
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    client = node.create_client(InitTarget, "fgsgt/init_target")
    try:
        spin_until(executor, client.service_is_ready, server, "the InitTarget service")

        def call(req):
            future = client.call_async(req)
            spin_until(executor, future.done, server, "the InitTarget response")
            return future.result()

        # A box on a stamped frame, partly outside the image: clipped, stamp echoed.
        req = InitTarget.Request()
        req.box.center.position.x, req.box.center.position.y = 150.0, 60.0
        req.box.size_x, req.box.size_y = 40.0, 20.0
        req.stamp.sec, req.stamp.nanosec = 1700000001, 250
        resp = call(req)
        assert resp.success is True and resp.message == "initialised"
        assert (resp.frame_stamp.sec, resp.frame_stamp.nanosec) == (1700000001, 250)
        assert (resp.box.center.position.x, resp.box.size_x) == (145.0, 30.0)
        assert (resp.box.center.position.y, resp.box.size_y) == (60.0, 20.0)

        # Zero stamp = latest frame; a box entirely outside the image is refused with a reason.
        req = InitTarget.Request()
        req.box.center.position.x, req.box.center.position.y = 500.0, 60.0
        req.box.size_x, req.box.size_y = 10.0, 10.0
        resp = call(req)
        assert resp.success is False and "outside" in resp.message
        assert resp.frame_stamp.sec == 42
    finally:
        node.destroy_node()


@pytest.mark.parametrize("kind", ["status", "detections"])
def test_messages_round_trip_through_dds_with_every_field(kind, ros_process, rclpy_context):
    from fgsgt_ros.msg import TrackerStatus
    from rclpy.node import Node
    from vision_msgs.msg import Detection2DArray

    cls, sent = {"status": (TrackerStatus, full_tracker_status()),
                 "detections": (Detection2DArray, full_detection_array())}[kind]
    assert_fully_populated(sent)

    echo = ros_process(ECHO, name="echo")
    node = Node("foundation_roundtrip", context=rclpy_context)
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    got = []
    node.create_subscription(cls, f"echo/out/{kind}", got.append, qos)
    pub = node.create_publisher(cls, f"echo/in/{kind}", qos)
    last = [0.0]

    def resend():  # until the echo peer has discovered us, publishes go nowhere: repeat
        if time.monotonic() - last[0] > 0.25:
            pub.publish(sent)
            last[0] = time.monotonic()

    try:
        spin_until(executor, lambda: bool(got), echo, f"the echoed {kind}", each=resend)
    finally:
        node.destroy_node()

    back = got[0]
    assert type(back) is cls
    # Field by field first (a readable diff), then the generated __eq__ over the whole message.
    assert dict(leaves(back)) == dict(leaves(sent))
    assert back == sent


def test_generated_interfaces_import_beside_the_checkout():
    """fgsgt_ros.msg/srv come from the generated folder while fgsgt_ros itself is the checkout."""
    from pathlib import Path

    import fgsgt_ros
    import fgsgt_ros.boxes
    from fgsgt_ros.msg import TrackerStatus
    from fgsgt_ros.srv import InitTarget

    repo = Path(__file__).resolve().parent.parent
    assert Path(fgsgt_ros.__file__).resolve() == repo / "fgsgt_ros" / "__init__.py"
    assert Path(fgsgt_ros.boxes.__file__).resolve().parent == repo / "fgsgt_ros"
    # The constants and the request/response fields the node and clients rely on.
    assert (TrackerStatus.STATE_IDLE, TrackerStatus.STATE_TRACKING, TrackerStatus.STATE_LOST) == (0, 1, 2)
    assert set(InitTarget.Request.get_fields_and_field_types()) == {"box", "stamp"}
    assert set(InitTarget.Response.get_fields_and_field_types()) == {"success", "message", "frame_stamp", "box"}


def test_console_scripts_and_other_directories_see_checkout_and_interfaces(tmp_path):
    """Outside the repo root (as an installed console script runs) the checkout's fgsgt_ros still
    wins over the generated interface folder, and ROS libraries load without any sourcing."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    code = ("import fgsgt_ros, rclpy; from fgsgt_ros.msg import TrackerStatus; "
            "from vision_msgs.msg import Detection2DArray; print(fgsgt_ros.__file__)")
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("LD_LIBRARY_PATH", "_ROS_WHEELS_BOOTSTRAP_COMPLETE", "PYTHONPATH")}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()).resolve() == repo / "fgsgt_ros" / "__init__.py"

    fgsgt = Path(sys.executable).parent / "fgsgt"
    assert fgsgt.is_file(), "console script `fgsgt` missing: run `make setup`"
    out = subprocess.run([str(fgsgt), "--help"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "usage: fgsgt" in out.stdout
