"""The target's temperature on radiometric input: what a search-and-rescue or inspection robot
asks of a thermal tracker (is the person warm, is the bearing hot). Readings from the camera's own
values under the published box; nothing where the values are not temperatures."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from fgsgt_ros.tracker.session import TrackingSession
from fgsgt_ros.tracker.temperature import (KELVIN_AT_0C, RADIOMETRY, kelvin_scale,
                                           measure_temperature)
from fgsgt_ros.tracker.thermal import ThermalConfig

#: Lepton 3.5 clips of the real set (TLinear, centi-kelvin)
LEPTON35_CLIPS = ("bird_feeder_ct", "cat_tc2")


def _scene(background_ck=29000, target_ck=30500, size=(120, 160)):
    frame = np.full(size, background_ck, np.uint16)
    frame[50:60, 70:84] = target_ck
    return frame


def test_hottest_median_and_ring_background_in_kelvin_and_celsius():
    frame = _scene()
    frame[52, 75] = 31000  # one hot spot
    t = measure_temperature(frame, (70, 50, 14, 10), "tlinear_centikelvin")
    assert t.hottest_k == pytest.approx(310.0)
    assert t.median_k == pytest.approx(305.0)
    assert t.background_k == pytest.approx(290.0)
    assert t.hottest_c == pytest.approx(310.0 - KELVIN_AT_0C)
    assert t.pixels == 140
    assert "36.9 C max" in t.describe()
    dk = measure_temperature((frame // 10).astype(np.uint16), (70, 50, 14, 10),
                             "tlinear_decikelvin")
    assert dk.hottest_k == pytest.approx(310.0)


def test_linear_mapping_for_other_radiometric_cores():
    frame = np.full((64, 80), 1000.0, np.float32)
    frame[20:30, 20:30] = 1500.0
    t = measure_temperature(frame, (20, 20, 10, 10), "linear", gain=0.04, offset_k=250.0)
    assert t.hottest_k == pytest.approx(310.0) and t.background_k == pytest.approx(290.0)
    with pytest.raises(ValueError):
        ThermalConfig(radiometry="linear", radiometric_gain=0.0)
    with pytest.raises(ValueError):
        kelvin_scale("fahrenheit", 1.0, 0.0)
    assert set(RADIOMETRY) >= {"none", "tlinear_centikelvin", "tlinear_decikelvin", "linear"}


def test_no_reading_where_values_are_not_temperatures():
    frame = _scene()
    assert measure_temperature(frame, (70, 50, 14, 10), "none") is None
    display = (frame // 256).astype(np.uint8)  # 8-bit display video: camera AGC already applied
    assert measure_temperature(display, (70, 50, 14, 10), "tlinear_centikelvin") is None
    rgb = np.dstack([frame] * 3)
    assert measure_temperature(rgb, (70, 50, 14, 10), "tlinear_centikelvin") is None
    assert measure_temperature(frame, (500, 500, 10, 10), "tlinear_centikelvin") is None
    assert measure_temperature(frame, (np.nan, 50, 14, 10), "tlinear_centikelvin") is None


def test_box_partly_outside_tiny_targets_and_broken_pixels():
    frame = _scene().astype(np.float32)
    # partly outside the frame: measured on the part inside
    t = measure_temperature(frame, (150, 100, 30, 40), "tlinear_centikelvin")
    assert t.pixels == 10 * 20 and t.hottest_k == pytest.approx(290.0)
    # a 2x2 px target still reads its own temperature and the ring's
    small = _scene()
    small[10:12, 10:12] = 30800
    t = measure_temperature(small, (10, 10, 2, 2), "tlinear_centikelvin")
    assert t.pixels == 4 and t.hottest_k == pytest.approx(308.0)
    assert t.background_k == pytest.approx(290.0)
    # NaN / inf / garbage pixels are left out; a box of nothing but them gives no reading
    bad = _scene().astype(np.float32)
    bad[50:55, 70:84] = np.nan
    bad[55, 70] = np.inf
    bad[56, 71] = 1e9
    t = measure_temperature(bad, (70, 50, 14, 10), "tlinear_centikelvin")
    assert t.pixels == 140 - 70 - 2 and t.hottest_k == pytest.approx(305.0)
    bad[50:60, 70:84] = np.nan
    assert measure_temperature(bad, (70, 50, 14, 10), "tlinear_centikelvin") is None
    # a box filling the frame has no ring: background NaN, the target still read
    t = measure_temperature(_scene(), (0, 0, 160, 120), "tlinear_centikelvin")
    assert math.isnan(t.background_k) and t.hottest_k == pytest.approx(305.0)


def test_a_flat_field_correction_jump_shifts_readings_without_breaking_them():
    """Right after an FFC the Lepton's scene level jumps by a few tens of centi-kelvin: the
    reading follows the values, target still warmer than its ring."""
    before = measure_temperature(_scene(), (70, 50, 14, 10), "tlinear_centikelvin")
    after = measure_temperature(_scene() - 40, (70, 50, 14, 10), "tlinear_centikelvin")
    assert after.hottest_k == pytest.approx(before.hottest_k - 0.4)
    assert after.contrast_k == pytest.approx(before.contrast_k)


def _clip(real_data_dir, name):
    folder = real_data_dir / name
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    gt = np.loadtxt(folder / "groundtruth_rect.txt", delimiter=",")
    frames = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted((folder / "img").iterdir())]
    return frames, gt


@pytest.mark.parametrize("clip", LEPTON35_CLIPS)
def test_real_lepton35_clips_read_plausible_temperatures_target_warmer_than_ring(
        real_data_dir, clip):
    frames, gt = _clip(real_data_dir, clip)
    readings = [measure_temperature(f, b, "tlinear_centikelvin")
                for f, b in zip(frames, gt) if np.isfinite(b).all()]
    assert readings and all(r is not None for r in readings)
    for r in readings:
        # an outdoor night scene and an animal's fur: -20 .. +45 degC
        assert 253.0 < r.background_k < 318.0 and 253.0 < r.hottest_k < 318.0
    warmer = np.mean([r.hottest_k > r.background_k + 1.0 for r in readings])
    assert warmer > 0.9, f"{clip}: target warmer than its ring on only {warmer:.0%} of frames"


def test_session_reports_the_temperature_under_its_published_box(real_data_dir):
    frames, gt = _clip(real_data_dir, "cat_tc2")
    session = TrackingSession("csrt", thermal_cfg=ThermalConfig(radiometry="tlinear_centikelvin"))
    session.init(frames[0], gt[0])
    results = [session.step(f) for f in frames[1:10]]
    for frame, r in zip(frames[1:10], results):
        if r.published is None:
            assert r.temperature is None
            continue
        assert r.temperature == measure_temperature(frame, r.published, "tlinear_centikelvin")
        assert r.temperature.hottest_k > r.temperature.background_k
    assert any(r.temperature is not None for r in results)
    plain = TrackingSession("csrt")  # radiometry none (the default): no reading
    plain.init(frames[0], gt[0])
    assert plain.step(frames[1]).temperature is None


def test_node_status_and_diagnostics_carry_the_temperature_over_dds(
        real_data_dir, tmp_path, ros_domain_id):
    """What ``ros2 topic echo status`` shows on a Lepton 3.5 stream with thermal.radiometry set."""
    pytest.importorskip("rclpy", reason="rclpy (ROS 2 wheels) not installed: run make setup")
    from fgsgt_dev.testing import NodeUnderTest

    frames, gt = _clip(real_data_dir, "cat_tc2")
    node = NodeUnderTest({"checkpoint": "csrt", "thermal.radiometry": "tlinear_centikelvin",
                          "qos_reliability": "reliable", "qos_depth": 10,
                          "diagnostics_period_s": 0.5},
                         domain=ros_domain_id, log_dir=tmp_path)
    try:
        headers = node.feed(frames[:1])
        idle = node.status_for(headers[0].stamp)
        assert not idle.temperature_valid and math.isnan(idle.target_max_k)  # IDLE: no reading
        assert node.client.init_target(gt[0], stamp=headers[0].stamp).success
        headers = node.feed(frames[1:12])
        tracked = [node.status_for(h.stamp) for h in headers]
        valid = [s for s in tracked if s.state_name == "TRACKING"]
        assert valid and all(s.temperature_valid for s in valid)
        for s in valid:
            assert 253.0 < s.background_k < s.target_max_k < 318.0
            assert s.target_max_c == pytest.approx(s.target_max_k - KELVIN_AT_0C, abs=1e-3)
            assert s.background_c == pytest.approx(s.background_k - KELVIN_AT_0C, abs=1e-3)
            assert s.background_k <= s.target_median_k <= s.target_max_k
        diag = node.fresh_diagnostics()
        assert diag["radiometry"] == "tlinear_centikelvin"
        assert " K (" in diag["target_temperature"] and "C)" in diag["target_temperature"]
        # 8-bit display video never reads a temperature, whatever the parameter says
        headers = node.feed([(f // 128).astype(np.uint8) for f in frames[12:15]])
        assert not any(node.status_for(h.stamp).temperature_valid for h in headers)
    finally:
        assert node.close() == 0
