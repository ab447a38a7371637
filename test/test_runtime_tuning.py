"""Runtime tuning without ROS: TrackingSession.retune applies new tracker and AGC settings at once,
keeping the target (the node's tracker.* / thermal.* parameters go through it)."""

import dataclasses

import numpy as np
import pytest

from fgsgt_dev.testing import scene, shipped_model_or_peer, target_box
from fgsgt_ros.tracker.session import TrackingSession


@pytest.fixture(scope="module")
def session():
    return TrackingSession(shipped_model_or_peer() or "fgsgt", device="cpu", num_threads=1)


def test_lost_thresholds_take_effect_at_once_and_keep_the_target(session):
    session.init(scene(0), target_box(0))
    base = session.tracker_cfg
    states = [session.step(scene(i)).state for i in range(1, 4)]
    assert states == ["TRACKING"] * 3
    # nothing scores 1.0: with these thresholds every frame is weak -> LOST after lost_frames
    absolute = {"lost_relative": 0.0} if hasattr(base, "lost_relative") else {}  # no relative level
    strict = dataclasses.replace(base, lost_threshold=1.0, recover_threshold=1.0, **absolute)
    assert session.retune(tracker_cfg=strict)
    assert session.state == "TRACKING"  # the target is kept, not reset
    states = [session.step(scene(i)).state for i in range(4, 4 + base.lost_frames + 1)]
    assert states[-1] == "LOST" and states[0] == "TRACKING", states
    assert session.retune(tracker_cfg=dataclasses.replace(base, lost_threshold=0.0,
                                                          recover_threshold=0.0, **absolute))
    result = session.step(scene(20))
    assert result.state == "TRACKING"
    assert session.tracker_cfg.recover_threshold == 0.0
    session.retune(tracker_cfg=base)


def test_agc_polarity_takes_effect_on_the_next_frame(session):
    session.init(scene(30), target_box(30))
    white = session.step(scene(31), want_image=True).image
    session.retune(thermal_cfg=dataclasses.replace(session.thermal_cfg, polarity="black_hot"))
    black = session.step(scene(32), want_image=True).image
    assert session.state == "TRACKING"
    assert black.mean() > white.mean() + 100  # background was dark, now bright
    session.retune(thermal_cfg=dataclasses.replace(session.thermal_cfg, polarity="white_hot"))
    assert np.abs(session.step(scene(33), want_image=True).image.astype(int) - white).mean() < 20


def test_template_update_and_camera_motion_switch_on_at_run_time():
    """Switched on while tracking, both act from the next frame (no new init needed)."""
    import torch

    from fgsgt_ros.tracker import build_tracker, load_model

    if shipped_model_or_peer() != "":
        pytest.skip("the shipped network is needed")
    base = dataclasses.replace(load_model("fgsgt").tracker_config, template_update=0.0,
                               camera_motion=False)
    from fgsgt_ros.tracker.thermal import ThermalPreprocessor

    agc = ThermalPreprocessor()
    frames = [agc(scene(i)) for i in range(3)]
    tracker = build_tracker("fgsgt", tracker_cfg=base)
    tracker.init(frames[0], target_box(0))
    first = [k.clone() for k in tracker._kernels]
    tracker.update(frames[1])
    assert all(torch.equal(a, b) for a, b in zip(first, tracker._kernels))  # update is off
    tracker.set_config(dataclasses.replace(base, template_update=1.0, template_update_interval=1,
                                           template_update_score=0.0, camera_motion=True))
    assert tracker._camera is not None
    tracker.update(frames[2])
    assert not all(torch.equal(a, b) for a, b in zip(first, tracker._kernels))
    tracker.set_config(base)
    assert tracker._camera is None
