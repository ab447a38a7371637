"""Training pairs: anchor labels, regression targets, saliency masks and crops on hand-built boxes."""

import math

import numpy as np
import pytest

from fgsgt_ros.boxes import cxcywh_to_xywh, iou_xywh
from fgsgt_ros.data.samples import PairDataset, SampleConfig, context_size, crop_affine
from fgsgt_ros.data.targets import AnchorTarget, saliency_mask
from fgsgt_ros.data.sequence import Sequence, write_plain_sequence
from fgsgt_ros.model import anchors as anchor_lib

STRIDE, RATIOS, SCALES, SIZE = 8, (0.33, 0.5, 1.0, 2.0, 3.0), (8.0,), 25


def _target():
    return AnchorTarget(STRIDE, RATIOS, SCALES, SIZE, SampleConfig())


def test_box_equal_to_the_centre_square_anchor_is_positive_with_zero_delta():
    at = _target()
    rng = np.random.default_rng(0)
    box = np.array([0.0, 0.0, 64.0, 64.0])  # the 64x64 anchor at the centre cell
    label, delta, weight = at(box, False, rng)
    a_idx = 2 * SIZE * SIZE + (SIZE // 2) * SIZE + SIZE // 2  # anchor shape 2 (ratio 1), centre cell
    np.testing.assert_allclose(at.anchors[a_idx], [0, 0, 64, 64])
    assert label[a_idx] == 1
    np.testing.assert_allclose(delta[:, a_idx], 0.0, atol=1e-6)
    iou = iou_xywh(cxcywh_to_xywh(at.anchors), cxcywh_to_xywh(box)[None])
    assert (iou[label == 1] > 0.6).all() and (iou[label == 0] < 0.3).all()
    assert 1 <= (label == 1).sum() <= 16 and (label == 0).sum() == 48
    assert weight.sum() == pytest.approx(1.0) and (weight[label != 1] == 0).all()


def test_regression_targets_match_the_anchor_encoding():
    at = _target()
    box = np.array([13.0, -7.0, 40.0, 90.0])
    label, delta, _ = at(box, False, np.random.default_rng(1))
    pos = np.flatnonzero(label == 1)
    assert len(pos) > 0
    decoded = anchor_lib.decode(delta[:, pos], at.anchors[pos])
    np.testing.assert_allclose(decoded, np.tile(box, (len(pos), 1)), rtol=1e-4, atol=1e-3)
    a = at.anchors[pos[0]]
    np.testing.assert_allclose(delta[:, pos[0]], [(13 - a[0]) / a[2], (-7 - a[1]) / a[3],
                                                  math.log(40 / a[2]), math.log(90 / a[3])], rtol=1e-5)


def test_negative_pair_marks_only_anchors_near_the_object_as_negative():
    at = _target()
    box = np.array([16.0, 0.0, 60.0, 60.0])  # two cells right of the centre
    label, _, weight = at(box, True, np.random.default_rng(2))
    assert (label == 1).sum() == 0 and weight.sum() == 0
    neg = np.flatnonzero(label == 0)
    assert 0 < len(neg) <= 48
    cells = neg % (SIZE * SIZE)
    rows, cols = cells // SIZE, cells % SIZE
    assert (np.abs(rows - SIZE // 2) <= 3).all() and (np.abs(cols - (SIZE // 2 + 2)) <= 3).all()


def test_saliency_mask_covers_exactly_the_box():
    m = saliency_mask(np.array([10.0, -5.0, 20.0, 10.0]), 64)
    assert m.shape == (1, 64, 64) and m.sum() == 200
    ys, xs = np.nonzero(m[0])
    # centre-relative box [0, 20) x [-10, 0) -> pixel columns 32..51, rows 22..31
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (32, 51, 22, 31)


def test_crop_affine_puts_the_requested_centre_in_the_middle_and_pads_with_the_given_value():
    img = np.zeros((50, 60), np.uint8)
    img[20:24, 30:34] = 200  # a 4x4 square centred at continuous (32, 22)
    crop = crop_affine(img, (32.0, 22.0), (8.0, 8.0), 8, 7)
    np.testing.assert_array_equal(crop[2:6, 2:6], 200)
    assert crop[0, 0] == 0
    edge = crop_affine(img, (0.0, 0.0), (8.0, 8.0), 8, 7)
    assert edge[0, 0] == 7  # outside the image: padding value


def test_context_size_follows_siamrpnpp():
    assert context_size(10, 30, 0.5) == pytest.approx(math.sqrt(30 * 50))


def _seq(tmp_path, absent_rows=()):
    from fgsgt_ros.data.synth import PRESETS, generate_sequence

    s = generate_sequence(PRESETS["tiny"], 8, seed=4)
    boxes = s.boxes.copy()
    boxes[list(absent_rows)] = np.nan
    write_plain_sequence(tmp_path / "s", s.frames, boxes)
    from fgsgt_ros.data.sequence import read_plain_sequence

    return read_plain_sequence(tmp_path / "s")


def _identity_agc(frame):
    f = frame.astype(np.float32)
    lo, hi = np.percentile(f, [1, 99])
    return np.clip((f - lo) / max(hi - lo, 1) * 255, 0, 255).astype(np.uint8)


def test_pair_dataset_gives_the_loss_contract_and_is_deterministic(tmp_path):
    from fgsgt_ros.model.families.fgsgt import get_preset

    cfg = get_preset("fgsgt_tiny")
    seq = _seq(tmp_path, absent_rows=(1, 2, 3, 4, 5, 6))  # only frames 0 and 7 present
    ds = PairDataset([seq], cfg, SampleConfig(), samples_per_epoch=6, seed=3, preprocess=_identity_agc)
    n = cfg.anchor_num * cfg.score_size ** 2
    for i in range(6):
        s = ds[i]
        assert s["template"].shape == (1, cfg.exemplar_size, cfg.exemplar_size)
        assert s["search"].shape == (1, cfg.instance_size, cfg.instance_size)
        assert s["template"].dtype == np.uint8
        assert s["label_cls"].shape == (n,) and s["label_loc"].shape == (4, n)
        assert s["label_loc_weight"].shape == (n,)
        assert s["saliency"].shape == (1, cfg.instance_size, cfg.instance_size)
        assert np.isfinite(s["target_box"]).all() and s["target_box"].shape == (4,)
        assert not s["negative"]  # a single sequence cannot give negative pairs
    a, b = ds[2], ds[2]
    assert all(np.array_equal(a[k], b[k]) for k in a)
    ds.set_epoch(1)
    assert not np.array_equal(ds[2]["search"], a["search"])


def test_pair_dataset_refuses_sequences_without_a_present_frame(tmp_path):
    from fgsgt_ros.model.families.fgsgt import get_preset

    seq = Sequence("empty", [tmp_path / "x.png"], np.full((1, 4), np.nan))
    with pytest.raises(ValueError, match="present"):
        PairDataset([seq], get_preset("fgsgt_tiny"), preprocess=_identity_agc)


def test_training_crops_match_the_trackers_crop_convention():
    from fgsgt_ros.tracker.siamese import crop_square

    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (70, 90), dtype=np.uint8)
    for center, side in (((40.3, 31.7), 37.0), ((2.0, 60.0), 51.5)):
        mine = crop_affine(img, center, (side, side), 31, 17.0)
        theirs = crop_square(img, center, side, 31, 17.0)
        np.testing.assert_array_equal(mine, theirs)
