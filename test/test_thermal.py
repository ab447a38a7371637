"""ThermalPreprocessor: AGC on narrow radiometric ranges, FFC jumps, dtypes, sizes, strides."""

from pathlib import Path

import numpy as np
import pytest

from fgsgt_ros.tracker.thermal import ThermalConfig, ThermalPreprocessor


def _lepton_like(offset=0, seed=0, h=120, w=160):
    """Raw counts 7060..7145: a gentle background gradient, noise, a warm target."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = 7070 + 30 * xx / w + rng.normal(0, 2, (h, w))
    img[40:60, 70:90] = 7135 + rng.normal(0, 2, (20, 20))
    return (np.clip(img, 7060, 7145) + offset).astype(np.uint16)


def test_narrow_16bit_range_becomes_a_usable_8bit_image():
    raw = _lepton_like()
    assert raw.min() >= 7060 and raw.max() <= 7145
    out = ThermalPreprocessor()(raw)
    assert out.shape == (120, 160, 3) and out.dtype == np.uint8
    grey = out[..., 0]
    lo, hi = np.percentile(grey, [1, 99])
    assert hi - lo > 100  # spread over more than 100 grey levels (cv_bridge's /256 gives ~0)
    assert grey[45:55, 75:85].mean() > grey[:, :40].mean() + 80  # warm target bright
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()


def test_ffc_offset_jump_does_not_reset_the_image():
    agc = ThermalPreprocessor()
    for i in range(10):
        before = agc(_lepton_like(seed=i)).astype(np.int16)
    after = agc(_lepton_like(offset=60, seed=9)).astype(np.int16)  # FFC: whole frame +60 counts
    assert agc.jumps == 1
    # the same scene right after the jump looks as it did before it
    assert np.abs(after - before).mean() < 2.0
    # control: without jump handling, the same EMA leaves the frame badly over-exposed
    no_jump = ThermalPreprocessor(ThermalConfig(jump_fraction=1e9))
    for i in range(10):
        no_jump(_lepton_like(seed=i))
    bad = no_jump(_lepton_like(offset=60, seed=9)).astype(np.int16)
    assert np.abs(bad - before).mean() > 40


def test_range_is_smoothed_over_time_but_follows_a_lasting_change():
    agc = ThermalPreprocessor(ThermalConfig(smoothing=0.2))
    agc(_lepton_like())
    lo0, hi0 = agc.range
    hot = _lepton_like(seed=1)
    hot[0:30, 0:30] = 7300  # a hot object enters (median unchanged: not a jump)
    agc(hot)
    lo1, hi1 = agc.range
    assert hi0 < hi1 < 7300 and agc.jumps == 0
    for i in range(30):
        agc(hot)
    assert agc.range[1] > 7280


def test_polarity_black_hot_inverts():
    raw = _lepton_like()
    white = ThermalPreprocessor()(raw)
    black = ThermalPreprocessor(ThermalConfig(polarity="black_hot"))(raw)
    np.testing.assert_array_equal(black, 255 - white)


def test_input_kinds():
    agc = ThermalPreprocessor()
    grey8 = (np.arange(12 * 16) % 256).astype(np.uint8).reshape(12, 16)
    out = agc(grey8)
    np.testing.assert_array_equal(out[..., 2], grey8)  # 8-bit kept as is by default
    bgr = np.dstack([grey8, grey8 // 2, grey8 // 3])
    np.testing.assert_array_equal(agc(bgr), bgr)
    np.testing.assert_array_equal(agc(grey8[..., None]), out)
    bgra = np.dstack([bgr, np.full_like(grey8, 255)])
    np.testing.assert_array_equal(agc(bgra), bgr)
    temps = np.linspace(18.0, 37.0, 120 * 160, dtype=np.float32).reshape(120, 160)
    temps[0, 0] = np.nan
    out = ThermalPreprocessor()(temps)
    assert out[0, 0, 0] == 0 and out[-1, -1, 0] == 255 and out[60, 80, 0] in range(100, 156)
    out = ThermalPreprocessor()(temps.astype(np.float64))
    assert out.dtype == np.uint8
    rgb16 = np.dstack([_lepton_like()] * 3)
    assert ThermalPreprocessor()(rgb16).shape == (120, 160, 3)
    stretched = ThermalPreprocessor(ThermalConfig(stretch_uint8=True))((grey8 // 4 + 100))
    assert stretched[..., 0].max() - stretched[..., 0].min() > 200


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (7, 5), (1024, 1280)])
def test_any_frame_size(shape):
    raw = np.random.default_rng(0).integers(2000, 3000, shape).astype(np.uint16)
    out = ThermalPreprocessor()(raw)
    assert out.shape == shape + (3,) and out.dtype == np.uint8


def test_non_contiguous_and_padded_rows_match_contiguous_copies():
    raw = _lepton_like(h=121, w=163)
    views = [raw[::2, ::3], raw[:, 1::2], raw.T, raw[5:100, 7:140]]
    # a ROS-like buffer with row padding: step = 2 * width + 6 bytes
    h, w = 50, 77
    buf = np.zeros(h * (w * 2 + 6), np.uint8)
    padded = np.lib.stride_tricks.as_strided(buf.view(np.uint16), shape=(h, w), strides=(w * 2 + 6, 2))
    padded[:] = raw[:h, :w]
    views.append(padded)
    for v in views:
        assert not v.flags.c_contiguous
        np.testing.assert_array_equal(ThermalPreprocessor()(v), ThermalPreprocessor()(v.copy()))


def test_bad_input_is_refused():
    agc = ThermalPreprocessor()
    with pytest.raises(ValueError, match="shape"):
        agc(np.zeros((2, 3, 4, 5), np.uint16))
    with pytest.raises(ValueError, match="empty"):
        agc(np.zeros((0, 5), np.uint16))
    with pytest.raises(TypeError, match="dtype"):
        agc(np.zeros((4, 4), bool))
    with pytest.raises(ValueError, match="polarity"):
        ThermalConfig(polarity="rainbow")


def test_real_lepton_clip_converts_with_contrast():
    clip = Path("/work/shared/data/tir_real_dev/possum_cp/img")
    if not clip.is_dir():
        pytest.skip("shared dev clip not present")
    import cv2
    agc = ThermalPreprocessor()
    for p in sorted(clip.iterdir())[:5]:
        out = agc(cv2.imread(str(p), cv2.IMREAD_UNCHANGED))
    lo, hi = np.percentile(out[..., 0], [1, 99])
    assert hi - lo > 100
