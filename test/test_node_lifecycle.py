"""The node as a managed (lifecycle) node, driven over DDS from another process as
``ros2 lifecycle set`` / a lifecycle manager does: with ``autostart`` off it waits unconfigured;
configure loads the model (a bad checkpoint is a failed transition with one clear line, and the
node stays usable), activate subscribes and tracks, deactivate stops and forgets, cleanup frees,
shutdown ends the process. Parameters are accepted or refused according to the state. The camera
topic is remapped, as on a robot: TrackerClient.wait_ready and the default click topic follow."""

import time

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy (ROS 2 wheels) not installed: run make setup")

from fgsgt_ros.ros.client import (TrackerClient, detection_box, make_header,  # noqa: E402
                                  ros_env, start_node)
from fgsgt_ros.ros.conversions import array_to_image  # noqa: E402
from fgsgt_dev.testing import (on_target, scene, shipped_model_or_peer,  # noqa: E402
                                   target_box)
from fgsgt_ros.tracker.config import TrackerConfig  # noqa: E402

NS = "lc"
NODE = f"/{NS}/fgsgt_tracker"
CAMERA = "/lc_cam/image_raw"  # the node's 'image' input is remapped onto this


@pytest.fixture(scope="module")
def managed(tmp_path_factory, ros_module_domain_id):
    env = ros_env(ros_module_domain_id)
    log = tmp_path_factory.mktemp("lifecycle") / "node.log"
    proc = start_node({"autostart": False, "num_threads": 1, "checkpoint": shipped_model_or_peer(),
                       "qos_reliability": "reliable", "qos_depth": 10,
                       "diagnostics_period_s": 0.3}, env, namespace="/" + NS, log_path=log,
                      remaps=[f"image:={CAMERA}"])
    client = TrackerClient(namespace=NS, domain_id=ros_module_domain_id, image_topic=CAMERA)
    yield proc, client
    client.close()
    proc.stop()


def _status_for(client, stamp):
    for m in reversed(client.messages("status")):
        if m.msg.header.stamp == stamp:
            return m.msg
    return None


def _feed(client, frames, timeout=20.0):
    """Publish frames in lock-step (each after the previous one's status); -> [(header, status)]."""
    out = []
    for image in frames:
        header = make_header()
        client.publish(array_to_image(image, header))
        assert client.wait_for(lambda: _status_for(client, header.stamp) is not None, timeout)
        out.append((header, _status_for(client, header.stamp)))
    return out


def _detections_for(client, stamp):
    for m in reversed(client.messages("detections")):
        if m.msg.header.stamp == stamp:
            return m.msg
    return None


def test_lifecycle_transitions_over_dds(managed, tmp_path):
    proc, client = managed
    end = time.monotonic() + 120
    state = None
    while time.monotonic() < end and proc.alive():
        try:
            state = client.get_state(NODE, timeout=2.0)
            break
        except TimeoutError:
            continue
    assert state == "unconfigured", proc.log()[-2000:]
    assert not client.init_client.service_is_ready()  # nothing but the lifecycle interface yet

    # configure with a checkpoint that does not exist: a failed transition, one line, still usable
    missing = str(tmp_path / "nope.pt")
    (r,) = client.set_parameters({"checkpoint": missing}, node_name=NODE)
    assert r.successful, r.reason  # model settings are settable while unconfigured
    assert client.change_state("configure", NODE) is False
    assert client.get_state(NODE) == "unconfigured"
    failure = [line for line in proc.log().splitlines() if "nope.pt" in line]
    assert len(failure) == 1 and "configure failed" in failure[0] and "ERROR" in failure[0], \
        proc.log()[-2000:]
    assert proc.alive()

    (r,) = client.set_parameters({"checkpoint": shipped_model_or_peer()}, node_name=NODE)
    assert r.successful
    assert client.change_state("configure", NODE) is True
    assert client.get_state(NODE) == "inactive"
    values = client.get_parameters(["tracker.lost_threshold", "thermal.polarity"], NODE)
    assert values["thermal.polarity"] == "white_hot" and values["tracker.lost_threshold"] > 0

    # inactive: services answer but refuse; subscription settings may change now
    assert client.init_client.wait_for_service(timeout_sec=10)
    refused = client.init_target(target_box(0))
    assert not refused.success and "inactive" in refused.message
    (r,) = client.set_parameters({"qos_depth": 20}, node_name=NODE)
    assert r.successful, r.reason
    (r,) = client.set_parameters({"checkpoint": "csrt"}, node_name=NODE)
    assert not r.successful and "cleanup" in r.reason

    assert client.change_state("activate", NODE) is True
    client.wait_ready(60, proc, node_name="fgsgt_tracker", image=True)
    _feed(client, [scene(0)])
    assert client.init_target(target_box(0)).success
    fed = _feed(client, [scene(i) for i in range(1, 6)])
    header, status = fed[-1]
    assert status.state_name == "TRACKING"
    assert on_target(detection_box(_detections_for(client, header.stamp)), target_box(5))
    (r,) = client.set_parameters({"qos_depth": 10}, node_name=NODE)
    assert not r.successful and "deactivate it first" in r.reason

    # a client that knows nothing of the remapped camera still sees the node come up
    other = TrackerClient(namespace=NS, name="fgsgt_other", domain_id=client.context.get_domain_id(),
                          record=(), diagnostics=False)
    try:
        other.wait_ready(30, proc)
    finally:
        other.close()
    # a click as rqt_image_view sends it when showing the camera topic
    client.reset()
    before = proc.log().count("blob under the click")
    client.click(*(target_box(5)[:2] + target_box(5)[2:] / 2), topic=CAMERA + "_mouse_left")
    assert client.wait_for(lambda: proc.log().count("blob under the click") > before, 10), \
        proc.log()[-2000:]

    # deactivate: frames are no longer taken, the target is forgotten
    assert client.change_state("deactivate", NODE) is True
    assert client.get_state(NODE) == "inactive"
    header = make_header()
    client.publish(array_to_image(scene(6), header))
    time.sleep(1.5)
    assert _status_for(client, header.stamp) is None
    assert not client.init_target(target_box(6)).success

    assert client.change_state("activate", NODE) is True
    client.wait_ready(60, proc, node_name="fgsgt_tracker", image=True)
    (_, status), = _feed(client, [scene(7)])
    assert status.state_name == "IDLE"

    # cleanup frees the model; configure + activate bring it back, here with another model:
    # a tracker.* value still at the old model's calibrated default follows the new model's
    # default, a value the user set stays
    assert client.change_state("deactivate", NODE) is True
    (r,) = client.set_parameters({"tracker.lost_frames": 7}, node_name=NODE)
    assert r.successful, r.reason
    assert client.change_state("cleanup", NODE) is True
    assert client.get_state(NODE) == "unconfigured"
    old = client.get_parameters(["tracker.lost_threshold"], NODE)["tracker.lost_threshold"]
    (r,) = client.set_parameters({"checkpoint": "csrt"}, node_name=NODE)
    assert r.successful, r.reason
    assert client.change_state("configure", NODE) is True
    values = client.get_parameters(["tracker.lost_threshold", "tracker.lost_frames"], NODE)
    assert values["tracker.lost_frames"] == 7
    assert values["tracker.lost_threshold"] == TrackerConfig().lost_threshold, (old, values)
    assert "tracking with csrt" in proc.log()
    assert client.change_state("activate", NODE) is True
    assert client.get_state(NODE) == "active"

    # shutdown ends the process cleanly
    assert client.change_state("shutdown", NODE) is True
    proc.proc.wait(30)
    assert proc.proc.returncode == 0, proc.log()[-2000:]
    assert "finalized" in proc.log()
    assert np.isfinite(status.latency_ms)
