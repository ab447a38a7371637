"""The synthetic thermal sequence generator: deterministic, radiometric, ground truth that fits."""

import dataclasses

import numpy as np
import pytest

from fgsgt_ros.cli import main as cli_main
from fgsgt_ros.data.sequence import read_plain_dataset
from fgsgt_ros.data.synth import PRESETS, generate_sequence, get_preset


def test_same_seed_gives_identical_sequences_and_other_seed_differs():
    cfg = PRESETS["tiny"]
    a = generate_sequence(cfg, 12, seed=5, index=1)
    b = generate_sequence(cfg, 12, seed=5, index=1)
    c = generate_sequence(cfg, 12, seed=6, index=1)
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames))
    np.testing.assert_array_equal(a.boxes, b.boxes)
    assert not all(np.array_equal(x, y) for x, y in zip(a.frames, c.frames))


def test_frames_are_14bit_radiometric_with_a_narrow_range_and_a_clean_first_box():
    cfg = PRESETS["lepton"]
    for index in range(3):
        seq = generate_sequence(cfg, 6, seed=11, index=index)
        f = seq.frames[0]
        assert f.dtype == np.uint16 and f.shape == (120, 160)
        assert f.max() < 16384 and 500 < float(np.median(f)) < 9000
        assert float(np.percentile(f, 99) - np.percentile(f, 1)) < 3000  # a few hundred..thousand counts
        x, y, w, h = seq.boxes[0]
        assert np.isfinite(seq.boxes[0]).all()
        assert x >= 0 and y >= 0 and x + w <= 160 and y + h <= 120
        assert min(w, h) >= 5
        # the target is warm: its box is warmer than the frame on average
        inside = f[int(y):int(y + h), int(x):int(x + w)].astype(float)
        assert inside.mean() > np.median(f)


def test_leaving_target_gives_absent_rows_and_reappears():
    cfg = dataclasses.replace(PRESETS["lepton"], p_leave=1.0, p_occlusion=0.0, distractors=(0, 0))
    found = False
    for index in range(6):
        seq = generate_sequence(cfg, 60, seed=2, index=index)
        absent = ~np.isfinite(seq.boxes).all(axis=1)
        if absent.any() and not absent[0]:
            found = True
            assert seq.info["leave"]
    assert found


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ValueError, match="valid"):
        get_preset("nope")


def test_generate_cli_writes_readable_plain_sequences(tmp_path, capsys):
    out = tmp_path / "syn"
    assert cli_main(["generate", "--out", str(out), "--sequences", "2", "--frames", "5", "--seed", "1",
                     "--preset", "tiny", "--quiet"]) == 0
    seqs = read_plain_dataset(out)
    assert len(seqs) == 2 and all(len(s) == 5 for s in seqs)
    assert seqs[0].frame(0).dtype == np.uint16
    assert cli_main(["generate", "--out", str(out), "--sequences", "1", "--frames", "1",
                     "--seed", "1"]) == 2
    assert "--frames" in capsys.readouterr().err


# ---- rich scenes: articulated targets, look-alikes, cold targets, PTZ, 8-bit display video

def _small_frames(name, **changes):
    """A rich preset on 320x256 frames (fast), with optional overrides."""
    return dataclasses.replace(PRESETS[name], frame_sizes=((320, 256),), frame_size_probs=(1.0,), **changes)


def test_rich_presets_are_deterministic_per_seed():
    for name in ("display", "small", "people", "realistic"):
        cfg = _small_frames(name)
        a = generate_sequence(cfg, 3, seed=21, index=2)
        b = generate_sequence(cfg, 3, seed=21, index=2)
        c = generate_sequence(cfg, 3, seed=22, index=2)
        assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames)), name
        np.testing.assert_array_equal(a.boxes, b.boxes)
        assert a.info["shape"] == b.info["shape"]
        assert not all(np.array_equal(x, y) for x, y in zip(a.frames, c.frames)), name


def test_display_presets_give_8bit_frames_and_raw_presets_16bit(tmp_path):
    for index in range(3):
        seq = generate_sequence(_small_frames("display"), 3, seed=3, index=index)
        assert seq.info["output"] == "display8"
        assert all(f.dtype == np.uint8 and f.shape == (256, 320) for f in seq.frames)
        assert int(seq.frames[0].max()) - int(seq.frames[0].min()) > 100  # a stretched display image
        raw = generate_sequence(_small_frames("small", p_display=0.0), 3, seed=3, index=index)
        assert raw.info["output"] == "raw16" and all(f.dtype == np.uint16 for f in raw.frames)
    # written as 8-bit PNG: the pipeline reads uint8 frames, like real display video
    out = tmp_path / "disp"
    assert cli_main(["generate", "--out", str(out), "--sequences", "1", "--frames", "2", "--seed", "5",
                     "--preset", "display", "--quiet"]) == 0
    seq = read_plain_dataset(out)[0]
    assert seq.frame(0).dtype == np.uint8 and seq.frame(0).ndim == 2
    assert seq.category in ("person", "vehicle", "animal", "drone")


def test_rich_ground_truth_is_the_box_of_the_target_pixels():
    """The difference between a scene and the same scene without the target (same random draws)
    is the target; its box is the ground truth (within the optical blur). Display conversion does
    not change the ground truth."""
    checked = 0
    for name in ("realistic", "small", "people"):
        raw_cfg = _small_frames(name, p_display=0.0)
        for index in range(4):
            a = generate_sequence(raw_cfg, 2, seed=8, index=index)
            b = generate_sequence(raw_cfg, 2, seed=8, index=index, render_target=False)
            assert not np.isfinite(b.boxes).any()
            gt = a.boxes[0]
            assert np.isfinite(gt).all()
            d = np.abs(a.frames[0].astype(float) - b.frames[0].astype(float))
            ys, xs = np.nonzero(d > 0.1 * d.max())  # cool parts (glass, tails) are faint: a low threshold
            diff_box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
            assert np.abs(diff_box - [gt[0], gt[1], gt[0] + gt[2], gt[1] + gt[3]]).max() <= 3, (name, index)
            disp = generate_sequence(_small_frames(name, p_display=1.0), 2, seed=8, index=index)
            np.testing.assert_array_equal(disp.boxes, a.boxes)
            checked += 1
    assert checked == 12


def test_rich_box_sizes_and_aspect_ratios_follow_the_preset():
    for name, n_seq in (("realistic", 10), ("small", 8), ("display", 8)):
        cfg = _small_frames(name)
        lo, hi = cfg.target_aspect
        sides = []
        for index in range(n_seq):
            seq = generate_sequence(cfg, 2, seed=13, index=index)
            x, y, w, h = seq.boxes[0]
            assert min(w, h) >= cfg.min_side and max(w, h) <= cfg.max_side, (name, index, w, h)
            assert lo / 1.35 <= w / h <= hi * 1.35, (name, index, w, h)
            assert x >= 0 and y >= 0 and x + w <= 320 and y + h <= 256
            sides.append(np.sqrt(w * h))
        assert min(sides) >= cfg.target_size[0] * 0.6 and max(sides) <= cfg.target_size[1] * 1.35, (name, sides)
    # the small preset is small; the realistic one spans tiny to large, tall to wide
    assert max(np.sqrt(generate_sequence(_small_frames("small"), 2, seed=1, index=i).boxes[0][2:].prod())
               for i in range(6)) <= 20


def test_cold_targets_are_darker_than_their_surroundings():
    for name in ("display", "realistic"):
        cfg = _small_frames(name, p_cold_target=1.0, p_black_hot=0.0, p_overlay=0.0)
        for index in range(4):
            seq = generate_sequence(cfg, 2, seed=17, index=index)
            empty = generate_sequence(cfg, 2, seed=17, index=index, render_target=False)
            assert seq.info["cold_target"]
            f, g = seq.frames[0].astype(float), empty.frames[0].astype(float)
            d = np.abs(f - g)
            target = d > 0.3 * d.max()
            x, y, w, h = seq.boxes[0].astype(int)
            r = max(3, int(0.5 * max(w, h)))
            ring = np.zeros_like(target)
            ring[max(0, y - r):y + h + r, max(0, x - r):x + w + r] = True
            ring[y:y + h, x:x + w] = False
            assert f[target].mean() < np.median(f[ring]), (name, index, seq.info["shape"])
            assert f[target].mean() < g[target].mean()  # the target is colder than what it hides


def test_people_preset_has_lookalike_people_near_the_target():
    cfg = _small_frames("people", distractors=(0, 0))
    near = 0
    for index in range(6):
        seq = generate_sequence(cfg, 2, seed=29, index=index)
        assert seq.info["shape"] == "person"
        x, y, w, h = seq.boxes[0]
        looks = [d for d in seq.info["distractor_info"] if d["lookalike"]]
        assert looks and all(d["category"] == "person" for d in looks)
        sizes = [d["box0"][3] / h for d in looks if d["box0"] is not None]
        assert sizes and all(0.6 <= s <= 1.6 for s in sizes)  # same class, similar size
        cx = x + w / 2
        if any(d["box0"] is not None and abs(d["box0"][0] + d["box0"][2] / 2 - cx) < 5 * w for d in looks):
            near += 1
    assert near >= 4


def test_rich_scene_rejects_unknown_categories_and_render_target_needs_rich():
    with pytest.raises(ValueError, match="category"):
        generate_sequence(_small_frames("small", categories=("zeppelin",), category_probs=(1.0,)), 2, 0)
    with pytest.raises(ValueError, match="rich"):
        generate_sequence(PRESETS["tiny"], 2, 0, render_target=False)
