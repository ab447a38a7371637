"""The fgsgt_tracker node as a user drives it: a real node process (real rclpy, real tracker) fed
camera frames; init by service (latest / stamped, box or point), by the init_box topic and by a
click as rqt_image_view sends it; reset; LOST when the target vanishes and TRACKING again when it
comes back (diagnostics OK, status not claiming tracking while LOST); detections clipped to the
image; tracker/AGC parameters changed at run time with immediate effect, bad values refused with
the reason; status and /diagnostics."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy (ROS 2 wheels) not installed: run make setup")

from fgsgt_ros.boxes import iou_xywh  # noqa: E402
from fgsgt_ros.ros.client import detection_box  # noqa: E402
from fgsgt_dev.testing import (NodeUnderTest, W, H, on_target, scene,  # noqa: E402
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
    states, lost_messages, lost_diagnostics = [], [], []
    # 6 frames visible, 14 frames gone, then back where it left
    plan = [(base + k, True) for k in range(1, 7)] + [(base + 7, False)] * 14 + \
           [(base + 7, True)] * 8
    for i, present in plan:
        h = node.feed([scene(i, present=present, box=target_box(base + 7) if i == base + 7 else None)])[0]
        det, status, _, _ = _outputs_for(node, h)
        states.append(status.state_name)
        if status.state_name != "TRACKING":
            assert det.detections == [], "a LOST tracker must not publish a detection"
        if status.state_name == "LOST":
            lost_messages.append(status.message)
            if not lost_diagnostics:
                lost_diagnostics.append(_own_diagnostic_status(node, timeout=3.0))
    assert states[:6] == ["TRACKING"] * 6, states
    assert "LOST" in states[6:20], states
    assert states[-1] == "TRACKING", states
    det, _, _, _ = _outputs_for(node, h)
    assert on_target(detection_box(det), target_box(base + 7))
    # LOST is a normal state: status says so in words, /diagnostics stays OK
    assert lost_messages and all("lost" in m and "tracking target" not in m
                                 for m in lost_messages), lost_messages
    level, message = lost_diagnostics[0]
    from diagnostic_msgs.msg import DiagnosticStatus

    assert level == DiagnosticStatus.OK and "LOST" in message, (level, message)


def _own_diagnostic_status(node, timeout=3.0):
    """(level, message) of the next /diagnostics status of the node under test."""
    n = len(node._own_diagnostics())
    node.client.wait_for(lambda: len(node._own_diagnostics()) > n, timeout)
    status = node._own_diagnostics()[-1].msg.status[0]
    return status.level, status.message


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
    # subscription and model settings wait for the lifecycle transition that uses them
    (later,) = node.client.set_parameters({"input_transport": "compressed"})
    assert not later.successful and "deactivate it first" in later.reason
    (reload,) = node.client.set_parameters({"checkpoint": "csrt"})
    assert not reload.successful and "cleanup" in reload.reason
    (ro,) = node.client.set_parameters({"autostart": False})
    assert not ro.successful and "read-only" in ro.reason.lower()
    (ok,) = node.client.set_parameters({"class_id": CLASS_ID})
    assert ok.successful


@pytest.mark.skipif(shipped_model_or_peer() != "", reason="needs the shipped Siamese model")
def test_tracker_thresholds_set_at_run_time_take_effect_at_once(node):
    names = ["tracker.lost_threshold", "tracker.recover_threshold", "tracker.lost_frames",
             "tracker.lost_relative"]
    before = node.client.get_parameters(names)
    # absolute thresholds only, where the tracker also has a level relative to the target's score
    absolute = {"tracker.lost_relative": 0.0} if before["tracker.lost_relative"] is not None else {}
    node.client.reset()
    node.feed([scene(200)])
    assert node.client.init_target(target_box(200)).success
    headers = node.feed([scene(i) for i in range(201, 204)])
    assert _outputs_for(node, headers[-1])[1].state_name == "TRACKING"
    # no score reaches 1.0: every frame is now weak -> LOST after lost_frames frames, target kept
    # (one by one, in an order that keeps recover >= lost; or both at once: atomic, below)
    results = node.client.set_parameters({"tracker.recover_threshold": 1.0,
                                          "tracker.lost_threshold": 1.0, **absolute})
    assert all(r.successful for r in results), [r.reason for r in results]
    k = before["tracker.lost_frames"]
    headers = node.feed([scene(i) for i in range(204, 204 + k + 1)])
    states = [_outputs_for(node, h)[1].state_name for h in headers]
    assert states[0] == "TRACKING" and states[-1] == "LOST", states
    # back to the previous thresholds: re-acquired at once, on the target
    (result,) = node.client.set_parameters(
        {n: before[n] for n in names[:2] + [k for k in absolute]}, atomic=True)
    assert result.successful, result.reason
    headers = node.feed([scene(i) for i in range(210, 214)])
    det, status, _, _ = _outputs_for(node, headers[-1])
    assert status.state_name == "TRACKING" and on_target(detection_box(det), target_box(213))


def test_invalid_runtime_values_are_refused_with_the_reason(node):
    lost = node.client.get_parameters(["tracker.recover_threshold"])["tracker.recover_threshold"]
    (r,) = node.client.set_parameters({"tracker.lost_threshold": min(1.0, lost + 0.05)})
    assert not r.successful and "recover_threshold must be >= lost_threshold" in r.reason
    (r,) = node.client.set_parameters({"thermal.polarity": "rainbow"})
    assert not r.successful and "one of white_hot, black_hot" in r.reason
    (r,) = node.client.set_parameters({"thermal.low_percentile": 99.5})  # above high_percentile
    assert not r.successful and "low_percentile" in r.reason
    (r,) = node.client.set_parameters({"click.level": 2.0})
    assert not r.successful
    assert node.client.get_parameters(["thermal.polarity"])["thermal.polarity"] == "white_hot"


def test_agc_polarity_set_at_run_time_changes_the_next_debug_image(node):
    node.client.reset()
    headers = node.feed([scene(220)])
    node.client.wait_for(lambda: _outputs_for(node, headers[-1])[3] is not None, 5)
    white = _image(_outputs_for(node, headers[-1])[3])
    (ok,) = node.client.set_parameters({"thermal.polarity": "black_hot"})
    assert ok.successful
    try:
        headers = node.feed([scene(221)])
        node.client.wait_for(lambda: _outputs_for(node, headers[-1])[3] is not None, 5)
        black = _image(_outputs_for(node, headers[-1])[3])
        assert black.mean() > white.mean() + 100  # dark background became bright
    finally:
        (ok,) = node.client.set_parameters({"thermal.polarity": "white_hot"})
        assert ok.successful


def _image(msg):
    from fgsgt_ros.ros.conversions import image_to_array

    return image_to_array(msg).astype(np.float64)


def test_click_on_the_camera_view_starts_tracking_the_blob_under_it(node):
    """rqt_image_view on the node's input topic publishes a click on '<topic>_mouse_left'."""
    node.client.reset()
    base = 240
    node.feed([scene(base)])
    gt = target_box(base)
    before = node.proc.log().count("blob under the click")
    node.client.click(gt[0] + gt[2] / 2 + 2.0, gt[1] + gt[3] / 2 - 1.0)  # a little off-centre
    assert node.client.wait_for(
        lambda: node.proc.log().count("blob under the click") > before, 10), \
        node.proc.log()[-2000:]
    headers = node.feed([scene(i) for i in range(base + 1, base + 6)])
    det, status, _, _ = _outputs_for(node, headers[-1])
    assert status.state_name == "TRACKING"
    assert on_target(detection_box(det), target_box(base + 5))


def test_click_topic_parameter_selects_where_clicks_come_from(node):
    node.client.reset()
    (ok,) = node.client.set_parameters({"click_topic": "debug_image_mouse_left"})
    assert ok.successful
    try:
        base = 260
        node.feed([scene(base)])
        gt = target_box(base)
        node.client.click(gt[0] + gt[2] / 2, gt[1] + gt[3] / 2, topic="debug_image_mouse_left")
        headers = None
        for _ in range(20):  # the click is taken by the node between frames
            headers = node.feed([scene(base)])
            if _outputs_for(node, headers[-1])[1].state_name == "TRACKING":
                break
        det, status, _, _ = _outputs_for(node, headers[-1])
        assert status.state_name == "TRACKING" and on_target(detection_box(det), gt)
    finally:
        (ok,) = node.client.set_parameters({"click_topic": ""})
        assert ok.successful


def test_point_form_of_init_target_outlines_the_target(node):
    node.client.reset()
    base = 280
    headers = node.feed([scene(i) for i in range(base, base + 3)])
    gt = target_box(base + 1)
    response = node.client.init_point(gt[0] + gt[2] / 2, gt[1] + gt[3] / 2,
                                      stamp=headers[1].stamp)
    assert response.success, response.message
    assert response.frame_stamp == headers[1].stamp
    b = response.box
    got = np.array([b.center.position.x - b.size_x / 2, b.center.position.y - b.size_y / 2,
                    b.size_x, b.size_y])
    assert iou_xywh(got, gt) > 0.6, (got, gt)
    off = node.client.init_point(W + 5.0, 10.0)
    assert not off.success and "outside" in off.message


def test_detections_are_clipped_to_the_image(node):
    node.client.reset()
    box = np.array([-6.0, 40.0, 20.0, 14.0])  # the target's left part is outside the image
    node.feed([scene(300, box=box)])
    assert node.client.init_target(box).success  # the init box is clipped, as always
    headers = node.feed([scene(300, box=box) for _ in range(4)])
    for h in headers:
        det, status, _, _ = _outputs_for(node, h)
        for d in det.detections:
            b = d.bbox
            x0, x1 = b.center.position.x - b.size_x / 2, b.center.position.x + b.size_x / 2
            y0, y1 = b.center.position.y - b.size_y / 2, b.center.position.y + b.size_y / 2
            assert 0.0 <= x0 <= x1 <= W and 0.0 <= y0 <= y1 <= H, (x0, y0, x1, y1)


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
    assert diag["device"] == "cpu" and diag["lifecycle_state"] == "active"
    hardware = node.client.messages("diagnostics")[-1].msg.status[0].hardware_id
    assert hardware.startswith("cpu ") and len(hardware) > len("cpu ") + 3, hardware
    assert node.client.get_state() == "active"  # autostart: configured and activated itself


def test_click_on_a_real_clips_target_starts_tracking_that_follows_it(node, real_clip_dir):
    """A real 16-bit clip: click on the annotated target of the first frame (as rqt_image_view
    sends it); the published box then stays on the animal while it is annotated as visible."""
    import cv2

    gt = np.loadtxt(real_clip_dir / "groundtruth_rect.txt", delimiter=",")
    frames = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
              for p in sorted((real_clip_dir / "img").iterdir())]
    node.client.reset()
    node.feed(frames[:1])
    before = node.proc.log().count("blob under the click")
    node.client.click(*(gt[0][:2] + gt[0][2:] / 2))
    assert node.client.wait_for(
        lambda: node.proc.log().count("blob under the click") > before, 10), \
        node.proc.log()[-2000:]
    headers = node.feed(frames[1:])
    inside, visible = 0, 0
    for h, g in zip(headers, gt[1:]):
        if not np.isfinite(g).all():
            continue
        visible += 1
        det, status, _, _ = _outputs_for(node, h)
        box = detection_box(det)
        if box is None:
            continue
        cx, cy = box[:2] + box[2:] / 2
        inside += g[0] <= cx <= g[0] + g[2] and g[1] <= cy <= g[1] + g[3]
    # the box centre lies on the annotated animal in (nearly) every frame it is visible
    assert visible >= 10 and inside >= 0.9 * visible, (inside, visible)
