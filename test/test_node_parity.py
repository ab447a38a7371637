"""Parity: a real clip replayed through the node over real DDS (lockstep: one frame at a time,
reset, init_target with the first frame's stamp) and through ``fgsgt eval`` gives the same
published boxes and states frame by frame: both run the same TrackingSession."""

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy (ROS 2 wheels) not installed: run make setup")

from fgsgt_ros.data.datasets import read_dataset  # noqa: E402
from fgsgt_ros.evaluation.metrics import sequence_metrics, valid_mask  # noqa: E402
from fgsgt_ros.evaluation.runner import read_track, result_paths, run_ope, track_path  # noqa: E402
from fgsgt_ros.data.sequence import read_box_file  # noqa: E402
from fgsgt_dev.replay import replay_through_node  # noqa: E402
from fgsgt_dev.testing import NodeUnderTest  # noqa: E402
from fgsgt_ros import weights  # noqa: E402


def test_node_publishes_exactly_what_eval_records_on_a_real_clip(tmp_path, real_data_dir,
                                                                 real_clip_dir, ros_domain_id):
    if not weights.default_checkpoint().is_file():
        pytest.skip("no shipped checkpoint")
    (seq,) = read_dataset(real_data_dir, names=[real_clip_dir.name])
    start = int(np.flatnonzero(valid_mask(seq.groundtruth))[0])

    summary = run_ope(["fgsgt"], [seq], tmp_path / "eval", progress=False, plots=False)
    box_path, _ = result_paths(tmp_path / "eval", "fgsgt", seq.name)
    eval_boxes = read_box_file(box_path)
    eval_states, _, _ = read_track(track_path(box_path), len(seq))

    node = NodeUnderTest({"checkpoint": "", "qos_reliability": "reliable", "qos_depth": 10,
                          "publish_saliency": False, "publish_debug_image": False},
                         domain=ros_domain_id, log_dir=tmp_path)
    try:
        run = replay_through_node(node.client, seq, start, base_stamp_ns=1_700_000_000 * 10**9)
        assert node.proc.alive(), node.proc.log()[-2000:]
    finally:
        node.close()

    frames = range(start + 1, len(seq))
    assert [run.states[i] for i in frames] == [eval_states[i] for i in frames]
    assert {"TRACKING"} <= set(run.states)  # a real run, not an idle one
    node_nan = ~np.isfinite(run.published).all(axis=1)
    eval_nan = ~np.isfinite(eval_boxes).all(axis=1)
    np.testing.assert_array_equal(node_nan, eval_nan)  # no box on the same (LOST) frames
    np.testing.assert_allclose(run.published[~node_nan], eval_boxes[~eval_nan], atol=1e-3, rtol=0)
    node_success = sequence_metrics(run.published, seq.groundtruth)["success_auc"]
    eval_success = summary["trackers"]["fgsgt"]["sequences"][seq.name]["success_auc"]
    assert abs(node_success - eval_success) < 1e-9
