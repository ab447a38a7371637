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
