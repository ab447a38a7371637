"""The fgsgt_tracker node as a user drives it: a real node process (real rclpy, real tracker) fed
camera frames; init by service (latest / stamped) and by the init_box topic; reset; LOST when the
target vanishes and TRACKING again when it comes back; status and /diagnostics."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy (ROS 2 wheels) not installed: run make setup")

from fgsgt_ros.ros.client import detection_box  # noqa: E402
from fgsgt_ros.ros.testing import (NodeUnderTest, W, H, on_target, scene,  # noqa: E402
                                   shipped_model_or_peer, target_box)

CLASS_ID = "possum"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def node(tmp_path_factory, ros_module_domain_id):
    # LOST thresholds: the defaults, i.e. the shipped checkpoint's calibrated ones (fgsgt
    # calibrate); test_node_params.py checks that tracker.* parameters override them.
    n = NodeUnderTest({"class_id": CLASS_ID, "qos_reliability": "reliable", "qos_depth": 10,
                       "frame_buffer_size": 20, "diagnostics_period_s": 0.5},
                      domain=ros_module_domain_id, log_dir=tmp_path_factory.mktemp("node"),
                      params_file=REPO / "config" / "fgsgt.yaml")  # the shipped params file
    yield n
    assert n.proc.alive(), "node died during the tests:\n" + n.proc.log()[-3000:]
    assert n.close() == 0


def _outputs_for(node, header):
    """(detections, status, saliency, debug) messages carrying ``header``'s stamp."""
    def find(topic):
        for m in reversed(node.client.messages(topic)):
            if m.msg.header.stamp == header.stamp:
                return m.msg
        return None
    node.client.wait_for(lambda: find("detections") is not None and find("status") is not None, 5)
    return find("detections"), find("status"), find("saliency"), find("debug_image")


def test_idle_node_publishes_empty_detections_with_the_frame_header(node):
    node.client.reset()
    headers = node.feed([scene(i) for i in range(3)], frame_id="flir_boson")
    for h in headers:
        det, status, _sal, debug = _outputs_for(node, h)
        assert det.header.stamp == h.stamp and det.header.frame_id == "flir_boson"
        assert det.detections == []
        assert status.state_name == "IDLE" and status.state == status.STATE_IDLE
        assert status.header.frame_id == "flir_boson"
    node.client.wait_for(lambda: _outputs_for(node, headers[-1])[3] is not None, 5)
    debug = _outputs_for(node, headers[-1])[3]
    assert debug.encoding == "bgr8" and (debug.width, debug.height) == (W, H)


def test_init_by_service_on_latest_frame_then_tracks_with_matching_headers(node):
    headers = node.feed([scene(i) for i in range(3)])
    response = node.client.init_target(target_box(2))  # zero stamp = latest frame
    assert response.success, response.message
    assert response.frame_stamp == headers[-1].stamp
    assert response.box.size_x == pytest.approx(target_box(2)[2])

    headers = node.feed([scene(i) for i in range(3, 15)])
    ious = []
    for i, h in zip(range(3, 15), headers):
        det, status, sal, debug = _outputs_for(node, h)
        assert det.header.stamp == h.stamp and det.header.frame_id == h.frame_id
        assert status.state_name == "TRACKING"
        assert len(det.detections) == 1
        d = det.detections[0]
        assert d.header.stamp == h.stamp
        assert d.results[0].hypothesis.class_id == CLASS_ID
        assert 0.0 <= d.results[0].hypothesis.score <= 1.0
        assert d.results[0].hypothesis.score == pytest.approx(status.score, abs=1e-6)
        ious.append(on_target(detection_box(det), target_box(i)))
    assert all(ious), ious
    # saliency at input size (Siamese model only: OpenCV peers have no saliency map)
    if shipped_model_or_peer() == "":
        node.client.wait_for(lambda: _outputs_for(node, headers[-1])[2] is not None, 5)
        sal = _outputs_for(node, headers[-1])[2]
        assert (sal.width, sal.height, sal.encoding) == (W, H, "mono8")


def test_stamped_init_uses_the_buffered_frame_and_continues_on_the_newest(node):
    node.client.reset()
    base = 30
    headers = node.feed([scene(i) for i in range(base, base + 8)])
    old = 2  # the user drew the box on an older frame
    response = node.client.init_target(target_box(base + old), stamp=headers[old].stamp)
    assert response.success, response.message
    assert response.frame_stamp == headers[old].stamp
    # tracking continues from the newest frames (the target moved ~9 px since the init frame)
    headers = node.feed([scene(i) for i in range(base + 8, base + 14)])
    det, status, _, _ = _outputs_for(node, headers[-1])
    assert status.state_name == "TRACKING"
    assert on_target(detection_box(det), target_box(base + 13))


def test_init_box_topic_starts_tracking(node):
    node.client.reset()
    base = 60
    headers = node.feed([scene(i) for i in range(base, base + 3)])
    inits_before = node.proc.log().count("tracking target")
    node.client.send_init_box(target_box(base + 2), header=headers[-1])
    assert node.client.wait_for(
        lambda: node.proc.log().count("tracking target") > inits_before, 10), node.proc.log()
    headers = node.feed([scene(i) for i in range(base + 3, base + 8)])
    det, status, _, _ = _outputs_for(node, headers[-1])
    assert status.state_name == "TRACKING" and len(det.detections) == 1
    assert on_target(detection_box(det), target_box(base + 7))


def test_reset_returns_to_idle_with_empty_detections(node):
    node.feed([scene(80)])
    assert node.client.init_target(target_box(80)).success
    response = node.client.reset()
    assert response.success and "IDLE" in response.message
    headers = node.feed([scene(81)])
    det, status, _, _ = _outputs_for(node, headers[-1])
    assert status.state_name == "IDLE" and det.detections == []


@pytest.mark.skipif(shipped_model_or_peer() != "", reason="needs the shipped Siamese model")
def test_target_vanishing_goes_lost_and_returning_goes_back_to_tracking(node):
    node.client.reset()
    base = 100
    node.feed([scene(base)])
    assert node.client.init_target(target_box(base)).success
    states = []
    # 6 frames visible, 14 frames gone, then back where it left
    plan = [(base + k, True) for k in range(1, 7)] + [(base + 7, False)] * 14 + \
           [(base + 7, True)] * 8
    for i, present in plan:
        h = node.feed([scene(i, present=present, box=target_box(base + 7) if i == base + 7 else None)])[0]
        det, status, _, _ = _outputs_for(node, h)
        states.append(status.state_name)
        if status.state_name != "TRACKING":
            assert det.detections == [], "a LOST tracker must not publish a detection"
    assert states[:6] == ["TRACKING"] * 6, states
    assert "LOST" in states[6:20], states
    assert states[-1] == "TRACKING", states
    det, _, _, _ = _outputs_for(node, h)
    assert on_target(detection_box(det), target_box(base + 7))


def test_settable_parameters_apply_at_run_time_and_read_only_ones_refuse(node):
    node.client.reset()
    node.feed([scene(150)])
    assert node.client.init_target(target_box(150)).success
    (ok,) = node.client.set_parameters({"class_id": "person"})
    assert ok.successful
    headers = node.feed([scene(151)])
    det, _, _, _ = _outputs_for(node, headers[-1])
    assert det.detections[0].results[0].hypothesis.class_id == "person"
    (bad,) = node.client.set_parameters({"saliency_encoding": "rainbow"})
    assert not bad.successful and "one of mono8, 32FC1" in bad.reason
    (ro,) = node.client.set_parameters({"input_transport": "compressed"})
    assert not ro.successful and "read-only" in ro.reason.lower()
    (ok,) = node.client.set_parameters({"class_id": CLASS_ID})
    assert ok.successful


def test_status_and_diagnostics_report_counters_and_timing(node):
    headers = node.feed([scene(i) for i in range(140, 143)])
    _, status, _, _ = _outputs_for(node, headers[-1])
    assert status.frames_processed >= 3 and status.latency_ms > 0
    diag = node.fresh_diagnostics()
    msg = node.client.messages("diagnostics")[-1].msg
    assert msg.status[0].name == "/fgsgt_tracker: tracker"
    assert int(diag["frames_processed"]) >= int(status.frames_processed)
    assert int(diag["frames_received"]) >= int(diag["frames_processed"])
    for key in ("frames_dropped", "bad_frames", "latency_p50_ms", "latency_p99_ms",
                "time_convert_ms", "time_preprocess_ms", "time_tracker_ms",
                "time_publish_ms", "node_overhead_share", "device", "model"):
        assert key in diag
    assert diag["device"] == "cpu"
