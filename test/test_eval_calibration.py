"""LOST calibration (``fgsgt calibrate``): thresholds chosen from labelled scores separate on-target
from off-target frames, the generated leave-and-return data gives a tracker that says LOST while the
target is away, and ``--write`` stores the thresholds where ``build_tracker`` (and the node) find them."""

import dataclasses

import numpy as np
import pytest

from fgsgt_ros.cli import main as fgsgt_main
from fgsgt_ros.evaluation import calibration as C
from fgsgt_ros.tracker import build_tracker, load_model
from fgsgt_ros.tracker.config import TrackerConfig
from fgsgt_ros.tracker.siamese import SiameseTracker
from test_tracker_oracle import ORACLE_CFG, OracleNet


def _scores(rng, n_on=400, n_off=300):
    """On-target scores high, off-target ones mostly low with a tail of confident mistakes."""
    on = np.clip(rng.normal(0.85, 0.08, n_on), 0, 1)
    off = np.concatenate([np.clip(rng.normal(0.35, 0.12, n_off - n_off // 10), 0, 1),
                          np.clip(rng.normal(0.8, 0.1, n_off // 10), 0, 1)])
    score = np.concatenate([on, off])
    present = np.concatenate([np.ones(n_on, bool), rng.random(n_off) < 0.3])
    iou = np.concatenate([rng.uniform(0.4, 0.9, n_on), np.zeros(n_off)])
    return C.Scores(score, iou, present, np.zeros(len(score), int))


def test_lost_threshold_maximises_balanced_accuracy_and_recover_is_precise():
    cfg = C.CalibrationConfig()
    scores = _scores(np.random.default_rng(0))
    r = C.choose_thresholds(scores, cfg)
    on, off = scores.labels(cfg)
    s_on, s_off = scores.score[on], scores.score[off]

    def ba(t):
        return ((s_on >= t).mean() + (s_off < t).mean()) / 2

    grid = np.linspace(0, 1, 1001)
    assert ba(r.lost_threshold) >= max(ba(t) for t in grid) - 0.005
    assert r.balanced_accuracy == pytest.approx(ba(r.lost_threshold), abs=0.005)
    assert np.median(s_off) < r.lost_threshold < np.median(s_on)
    # hysteresis: recover at or above lost, and mostly on target above it
    assert r.lost_threshold <= r.recover_threshold <= 1.0
    above = scores.score >= r.recover_threshold
    assert r.recover_target_met
    assert on[above & (on | off)].mean() >= cfg.recover_precision
    # the lowest such threshold: a clearly lower one is less precise
    lower = scores.score >= r.recover_threshold - 0.05
    assert on[lower & (on | off)].mean() < cfg.recover_precision
    assert r.n_on == on.sum() and r.n_off == off.sum()


def test_recover_threshold_comes_from_the_reacquisition_scores():
    """A LOST tracker's search scores the same target lower: recover follows those scores."""
    cfg = C.CalibrationConfig()
    scores = _scores(np.random.default_rng(3))
    search = dataclasses.replace(scores, score=scores.score * 0.9)
    alone, both = C.choose_thresholds(scores, cfg), C.choose_thresholds(scores, cfg, search)
    assert both.lost_threshold == alone.lost_threshold  # lost comes from the tracking pass
    assert both.recover_threshold < alone.recover_threshold
    on, off = search.labels(cfg)
    above = search.score >= both.recover_threshold
    assert both.recover_target_met and on[above & (on | off)].mean() >= cfg.recover_precision
    assert both.recover_threshold >= both.lost_threshold


def test_calibration_needs_both_kinds_of_frames():
    scores = _scores(np.random.default_rng(1))
    only_on = C.Scores(scores.score[:400], scores.iou[:400], scores.present[:400],
                       scores.sequence[:400])
    with pytest.raises(ValueError, match="off-target"):
        C.choose_thresholds(only_on, C.CalibrationConfig())
    with pytest.raises(ValueError, match="off_iou"):
        C.CalibrationConfig(on_iou=0.1, off_iou=0.2)


def test_oracle_on_generated_leave_and_return_sequences_goes_lost_while_the_target_is_away():
    """A matcher that scores real targets high: the thresholds fall between its on/off-target
    scores, and with them the tracker reports LOST in the absent stretches."""
    cfg = C.CalibrationConfig(synth_preset="lepton", sequences=3, frames=60)
    seqs = C.synthetic_sequences(cfg)
    assert all((~C.valid_mask(s.groundtruth)).any() for s in seqs)  # every one leaves the view
    net = OracleNet()
    # without the whole-frame scan while LOST: this matcher scores the scene's other warm blobs as
    # high as the target (a perfect look-alike for a scan tile); the thresholds are the point here
    def no_scan(tc):
        return SiameseTracker(net, ORACLE_CFG, dataclasses.replace(tc, lost_scan_every=0))

    r = C.calibrate(no_scan, seqs, cfg)
    assert r.n_on > 30 and r.n_off > 30
    assert r.on_rate_above_lost >= 0.9 and r.off_rate_below_lost >= 0.9
    assert r.off_quantiles["p50"] < r.lost_threshold <= r.recover_threshold
    assert r.check["absent_frames"] > 0 and r.check["lost_when_absent"] >= 0.9
    # the default thresholds never say LOST with this matcher: that is what calibration fixes
    default = C.check_states(no_scan(TrackerConfig()), seqs, cfg, TrackerConfig().lost_frames)
    assert default["lost_when_absent"] < r.check["lost_when_absent"]
    # and the calibrated state tells the truth more often (TRACKING on target, LOST off it)
    assert r.check["state_accuracy"] > default["state_accuracy"]
    assert r.check["tracking_when_on"] >= 0.8


def _checkpoint(tmp_path, extra):
    from fgsgt_ros.model.checkpoint import save_checkpoint
    from fgsgt_ros.model.families.fgsgt import build_model, get_preset

    cfg = get_preset("fgsgt_tiny")
    path = tmp_path / "model.pt"
    save_checkpoint(path, build_model(cfg), cfg, extra=extra)
    return path


def test_write_round_trips_through_the_checkpoint_and_build_tracker_uses_it(tmp_path):
    path = _checkpoint(tmp_path, {"trained": {"epoch": 3}, "tracker_config": {"penalty_k": 0.05}})
    cfg = C.CalibrationConfig()
    r = C.choose_thresholds(_scores(np.random.default_rng(2)), cfg)
    extra = C.write_to_checkpoint(path, r, cfg, source="unit test", command="fgsgt calibrate x")
    assert extra["trained"] == {"epoch": 3}  # other entries survive
    assert extra["lost_calibration"]["data"] == "unit test"
    assert extra["lost_calibration"]["lost_threshold"] == r.lost_threshold

    tracker = build_tracker(f"fgsgt_tiny:{path}")
    assert tracker.cfg.lost_threshold == r.lost_threshold
    assert tracker.cfg.recover_threshold == r.recover_threshold
    assert tracker.cfg.penalty_k == 0.05  # earlier tracker settings are kept
    assert tracker.cfg.lr == TrackerConfig().lr  # the rest stays TrackerConfig's
    # an explicit configuration still wins
    assert build_tracker(str(path), tracker_cfg=TrackerConfig()).cfg == TrackerConfig()
    assert load_model(str(path)).tracker_config == tracker.cfg


def test_calibrate_command_prints_and_writes_thresholds(tmp_path, capsys, monkeypatch):
    """End to end with the shipped model on two short generated sequences."""
    from fgsgt_ros.weights import default_checkpoint

    if not default_checkpoint().is_file():
        pytest.skip("no shipped checkpoint in this checkout")
    path = tmp_path / "shipped_copy.pt"
    path.write_bytes(default_checkpoint().read_bytes())
    png = tmp_path / "hist.png"
    code = fgsgt_main(["calibrate", str(path), "--sequences", "2", "--frames", "50",
                       "--no-check", "--plot", str(png), "--write"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "lost_threshold" in out and "recover_threshold" in out and "off-target scores" in out
    assert png.is_file() and png.stat().st_size > 1000
    written = load_model(str(path)).tracker_config
    line = next(ln for ln in out.splitlines() if ln.startswith("lost_threshold"))
    assert f"{written.lost_threshold:.3f}" in line
    assert written.recover_threshold >= written.lost_threshold
    assert path.stat().st_size <= C.MAX_CHECKPOINT_BYTES


@pytest.mark.parametrize("args,text", [
    (["csrt"], "network checkpoints"),
    (["--on-iou", "0.01", "--off-iou", "0.5"], "off_iou"),
    (["nope/missing.pt"], "not found"),
    (["--preset", "rainbow"], "unknown synth preset"),
])
def test_calibrate_command_refuses_bad_input_with_one_line(args, text, capsys, tmp_path):
    if args and args[0] not in ("csrt", "nope/missing.pt"):
        args = [str(_checkpoint(tmp_path, {}))] + args
    assert fgsgt_main(["calibrate", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and text in err[0], err
