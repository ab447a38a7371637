"""IBFP (instance-based feature pyramid: IBU + CSCS, anchor-free centre/ltrb head, focal hinge
MSE) and its tracker-side online branch."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from fgsgt_ros.model.families.ibfp import PRESETS, IBFPConfig, level_sizes, points_of
from fgsgt_ros.model.losses import IBFPLoss, focal_hinge_mse
from fgsgt_ros.model.points import center_label, regression_mask
from fgsgt_ros.model.registry import build_model, family_of, get_preset

torch.set_num_threads(1)

TINY_ROWS = ["ibfp_tiny", "ibfp_tiny_single", "ibfp_tiny_concat", "ibfp_tiny_ibu"]


def _inputs(cfg, batch=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    z = torch.rand(batch, 3, cfg.exemplar_size, cfg.exemplar_size, generator=g) * 255
    x = torch.rand(batch, 3, cfg.instance_size, cfg.instance_size, generator=g) * 255
    return z, x


# ------------------------------------------------------------------ config, shapes
def test_presets_are_registered_with_the_paper_ablation_rows():
    assert family_of(get_preset("ibfp_tiny")).name == "ibfp"
    rows = {n: (PRESETS[n].fusion, PRESETS[n].cscs) for n in PRESETS}
    assert rows["ibfp_r18"] == ("ibu", True)
    assert rows["ibfp_r18_single"] == ("single", False)      # no IBU / CSCS: layer3 only
    assert rows["ibfp_r18_concat"] == ("concat", False)      # concatenation only
    assert rows["ibfp_r18_ibu"] == ("ibu", False)            # IBU without CSCS
    assert PRESETS["ibfp_tiny_offline"].online.enabled is False
    assert PRESETS["ibfp_tiny"].online.enabled is True
    for cfg in PRESETS.values():                              # config round trip
        assert IBFPConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="32 m"):
        dataclasses.replace(PRESETS["ibfp_tiny"], instance_size=160)
    with pytest.raises(ValueError, match="CSCS"):
        dataclasses.replace(PRESETS["ibfp_tiny"], fusion="concat")
    with pytest.raises(ValueError, match="unknown"):
        IBFPConfig.from_dict(dict(PRESETS["ibfp_tiny"].to_dict(), bogus=1))


def test_output_shapes_at_the_paper_size():
    cfg = get_preset("ibfp_r18")
    assert level_sizes(cfg.instance_size) == (10, 19, 37)   # layer4, layer3, layer2 of 289 px
    assert level_sizes(cfg.exemplar_size) == (5, 9, 17)
    torch.manual_seed(0)
    # batch statistics: an untrained ResNet-18 in eval mode (BN running stats 0/1) on 0..255
    # inputs overflows; a trained one has its statistics
    net = build_model(cfg).train()
    assert net.backbone.channels == (512, 256, 128)          # ResNet-18
    z, x = _inputs(cfg)
    with torch.no_grad():
        center, ltrb, feat = net.track_with_kernels(x, *net.template_kernels(z))
    assert center.shape == (1, 1, 37, 37) and ltrb.shape == (1, 4, 37, 37)
    assert feat.shape == (1, 256, 19, 19)
    assert (ltrb > 0).all()


@pytest.mark.parametrize("name", TINY_ROWS)
def test_output_shapes_of_the_tiny_rows(name):
    cfg = get_preset(name)
    torch.manual_seed(0)
    net = build_model(cfg).eval()
    z, x = _inputs(cfg, batch=2)
    s = cfg.score_size
    with torch.no_grad():
        kernels = net.template_kernels(z)
        center, ltrb, feat = net.track_with_kernels(x, *kernels)
        net.template(z)
        again = net.track(x)
    assert len(kernels) == (3 if cfg.fusion == "ibu" else 1)
    assert center.shape == (2, 1, s, s) and ltrb.shape == (2, 4, s, s)
    assert feat.shape[-1] == level_sizes(cfg.instance_size)[1]
    assert s == (11 if cfg.fusion == "single" else 21) and cfg.stride == (16 if s == 11 else 8)
    assert torch.equal(again[0], center)
    with pytest.raises(ValueError, match="kernels"):
        net.track_with_kernels(x, *kernels[:-1] if len(kernels) > 1 else ())


@pytest.mark.parametrize("name", TINY_ROWS)
def test_gradients_reach_every_parameter(name):
    cfg = get_preset(name)
    torch.manual_seed(0)
    net = build_model(cfg).train()
    z, x = _inputs(cfg, batch=2)
    from fgsgt_ros.data.targets import ibfp_targets

    build = ibfp_targets(cfg)
    items = [build(np.array([4.0, -6.0, 40.0, 28.0]), False), build(np.array([0, 0, 30.0, 30]), False)]
    targets = {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in items[0]}
    # the centre map must be pushed both ways (positives up, a negative above zero down)
    out = net.forward_train(z, x)
    loss = IBFPLoss(cfg)(out, targets)
    loss["total"].backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing


def test_onnx_export_matches_torch(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")

    from fgsgt_ros.model.export import export_onnx

    cfg = get_preset("ibfp_tiny")
    torch.manual_seed(0)
    net = build_model(cfg)
    with torch.no_grad():  # non-trivial BN statistics and CSCS weights, as in a trained model
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
        for c in net.cscs:
            c.expand.weight.normal_(std=0.1)
    net.eval()
    z, x = _inputs(cfg, seed=3)
    with torch.no_grad():
        kernels = net.template_kernels(z)
        ref = net.track_with_kernels(x, *kernels)
    knames = [f"k{i}" for i in range(len(kernels))]
    outs = list(family_of(cfg).outputs)
    track_path, template_path = export_onnx(net, tmp_path / "m.onnx")  # what users export
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    st = ort.InferenceSession(str(template_path), so, providers=["CPUExecutionProvider"])
    sx = ort.InferenceSession(str(track_path), so, providers=["CPUExecutionProvider"])
    k_ort = st.run(None, {"z": z.numpy()})
    for a, b in zip(k_ort, kernels):
        assert np.abs(a - b.numpy()).max() < 1e-3 * max(1.0, float(b.abs().max()))
    got = sx.run(None, {"x": x.numpy(), **dict(zip(knames, k_ort))})
    assert len(got) == 3
    for name_, a, b in zip(outs, got, ref):
        assert np.abs(a - b.numpy()).max() < 1e-3 * max(1.0, float(b.abs().max())), name_


# ------------------------------------------------------------------ loss and labels
def test_focal_hinge_mse_on_hand_built_points():
    # alpha 0.9, gamma 0.1, tau 0.05 (the paper's), squared
    label = torch.tensor([1.0, 0.5, 0.04, 0.0, 0.3])
    score = torch.tensor([0.8, 0.5, 0.3, -0.2, 0.0])
    per, pos = focal_hinge_mse(score, label, 0.9, 0.1, 0.05, 2.0)
    expect = [1.0 * 0.2 ** 2,            # positive: label^gamma |s - y|^2
              0.0,                       # exact
              0.9 * 0.3 ** 2,            # below tau: alpha * max(0, s)^2 (a hinge)
              0.0,                       # negative below zero: no loss
              0.3 ** 0.1 * 0.3 ** 2]     # positive under-scored
    assert torch.allclose(per, torch.tensor(expect), atol=1e-6)
    assert pos.tolist() == [True, True, False, False, True]
    per1, _ = focal_hinge_mse(score, label, 0.9, 0.1, 0.05, 1.0)   # the printed |.| form
    assert per1[0].item() == pytest.approx(0.2) and per1[2].item() == pytest.approx(0.27)
    # IBFPLoss: summed over points / number of label points >= tau
    cfg = get_preset("ibfp_tiny")
    s = cfg.score_size
    c = torch.zeros(1, 1, s, s)
    lab = torch.zeros(1, 1, s, s)
    c.view(-1)[:5] = score
    lab.view(-1)[:5] = label
    t = {"center_label": lab, "ltrb_target": torch.ones(1, 4, s, s), "reg_mask": torch.zeros(1, 1, s, s)}
    out = IBFPLoss(cfg)({"center": c, "ltrb": torch.ones(1, 4, s, s)}, t)
    assert out["center"].item() == pytest.approx(sum(expect) / 3, rel=1e-5)
    assert out["reg"].item() == 0.0                        # no regression points
    with pytest.raises(KeyError):
        IBFPLoss(cfg)({"center": c, "ltrb": c}, {"center_label": lab})


def test_regression_samples_are_within_a_quarter_of_the_box_around_the_centre():
    pts = np.array([[x, y] for y in range(-24, 25, 8) for x in range(-24, 25, 8)], float)
    m = regression_mask([0.0, 0.0, 64.0, 32.0], pts, 0.25)   # |dx| <= 16, |dy| <= 8
    sel = {tuple(p) for p in pts[m]}
    assert sel == {(x, y) for x in (-16, -8, 0, 8, 16) for y in (-8, 0, 8)}
    # off-centre box, anisotropic thresholds follow width and height separately
    m = regression_mask([8.0, -8.0, 16.0, 96.0], pts, 0.25)  # |dx| <= 4, |dy| <= 24
    assert {tuple(p) for p in pts[m]} == {(8.0, y) for y in (-24, -16, -8, 0, 8, 16)}
    # a target smaller than the grid: the point nearest its centre, if inside the box
    m = regression_mask([3.0, 2.0, 10.0, 8.0], pts, 0.25)
    assert {tuple(p) for p in pts[m]} == {(0.0, 0.0)}
    assert not regression_mask([3.0, 2.0, 2.0, 2.0], pts, 0.25).any()  # no point inside at all
    # the ltrb targets of the selected points are their distances to the edges
    from fgsgt_ros.data.targets import ibfp_targets

    cfg = get_preset("ibfp_tiny")
    t = ibfp_targets(cfg)(np.array([8.0, 0.0, 48.0, 32.0]), False)
    s = cfg.score_size
    pg = points_of(cfg)
    mask = t["reg_mask"].reshape(-1) > 0
    assert mask.sum() == len({(x, y) for x, y in pg if abs(x - 8) <= 12 and abs(y) <= 8})
    i = int(np.argmin(np.abs(pg - [8.0, 0.0]).sum(1)))
    assert np.allclose(t["ltrb_target"].reshape(4, -1)[:, i], [24, 16, 24, 16])
    assert t["center_label"].reshape(-1)[i] == pytest.approx(1.0)
    assert t["center_label"].shape == (1, s, s)
    neg = ibfp_targets(cfg)(np.array([8.0, 0.0, 48.0, 32.0]), True)
    assert all(not v.any() for v in neg.values())


# ------------------------------------------------------------------ online branch
def _lookalike_crop(cfg, t: int, distractor: bool) -> torch.Tensor:
    """A search crop (target centred: bright 16x24 with a dark band) and, optionally, a
    look-alike 40 px to its right (the same bright block without the band)."""
    s = cfg.instance_size
    img = np.full((s, s), 60.0) + np.random.default_rng(t).normal(0, 3, (s, s))
    x, y = s // 2 - 8, s // 2 - 12
    img[y:y + 24, x:x + 16] = 200
    img[y + 4:y + 10, x + 4:x + 12] = 120
    if distractor:
        img[y:y + 24, x + 40:x + 56] = 200
    t_ = torch.from_numpy(np.clip(img, 0, 255).astype(np.float32))
    return t_[None, None].expand(1, 3, s, s).contiguous()


def test_online_branch_learns_to_reject_a_lookalike_that_fools_the_offline_map():
    """Generated case: from frame 1 a look-alike sits beside the target and the offline centre
    map peaks on it. The online branch (fitted on frame 0 only) first scores the look-alike about
    as high as the target; the hard-negative updates make its own response separate them, and the
    mixed map (0.3 offline + 0.7 online) ends on the target."""
    from fgsgt_ros.tracker.decoding import AnchorFreeDecoder
    from fgsgt_ros.tracker.online import OnlineLearner

    cfg = get_preset("ibfp_tiny")
    torch.manual_seed(0)
    net = build_model(cfg).eval()
    s = cfg.score_size
    pts = points_of(cfg)
    box, look = np.array([0.0, 0.0, 16.0, 24.0]), np.array([40.0, 0.0, 16.0, 24.0])
    ti = int(np.argmin(((pts - box[:2]) ** 2).sum(1)))
    di = int(np.argmin(((pts - look[:2]) ** 2).sum(1)))
    fooled = torch.from_numpy(center_label(look, pts, cfg.stride, cfg.loss).reshape(1, 1, s, s))
    learner = OnlineLearner(cfg.online, cfg.loss, net.track, cfg.stride)
    dec = AnchorFreeDecoder(cfg.stride, score="prob", saliency_index=None)

    def online_margin(x):
        with torch.no_grad():
            r = learner.net(net.track(x)[2] * learner._scale)
            r = torch.nn.functional.interpolate(r, size=(s, s), mode="bilinear",
                                                align_corners=True).view(-1)
        return float(r[ti] - r[di])

    with torch.no_grad():
        net.template(_lookalike_crop(cfg, 0, False)[..., 48:113, 48:113].contiguous())
        x0 = _lookalike_crop(cfg, 0, False)
        learner.start(x0, net.track(x0), box)
        before = online_margin(_lookalike_crop(cfg, 1, True))
        mixed_argmax = []
        for t in range(1, 16):
            x = _lookalike_crop(cfg, t, True)
            out = net.track(x)
            cand = dec(learner.refine((fooled,) + tuple(out[1:])))
            mixed_argmax.append(int(np.argmax(cand.score)))
            learner.observe(cand, ti, box, confident=True)  # the tracker's (correct) decision
        after = online_margin(_lookalike_crop(cfg, 16, True))
    assert learner.stats["hard_negatives"] >= 1                 # the look-alike was noticed
    assert after > before + 0.3, (before, after)               # its own response separates them
    assert after > 0.5
    assert mixed_argmax[0] == di and mixed_argmax[-1] == ti     # fooled at first, not at the end
    # amortised: never more than max_steps_per_frame optimiser steps per frame
    assert learner.stats["steps"] <= cfg.online.init_steps + 15 * cfg.online.max_steps_per_frame


# which checkpoint runs the online branch: test_fgsgt_online.py (both families, one test)


# ------------------------------------------------------------------ training
def test_a_short_training_run_lowers_every_loss_term(tmp_path):
    """ibfp_tiny through the project's pair sampling and IBFP targets: SGD steps on one fixed batch
    of generated thermal pairs lower the centre (focal hinge MSE), regression (L1) and total loss."""
    from fgsgt_ros.data.samples import INPUT_KEYS, PairDataset, SampleConfig, to_model_input
    from fgsgt_ros.data.sequence import read_plain_dataset
    from fgsgt_ros.data.synth import PRESETS as SYNTH, generate_dataset

    generate_dataset(tmp_path, SYNTH["tiny"], n_sequences=2, n_frames=6, seed=11, progress=False)
    cfg = get_preset("ibfp_tiny")
    ds = PairDataset(read_plain_dataset(tmp_path), cfg, SampleConfig(neg_prob=0.0),
                     samples_per_epoch=4, seed=5)
    items = [ds[i] for i in range(4)]
    batch = {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in items[0]}
    z, x = to_model_input(batch["template"]), to_model_input(batch["search"])
    targets = {k: v for k, v in batch.items() if k not in INPUT_KEYS}
    assert set(targets) == {"center_label", "ltrb_target", "reg_mask"}
    torch.manual_seed(0)
    net = build_model(cfg).train()
    loss_fn = family_of(cfg).make_loss(cfg)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    history = []
    for _ in range(25):
        out = loss_fn(net.forward_train(z, x), targets)
        opt.zero_grad()
        out["total"].backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step()
        history.append({k: v.item() for k, v in out.items()})
    for key in ("center", "reg", "total"):
        first = np.mean([h[key] for h in history[:3]])
        last = np.mean([h[key] for h in history[-3:]])
        assert last < 0.85 * first, (key, first, last)


def test_shipped_checkpoints_online_and_offline():
    """The two shipped files: the same weights, online branch on / off, each calibrated."""
    from fgsgt_ros import weights
    from fgsgt_ros.tracker import build_tracker, load_model

    for name in ("ibfp_tiny", "ibfp_tiny_offline"):
        if not weights.checkpoint_path(name).is_file():
            pytest.skip(f"{name}.pt not shipped in this checkout")
    on, off = load_model("ibfp_tiny", runtime="torch"), load_model("ibfp_tiny_offline", runtime="torch")
    assert on.model_cfg.online.enabled and not off.model_cfg.online.enabled
    a, b = on.model.state_dict(), off.model.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert "tracker_config" in on.extra and "tracker_config" in off.extra
    assert build_tracker("ibfp_tiny").online is not None
    assert build_tracker("ibfp_tiny_offline").online is None


def test_online_tracker_on_the_onnx_runtime_matches_torch():
    """The online branch works with the onnxruntime network (its first-frame samples go through the
    tracker's own network call, which holds the template kernels with template_update) and gives
    the torch tracker's boxes."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from fgsgt_ros import weights
    from fgsgt_ros.tracker import build_tracker

    if not weights.checkpoint_path("ibfp_tiny").is_file():
        pytest.skip("ibfp_tiny.pt not shipped in this checkout")
    img = np.full((120, 160), 40, np.uint8)
    img[50:74, 60:76] = 200
    boxes = []
    for runtime in ("torch", "onnx"):
        t = build_tracker("ibfp_tiny", runtime=runtime)
        t.init(img, (60, 50, 16, 24))
        boxes.append([t.update(img).box for _ in range(2)])
        assert t.online.stats["steps"] >= t.online.cfg.init_steps
    assert np.allclose(boxes[0], boxes[1], atol=1e-2)
