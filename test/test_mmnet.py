"""MMNet family: network shapes, gradients, ONNX parity, the CF block's closed form, the SiamFC
tracker's scale pyramid, the category data path and a short training run."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fgsgt_ros.data.targets import make_target_builder
from fgsgt_ros.model.families.mmnet import (GENERATOR_CLASSES, CFBlock, MMNet, MMNetConfig,
                                            _dft_matrices, cf_solve, feature_sizes)
from fgsgt_ros.model.registry import PRESETS, build_model, family_of, get_preset

torch.set_num_threads(1)

TINY_ROWS = ["mmnet_tiny_dis", "mmnet_tiny_cls", "mmnet_tiny_hc", "mmnet_tiny_pc", "mmnet_tiny"]


def _inputs(cfg, batch, seed=0):
    g = torch.Generator().manual_seed(seed)
    z = torch.rand(batch, 3, cfg.exemplar_size, cfg.exemplar_size, generator=g) * 255
    x = torch.rand(batch, 3, cfg.instance_size, cfg.instance_size, generator=g) * 255
    return z, x


def _targets(cfg, boxes, negatives, categories):
    build = make_target_builder(cfg, None)
    items = [build(np.asarray(b, np.float32), neg, np.random.default_rng(0), {"category": c})
             for b, neg, c in zip(boxes, negatives, categories)]
    return {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in items[0]}


# --------------------------------------------------------------------------- network


def test_presets_and_ablation_rows():
    for size in ("mmnet", "mmnet_tiny"):
        full = get_preset(size)
        assert full.classification and full.fine_holistic and full.fine_pixel
        dis = get_preset(f"{size}_dis")
        assert not (dis.classification or dis.fine)
        assert get_preset(f"{size}_cls").classification and not get_preset(f"{size}_cls").fine
        assert get_preset(f"{size}_hc").fine_holistic and not get_preset(f"{size}_hc").fine_pixel
        assert get_preset(f"{size}_pc").fine_pixel and not get_preset(f"{size}_pc").fine_holistic
    paper = get_preset("mmnet").backbone
    assert paper.channels == (96, 256, 384, 384, 256) and paper.kernels[0] == 11
    # no padding anywhere: 127 -> 6x6 conv5 / 10x10 conv3, 255 -> 22x22 / 26x26 (SiamFC)
    assert feature_sizes(get_preset("mmnet"), 127) == (10, 6)
    assert feature_sizes(get_preset("mmnet"), 255) == (26, 22)
    assert all(m.padding in ((0, 0), 0) for m in build_model(get_preset("mmnet")).features.modules()
               if isinstance(m, torch.nn.Conv2d))
    cfg = get_preset("mmnet_tiny")
    assert MMNetConfig.from_dict(cfg.to_dict()) == cfg
    assert "mmnet_tiny" in PRESETS


@pytest.mark.parametrize("name", TINY_ROWS + ["mmnet"])
def test_shapes(name):
    cfg = get_preset(name)
    net = build_model(cfg)
    z, x = _inputs(cfg, 2)
    out = net.forward_train(z, x)
    s = cfg.score_size
    assert s == 17
    assert out["dis"].shape == (2, 1, s, s)
    assert ("fin" in out) == cfg.fine and ("cls_logits" in out) == cfg.classification
    if cfg.fine:
        assert out["fin"].shape == (2, 1, s, s)
    if cfg.classification:
        assert out["cls_logits"].shape == (2, len(cfg.classes))
    net.eval()
    with torch.no_grad():
        kernels = net.template_kernels(z[:1])
        assert len(kernels) == 1 + int(cfg.fine)
        net.template(z[:1])
        (score,) = net.track(x)                    # a batch-1 template against 2 search crops
        assert score.shape == (2, 1, s, s)
        (one,) = net.track_with_kernels(x[1:], *kernels)
        torch.testing.assert_close(one, score[1:], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", TINY_ROWS)
def test_gradients_reach_every_parameter(name):
    cfg = get_preset(name)
    net = build_model(cfg).train()
    z, x = _inputs(cfg, 3, seed=1)
    tg = _targets(cfg, [[4.0, -8.0, 40, 30], [0.0, 0.0, 30, 50], [0.0, 0.0, 20, 20]],
                  [False, False, True], ["person", "vehicle", None])
    losses = family_of(cfg).make_loss(cfg)(net.forward_train(z, x), tg)
    expected = {"total", "dis"} | ({"fin"} if cfg.fine else set()) | (
        {"cls"} if cfg.classification else set())
    assert set(losses) == expected
    losses["total"].backward()
    for pname, p in net.named_parameters():
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, f"no gradient reaches {pname}"
    if cfg.classification:
        assert any(n.startswith("classifier") for n, _ in net.named_parameters())


def test_classification_branch_is_not_in_the_inference_path():
    cfg = get_preset("mmnet_tiny")
    net = build_model(cfg).eval()
    z, x = _inputs(cfg, 1)
    with torch.no_grad():
        before = net.track_with_kernels(x, *net.template_kernels(z))[0]
        net.classifier.weight.add_(100.0)
        after = net.track_with_kernels(x, *net.template_kernels(z))[0]
    torch.testing.assert_close(before, after)


def test_onnx_parity_of_the_inference_graph(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from fgsgt_ros.model.export import export_onnx, read_onnx_metadata

    cfg = get_preset("mmnet_tiny")
    torch.manual_seed(0)
    net = build_model(cfg).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    track_path, template_path = export_onnx(net, tmp_path / "mmnet_tiny.onnx")
    z, x = _inputs(cfg, 1, seed=3)
    with torch.no_grad():
        kernels = net.template_kernels(z)
        (score,) = net.track_with_kernels(x, *kernels)
    s_t = ort.InferenceSession(str(template_path), providers=["CPUExecutionProvider"])
    s_x = ort.InferenceSession(str(track_path), providers=["CPUExecutionProvider"])
    k_onnx = s_t.run(None, {"z": z.numpy()})
    assert len(k_onnx) == len(kernels) == 2
    for a, b in zip(k_onnx, kernels):
        assert np.abs(a - b.numpy()).max() < 1e-3 * max(1.0, float(b.abs().max()))
    names = [i.name for i in s_x.get_inputs()]
    out = s_x.run(None, dict(zip(names, [x.numpy()] + [k.numpy() for k in kernels])))
    assert [o.name for o in s_x.get_outputs()] == ["score"]
    assert np.abs(out[0] - score.numpy()).max() < 1e-3
    # the classification branch is pruned: none of its weights is in either graph
    import onnx
    for path in (track_path, template_path):
        model = onnx.load(str(path))
        sizes = {tuple(t.dims) for t in model.graph.initializer}
        assert tuple(net.classifier.weight.shape) not in sizes
    meta = read_onnx_metadata(track_path)
    assert meta["family"] == "mmnet" and meta["decoding"]["type"] == "siamfc_score_map"


# --------------------------------------------------------------------------- CF block


def test_cf_block_matches_the_closed_form_ridge_regression():
    rng = np.random.default_rng(0)
    c, h, w = 2, 4, 5
    n = h * w
    x = rng.standard_normal((c, h, w))
    y = rng.standard_normal((h, w))
    lam = 0.3  # lambda_abs of the objective (1/n) sum_u (r(u) - y(u))^2 + lambda_abs ||w||^2
    # explicit design matrix: row u = the features cyclically shifted by u, r(u) = row_u . w
    rows = []
    for du in range(h):
        for dv in range(w):
            rows.append(np.roll(x, shift=(-du, -dv), axis=(1, 2)).ravel())
    X = np.stack(rows)
    w_ref = np.linalg.solve(X.T @ X + n * lam * np.eye(c * n), X.T @ y.ravel()).reshape(c, h, w)

    y_hat = np.fft.fft2(y)
    out = cf_solve(torch.tensor(x[None], dtype=torch.float64),
                   torch.tensor(y_hat.real), torch.tensor(y_hat.imag),
                   torch.tensor(n * lam, dtype=torch.float64).reshape(1, 1, 1, 1),
                   tuple(m.double() for m in _dft_matrices(h)),
                   tuple(m.double() for m in _dft_matrices(w)))
    np.testing.assert_allclose(out[0].numpy(), w_ref, rtol=1e-8, atol=1e-10)
    # the filter regresses the shifts of x onto y: r = X w
    resp = X @ out[0].numpy().ravel()
    np.testing.assert_allclose(resp, X @ w_ref.ravel(), atol=1e-8)


def test_cf_block_uses_energy_relative_regularisation():
    block = CFBlock((6, 6), cf_lambda=0.1, sigma=0.5, window=True).double()
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    xw = x * block.window
    reg = 0.1 * (xw * xw).sum(dim=(1, 2, 3), keepdim=True) + 1e-6
    ref = cf_solve(xw, block.y_re, block.y_im, reg, (block.ch, block.sh), (block.cw, block.sw))
    torch.testing.assert_close(block(x), ref)
    # scale invariance: the filter of 10 x the features is the filter / 10 (response unchanged)
    torch.testing.assert_close(block(10 * x) * 10, block(x), rtol=1e-4, atol=1e-6)
    # the learned template finds the exemplar in a search map that contains it
    search = torch.zeros(1, 3, 14, 14, dtype=torch.float64)
    search[..., 5:11, 3:9] = x[:1]
    resp = F.conv2d(search, block(x[:1]))
    assert divmod(int(resp.argmax()), resp.shape[-1]) == (5, 3)


# --------------------------------------------------------------------------- targets / data


def test_generator_classes_are_the_synthetic_shapes():
    from fgsgt_ros.data.synth import SHAPES
    assert tuple(GENERATOR_CLASSES) == tuple(SHAPES)


def test_category_round_trip_through_the_plain_layout(tmp_path):
    from fgsgt_ros.data.sequence import read_plain_dataset
    from fgsgt_ros.data.synth import PRESETS as SYNTH, generate_dataset, generate_sequence

    generate_dataset(tmp_path, SYNTH["tiny"], n_sequences=3, n_frames=3, seed=11, progress=False)
    seqs = read_plain_dataset(tmp_path)
    for i, seq in enumerate(seqs):
        assert seq.category == generate_sequence(SYNTH["tiny"], 3, 11, i).info["shape"]


def test_score_map_targets():
    cfg = get_preset("mmnet_tiny")
    build = make_target_builder(cfg, None)
    rng = np.random.default_rng(0)
    t = build(np.array([16.0, -8.0, 30, 30], np.float32), False, rng, {"category": "animal"})
    s = cfg.score_size
    assert t["label"].shape == (1, s, s) and t["label_weight"].shape == (1, s, s)
    c = (s - 1) // 2
    assert t["label"][0, c - 1, c + 2] == 1 and t["label"][0, c, c] == 0  # 16 px right, 8 up
    assert np.isclose(t["label_weight"][t["label"] > 0].sum(), 0.5)
    assert np.isclose(t["label_weight"].sum(), 1.0)
    assert int(t["category"]) == list(cfg.classes).index("animal")
    neg = build(np.array([0.0, 0.0, 30, 30], np.float32), True, rng, {"category": "animal"})
    assert neg["label"].sum() == 0 and int(neg["category"]) == -1 and np.isclose(neg["label_weight"].sum(), 1)
    assert int(build(np.zeros(4, np.float32), False, rng, {"category": "spaceship"})["category"]) == -1
    assert int(build(np.zeros(4, np.float32), False, rng, {})["category"]) == -1


def test_short_training_run_lowers_every_loss_term(tmp_path):
    from fgsgt_ros.data.samples import PairDataset, to_model_input
    from fgsgt_ros.data.sequence import read_plain_dataset
    from fgsgt_ros.data.synth import PRESETS as SYNTH, generate_dataset
    from fgsgt_ros.training.config import get_preset as train_preset

    generate_dataset(tmp_path, SYNTH["tiny"], n_sequences=4, n_frames=8, seed=5, progress=False)
    seqs = read_plain_dataset(tmp_path)
    assert all(s.category for s in seqs)
    # every MMNet part and loss term, at a test-sized width (the same geometry as mmnet_tiny)
    from fgsgt_ros.model.families.mmnet import MMNetBackboneConfig
    cfg = dataclasses.replace(get_preset("mmnet_tiny"), name="mmnet_test", backbone=MMNetBackboneConfig(
        channels=(8, 16, 32, 32, 16), kernels=(7, 5, 3, 3, 3), groups=(1, 1, 1, 1, 1)))
    ds = PairDataset(seqs, cfg, train_preset("test").sample, samples_per_epoch=6, seed=0)
    items = [ds[i] for i in range(6)]
    batch = {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in items[0]}
    assert (batch["category"] >= 0).any()
    z, x = to_model_input(batch["template"]), to_model_input(batch["search"])
    targets = {k: v for k, v in batch.items() if k not in ("template", "search", "negative")}
    torch.manual_seed(0)
    net = build_model(cfg).train()
    loss_fn = family_of(cfg).make_loss(cfg)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    history = []
    for _ in range(12):
        losses = loss_fn(net.forward_train(z, x), targets)
        opt.zero_grad()
        losses["total"].backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step()
        history.append({k: float(v.detach()) for k, v in losses.items()})
    for term in ("dis", "fin", "cls", "total"):
        assert history[-1][term] < history[0][term], (term, [h[term] for h in history])


# --------------------------------------------------------------------------- tracker


class _NCCNet(torch.nn.Module):
    """Test double with MMNet's inference interface: normalised cross-correlation of the grey
    exemplar crop over the search crop at the network's stride (a known-correct matcher, so the
    test checks the tracker's scale pyramid alone)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self._t = None

    def template(self, z):
        t = z[:, :1] - z[:, :1].mean()
        self._t = t / t.norm()

    def track(self, x):
        g = x[:, :1]
        k = self._t.shape[-1]
        s = self.cfg.stride
        num = F.conv2d(g, self._t, stride=s)
        mean = F.avg_pool2d(g, k, stride=s)
        sq = F.avg_pool2d(g * g, k, stride=s)
        std = ((sq - mean * mean).clamp_min(1e-6) * k * k).sqrt()
        return (10.0 * num / std,)


def _textured_scene(seed=0, size=(240, 320)):
    import cv2
    rng = np.random.default_rng(seed)
    img = rng.uniform(0, 255, size).astype(np.float32)
    img = cv2.GaussianBlur(img, (0, 0), 2.0)
    img = (img - img.min()) / (img.max() - img.min()) * 255
    return img.astype(np.uint8)


@pytest.mark.parametrize("zoom,expected", [(1.1, 2), (1 / 1.1, 0)])
def test_scale_pyramid_picks_the_zoom(zoom, expected):
    import cv2
    from fgsgt_ros.tracker.siamfc import SiamFCConfig, SiamFCTracker

    cfg = get_preset("mmnet_tiny")
    fc = SiamFCConfig(num_scales=3, scale_step=1.1)
    tracker = SiamFCTracker(_NCCNet(cfg), cfg, siamfc_cfg=fc)
    img = _textured_scene()
    box = np.array([140.0, 100.0, 40.0, 30.0])
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    tracker.init(img, box)
    # next frame: the scene zoomed by ``zoom`` about the target centre (target grows by ``zoom``)
    m = np.array([[zoom, 0, (1 - zoom) * (cx - 0.5)], [0, zoom, (1 - zoom) * (cy - 0.5)]])
    frame = cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT)
    res = tracker.update(frame)
    assert tracker.last_scale_index == expected
    factor = (1 - fc.scale_lr) + fc.scale_lr * fc.scales[expected]
    np.testing.assert_allclose(res.box[2:], box[2:] * factor, rtol=1e-6)
    np.testing.assert_allclose(res.box[:2] + res.box[2:] / 2, [cx, cy], atol=2.0)
    assert res.score > 0.99


def test_tracker_follows_a_shift_and_shares_state_logic():
    import cv2
    from fgsgt_ros.tracker.base import InvalidBoxError, TrackState
    from fgsgt_ros.tracker.siamfc import SiamFCTracker

    cfg = get_preset("mmnet_tiny")
    tracker = SiamFCTracker(_NCCNet(cfg), cfg)
    img = _textured_scene(1)
    with pytest.raises(RuntimeError):
        tracker.update(img)
    box = np.array([120.0, 90.0, 36.0, 36.0])
    tracker.init(img, box)
    shifted = cv2.warpAffine(img, np.array([[1.0, 0, 9], [0, 1.0, -6]]), (img.shape[1], img.shape[0]),
                             borderMode=cv2.BORDER_REFLECT)
    res = tracker.update(shifted)
    np.testing.assert_allclose(res.box[:2] + res.box[2:] / 2, box[:2] + box[2:] / 2 + [9, -6], atol=1.5)
    assert res.state == TrackState.TRACKING and res.saliency.shape == img.shape
    with pytest.raises(InvalidBoxError):
        tracker.init(img, [np.nan, 0, 10, 10])
    assert tracker.state == TrackState.TRACKING
    with pytest.raises(TypeError):
        tracker.update(img.astype(np.uint16))
    tracker.mark_lost()
    assert tracker.state == TrackState.LOST
    # runtime tuning keeps the state; LOST -> TRACKING at the new recover threshold
    from fgsgt_ros.tracker.config import TrackerConfig
    tracker.set_config(TrackerConfig(lost_threshold=0.2, recover_threshold=0.6))
    assert tracker.state == TrackState.LOST
    res = tracker.update(shifted)
    assert res.score > 0.6 and res.state == TrackState.TRACKING
    tracker.reset()
    assert tracker.state == TrackState.IDLE and tracker.box is None


def test_registry_builds_the_siamfc_tracker_and_checkpoints_round_trip(tmp_path):
    from fgsgt_ros.model.checkpoint import load_checkpoint, save_checkpoint
    from fgsgt_ros.tracker import build_tracker
    from fgsgt_ros.tracker.siamfc import SiamFCTracker

    cfg = get_preset("mmnet_tiny")
    net = build_model(cfg).eval()
    path = tmp_path / "m.pt"
    save_checkpoint(path, net, cfg)
    loaded, cfg2, _ = load_checkpoint(path)
    assert cfg2 == cfg and isinstance(loaded, MMNet)
    z, x = _inputs(cfg, 1)
    with torch.no_grad():
        torch.testing.assert_close(loaded.track_with_kernels(x, *loaded.template_kernels(z))[0],
                                   net.track_with_kernels(x, *net.template_kernels(z))[0])
    tracker = build_tracker(f"mmnet_tiny:{path}")
    assert isinstance(tracker, SiamFCTracker)
    img = _textured_scene(2)
    tracker.init(img, [100, 80, 30, 40])
    res = tracker.update(img)
    assert 0.0 <= res.score <= 1.0 and res.box.shape == (4,)
    # the scale-pyramid crops also run on the onnx runtime (batch-1 graphs)
    pytest.importorskip("onnxruntime")
    t_onnx = build_tracker(f"mmnet_tiny:{path}", runtime="onnx")
    t_onnx.init(img, [100, 80, 30, 40])
    r2 = t_onnx.update(img)
    np.testing.assert_allclose(r2.box, res.box, atol=1e-2)
    assert abs(r2.score - res.score) < 1e-3


def test_tracking_session_drives_mmnet_on_raw_frames(tmp_path):
    """The one per-frame loop (AGC, LOST rule) of the node and the evaluation runs MMNet's tracker:
    16-bit frames in, the shared session result out."""
    from fgsgt_ros.data.synth import PRESETS as SYNTH, generate_sequence
    from fgsgt_ros.model.checkpoint import save_checkpoint
    from fgsgt_ros.tracker.session import TrackingSession
    from fgsgt_ros.tracker.siamfc import SiamFCTracker

    cfg = get_preset("mmnet_tiny")
    path = tmp_path / "m.pt"
    save_checkpoint(path, build_model(cfg), cfg)
    seq = generate_sequence(SYNTH["tiny"], 4, 3, 0)
    session = TrackingSession(f"mmnet_tiny:{path}")
    assert isinstance(session.tracker, SiamFCTracker)
    session.init(seq.frames[0], seq.boxes[0])
    for frame in seq.frames[1:]:
        r = session.step(frame)
        assert r.box is not None and 0.0 <= r.score <= 1.0


def test_siamfc_tracker_shares_the_whole_frame_scan_while_lost():
    """The re-detection scan lives in NetworkTracker.search_plan, so the SiamFC loop (MMNet) has it
    too: a target that reappears ~225 px away, far outside the enlarged LOST search, is found and
    tracked again (sooner with more ``lost_scan_tiles`` per scan frame, or with appearance
    proposals); with ``lost_scan_every`` 0 it never is."""
    from fgsgt_ros.boxes import iou_xywh
    from fgsgt_ros.tracker.base import TrackState
    from fgsgt_ros.tracker.config import TrackerConfig
    from fgsgt_ros.tracker.siamfc import SiamFCTracker
    from test_tracker_oracle import scene

    cfg = get_preset("mmnet_tiny")
    box, far = (40, 40, 20, 20), (262, 182, 20, 20)

    def states_after_loss(every, frames, tiles=1, proposals=False):
        tc = TrackerConfig(lost_frames=4, lost_threshold=0.95, recover_threshold=0.97,
                           lost_relative=0.9, recover_relative=0.95, lost_scan_every=every,
                           lost_scan_tiles=tiles, lost_scan_proposals=proposals)
        tracker = SiamFCTracker(_NCCNet(cfg), cfg, tc)
        tracker.init(scene(320, 240, box), box)
        for i in range(3):
            tracker.update(scene(320, 240, box, seed=i))
        for i in range(8):  # the scene's noise scores about 0.6-0.8: weak frames
            tracker.update(scene(320, 240, None, seed=10 + i))
        assert tracker.state == TrackState.LOST
        return [tracker.update(scene(320, 240, far, seed=30 + i)) for i in range(frames)]

    found = states_after_loss(2, 260)
    first = [r.state for r in found].index(TrackState.TRACKING)
    assert all(r.state == TrackState.TRACKING for r in found[first:])
    assert float(iou_xywh(found[-1].box, far)) > 0.6
    assert all(r.state == TrackState.LOST for r in states_after_loss(0, first + 10))
    sooner = [r.state for r in states_after_loss(2, first, tiles=4)].index(TrackState.TRACKING)
    assert sooner < first / 2
    # appearance proposals (the default) send the first scan frames within reach to it
    matched = [r.state for r in states_after_loss(2, first, proposals=True)].index(TrackState.TRACKING)
    assert matched < first / 2
