"""`make demo` end to end on the shipped real Lepton clip (and on a generated sequence one option
away): node and player in their own processes, stamped init by service, and out/demo/ filled with
videos, a still frame, metrics.json (with OpenCV's CSRT and NanoTrack on the same frames) and a
summary."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy (ROS 2 wheels) not installed: run make setup")


def test_demo_writes_videos_metrics_and_summary(tmp_path, ros_domain_id):
    from fgsgt_ros import weights

    model = "" if weights.default_checkpoint().is_file() else "csrt"
    out = tmp_path / "demo"
    env = dict(os.environ, FGSGT_DEMO_DOMAIN=str(ros_domain_id))
    r = subprocess.run([sys.executable, "-m", "fgsgt_ros.ros.demo", "--frames", "40",
                        "--rate", "15", "--out", str(out), "--checkpoint", model],
                       capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    from fgsgt_ros.ros.demo import DEMO_CLIP

    assert DEMO_CLIP.name in r.stdout  # the real clip by default
    assert (DEMO_CLIP / "SOURCE.md").is_file() and (DEMO_CLIP / "COPYING").is_file()
    assert "init_target on frame 1" in r.stdout and ": OK" in r.stdout
    assert "success AUC" in r.stdout and "latency" in r.stdout
    # a plain-text summary: normalised precision and the node's own capacity, no Python dict
    assert "norm. precision" in r.stdout and "node capacity" in r.stdout
    assert "{'" not in r.stdout and "TRACKING " in r.stdout
    m = json.loads((out / "metrics.json").read_text())
    assert m["frames_published"] == 40
    # the real clip's figures stand beside OpenCV's trackers on the same 40 frames
    assert set(m["same_clip"]) == {"csrt", "nanotrack"}
    for peer in m["same_clip"].values():
        assert 0.0 <= peer["success_auc"] <= 1.0
    assert "csrt" in r.stdout and "nanotrack" in r.stdout
    still = cv2.imread(str(out / "frame.png"))
    assert still is not None and still.shape[:2] == (480, 640)
    assert m["frames_processed"] + m["frames_dropped"] == 40
    assert 0.0 <= m["success_auc"] <= 1.0 and 0.0 <= m["precision_20"] <= 1.0
    assert 0.0 <= m["norm_precision_20"] <= 1.0
    assert m["latency_ms_p50"] > 0 and m["latency_ms_p99"] >= m["latency_ms_p50"]
    assert m["fps"] > 0 and m["node_exit_code"] == 0
    if model == "":  # the node reports the runtime the demo's "auto" resolved to
        from fgsgt_ros.model.runtime import onnx_available
        assert m["runtime_requested"] == "auto"
        assert m["runtime"] == ("onnx" if onnx_available() else "torch")
    # capacity comes from the node's per-frame processing time, not from the player's rate
    assert m["node_capacity_fps"] == pytest.approx(1000.0 / m["node_timing_ms"]["total"])
    video = out / "tracking.mp4"
    cap = cv2.VideoCapture(str(video))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 40
    # upscaled before drawing: 160x120 frames become 640x480 videos
    assert int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 640
    try:
        import av
    except ImportError:
        assert "MPEG-4 part 2" in m["video_codec"]
    else:  # browser-playable: H.264 in MP4
        with av.open(str(video)) as container:
            assert container.streams.video[0].codec_context.name == "h264"
        assert m["video_codec"].startswith("H.264")
    if model == "":
        assert (out / "saliency.mp4").exists()


def test_generated_scene_is_one_option_away(tmp_path, ros_domain_id):
    env = dict(os.environ, FGSGT_DEMO_DOMAIN=str(ros_domain_id))
    out = tmp_path / "demo"
    r = subprocess.run([sys.executable, "-m", "fgsgt_ros.ros.demo", "--generated", "--frames",
                        "12", "--rate", "15", "--out", str(out), "--checkpoint", "csrt"],
                       capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert "generating a 12-frame thermal sequence" in r.stdout
    m = json.loads((out / "metrics.json").read_text())
    assert m["frames_published"] == 12 and m["source"] == str(out / "sequence")


def test_demo_with_a_cuda_device_this_machine_lacks_says_what_to_use(tmp_path, monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    r = subprocess.run([sys.executable, "-m", "fgsgt_ros.ros.demo", "--device", "cuda:0",
                        "--out", str(tmp_path / "d")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.startswith("fgsgt demo: error: --device: device 'cuda:0'")
    assert "'cpu'" in r.stderr and "'auto'" in r.stderr


def test_demo_with_unusable_source_fails_with_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "fgsgt_ros.ros.demo", "--source",
                        str(tmp_path / "missing"), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"fgsgt demo: error: --source {tmp_path / 'missing'} does not exist"]


def test_demo_node_start_failure_is_one_line_and_leaves_no_temp_files(tmp_path, ros_domain_id):
    """A node that cannot start (missing checkpoint): exit 2 with one error line naming the cause,
    no C++ abort ("terminate called without an active exception") from the client's spin thread,
    and no fgsgt_params_*.yaml left in the temp folder."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, FGSGT_DEMO_DOMAIN=str(ros_domain_id), TMPDIR=str(tmp))
    missing = tmp_path / "missing.pt"
    r = subprocess.run([sys.executable, "-m", "fgsgt_ros.ros.demo", "--frames", "5",
                        "--checkpoint", str(missing), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2, r.stdout[-2000:] + r.stderr[-2000:]
    assert "terminate called" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("fgsgt demo: error: the tracker node did not start: ")
    assert str(missing) in lines[0] and "not found" in lines[0] and "[FATAL]" not in lines[0]
    assert list(tmp.glob("fgsgt_params_*")) == []


def test_overlay_is_drawn_after_upscaling():
    """The box is drawn on the upscaled frame: its edge is a crisp line of a few output pixels at
    the box position times k, not a 1-px line of the small frame blown up to k-px blocks."""
    from fgsgt_ros.ros.demo_video import BOX_COLOURS, annotate

    frame = np.full((120, 160), 60, np.uint8)
    k = 4
    big = annotate(frame, k, 4, 10, np.array([40.25, 30.0, 20.0, 16.0]), "TRACKING", 0.9)
    assert big.shape == (480, 640, 3)
    green = np.all(big == BOX_COLOURS["TRACKING"], axis=2)
    row = int(round(30.0 * k))
    cols = np.flatnonzero(green[row + 20])  # a row crossing the box's left and right edges
    assert cols.size > 0
    left = cols[cols < 200]
    assert abs(left.mean() - 40.25 * k) <= 3  # sub-pixel box position kept at output scale
    assert 1 <= left.size < k + 2  # line width in output pixels, not k-pixel blocks
