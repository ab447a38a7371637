"""OpenCV's NanoTrack as a peer of the project: the same spec (`nanotrack`) a user gives the node,
`fgsgt eval` and the demo runs cv2.TrackerNano on the shipped v2 ONNX pair, fed the thermal
preprocessing every other tracker gets (16-bit raw frames through the AGC)."""

import numpy as np
import pytest

from fgsgt_ros.boxes import iou_xywh
import cv2

from fgsgt_ros.tracker.session import TrackingSession

pytestmark = pytest.mark.skipif(not hasattr(cv2, "TrackerNano_create"),
                                reason="this OpenCV build has no TrackerNano")


def _raw(i, h=120, w=160):
    """16-bit raw frame (Lepton-like counts): a warm 18x14 target drifting right and down."""
    rng = np.random.default_rng(i)
    f = 29000 + 30 * rng.standard_normal((h, w))
    x, y = 40 + 2 * i, 50 + i // 2
    f[y:y + 14, x:x + 18] += 900
    return f.clip(0, 65535).astype(np.uint16), np.array([x, y, 18, 14], float)


def test_nanotrack_session_follows_a_16bit_target_through_the_agc():
    session = TrackingSession("nanotrack", num_threads=1)
    assert session.peer == "nanotrack"
    first, box = _raw(0)
    session.init(first, box)
    ious = []
    for i in range(1, 25):
        frame, truth = _raw(i)
        out = session.step(frame)
        assert out.published is not None, f"no box on frame {i}"
        ious.append(iou_xywh(out.published, truth))
    assert np.mean(ious) > 0.5, ious


def test_node_with_checkpoint_nanotrack_tracks_and_reports_it(ros_domain_id, tmp_path):
    pytest.importorskip("rclpy", reason="rclpy (ROS 2 wheels) not installed: run make setup")
    from fgsgt_ros.ros.client import detection_box
    from fgsgt_dev.testing import NodeUnderTest, on_target, scene, target_box

    node = NodeUnderTest({"checkpoint": "nanotrack", "qos_reliability": "reliable"},
                         domain=ros_domain_id, log_dir=tmp_path)
    try:
        assert "tracking with nanotrack" in node.proc.log()
        node.feed([scene(0)])
        assert node.client.init_target(target_box(0)).success
        headers = node.feed([scene(i) for i in range(1, 16)])
        hits = 0
        for i, h in zip(range(1, 16), headers):
            status = node.status_for(h.stamp)
            det = [m.msg for m in node.client.messages("detections")
                   if m.msg.header.stamp == h.stamp]
            assert status.state_name == "TRACKING", (i, status.state_name)
            hits += bool(det) and on_target(detection_box(det[-1]), target_box(i))
        assert hits >= 13, hits
        assert node.proc.alive()
    finally:
        assert node.close() == 0
