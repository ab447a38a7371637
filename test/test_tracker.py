"""SiameseTracker and OpenCV peers: geometry round-trips, following, LOST/re-acquisition, bad boxes."""

import dataclasses

import numpy as np
import pytest
import torch

from fgsgt_ros.boxes import iou_xywh
from fgsgt_ros.model.anchors import anchor_grid, decode, encode
from fgsgt_ros.tracker import InvalidBoxError, TrackerBuildError, TrackState, build_tracker
from fgsgt_ros.tracker.config import TrackerConfig, get_tracker_preset
from fgsgt_ros.tracker.peers import OpenCVTracker
from fgsgt_ros.tracker.siamese import SiameseTracker, crop_square, crop_to_frame
from test_tracker_oracle import ORACLE_CFG, OracleNet, scene


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _tracker(**cfg):
    return SiameseTracker(OracleNet(), ORACLE_CFG, TrackerConfig(**cfg))


# ----------------------------------------------------------------------------- geometry

def test_crop_at_unit_scale_is_the_image_region_and_pads_with_fill():
    img = np.arange(40 * 50, dtype=np.float32).reshape(40, 50) % 251
    img = img.astype(np.uint8)
    # a 16x16 crop centred on (20.0, 10.0) covers pixels 12..27 x 2..17 exactly
    crop = crop_square(img, (20.0, 10.0), 16, 16, 7)
    np.testing.assert_array_equal(crop, img[2:18, 12:28])
    # centred at the corner: three quarters fall outside and take the fill value
    crop = crop_square(img, (0.0, 0.0), 16, 16, 7)
    assert (crop[:8, :] == 7).all() and (crop[:, :8] == 7).all()
    np.testing.assert_array_equal(crop[8:, 8:], img[:8, :8])


def test_crop_of_a_known_box_puts_it_centred_at_the_expected_scale():
    box = (61, 47, 30, 20)  # xywh
    img = scene(200, 160, box, noise=0)
    side, out = 120.0, 240  # scale 2
    centre = (box[0] + box[2] / 2, box[1] + box[3] / 2)
    crop = crop_square(img, centre, side, out, 50)
    ys, xs = np.nonzero(crop > 125)
    assert xs.min() == 120 - 30 and xs.max() == 120 + 30 - 1
    assert ys.min() == 120 - 20 and ys.max() == 120 + 20 - 1


def test_crop_to_frame_inverts_crop_and_is_zero_outside():
    region = np.array([30.0, 20.0, 64.0, 64.0])
    m = np.zeros((32, 32), np.float32)
    m[8:16, 16:24] = 1.0  # region pixels x 32..48, y 16..32 -> frame x 62..78, y 36..52
    full = crop_to_frame(m, region, 120, 160)
    assert full.shape == (120, 160) and full.dtype == np.float32
    ys, xs = np.nonzero(full > 0.5)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (62, 77, 36, 51)
    assert full[:20].max() == 0 and full[:, 95:].max() == 0


def test_anchor_encode_decode_round_trip_on_known_boxes():
    anchors = anchor_grid(8, (0.33, 0.5, 1, 2, 3), (8,), 25).astype(np.float64)
    for box in ([0, 0, 64, 64], [-37.5, 12.25, 20, 90], [80, -96, 150, 8]):
        back = decode(encode(np.array(box, float), anchors), anchors)
        np.testing.assert_allclose(back, np.broadcast_to(box, back.shape), atol=1e-4)


def test_one_update_on_a_static_target_reproduces_its_box():
    box = (70, 60, 24, 18)
    img = scene(200, 160, box)
    t = _tracker()
    t.init(img, box)
    r = t.update(img)
    assert r.state == TrackState.TRACKING and r.score > 0.9
    np.testing.assert_allclose(r.box, box, atol=1.0)


# ----------------------------------------------------------------------------- behaviour

def test_follows_a_moving_target_that_changes_size():
    t = _tracker()
    ious = []
    for i in range(30):
        w, h = 20 + i * 0.4, 16 + i * 0.3
        box = (30 + 3.0 * i, 40 + 2.0 * i, w, h)
        img = scene(220, 180, box, seed=i)
        if i == 0:
            t.init(img, box)
            continue
        r = t.update(img)
        ious.append(float(iou_xywh(r.box, np.round(box))))
        assert r.state == TrackState.TRACKING
    assert np.mean(ious) > 0.75 and ious[-1] > 0.6


def test_lost_after_k_weak_frames_and_reacquired_in_the_enlarged_region():
    cfg = dict(lost_frames=4)
    t = _tracker(**cfg)
    box = (60, 60, 20, 20)
    t.init(scene(240, 200, box), box)
    for i in range(3):  # seen for a few frames: its own score level (LostMonitor's reference)
        assert t.update(scene(240, 200, box, seed=i)).state == TrackState.TRACKING
    states, boxes = [], []
    for i in range(8):  # target gone
        r = t.update(scene(240, 200, None, seed=10 + i))
        states.append(r.state)
        boxes.append(r.box)
    assert states[:3] == [TrackState.TRACKING] * 3 and states[3:] == [TrackState.LOST] * 5
    # weak TRACKING frames still move the box (SiamRPN++ update); once LOST it stays put
    np.testing.assert_array_equal(boxes[3], boxes[-1])
    # reappears 55 px away: outside the normal search half-width (s_x/2 = 40 px) but inside the
    # LOST search (x2 -> 80 px)
    new_box = (115, 60, 20, 20)
    assert 40 < 55 < 80
    results = [t.update(scene(240, 200, new_box, seed=30 + i)) for i in range(4)]
    assert results[-1].state == TrackState.TRACKING
    assert float(iou_xywh(results[-1].box, new_box)) > 0.6


def test_a_target_reacquired_at_the_relative_level_gets_its_box_moved_too():
    """With the score-history rule the LostMonitor may re-acquire below the absolute
    recover_threshold (here 1.0, which no score reaches); the box must follow the state: a LOST
    tracker that reports TRACKING again is on the re-found target, not where it was lost."""
    t = _tracker(lost_frames=4, lost_threshold=1.0, recover_threshold=1.0, lost_relative=0.5,
                 recover_relative=0.5)
    box = (60, 60, 20, 20)
    t.init(scene(240, 200, box), box)
    for i in range(3):
        assert t.update(scene(240, 200, box, seed=i)).state == TrackState.TRACKING
    for i in range(8):
        r = t.update(scene(240, 200, None, seed=10 + i))
    assert r.state == TrackState.LOST
    new_box = (115, 60, 20, 20)  # inside the enlarged LOST search only (see the test above)
    r = t.update(scene(240, 200, new_box, seed=30))
    # the frame that re-acquires: TRACKING, and its box already on the target
    assert r.state == TrackState.TRACKING and r.score < 1.0
    assert float(iou_xywh(r.box, new_box)) > 0.6


def test_mark_lost_searches_the_enlarged_region_and_relocate_moves_the_search():
    """External cues: mark_lost() makes the next update a LOST-mode search (re-acquiring the
    target when it scores >= recover_threshold); relocate() moves the search, no new template."""
    t = _tracker(lost_frames=50)
    box = (60, 60, 20, 20)
    t.init(scene(240, 200, box), box)
    normal = t.update(scene(240, 200, box, seed=1)).search_region[2]
    t.mark_lost()
    assert t.state == TrackState.LOST
    r = t.update(scene(240, 200, box, seed=2))
    assert r.search_region[2] == pytest.approx(2.0 * normal, rel=0.05)  # reacquire_scale
    assert r.state == TrackState.TRACKING  # the target is there: re-acquired at once
    far = (150, 120, 20, 20)  # > 80 px away: outside even the enlarged search around the old box
    t.relocate(far)
    assert t.state == TrackState.TRACKING and float(iou_xywh(t.box, far)) == pytest.approx(1.0)
    r = t.update(scene(240, 200, far, seed=3))
    assert float(iou_xywh(r.box, far)) > 0.6
    with pytest.raises(InvalidBoxError):
        t.relocate((0, 0, float("nan"), 3))
    t.reset()
    t.mark_lost()
    assert t.state == TrackState.IDLE


def test_without_the_enlarged_region_the_far_reappearance_is_missed():
    """Control for the previous test: reacquire_scale=1 cannot see 55 px away (the whole-frame
    scan switched off, or it would find it)."""
    t = _tracker(lost_frames=4, reacquire_scale=1.0, lost_scan_every=0)
    box = (60, 60, 20, 20)
    t.init(scene(240, 200, box), box)
    for i in range(3):
        t.update(scene(240, 200, box, seed=i))
    for i in range(8):
        t.update(scene(240, 200, None, seed=10 + i))
    r = [t.update(scene(240, 200, (115, 60, 20, 20), seed=30 + i)) for i in range(4)][-1]
    assert r.state == TrackState.LOST


def _lose_then_reappear(t, far, frames, absent=8):
    box = (40, 40, 20, 20)
    t.init(scene(320, 240, box), box)
    for i in range(3):
        t.update(scene(320, 240, box, seed=i))
    for i in range(absent):
        assert t.update(scene(320, 240, None, seed=10 + i)).state != TrackState.IDLE
    assert t.state == TrackState.LOST
    return [t.update(scene(320, 240, far, seed=30 + i)) for i in range(frames)]


def test_a_target_reappearing_anywhere_in_the_frame_is_found_by_the_scan():
    """Re-detection: far outside even the enlarged LOST search (about 80 px around the old box),
    the whole-frame scan at the tracking resolution (the grid alone here: appearance proposals
    off) finds the target within one pass of its schedule, and from then on it is tracked;
    without the scan it stays LOST."""
    far = (262, 182, 20, 20)  # about 225 px from where it was lost
    found = _lose_then_reappear(_tracker(lost_frames=4, lost_scan_proposals=False), far, 300)
    states = [r.state for r in found]
    first = states.index(TrackState.TRACKING)
    assert all(s == TrackState.TRACKING for s in states[first:])
    assert float(iou_xywh(found[first].box, far)) > 0.6 and float(iou_xywh(found[-1].box, far)) > 0.6
    # every other LOST frame is a tile: the scan's first tiles are where the target was lost
    assert found[0].search_region[2] == pytest.approx(found[1].search_region[2] * 2, rel=0.05)
    missed = _lose_then_reappear(_tracker(lost_frames=4, lost_scan_every=0), far, first + 20)
    assert all(r.state == TrackState.LOST for r in missed)


def test_more_scan_tiles_per_frame_find_the_target_sooner_at_one_pass_per_tile():
    """``lost_scan_tiles``: a scan frame searches that many different tiles, one network pass each,
    and the best-scoring one wins, so a far reappearance is found in fewer frames (a slow camera
    leaves the time); TRACKING frames stay one pass."""
    far = (262, 182, 20, 20)

    def counted(tiles):
        t = _tracker(lost_frames=4, lost_scan_tiles=tiles, lost_scan_proposals=False)
        calls = []
        track = t.model.track
        t.model.track = lambda x: calls.append(1) or track(x)
        return t, calls

    one, _ = counted(1)
    states = [r.state for r in _lose_then_reappear(one, far, 300)]
    first_one = states.index(TrackState.TRACKING)
    four, calls = counted(4)
    found = _lose_then_reappear(four, far, 300)
    first_four = [r.state for r in found].index(TrackState.TRACKING)
    assert first_four < first_one / 2
    assert float(iou_xywh(found[-1].box, far)) > 0.6
    calls.clear()
    four.update(scene(320, 240, far, seed=99))
    assert len(calls) == 1  # tracking again: one pass
    four.mark_lost()
    passes = []
    for i in range(4):
        calls.clear()
        four.update(scene(320, 240, None, seed=200 + i))
        passes.append(len(calls))
    assert sorted(passes) == [1, 1, 4, 4]  # enlarged region and scan frames alternate


def test_appearance_proposals_find_a_far_reappearance_on_one_of_its_first_frames():
    """``lost_scan_proposals`` (default on): a scan frame searches where the target's appearance at
    init matches best, within reach of the last position (after 40 absent frames, 225 px is
    within reach), so the far reappearance that the grid needs many scan frames for is found on
    one of its first frames, at one pass per frame."""
    far = (262, 182, 20, 20)
    grid = [r.state for r in _lose_then_reappear(_tracker(lost_frames=4, lost_scan_proposals=False),
                                                 far, 300, absent=40)].index(TrackState.TRACKING)
    t = _tracker(lost_frames=4)
    calls = []
    track = t.model.track
    t.model.track = lambda x: calls.append(1) or track(x)
    found = _lose_then_reappear(t, far, 60, absent=40)
    first = [r.state for r in found].index(TrackState.TRACKING)
    assert first <= 3 < grid / 4
    assert float(iou_xywh(found[-1].box, far)) > 0.6
    assert len(calls) == 3 + 40 + 60  # still one network pass on every frame


def test_proposals_wait_for_reach_and_skip_what_was_turned_down():
    """A match far from the last position is not proposed until a lost target could have got
    there (``PROPOSAL_REACH`` search sides per LOST frame); a match searched without success is
    skipped on the next proposal frames, so the next best gets its turn; a target cut by the
    frame border is still matched at its centre."""
    from fgsgt_ros.tracker.scan import PROPOSAL_REACH, LostSearch, match_peaks
    box = (40, 40, 12, 12)
    search = LostSearch()
    search.remember(scene(320, 240, box, seed=1), (46.0, 46.0), (12.0, 12.0), 0.5)
    frame = scene(320, 240, (140, 40, 12, 12), seed=2)
    frame[180:192, 260:272] = 200  # a second look-alike, 230 px away
    side = 40.0
    search.lost_frames = 1
    early = search.proposals(frame, 2, (12.0, 12.0), 0.5, (46.0, 46.0), side)
    # 100 px away after one frame: out of reach (and the noise around the old box has too
    # little contrast to be proposed)
    assert len(early) == 0
    search.reset()
    search.lost_frames = int(np.ceil((100 / side - 0.5) / PROPOSAL_REACH)) + 1
    first = search.proposals(frame, 1, (12.0, 12.0), 0.5, (46.0, 46.0), side)
    np.testing.assert_allclose(first, [[146.0, 46.0]], atol=1.5)
    search.lost_frames = 100
    second = search.proposals(frame, 1, (12.0, 12.0), 0.5, (46.0, 46.0), side)
    np.testing.assert_allclose(second, [[266.0, 186.0]], atol=1.5)  # the first was turned down
    search.reset()  # re-acquired: a new LOST spell starts with a clean slate
    search.lost_frames = 100
    again = search.proposals(frame, 2, (12.0, 12.0), 0.5, (46.0, 46.0), side)
    assert len(again) == 2
    # half the target outside the frame: matched at its centre, on the border
    edge = scene(320, 240, (314, 100, 12, 12), seed=3)
    peak = match_peaks(edge, search.appearance, (12.0, 12.0), 0.5, 1)
    np.testing.assert_allclose(peak, [[320.0, 106.0]], atol=2.0)
    # nothing to match (a featureless appearance): no proposals, the grid takes over
    flat = LostSearch()
    flat.remember(np.full((240, 320), 50, np.uint8), (46.0, 46.0), (12.0, 12.0), 0.5)
    flat.lost_frames = 100
    assert len(flat.proposals(frame, 1, (12.0, 12.0), 0.5, (46.0, 46.0), side)) == 0


def test_scan_frames_take_different_tiles_and_together_follow_the_schedule():
    from fgsgt_ros.tracker.scan import LostSearch, scan_grid, scan_schedule
    grid = scan_grid(320, 240, 80.0, (40.0, 40.0))
    order = scan_schedule(len(grid))
    search = LostSearch()
    seen = []
    for _ in range(6):
        tiles = search.next_tiles(3, 80.0, 320, 240, (40.0, 40.0))
        assert len(tiles) == 3 and len({tuple(c) for c in tiles}) == 3
        seen += [int(np.flatnonzero((grid == c).all(1))[0]) for c in tiles]
    # the schedule's order with repeats inside one scan frame skipped
    assert seen[:3] == [0, 1, 2] and seen[3:6] == [3, 0, 1]
    assert set(order[:20]) <= set(seen)
    everything = LostSearch().next_tiles(10_000, 80.0, 320, 240, (40.0, 40.0))
    assert len(everything) == len(grid)
    with pytest.raises(ValueError, match="lost_scan_tiles"):
        TrackerConfig(lost_scan_tiles=0)


def test_the_scan_covers_the_frame_nearest_first_and_revisits_the_near_tiles():
    from fgsgt_ros.tracker.scan import scan_grid, scan_schedule
    grid = scan_grid(320, 240, 80.0, (40.0, 40.0))
    # the score map covers about the central 2/3 of a crop: every pixel within a third of a side
    ys, xs = np.mgrid[0:240:4, 0:320:4]
    pts = np.stack([xs.ravel(), ys.ravel()], 1)
    nearest = np.abs(pts[:, None, :] - grid[None]).max(-1).min(1)
    assert nearest.max() <= 80.0 / 3
    d = np.hypot(grid[:, 0] - 40, grid[:, 1] - 40)
    assert (np.diff(d) >= 0).all()
    order = scan_schedule(len(grid))
    assert set(order) == set(range(len(grid))) and len(order) < 3 * len(grid)
    assert (order == 0).sum() > 3  # the tile at the last position comes back while widening


def test_a_scan_tile_needs_the_targets_own_score_level_to_reacquire():
    """Far from where the target was lost a look-alike is as likely as the target: a scan tile
    re-acquires only at the target's reference score, not merely at the recover level."""
    from fgsgt_ros.tracker.base import LostMonitor
    m = LostMonitor(TrackerConfig(lost_threshold=0.5, recover_threshold=0.6, lost_frames=1))
    m.start()
    assert m.redetect_level() == pytest.approx(0.6)  # no history yet: the recover level
    for s in (0.95, 0.97, 0.96):
        m.step(s)
    m.step(0.1)
    assert m.state == TrackState.LOST
    assert m.redetect_level() == pytest.approx(0.96)
    assert m.step(0.9, m.redetect_level()) == TrackState.LOST  # enough near the old box only
    assert m.step(0.9) == TrackState.TRACKING
    # absolute thresholds only (lost_relative 0): the scan re-acquires at the recover level
    m.retune(TrackerConfig(lost_threshold=0.5, recover_threshold=0.6, lost_frames=1,
                           lost_relative=0.0))
    assert m.redetect_level() == pytest.approx(0.6)


def test_saliency_is_full_frame_lazy_and_zero_outside_the_search_crop():
    box = (90, 70, 20, 20)
    img = scene(320, 240, box)
    t = _tracker()
    t.init(img, box)
    r = t.update(img)
    assert r._saliency is None  # not computed until read
    sal = r.saliency
    assert sal.shape == (240, 320) and sal.dtype == np.float32
    assert 0.0 <= sal.min() and sal.max() <= 1.0
    assert sal[80, 100] > 0.5  # inside the target
    x0, y0, side, _ = r.search_region
    assert sal[:, int(x0 + side) + 2:].max() == 0.0 and sal[int(y0 + side) + 2:, :].max() == 0.0


@pytest.mark.parametrize("bad", [
    (float("nan"), 1, 10, 10), (1, 1, float("inf"), 10), (5, 5, 0, 10), (5, 5, 10, -3),
    (500, 500, 20, 20), (-50, -50, 20, 20), (1, 2, 3), "box", None, (1, 2, 3, 4, 5),
])
def test_bad_boxes_are_rejected_and_the_previous_target_is_kept(bad):
    box = (70, 60, 24, 18)
    img = scene(200, 160, box)
    t = _tracker()
    with pytest.raises(InvalidBoxError):
        t.init(img, bad)
    assert t.state == TrackState.IDLE
    t.init(img, box)
    before = t.box.copy()
    with pytest.raises(InvalidBoxError):
        t.init(img, bad)
    assert t.state == TrackState.TRACKING
    np.testing.assert_array_equal(t.box, before)
    np.testing.assert_allclose(t.update(img).box, box, atol=1.0)


def test_partly_outside_box_is_clipped_and_reinit_any_time():
    img = scene(200, 160, (0, 0, 20, 30))
    t = _tracker()
    t.init(img, (-10, -5, 30, 35))
    np.testing.assert_allclose(t.box, [0, 0, 20, 30])
    t.update(img)
    t.init(scene(200, 160, (100, 100, 20, 20)), (100, 100, 20, 20))  # new target, no reset needed
    np.testing.assert_allclose(t.box, [100, 100, 20, 20])
    t.reset()
    assert t.state == TrackState.IDLE and t.box is None
    with pytest.raises(RuntimeError, match="before init"):
        t.update(img)


def test_raw_16bit_frames_are_refused_with_advice():
    t = _tracker()
    with pytest.raises(TypeError, match="ThermalPreprocessor"):
        t.init(np.zeros((50, 50), np.uint16), (10, 10, 10, 10))


def test_grey_and_bgr_frames_give_the_same_track():
    box = (70, 60, 24, 18)
    grey = scene(200, 160, box)
    bgr = np.repeat(grey[..., None], 3, axis=2)
    a, b = _tracker(), _tracker()
    a.init(grey, box)
    b.init(bgr, box)
    np.testing.assert_allclose(a.update(grey).box, b.update(bgr).box, atol=1e-6)


def test_config_presets_and_validation():
    assert get_tracker_preset("otb").penalty_k == 0.24
    with pytest.raises(ValueError, match="valid"):
        get_tracker_preset("nope")
    with pytest.raises(ValueError, match="recover_threshold"):
        TrackerConfig(lost_threshold=0.6, recover_threshold=0.5)
    with pytest.raises(ValueError, match="unknown tracker parameter"):
        TrackerConfig.from_dict({"penalty": 1})
    assert TrackerConfig.from_dict({"lr": 0.1}).lr == 0.1


# ----------------------------------------------------------------------------- peers and factory

@pytest.mark.parametrize("kind", ["csrt", "kcf", "mosse"])
def test_opencv_peers_follow_a_slow_target_with_the_same_interface(kind):
    t = build_tracker(kind)
    assert isinstance(t, OpenCVTracker) and t.state == TrackState.IDLE
    box = (60, 50, 24, 20)
    # a warm, smoothly shaded blob with some structure (what a thermal target looks like)
    yy, xx = np.mgrid[0:20, 0:24]
    blob = 120 + 100 * np.exp(-((xx - 9) ** 2 / 40 + (yy - 8) ** 2 / 30)) + 20 * np.sin(xx / 3)

    def frame(b):
        img = scene(200, 160, None, seed=0).astype(np.float64)
        img[int(b[1]):int(b[1]) + 20, int(b[0]):int(b[0]) + 24] = blob
        return np.clip(img, 0, 255).astype(np.uint8)

    t.init(frame(box), box)
    for i in range(1, 11):
        b = (60 + 2 * i, 50 + i, 24, 20)
        r = t.update(frame(b))
    assert r.state == TrackState.TRACKING and r.score == 1.0 and r.saliency is None
    assert float(iou_xywh(r.box, b)) > 0.5
    with pytest.raises(InvalidBoxError):
        t.init(frame(box), (float("nan"), 0, 1, 1))
    assert t.state == TrackState.TRACKING


def test_build_tracker_errors_are_clear(tmp_path):
    with pytest.raises(TrackerBuildError, match="unknown tracker"):
        build_tracker("no_such_tracker")
    with pytest.raises(TrackerBuildError, match="does not exist"):
        build_tracker(f"fgsgt_tiny:{tmp_path / 'missing.pt'}")
    from fgsgt_ros.weights import default_checkpoint
    if not default_checkpoint().exists():
        with pytest.raises(TrackerBuildError, match="missing"):
            build_tracker("fgsgt")


def test_untrained_fgsgt_tiny_runs_end_to_end_and_loads_from_a_checkpoint(tmp_path):
    """Shapes and robustness only (random weights): box finite, saliency at frame size."""
    from fgsgt_ros.model.checkpoint import save_checkpoint
    from fgsgt_ros.tracker.thermal import ThermalPreprocessor

    t = build_tracker("fgsgt_tiny", allow_untrained=True, runtime="torch")  # saved below
    agc = ThermalPreprocessor()
    rng = np.random.default_rng(0)
    raw = rng.integers(7060, 7146, (97, 131)).astype(np.uint16)  # odd size, 16-bit
    t.init(agc(raw), (60, 40, 14, 12))
    for i in range(3):
        r = t.update(agc(np.roll(raw, i, axis=1)))
        assert np.isfinite(r.box).all() and 0.0 <= r.score <= 1.0
        assert r.saliency.shape == (97, 131)
    t.init(agc(raw), (-5, 90, 20, 20))  # re-init near a corner, partly outside
    t.update(agc(raw))
    path = tmp_path / "tiny.pt"
    save_checkpoint(path, t.model, t.model_cfg, extra={"tracker_config": {"penalty_k": 0.05}})
    loaded = build_tracker(f"fgsgt_tiny:{path}")
    assert loaded.cfg.penalty_k == 0.05 and loaded.model_cfg.name == "fgsgt_tiny"
    with pytest.raises(TrackerBuildError, match="holds preset"):
        build_tracker(f"siamrpnpp_tiny:{path}")


def test_lost_monitor_decides_from_the_targets_own_score_history():
    """Real footage: a visible target the network scores 0.76-0.92, below a threshold calibrated
    on generated data (0.879). Relative to its own recent median it is not weak; a vanished target
    (scores far below that median) still goes LOST, and comes back at the recover level."""
    from fgsgt_ros.tracker.base import LostMonitor

    rng = np.random.default_rng(0)
    visible = 0.84 + 0.08 * np.sin(np.arange(60) / 4.0) + rng.normal(0, 0.01, 60)  # 0.75..0.93
    cfg = TrackerConfig(lost_threshold=0.879, recover_threshold=0.879, lost_frames=5,
                        lost_relative=0.75)
    m = LostMonitor(cfg)
    m.start()
    assert all(m.step(s) == TrackState.TRACKING for s in visible)
    assert m.levels()[0] == pytest.approx(0.75 * m.reference) and m.reference < 0.879
    states = [m.step(0.3) for _ in range(5)]  # gone: far below its own level
    assert states[:4] == [TrackState.TRACKING] * 4 and states[4] == TrackState.LOST
    assert m.step(0.7) == TrackState.LOST  # below min(recover_threshold, reference)
    assert m.step(0.9) == TrackState.TRACKING
    # absolute rule only (lost_relative 0, the behaviour before): the same visible target is LOST
    old = LostMonitor(dataclasses.replace(cfg, lost_relative=0.0))
    old.start()
    lost = [old.step(s) == TrackState.LOST for s in visible]
    assert np.mean(lost) > 0.3
    # the old positional form still works and keeps TrackerConfig's relative defaults
    legacy = LostMonitor(0.879, 5, 0.879)
    assert legacy.lost_relative == TrackerConfig().lost_relative
    legacy.retune(cfg)
    assert legacy.reference_frames == cfg.reference_frames
