"""The shipped model keeps a small real thermal target and a cold one among warm look-alikes (what
issue 9's work bought), says TRACKING while it does (issue 10's LOST rule), and finds a small
target again when it comes back elsewhere (the re-detection scan while LOST).

A 13-19 x 6-13 px drone over a tree line in real 8-bit infrared display video (tir_real_dev
``antiuav_metric04``, 640x512, burnt-in overlay), all 300 frames through the same
``TrackingSession`` the node runs, scored on what the node publishes (no box while LOST).
Measured with the shipped default (docs/MODEL_CARD.md): mean IoU 0.45, IoU > 0.2 on 85 % of the
frames (the same weights without the online branch: 0.48 / 81 %; they lose the drone around
frames 20-60 and take it back). The model shipped before
issue 9 (generated data only, a fixed 10 px minimum box) lost the drone after about 20 frames for
good: mean IoU 0.03, IoU > 0.2 on 7 % of the frames. The floors sit far below the measured
figures and far above that model's.
"""

from __future__ import annotations

import numpy as np
import pytest

from fgsgt_ros.boxes import iou_xywh
from fgsgt_ros.data.sequence import read_plain_sequence

CLIP = "antiuav_metric04"
MEAN_IOU_FLOOR = 0.30
FOLLOWED_SHARE_FLOOR = 0.5  # share of frames with IoU > 0.2


def published_ious(seq, spec="fgsgt"):
    """Track ``seq`` from its first box through the node's ``TrackingSession``: IoU of what is
    published (0 without a box) on every later frame with ground truth."""
    from fgsgt_ros.tracker.session import TrackingSession

    session = TrackingSession(spec)
    session.init(seq.frame(0), seq.groundtruth[0])
    ious = []
    for i in range(1, len(seq)):
        box = session.step(seq.frame(i)).published
        gt = seq.groundtruth[i]
        if np.isfinite(gt).all():
            ious.append(0.0 if box is None else float(iou_xywh(box[None], gt[None])[0]))
    return np.asarray(ious)


@pytest.fixture(scope="module")
def clip(real_data_dir):
    path = real_data_dir / CLIP
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    return read_plain_sequence(path)


def test_shipped_model_follows_a_small_real_drone(clip):
    ious = published_ious(clip)
    assert len(ious) == len(clip) - 1  # the drone is annotated on every frame
    assert ious.mean() >= MEAN_IOU_FLOOR, f"mean IoU {ious.mean():.3f} over {len(ious)} frames"
    followed = float((ious > 0.2).mean())
    assert followed >= FOLLOWED_SHARE_FLOOR, (
        f"IoU > 0.2 on only {followed:.0%} of the frames; per frame: {np.round(ious, 2)}")


LOST_CLIP = "smallanimal_tree_ftc"
WRONG_LOST_CEILING = 0.10  # share of frames with the own box on the target reported LOST


def test_shipped_model_does_not_report_a_real_target_it_is_on_as_lost(real_data_dir):
    """A 5-16 px animal in a tree, in view on every frame of a real Lepton clip (raw 16-bit). The
    network's score can sink far while the box stays on it (the previous weights: 0.93 -> 0.66 at
    IoU 0.8). With LOST thresholds calibrated on the clips the model was fine-tuned on (0.767
    absolute, 0.977 relative) those weights reported LOST on 86 % of the frames with the box on
    the animal and, searching in LOST mode, never re-acquired; with thresholds calibrated on
    generated held-out data: 0 % (the shipped weights: 0 % too)."""
    from fgsgt_ros.tracker.session import TrackingSession

    path = real_data_dir / LOST_CLIP
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    seq = read_plain_sequence(path)
    session = TrackingSession("fgsgt")
    session.init(seq.frame(0), seq.groundtruth[0])
    on_target = lost_on_target = 0
    for i in range(1, len(seq)):
        r = session.step(seq.frame(i))
        if float(iou_xywh(r.box[None], seq.groundtruth[i][None])[0]) > 0.3:
            on_target += 1
            lost_on_target += r.state == "LOST"
    assert on_target >= 0.5 * (len(seq) - 1), f"own box on the target on only {on_target} frames"
    share = lost_on_target / on_target
    assert share <= WRONG_LOST_CEILING, (
        f"LOST on {share:.0%} of the {on_target} frames with the box on the visible target")


BUS_CLIP = "vtuav_bus1_sample"
BUS_MEAN_IOU_FLOOR = 0.3


def test_shipped_model_keeps_a_cold_bus_among_warm_cars(real_data_dir):
    """A bus in night traffic seen from above (tir_real_dev ``vtuav_bus1_sample``, 1920x1080
    8-bit display video, 101 frames, every 10th annotated), low contrast and cooler than the cars
    around it. Measured over the 10 annotated frames after the first, published boxes: the
    shipped file (online branch on) mean IoU 0.60, every frame above 0.45; the same weights
    without the online branch (``fgsgt_tiny_offline.pt``) 0.02 (its box leaves the bus for the
    textured road above it in the first frames); the model shipped before issue 9 0.00."""
    path = real_data_dir / BUS_CLIP
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    ious = published_ious(read_plain_sequence(path))
    assert len(ious) == 10
    assert np.mean(ious) >= BUS_MEAN_IOU_FLOOR, f"IoU on the annotated frames: {np.round(ious, 2)}"


RAT_CLIP = "rat_bush_tr"
RAT_REENTRY = 57  # 0-based frame index: back across the right edge after 32 absent frames
RAT_FOUND_FLOOR = 4  # frames after re-entry with a published box on the rat (IoU > 0.3)


def test_shipped_model_finds_a_small_real_target_that_comes_back_elsewhere(real_data_dir):
    """Re-detection: a 2-5 px rat (tir_real_dev ``rat_bush_tr``, Lepton 16-bit raw) goes into a
    bush, is absent for 32 frames and re-enters across the image edge 20 px from where it was
    lost. The search around the last box (2x the context at half the resolution) never sees it
    again; the whole-frame scan at the tracking resolution finds it. Measured with the shipped
    file: the published box on the rat (IoU > 0.3) on 11 of the 38 frames after the re-entry;
    with ``lost_scan_every: 0`` on none."""
    path = real_data_dir / RAT_CLIP
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    seq = read_plain_sequence(path)
    visible = np.isfinite(seq.groundtruth).all(axis=1)
    assert not visible[RAT_REENTRY - 32:RAT_REENTRY].any() and visible[RAT_REENTRY]
    # published_ious covers the visible frames after the first: skip those before the re-entry
    ious = published_ious(seq)[int(visible[1:RAT_REENTRY].sum()):]
    found = int((ious > 0.3).sum())
    assert found >= RAT_FOUND_FLOOR, (
        f"on the rat after it came back on {found} frames: {np.round(ious, 2)}")


SHORT_DISPLAY_FRAMES = 60
SHORT_DISPLAY_FLOOR = 0.45  # mean IoU of the published boxes over the first 60 frames


def test_shipped_model_follows_a_short_real_display_clip_that_fgsgt_tiny_loses(clip):
    """The first 60 frames of the drone clip above (8-bit display video): the shipped model on its
    pretrained backbone stays on the drone, mean IoU 0.54 over the 59 frames after the first;
    ``fgsgt_tiny`` (the model shipped before it, trained from scratch) loses it within the first
    20 frames and takes it back later, 0.33. The floor sits between the two."""
    from dataclasses import replace

    short = replace(clip, frame_paths=clip.frame_paths[:SHORT_DISPLAY_FRAMES],
                    groundtruth=clip.groundtruth[:SHORT_DISPLAY_FRAMES], attributes={})
    ious = published_ious(short)
    assert ious.mean() >= SHORT_DISPLAY_FLOOR, f"per frame: {np.round(ious, 2)}"
    tiny = published_ious(short, "fgsgt_tiny")
    assert tiny.mean() < SHORT_DISPLAY_FLOOR, "the floor no longer tells the two models apart"
