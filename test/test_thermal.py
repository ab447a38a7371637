"""ThermalPreprocessor: AGC on narrow radiometric ranges, FFC jumps, dtypes, sizes, strides."""

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
    assert agc.jumps == 1 and agc.relearns == 0
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


def test_real_lepton_clip_converts_with_contrast(real_clip_dir):
    import cv2
    agc = ThermalPreprocessor()
    for p in sorted((real_clip_dir / "img").iterdir())[:5]:
        out = agc(cv2.imread(str(p), cv2.IMREAD_UNCHANGED))
    lo, hi = np.percentile(out[..., 0], [1, 99])
    assert hi - lo > 100


def _spread(out):
    lo, hi = np.percentile(out[..., 0], [1, 99])
    return hi - lo


def _lepton35_like(seed=0, h=120, w=160):
    """Lepton 3.5 centi-kelvin: 27,600-28,700 with a warm target."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = 27700 + 600 * yy / h + rng.normal(0, 8, (h, w))
    img[50:70, 60:80] = 28600 + rng.normal(0, 8, (20, 20))
    return np.clip(img, 27600, 28700).astype(np.uint16)


def test_scene_change_is_relearned_at_once_but_an_ffc_jump_is_still_followed():
    """Lepton 3 raw counts (2,600-3,200), then a Lepton 3.5 in centi-kelvin (27,600-28,700): the
    new scene is learned from its first frame instead of being taken for an offset jump."""
    rng = np.random.default_rng(1)
    raw3 = (2600 + 600 * rng.random((120, 160))).astype(np.uint16)
    agc = ThermalPreprocessor()
    for _ in range(10):
        agc(raw3)
    out = agc(_lepton35_like())
    assert agc.relearns == 1 and agc.jumps == 0
    lo, hi = agc.range
    sample = _lepton35_like().astype(np.float64)
    p1, p99 = np.percentile(sample, [1, 99])
    assert abs(lo - p1) < 20 and abs(hi - p99) < 20  # the new scene's own range, not the old span
    assert _spread(out) > 200
    fresh = ThermalPreprocessor()(_lepton35_like())
    np.testing.assert_array_equal(out, fresh)  # exactly as a fresh AGC sees it
    # an FFC offset jump within the new scene is still a jump, not a scene change
    for i in range(5):
        agc(_lepton35_like(seed=i))
    agc(_lepton35_like(seed=9) + np.uint16(400))  # FFC: +400 cK, about half a span
    assert agc.jumps == 1 and agc.relearns == 1


def test_a_different_span_is_relearned():
    agc = ThermalPreprocessor()
    for i in range(5):
        agc(_lepton_like(seed=i))  # span ~75 counts
    wide = np.random.default_rng(0).uniform(6800, 7600, (120, 160)).astype(np.uint16)  # same median
    agc(wide)
    assert agc.relearns == 1 and agc.range[1] - agc.range[0] > 700


def test_real_clips_lepton3_then_lepton35(real_data_dir):
    """A Lepton 3 clip then a Lepton 3.5 clip through one AGC: the second is learned at once."""
    import cv2

    agc = ThermalPreprocessor()
    for p in sorted((real_data_dir / "possum_walk_ftc" / "img").iterdir())[:10]:
        agc(cv2.imread(str(p), cv2.IMREAD_UNCHANGED))
    assert agc.relearns == 0
    first = sorted((real_data_dir / "cat_tc2" / "img").iterdir())[0]
    frame = cv2.imread(str(first), cv2.IMREAD_UNCHANGED)
    assert frame.min() > 20000  # centi-kelvin
    out = agc(frame)
    assert agc.relearns == 1
    np.testing.assert_array_equal(out, ThermalPreprocessor()(frame))


def test_reset_and_relearn_start_from_the_current_frame():
    agc = ThermalPreprocessor()
    for i in range(10):
        agc(_lepton_like(seed=i))
    frame = _lepton_like(offset=20, seed=3)
    fresh = ThermalPreprocessor()(frame)
    np.testing.assert_array_equal(agc.relearn(frame), fresh)
    agc(_lepton_like(seed=4))
    agc.reset()
    assert agc.range is None
    np.testing.assert_array_equal(agc(frame), fresh)


def _temperatures(seed=0):
    rng = np.random.default_rng(seed)
    t = 20.0 + rng.normal(0, 0.2, (120, 160))
    t[40:60, 70:90] = 34.0
    return t.astype(np.float32)


POISON = {
    "extreme": lambda: np.random.default_rng(0).uniform(-3e38, 3e38, (120, 160)).astype(np.float32),
    "byteswapped": lambda: _temperatures(5).byteswap(),  # wrong is_bigendian flag
    "all_nan": lambda: np.full((120, 160), np.nan, np.float32),
    "inf": lambda: np.where(np.arange(160) % 2, np.inf, -np.inf)[None].repeat(120, 0),
    "constant_1e17": lambda: np.full((120, 160), 1e17, np.float64),
}


@pytest.mark.parametrize("kind", sorted(POISON))
def test_poisoning_frames_are_refused_without_touching_the_range(kind):
    from fgsgt_ros.tracker.thermal import BadFrameError

    agc = ThermalPreprocessor()
    for i in range(5):
        agc(_temperatures(i))
    before = agc.snapshot()
    with pytest.raises(BadFrameError, match="refused"):
        agc(POISON[kind]())
    assert agc.refused == 1
    after = agc.snapshot()
    assert {k: v for k, v in after.items() if k != "refused"} == \
        {k: v for k, v in before.items() if k != "refused"}
    assert np.isfinite(agc.range).all()
    # the next good frame comes out exactly as if the bad one had never arrived
    control = ThermalPreprocessor()
    for i in range(5):
        control(_temperatures(i))
    np.testing.assert_array_equal(agc(_temperatures(7)), control(_temperatures(7)))


def test_a_few_bad_pixels_are_left_out_and_saturate():
    t = _temperatures()
    t[0, :10] = [np.nan, np.inf, -np.inf, 3e38, -3e38, 1e-41, 0.0, 20.0, 50.0, -10.0]  # 10 of 19200
    out = ThermalPreprocessor()(t)[..., 0]
    assert list(out[0, :5]) == [0, 255, 0, 255, 0] and out[50, 80] > 200
    assert np.isfinite(ThermalPreprocessor().relearn(t)).all()


@pytest.mark.parametrize("value", [1e17, -1e17, 2 ** 62, 1e300])
def test_constant_frames_of_any_magnitude_never_divide_by_zero(value):
    """|value| ~1e17: mid +- min_span/2 == mid in float64; the stretch must still have a span."""
    frame = np.full((8, 8), value, np.float64 if isinstance(value, float) else np.int64)
    cfg = ThermalConfig(max_abs_value=1e308)  # plausible here: exercise the stretch itself
    agc = ThermalPreprocessor(cfg)
    for _ in range(3):
        out = agc(frame)
    assert out.shape == (8, 8, 3) and len(np.unique(out)) == 1
    lo, hi = agc._update_range(frame)
    assert hi > lo and np.isfinite(255.0 / (hi - lo))
