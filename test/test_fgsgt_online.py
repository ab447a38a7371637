"""The online branch on FGSGT: the network hands the tracker its search feature, the branch's
response lands on the right score-map points and is mixed into every anchor's score there, and
a tracker built from a checkpoint (either family) runs it or not as the checkpoint says."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from fgsgt_ros.model.config import OnlineConfig
from fgsgt_ros.model.registry import build_model, get_preset

ONLINE = OnlineConfig(enabled=True, layers=2, hidden=16, offline_weight=0.25)


def _crops(cfg, seed=0):
    """Exemplar and search crops: a warm 20x30 block centred on a noisy background."""
    g = torch.Generator().manual_seed(seed)
    crops = []
    for side in (cfg.exemplar_size, cfg.instance_size):
        img = 60 + 10 * torch.rand(1, 1, side, side, generator=g)
        c = side // 2
        img[..., c - 15:c + 15, c - 10:c + 10] += 140
        crops.append(img.expand(1, 3, side, side).contiguous())
    return crops[0], crops[1]


def test_the_online_config_adds_the_search_feature_and_changes_no_other_output():
    off = get_preset("fgsgt_tiny")
    on = dataclasses.replace(off, online=ONLINE)
    torch.manual_seed(0)
    net_off = build_model(off).eval()
    net_on = build_model(on).eval()
    net_on.load_state_dict(net_off.state_dict())
    z, x = _crops(off)
    with torch.no_grad():
        ref = net_off.track_with_kernels(x, *net_off.template_kernels(z))
        got = net_on.track_with_kernels(x, *net_on.template_kernels(z))
    assert len(ref) == 3 and len(got) == 4
    for a, b in zip(got, ref):
        assert torch.equal(a, b)
    feat = got[3]
    # stride 8, centred like the score map, the template's border wider on each side
    assert feat.shape[-1] == on.search_feature_size == on.score_size + on.head.template_crop - 1
    assert feat.shape[1] == on.head.neck_channels


def test_the_response_is_mixed_into_every_anchor_at_its_own_point():
    """Score of anchor a at point p = w * offline foreground + (1 - w) * clip(response at p, 0, 1),
    the response's F x F grid centre-cropped onto the S x S score grid."""
    from fgsgt_ros.model.families.ibfp import IBFPLossConfig
    from fgsgt_ros.tracker.decoding import AnchorDecoder
    from fgsgt_ros.tracker.online import OnlineLearner

    from fgsgt_ros import weights
    from fgsgt_ros.model.checkpoint import load_checkpoint

    if not weights.checkpoint_path("fgsgt_tiny").is_file():
        pytest.skip("needs the shipped fgsgt_tiny weights (a checkout without them)")
    trained, cfg, _ = load_checkpoint(weights.checkpoint_path("fgsgt_tiny"))
    cfg = dataclasses.replace(cfg, online=ONLINE)
    net = build_model(cfg).eval()
    net.load_state_dict(trained.state_dict())
    z, x = _crops(cfg, seed=3)
    learner = OnlineLearner(cfg.online, IBFPLossConfig(), net.track, cfg.stride,
                            feature_index=3, feature_stride=cfg.stride, scores="anchor_logits")
    with torch.no_grad():
        net.template(z)
        out = net.track(x)
    learner.start(x, out, np.array([0.0, 0.0, 20.0, 30.0]))
    assert learner.stats["steps"] == cfg.online.init_steps
    decode = AnchorDecoder.from_model_cfg(cfg)
    offline = decode(out).score.reshape(cfg.anchor_num, -1)
    mixed = decode(learner.refine(out)).score.reshape(cfg.anchor_num, -1)
    with torch.no_grad():
        r = learner.net(out[3] * learner._scale)[0, 0].numpy()
    s, o = cfg.score_size, (cfg.head.template_crop - 1) // 2
    at_points = np.clip(r[o:o + s, o:o + s].reshape(-1), 0.0, 1.0)
    w = cfg.online.offline_weight
    expected = np.clip(w * offline + (1 - w) * at_points[None], 1e-6, 1 - 1e-6)
    np.testing.assert_allclose(mixed, expected, atol=1e-5)
    # fp16 logits (CUDA autocast) mix in float32: finite even where the mixed score is ~1
    sure = torch.zeros_like(out[0])
    sure[:, cfg.anchor_num:] = 30.0  # every anchor certain
    learner.cfg = dataclasses.replace(learner.cfg, offline_weight=1.0)  # mixed score exactly 1
    half = learner.refine((sure.half(),) + tuple(out[1:]))[0]
    assert half.dtype == torch.float16 and torch.isfinite(half).all()
    # fitted on the first frame (trained features): the response peaks at the target's point,
    # the centre of the score grid
    assert int(np.argmax(r[o:o + s, o:o + s])) == (s * s) // 2


@pytest.mark.parametrize("preset,switch", [("ibfp_tiny", None), ("ibfp_tiny_offline", None),
                                           ("fgsgt_tiny", ONLINE), ("fgsgt_tiny", None)])
def test_the_checkpoint_decides_whether_the_tracker_runs_the_online_branch(tmp_path, preset,
                                                                          switch):
    """Both families: the checkpoint's model config switches the branch on (IBFP's presets, or
    FGSGT's ``online`` set in the file), the tracker keeps the family's decoder and the file's
    LOST thresholds, and runs."""
    from fgsgt_ros.model.checkpoint import save_checkpoint
    from fgsgt_ros.tracker import build_tracker
    from fgsgt_ros.tracker.decoding import AnchorDecoder, AnchorFreeDecoder
    from fgsgt_ros.tracker.online import OnlineLearner

    cfg = get_preset(preset)
    if switch is not None:
        cfg = dataclasses.replace(cfg, online=switch)
    online = cfg.online.enabled
    torch.manual_seed(0)
    net = build_model(cfg).eval()
    path = tmp_path / "m.pt"
    save_checkpoint(path, net, cfg, extra={"tracker_config": {"lost_threshold": 0.2,
                                                              "recover_threshold": 0.3}})
    tracker = build_tracker(f"{preset}:{path}")
    decoder = AnchorFreeDecoder if preset.startswith("ibfp") else AnchorDecoder
    assert isinstance(tracker.decoder, decoder)
    assert isinstance(tracker.online, OnlineLearner) == online
    assert tracker.cfg.lost_threshold == pytest.approx(0.2)
    img = np.full((120, 160), 40, np.uint8)
    img[50:74, 60:76] = 200
    tracker.init(img, (60, 50, 16, 24))
    for _ in range(3):
        res = tracker.update(img)
        assert np.isfinite(res.box).all() and 0.0 <= res.score <= 1.0
    if online:
        assert tracker.online.stats["steps"] >= cfg.online.init_steps


def test_onnxruntime_tracker_runs_the_online_branch_like_pytorch(tmp_path, monkeypatch):
    """Same weights with the branch on and off are two exported graphs (the online one has the
    feature output), and the onnxruntime tracker follows the PyTorch one frame by frame."""
    pytest.importorskip("onnxruntime")
    from fgsgt_ros.model.checkpoint import save_checkpoint
    from fgsgt_ros.model.runtime import OnnxNet
    from fgsgt_ros.tracker import build_tracker

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # the trackers' export cache
    torch.manual_seed(0)
    off = get_preset("fgsgt_tiny")
    net = build_model(off).eval()
    paths = {}
    for online in (False, True):
        cfg = dataclasses.replace(off, online=ONLINE) if online else off
        paths[online] = tmp_path / f"m_{online}.pt"
        save_checkpoint(paths[online], net, cfg)
    z, x = _crops(off)
    for online in (False, True):  # the export cache of build_tracker(runtime="onnx")
        ort_net = build_tracker(f"fgsgt_tiny:{paths[online]}", runtime="onnx").model
        ort_net.template(z)
        assert isinstance(ort_net, OnnxNet) and len(ort_net.track(x)) == (4 if online else 3)
    assert len(list((tmp_path / "xdg").rglob("*.template.onnx"))) == 2

    frames = []
    for i in range(6):
        img = np.full((120, 160), 40, np.uint8)
        img[50 + i:74 + i, 60 + 2 * i:76 + 2 * i] = 200
        frames.append(img)
    runs = []
    for runtime in ("torch", "onnx"):
        tracker = build_tracker(f"fgsgt_tiny:{paths[True]}", runtime=runtime)
        tracker.init(frames[0], (60, 50, 16, 24))
        runs.append(np.array([tracker.update(f).box for f in frames[1:]]))
        assert tracker.online is not None and tracker.online.stats["steps"] > 0
    np.testing.assert_allclose(runs[0], runs[1], atol=1e-2)
