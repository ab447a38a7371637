"""Services never wait behind frame work: with the frame path held busy (a frame whose tracking is
made to wait until the test releases it), ``reset`` is answered while the frame is still held,
and an ``init_target`` is answered right after that frame, before any newer frame is tracked.
Nothing here races the clock: the frame stays held until the answers the test waits for arrive."""

from __future__ import annotations

import math
import threading
import time

import pytest

pytest.importorskip("rclpy", reason="rclpy (ROS 2 wheels) not installed: run make setup")

from fgsgt_dev.testing import scene, target_box  # noqa: E402
from fgsgt_ros.tracker.peers import OpenCVTracker  # noqa: E402


class HeldFrames:
    """The tracker's ``update`` (inside the session's frame work) patched so that the next frame,
    once armed, waits for the test's release."""

    def __init__(self, monkeypatch) -> None:
        self.armed = False
        self.entered, self.release = threading.Event(), threading.Event()
        real = OpenCVTracker.update

        def update(tracker, image):
            if self.armed:
                self.armed = False
                self.entered.set()
                assert self.release.wait(60), "the test never released the held frame"
            return real(tracker, image)

        monkeypatch.setattr(OpenCVTracker, "update", update)


@pytest.fixture
def node_and_client(rclpy_context, ros_domain_id, monkeypatch):
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter

    from fgsgt_ros.ros.client import TrackerClient
    from fgsgt_ros.ros.node import TrackerNode

    held = HeldFrames(monkeypatch)
    node = TrackerNode(context=rclpy_context, parameter_overrides=[
        Parameter("checkpoint", value="csrt"), Parameter("qos_reliability", value="reliable"),
        Parameter("qos_depth", value=10)])
    node.trigger_configure()
    node.trigger_activate()
    executor = SingleThreadedExecutor(context=rclpy_context)
    executor.add_node(node)
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            executor.spin_once(timeout_sec=0.1)

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    client = TrackerClient(domain_id=ros_domain_id, record=("detections", "status"))
    try:
        client.wait_ready(60, image=True)
        yield node, client, held
    finally:
        held.release.set()
        client.close()
        stop.set()
        thread.join(10)
        node.teardown()
        executor.shutdown()
        node.destroy_node()


def _publish(client, i):
    from fgsgt_ros.ros.client import make_header
    from fgsgt_ros.ros.conversions import array_to_image

    header = make_header()
    client.publish(array_to_image(scene(i), header))
    return header


def _status(client, header):
    for m in reversed(client.messages("status")):
        if m.msg.header.stamp == header.stamp:
            return m.msg
    return None


def test_reset_answers_while_a_frame_is_held_and_init_right_after_it(node_and_client):
    node, client, held = node_and_client
    first = _publish(client, 0)
    assert client.wait_for(lambda: _status(client, first) is not None, 20)
    assert client.init_target(target_box(0)).success

    held.armed = True
    busy = _publish(client, 1)
    assert held.entered.wait(20), "the worker never took the frame"

    # reset: answered while the frame is still being handled
    answer = client.reset(timeout=20.0)
    assert answer.success and not held.release.is_set()

    # init: queued behind the frame in progress (not answered while it is held) ...
    result = {}
    box = target_box(1)
    thread = threading.Thread(target=lambda: result.update(r=client.init_target(box, timeout=30)))
    thread.start()
    thread.join(1.0)
    assert "r" not in result, "an init cannot be done while the frame path is held"
    newer = _publish(client, 2)  # waits in the mailbox meanwhile
    time.sleep(0.3)
    held.release.set()
    thread.join(30)
    assert result["r"].success, result["r"].message

    # ... the held frame went out without a box (the reset came while it was tracked), and the
    # newer frame was tracked after the init: the new target, TRACKING
    assert client.wait_for(lambda: _status(client, busy) is not None
                           and _status(client, newer) is not None, 20)
    assert _status(client, busy).state_name == "IDLE"
    after = _status(client, newer)
    assert after.state_name == "TRACKING", after.message
    assert after.header.stamp == newer.stamp and not math.isnan(after.score)
