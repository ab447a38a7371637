"""OPE runner, result files, resume, summary/plots, supervised VOT protocol, and the eval CLI."""

import json
from fractions import Fraction as F
from pathlib import Path

import cv2
import numpy as np
import pytest

from fgsgt_ros.cli import main as fgsgt_main
from fgsgt_ros.data.sequence import Sequence, read_box_file, write_plain_sequence
from fgsgt_ros.evaluation import format_tables, run_ope
from fgsgt_ros.evaluation.vot import (EAO_RANGE_VOT2017, expected_average_overlap, run_vot,
                                      vot_sequence_measures)
from fgsgt_ros.tracker.base import TrackResult, TrackState

GT_BOX = np.array([10.0, 10.0, 10.0, 10.0])


class ScriptedTracker:
    """Returns a planned box per frame; the frame index is read from pixel (0, 0)."""

    def __init__(self, plan):
        self.plan = plan  # frame index -> xywh; default = the ground truth box
        self.inits = []

    def init(self, image, box):
        self.inits.append(int(image[0, 0, 0]))

    def update(self, image):
        i = int(image[0, 0, 0])
        return TrackResult(box=np.asarray(self.plan.get(i, GT_BOX), float), score=1.0,
                           state=TrackState.TRACKING)


def _sequence(tmp_path: Path, n: int, name="seq", gt=None) -> Sequence:
    frames = []
    for i in range(n):
        f = np.full((48, 64), 30, np.uint8)
        f[0, 0] = i
        frames.append(f)
    boxes = np.tile(GT_BOX, (n, 1)) if gt is None else gt
    write_plain_sequence(tmp_path / name, frames, boxes)
    from fgsgt_ros.data.sequence import read_plain_sequence
    return read_plain_sequence(tmp_path / name)


SHIFTED = np.array([15.0, 10.0, 10.0, 10.0])  # IoU 50/150 = 1/3 with GT_BOX
MISS = np.array([40.0, 30.0, 10.0, 10.0])     # IoU 0


def test_vot_protocol_on_a_hand_computed_case(tmp_path):
    """20 frames, ground truth constant. Plan: frame 3 shifted (IoU 1/3), frame 6 a miss (failure),
    re-init 5 frames later at 11 (frames 7-10 skipped), frame 14 shifted, all else exact (IoU 1).
    With burnin = 2 (frames init+1, init+2 excluded from accuracy):
      accuracy frames: 3 (1/3), 4 (1), 5 (1), 14 (1/3), 15..19 (1 x 5) -> (7 + 2/3) / 9 = 23/27
      failures: 1 (frame 6) -> robustness 1
    EAO segments (init frame excluded):
      A (init 0, failed at 6): overlaps frames 1..6 = [1, 1, 1/3, 1, 1, 0], zero padded
      B (init 11, to the end):  frames 12..19   = [1, 1, 1/3, 1, 1, 1, 1, 1] (8 frames)
      mean of the first L:  A: 1, 1, 7/9, 5/6, 13/15, 13/18, 13/21, 13/24, 13/27, 13/30
                            B: 1, 1, 7/9, 5/6, 13/15, 16/18, 19/21, 22/24, (B too short for L >= 9)
      Phi_L, L = 1..8: 1, 1, 7/9, 5/6, 13/15, 29/36, 16/21, 35/48 ; L = 9, 10: 13/27, 13/30
      EAO[1..8] = mean of those 8 ; EAO[1..10] = mean of all 10.
    """
    seq = _sequence(tmp_path, 20)
    tracker = ScriptedTracker({3: SHIFTED, 6: MISS, 14: SHIFTED})
    summary = run_vot([("scripted", tracker)], [seq], tmp_path / "out", burnin=2,
                      eao_range=(1, 8), progress=False)
    m = summary["trackers"]["scripted"]
    assert tracker.inits == [0, 11]
    assert m["accuracy"] == pytest.approx(23 / 27, abs=1e-12)
    assert m["failures"] == 1 and m["robustness"] == 1.0
    phi = [F(1), F(1), F(7, 9), F(5, 6), F(13, 15), F(29, 36), F(16, 21), F(35, 48)]
    assert m["eao"] == pytest.approx(float(sum(phi) / 8), abs=1e-12)
    # the trajectory file uses the VOT codes
    lines = (tmp_path / "out" / "vot" / "scripted" / "seq.txt").read_text().split()
    assert lines[0] == "1" and lines[6] == "2" and lines[7:11] == ["0"] * 4 and lines[11] == "1"
    # longer range: only the failed segment A qualifies for L = 9, 10
    traj_summary = vot_sequence_measures(
        [("init" if i in (0, 11) else "fail" if i == 6 else "skip" if 7 <= i <= 10 else
          {3: SHIFTED, 14: SHIFTED}.get(i, GT_BOX)) for i in range(20)], seq.groundtruth, burnin=2)
    segs = traj_summary[3]
    phi10 = phi + [F(13, 27), F(13, 30)]
    assert expected_average_overlap(segs, (1, 10)) == pytest.approx(float(sum(phi10) / 10), abs=1e-12)
    assert EAO_RANGE_VOT2017 == (100, 356)


def test_ope_writes_results_summary_plots_and_resumes(tmp_path):
    gt = np.tile(GT_BOX, (12, 1))
    gt[5] = np.nan  # absent frame
    a = _sequence(tmp_path / "data", 12, "a", gt)
    b = _sequence(tmp_path / "data", 8, "b")
    a.tags, b.tags = ["OCC"], ["OCC", "TC"]
    out = tmp_path / "out"
    perfect = ScriptedTracker({})
    half = ScriptedTracker({i: SHIFTED for i in range(1, 20)})
    summary = run_ope([("perfect", perfect), ("half", half)], [a, b], out, progress=False,
                      dataset_name="toy")
    # result files: one x,y,w,h line per frame, frame 1 = ground truth
    boxes = read_box_file(out / "results" / "half" / "a.txt")
    assert boxes.shape == (12, 4)
    np.testing.assert_allclose(boxes[0], GT_BOX)
    np.testing.assert_allclose(boxes[1], SHIFTED)
    saved = json.loads((out / "summary.json").read_text())
    p, h = saved["trackers"]["perfect"], saved["trackers"]["half"]
    # IoU 1 passes 20 of the 21 thresholds (IoU > 1 never holds): a perfect tracker scores 20/21
    assert p["overall"]["success_auc"] == pytest.approx(20 / 21, abs=1e-6)
    assert p["overall"]["precision_20"] == 1.0
    # "half": frame 1 exact, the rest IoU 1/3 (success for t < 1/3: thresholds 0..0.30 = 7 of 21),
    # centre error 5 px (precision hit), normalised 0.5 (miss). Sequence a has 11 counted frames.
    succ_a = (1 * 20 + 10 * 7) / 11 / 21
    succ_b = (1 * 20 + 7 * 7) / 8 / 21
    assert h["sequences"]["a"]["success_auc"] == pytest.approx(succ_a, abs=1e-6)
    assert h["sequences"]["a"]["frames"] == 11
    assert h["overall"]["success_auc"] == pytest.approx((succ_a + succ_b) / 2, abs=1e-6)
    assert h["overall"]["precision_20"] == 1.0
    assert h["overall"]["norm_precision_20"] == pytest.approx((1 / 11 + 1 / 8) / 2, abs=1e-6)
    assert h["attributes"]["TC"]["sequences"] == 1
    assert h["attributes"]["TC"]["success_auc"] == pytest.approx(succ_b, abs=1e-6)
    for png in ("success_plot.png", "precision_plot.png", "norm_precision_plot.png"):
        img = cv2.imread(str(out / png))
        assert img is not None and img.shape[0] > 100
    table = format_tables(summary)
    assert "half" in table and "TC" in table
    # resume: nothing re-runs (a tracker that would fail proves it), results unchanged
    before = (out / "results" / "half" / "a.txt").read_text()

    class Exploding(ScriptedTracker):
        def init(self, image, box):
            raise AssertionError("should not run on resume")

    again = run_ope([("perfect", Exploding({})), ("half", Exploding({}))], [a, b], out,
                    progress=False, plots=False, dataset_name="toy")
    assert (out / "results" / "half" / "a.txt").read_text() == before
    assert again["trackers"]["half"]["overall"]["success_auc"] == summary["trackers"]["half"][
        "overall"]["success_auc"]
    # an incomplete file is re-run
    (out / "results" / "half" / "b.txt").write_text("1,2,3,4\n")
    run_ope([("half", half)], [b], out, progress=False, plots=False)
    assert len(read_box_file(out / "results" / "half" / "b.txt")) == 8


def test_ope_with_real_peers_is_reproducible(tmp_path, real_data_dir, real_clip_dir):
    from fgsgt_ros.data.datasets import read_dataset
    seqs = read_dataset(real_data_dir, names=[real_clip_dir.name])  # one clip: quick
    s1 = run_ope(["kcf"], seqs, tmp_path / "one", progress=False, plots=False)
    s2 = run_ope(["kcf"], seqs, tmp_path / "two", progress=False, plots=False)
    for suffix in ("", "_track"):
        assert (tmp_path / f"one/results/kcf/possum_cp{suffix}.txt").read_text() == \
            (tmp_path / f"two/results/kcf/possum_cp{suffix}.txt").read_text()
    m1, m2 = (s["trackers"]["kcf"]["sequences"]["possum_cp"] for s in (s1, s2))
    assert {k: v for k, v in m1.items() if k != "fps"} == {k: v for k, v in m2.items() if k != "fps"}
    o = s1["trackers"]["kcf"]["overall"]
    assert 0.0 <= o["success_auc"] <= 1.0 and o["sequences"] == 1
    m = s1["trackers"]["kcf"]["sequences"]["possum_cp"]
    assert m["frames"] == 28  # 10 absent excluded
    assert m["visible_frames"] == 27 and m["absent_frames"] == 10  # after the init frame
    # the result file is what the node publishes: the own box (clipped to the frame) while
    # TRACKING, nothing otherwise; the always-a-box score comes from the own boxes
    from fgsgt_ros.boxes import clip_xywh
    from fgsgt_ros.evaluation.metrics import sequence_metrics
    from fgsgt_ros.evaluation.runner import read_track
    pub = read_box_file(tmp_path / "one/results/kcf/possum_cp.txt")
    states, _, own = read_track(tmp_path / "one/results/kcf/possum_cp_track.txt", len(pub))
    h, w = seqs[0].frame(0).shape[:2]
    for i in range(1, len(pub)):
        if states[i] == "TRACKING":
            np.testing.assert_allclose(pub[i], clip_xywh(own[i], w, h), atol=1e-3)
        else:
            assert not np.isfinite(pub[i]).any()
    assert m["success_auc_always_box"] == pytest.approx(
        sequence_metrics(own, seqs[0].groundtruth)["success_auc"])


def test_cli_eval_runs_and_bad_input_exits_2_with_one_line(tmp_path, capsys):
    _sequence(tmp_path / "data", 6, "s1")
    out = tmp_path / "out"
    assert fgsgt_main(["eval", str(tmp_path / "data"), "--trackers", "csrt,mine=kcf",
                       "--out", str(out), "--no-plots"]) == 0
    text = capsys.readouterr().out
    assert "csrt" in text and "mine" in text and (out / "results" / "mine" / "s1.txt").is_file()
    assert fgsgt_main(["eval", str(tmp_path / "data"), "--trackers", "kcf", "--out", str(out),
                       "--protocol", "vot"]) == 0
    assert (out / "vot_summary.json").is_file()
    capsys.readouterr()
    bad = [
        (["eval", str(tmp_path / "nope"), "--trackers", "csrt", "--out", str(out)], "does not exist"),
        (["eval", str(tmp_path / "data"), "--trackers", "bogus", "--out", str(out)], "unknown tracker"),
        (["eval", str(tmp_path / "data"), "--trackers", "fgsgt_tiny:/no/such.pt", "--out", str(out)],
         "does not exist"),
        (["eval", str(tmp_path / "data"), "--trackers", ",", "--out", str(out)], "empty"),
        (["eval", str(tmp_path / "data"), "--trackers", "csrt", "--out", str(out),
          "--sequences", "zz"], "unknown sequence"),
    ]
    for argv, message in bad:
        assert fgsgt_main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_cli_eval_set_overrides_tracker_settings_and_guards_resumed_results(tmp_path, capsys):
    """``--set [NAME:]FIELD=VALUE`` sets a TrackerConfig field for every tracker or one; the
    settings each tracker ran with are stored beside the results, and resuming into results
    made with other settings is refused instead of mixing them."""
    import json
    _sequence(tmp_path / "data", 6, "s1")
    out = tmp_path / "out"
    base = ["eval", str(tmp_path / "data"), "--trackers", "fgsgt,grid=fgsgt,csrt", "--out",
            str(out), "--no-plots", "--set", "lost_frames=3"]
    assert fgsgt_main(base + ["--set", "grid:lost_scan_proposals=false"]) == 0
    settings = {n: json.loads((out / "tracker_settings" / f"{n}.json").read_text())
                for n in ("fgsgt", "grid", "csrt")}
    assert settings["grid"]["lost_scan_proposals"] is False
    assert settings["fgsgt"]["lost_scan_proposals"] is True
    assert {s["lost_frames"] for s in settings.values()} == {3}
    # the shipped model's own calibrated thresholds stay (only the named fields change)
    from fgsgt_ros.tracker import load_model
    assert settings["fgsgt"]["lost_threshold"] == load_model("fgsgt").tracker_config.lost_threshold
    assert fgsgt_main(base + ["--set", "grid:lost_scan_proposals=false"]) == 0  # same: resumed
    capsys.readouterr()
    assert fgsgt_main(base + ["--set", "grid:lost_scan_proposals=on"]) == 2
    err = capsys.readouterr().err
    assert "'grid'" in err and "lost_scan_proposals" in err and "--no-resume" in err
    bad = [(["--set", "no_such_field=1"], "unknown tracker setting"),
           (["--set", "lost_scan_tiles=many"], "not a int"),
           (["--set", "zz:lost_frames=3"], "no tracker named 'zz'"),
           (["--set", "lost_frames"], "expected [NAME:]FIELD=VALUE"),
           (["--set", "lost_scan_tiles=0"], "lost_scan_tiles")]
    for extra, message in bad:
        assert fgsgt_main(base + extra + ["--no-resume"]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
