"""SiamFFN (feature-fusion Siamese tracker, anchor-free head, CSRL loss) and the anchor-free
geometry/decoding it shares with other per-point heads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fgsgt_ros.model import points as P
from fgsgt_ros.tracker.decoding import AnchorFreeDecoder

torch.set_num_threads(1)


# ------------------------------------------------------------------ anchor-free geometry/decoding
def test_point_grid_is_centred_like_the_anchor_grid():
    from fgsgt_ros.model.anchors import anchor_grid

    pts = P.point_grid(8, 17)
    assert pts.shape == (17 * 17, 2)
    assert np.allclose(pts[8 * 17 + 8], [0.0, 0.0])          # centre point at the crop centre
    assert np.allclose(pts[1] - pts[0], [8.0, 0.0])          # column step = stride in x
    assert np.allclose(pts[17] - pts[0], [0.0, 8.0])         # row step = stride in y
    anchors = anchor_grid(8, (1.0,), (8.0,), 17)
    assert np.allclose(anchors[:, :2], pts)                  # same positions as anchor centres
    even = P.point_grid(4, 4)
    assert np.allclose(even[0], [-6.0, -6.0]) and np.allclose(even[-1], [6.0, 6.0])


@pytest.mark.parametrize("score", ["softmax", "sigmoid", "prob"])
def test_anchor_free_decoding_round_trip(score):
    s, stride = 17, 8
    pts = P.point_grid(stride, s)
    box = np.array([13.5, -7.25, 40.0, 22.0])                 # cx, cy, w, h from the crop centre
    ltrb = P.encode_ltrb(box, pts)                            # (N, 4)
    assert np.allclose(P.decode_ltrb(ltrb, pts), box[None])   # numpy round trip
    ltrb_t = torch.from_numpy(ltrb.T.reshape(1, 4, s, s)).float()
    assert torch.allclose(P.decode_ltrb(ltrb_t.view(4, -1).T, torch.from_numpy(pts).float()),
                          torch.tensor(box, dtype=torch.float32).expand(s * s, 4), atol=1e-4)
    peak = 5 * s + 11
    prob = np.full(s * s, 0.1)
    prob[peak] = 0.9
    if score == "softmax":
        logit = np.log(prob / (1 - prob))
        smap = torch.from_numpy(np.stack([np.zeros_like(logit), logit]).reshape(1, 2, s, s))
    elif score == "sigmoid":
        smap = torch.from_numpy(np.log(prob / (1 - prob)).reshape(1, 1, s, s))
    else:
        smap = torch.from_numpy(prob.reshape(1, 1, s, s))
    cand = AnchorFreeDecoder(stride, score=score)((smap, ltrb_t))
    assert cand.boxes.shape == (s * s, 4) and cand.window.shape == (s * s,)
    assert np.allclose(cand.score, prob, atol=1e-6)
    assert int(np.argmax(cand.score)) == peak
    assert np.allclose(cand.boxes, box[None], atol=1e-3)      # every point decodes the same box
    assert cand.saliency is None
    assert cand.window[(s // 2) * s + s // 2] == cand.window.max()


def test_anchor_free_decoder_rejects_bad_layouts():
    with pytest.raises(ValueError):
        AnchorFreeDecoder(8, score="exp")
    dec = AnchorFreeDecoder(8, score="softmax")
    with pytest.raises(ValueError):
        dec((torch.zeros(1, 1, 5, 5), torch.ones(1, 4, 5, 5)))
    with pytest.raises(ValueError):
        dec((torch.zeros(1, 2, 5, 5), torch.ones(1, 4, 4, 4)))


class _OracleNet:
    """Stand-in network for the tracking loop: finds the bright blob in the search crop and
    reports it through the anchor-free layout (peaked score, exact ltrb at every point)."""

    def __init__(self, stride, score_size):
        self.stride, self.s = stride, score_size
        self.pts = P.point_grid(stride, score_size)

    def template(self, z):
        pass

    def track(self, x):
        img = x[0, 0].numpy()
        ys, xs = np.nonzero(img > 128)
        n = img.shape[0]
        x0, x1 = xs.min() - n / 2, xs.max() + 1 - n / 2
        y0, y1 = ys.min() - n / 2, ys.max() + 1 - n / 2
        box = np.array([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0])
        d = np.hypot(self.pts[:, 0] - box[0], self.pts[:, 1] - box[1])
        prob = np.exp(-(d / self.stride) ** 2) * 0.98 + 0.01
        logit = np.log(prob / (1 - prob)).reshape(1, 1, self.s, self.s)
        ltrb = P.encode_ltrb(box, self.pts).T.reshape(1, 4, self.s, self.s)
        return torch.from_numpy(logit), torch.from_numpy(ltrb)


def test_siamese_tracker_follows_a_target_through_the_anchor_free_decoder():
    """The shared tracking loop with the anchor-free decoder: centre offsets and sizes come back
    in frame pixels (crop geometry + decoding agree)."""
    from types import SimpleNamespace

    from fgsgt_ros.tracker.config import TrackerConfig
    from fgsgt_ros.tracker.siamese import SiameseTracker

    mc = SimpleNamespace(name="oracle", exemplar_size=95, instance_size=191, stride=8)
    tracker = SiameseTracker(_OracleNet(8, 17), mc, TrackerConfig(lr=1.0, penalty_k=0.0),
                             decoder=AnchorFreeDecoder(8, score="sigmoid"))

    def frame(x, y, w=30, h=20):
        img = np.zeros((240, 320), np.uint8)
        img[y:y + h, x:x + w] = 255
        return img

    tracker.init(frame(100, 100), (100, 100, 30, 20))
    for k in range(1, 8):
        res = tracker.update(frame(100 + 6 * k, 100 + 3 * k))
    assert res.state.name == "TRACKING"
    assert np.allclose(res.box, [142, 121, 30, 20], atol=2.0), res.box


# ------------------------------------------------------------------ labels / targets
def test_point_labels_follow_siamban_ellipses():
    pts = P.point_grid(8, 17)
    rng = np.random.default_rng(0)
    box = np.array([4.0, -4.0, 64.0, 48.0])
    lab = P.assign_labels(box, pts, False, rng, pos_num=100, total_num=1000)
    pos = pts[lab == 1]
    assert len(pos) > 0
    assert np.all(((pos[:, 0] - 4) / 16) ** 2 + ((pos[:, 1] + 4) / 12) ** 2 < 1)   # w/4, h/4
    neg = pts[lab == 0]
    assert np.all(((neg[:, 0] - 4) / 32) ** 2 + ((neg[:, 1] + 4) / 24) ** 2 > 1)    # w/2, h/2
    ring = lab == -1
    assert ring.any()                                                              # ignored ring
    # sampling limits (SiamBAN: 16 positives, 64 labelled points)
    lab = P.assign_labels(box, pts, False, rng)
    assert (lab == 1).sum() <= 16 and (lab >= 0).sum() <= 64
    # the 'box' region: a centre box of half-sides pos_frac * (w, h)
    lab = P.assign_labels(box, pts, False, rng, region="box", pos_num=100, total_num=1000)
    pos = pts[lab == 1]
    assert np.all(np.abs(pos[:, 0] - 4) < 16) and np.all(np.abs(pos[:, 1] + 4) < 12)
    with pytest.raises(ValueError):
        P.assign_labels(box, pts, False, rng, region="circle")


def test_small_targets_and_negative_pairs():
    pts = P.point_grid(8, 17)
    rng = np.random.default_rng(1)
    tiny = np.array([3.0, 3.0, 8.0, 8.0])          # ellipse of semi-axes 2 px covers no point
    lab = P.assign_labels(tiny, pts, False, rng)
    assert (lab == 1).sum() == 1 and np.allclose(pts[lab == 1][0], [0.0, 0.0])
    assert (P.assign_labels(tiny, pts, False, rng, nearest_positive=False) == 1).sum() == 0
    lab, ltrb = P.point_targets(np.array([0.0, 0.0, 64.0, 64.0]), pts, True, rng)
    assert (lab == 1).sum() == 0 and 0 < (lab == 0).sum() <= 16     # distractor points negative
    assert not ltrb.any()
    lab, ltrb = P.point_targets(np.array([0.0, 0.0, 64.0, 64.0]), pts, False, rng)
    assert ltrb.shape == (4, 17 * 17) and np.all(ltrb[:, lab == 1] > 0)


# ------------------------------------------------------------------ network
from fgsgt_ros.model.registry import PRESETS as ALL_PRESETS  # noqa: E402
from fgsgt_ros.data.targets import make_target_builder  # noqa: E402
from fgsgt_ros.model.registry import build_model, family_of, get_preset  # noqa: E402
from fgsgt_ros.model.families.siamffn import PRESETS, SiamFFNConfig  # noqa: E402
from fgsgt_ros.model.heads import hard_sigmoid  # noqa: E402

SMALL = dict(exemplar_size=63, instance_size=79)    # score 3x3: the R50 presets' gradients, fast
SMALL_TINY = dict(exemplar_size=63, instance_size=127)   # score 9x9: a fast training test


def _inputs(cfg, batch=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    z = torch.rand(batch, 3, cfg.exemplar_size, cfg.exemplar_size, generator=g) * 255
    x = torch.rand(batch, 3, cfg.instance_size, cfg.instance_size, generator=g) * 255
    return z, x


def test_presets_are_registered_with_the_paper_ablation():
    names = {"siamffn_r50", "siamffn_r50_nocsrl", "siamffn_r50_rf", "siamffn_r50_rf_csrl",
             "siamffn_tiny", "siamffn_tiny_nocsrl", "siamffn_tiny_rf", "siamffn_tiny_rf_csrl"}
    assert names <= set(ALL_PRESETS)
    assert set(PRESETS) == names
    r50 = get_preset("siamffn_r50")
    assert (r50.exemplar_size, r50.instance_size, r50.score_size) == (127, 255, 25)
    assert r50.head.fusion == "feature" and r50.loss.csrl
    assert get_preset("siamffn_r50_rf").head.fusion == "result"
    assert not get_preset("siamffn_r50_nocsrl").loss.csrl
    tiny, ref = get_preset("siamffn_tiny"), get_preset("fgsgt_tiny")
    assert tiny.backbone == ref.backbone
    assert (tiny.exemplar_size, tiny.instance_size, tiny.score_size) == (95, 191, ref.score_size)
    assert family_of(tiny).name == "siamffn"
    assert SiamFFNConfig.from_dict(tiny.to_dict()) == tiny
    with pytest.raises(ValueError):
        SiamFFNConfig.from_dict({**tiny.to_dict(), "bogus": 1})
    with pytest.raises(ValueError):
        SiamFFNConfig(name="x", head=PRESETS["siamffn_tiny"].head.__class__(fusion="sum"))


def test_output_shapes_at_the_paper_size():
    cfg = get_preset("siamffn_r50")
    net = build_model(cfg).eval()
    z, x = _inputs(cfg)
    with torch.no_grad():
        kernels = net.template_kernels(z)
        assert len(kernels) == 3 and kernels[0].shape == (1, 256, 5, 5)  # 7x7 crop, 3x3 conv
        cls, ltrb, sal = net.track_with_kernels(x, *kernels)
    assert cls.shape == (1, 2, 25, 25) and ltrb.shape == (1, 4, 25, 25)
    assert sal.shape == (1, 1, 255, 255)
    assert bool((ltrb > 0).all()) and float(sal.min()) >= 0 and float(sal.max()) <= 1


@pytest.mark.parametrize("name", ["siamffn_tiny", "siamffn_tiny_rf"])
def test_output_shapes_of_the_tiny_presets(name):
    cfg = get_preset(name)
    net = build_model(cfg).eval()
    z, x = _inputs(cfg, batch=2)
    with torch.no_grad():
        kernels = net.template_kernels(z)
        assert len(kernels) == cfg.num_kernels
        cls, ltrb, sal = net.track_with_kernels(x, *kernels)
        net.template(z)
        again = net.track(x)
    assert cls.shape == (2, 2, 17, 17) and ltrb.shape == (2, 4, 17, 17)
    assert sal.shape == (2, 1, 191, 191)
    assert torch.equal(again[0], cls)
    with pytest.raises(ValueError):
        net.track_with_kernels(x, *kernels[:-1])


def test_scale_attention_is_the_papers_equations():
    from fgsgt_ros.model.heads import ScaleAttention

    assert torch.allclose(hard_sigmoid(torch.tensor([-3.0, -1.0, 0.0, 0.5, 1.0, 4.0])),
                          torch.tensor([0.0, 0.0, 0.5, 0.75, 1.0, 1.0]))
    att = ScaleAttention(3, 2)
    with torch.no_grad():
        for i, conv in enumerate(att.convs):
            conv.weight.fill_(0.5)
            conv.bias.fill_(-1.0 + i)
    maps = [torch.full((1, 2, 3, 3), float(v)) for v in (1.0, 2.0, 3.0)]
    fused, w = att(maps)
    # pi_i = ReLU(0.5 * 2 * mean + bias_i): ReLU(0)=0, ReLU(2)=2, ReLU(4)=4 -> hs 0.5, 1, 1
    assert torch.allclose(w, torch.tensor([[0.5, 1.0, 1.0]]))
    assert torch.allclose(fused, torch.full((1, 2, 3, 3), (0.5 * 1 + 2 + 3) / 3))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_gradients_reach_every_parameter(name):
    cfg = get_preset(name)
    if "r50" in name:
        import dataclasses

        cfg = dataclasses.replace(cfg, **SMALL)
    torch.manual_seed(0)
    net = build_model(cfg).train()
    fam = family_of(cfg)
    loss_fn = fam.make_loss(cfg)
    build = make_target_builder(cfg, None)
    rng = np.random.default_rng(0)
    boxes = [np.array([3.0, -5.0, 0.3 * cfg.instance_size, 0.2 * cfg.instance_size]),
             np.array([-8.0, 6.0, 0.2 * cfg.instance_size, 0.25 * cfg.instance_size])]
    batch = 1 if "r50" in name else 2
    samples = [build(b, False, rng) for b in boxes[:batch]]
    assert all((s["label_cls"] == 1).any() and (s["label_cls"] == 0).any() for s in samples)
    targets = {k: torch.from_numpy(np.stack([s[k] for s in samples])) for k in samples[0]}
    z, x = _inputs(cfg, batch=batch)
    out = loss_fn(net.forward_train(z, x), targets)
    assert set(out) == {"total", "cls", "reg", "iou"}
    out["total"].backward()
    dead = [n for n, p in net.named_parameters()
            if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    assert not dead, f"{name}: no gradient reaches {dead}"


# ------------------------------------------------------------------ ONNX
@pytest.mark.parametrize("name", ["siamffn_tiny", "siamffn_tiny_rf"])
def test_onnx_export_matches_torch(name, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")

    from fgsgt_ros.model.export import export_onnx

    cfg = get_preset(name)
    torch.manual_seed(0)
    net = build_model(cfg)
    # non-trivial BN statistics and attention weights, as in a trained model
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
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
    got = sx.run(None, {"x": x.numpy(), **{n: k for n, k in zip(knames, k_ort)}})
    assert len(got) == 3
    for name_, a, b in zip(outs, got, ref):
        scale = max(1.0, float(b.abs().max()))
        assert np.abs(a - b.numpy()).max() < 1e-3 * scale, name_


# ------------------------------------------------------------------ CSRL loss
def _loss_case(csrl, p_pos, pred_ltrb, tgt_ltrb, p_neg=0.2, detach=False):
    """One image, 4 points: point 0 positive, point 1 negative, 2-3 ignored."""
    import dataclasses

    from fgsgt_ros.model.losses import SiamFFNLoss

    cfg = get_preset("siamffn_tiny")
    cfg = dataclasses.replace(cfg, loss=dataclasses.replace(cfg.loss, csrl=csrl,
                                                            detach_weight=detach))
    logit = lambda p: float(np.log(p / (1 - p)))   # noqa: E731  (2-class logits: [0, logit])
    cls = torch.zeros(1, 2, 2, 2)
    cls[0, 1, 0, 0] = logit(p_pos)
    cls[0, 1, 0, 1] = logit(p_neg)
    cls.requires_grad_(True)
    ltrb = torch.ones(1, 4, 2, 2)
    ltrb[0, :, 0, 0] = torch.tensor(pred_ltrb)
    targets = {"label_cls": torch.tensor([[1, 0, -1, -1]]),
               "label_ltrb": torch.zeros(1, 4, 4)}
    targets["label_ltrb"][0, :, 0] = torch.tensor(tgt_ltrb)
    return SiamFFNLoss(cfg)({"cls": cls, "ltrb": ltrb}, targets), cls


def test_csrl_of_a_perfect_box_is_the_classification_loss():
    out, _ = _loss_case(True, 0.8, [10, 20, 30, 40], [10, 20, 30, 40])
    ce_pos, ce_neg = -np.log(0.8), -np.log(0.8)            # negative's p(target) = 0.2
    assert out["iou"].item() == pytest.approx(0.0, abs=1e-6)
    assert out["reg"].item() == pytest.approx(0.0, abs=1e-6)
    assert out["cls"].item() == pytest.approx(ce_pos + ce_neg, rel=1e-5)
    assert out["total"].item() == pytest.approx(ce_pos + ce_neg, rel=1e-5)


def test_csrl_weights_the_iou_loss_by_exp_minus_ce():
    # prediction covers the left half of the target: IoU 0.5
    out, cls = _loss_case(True, 0.8, [10, 10, 0, 10], [10, 10, 10, 10])
    assert out["iou"].item() == pytest.approx(0.5, rel=1e-5)
    assert out["reg"].item() == pytest.approx(0.8 * 0.5, rel=1e-5)           # exp(-CE) = p
    assert out["total"].item() == pytest.approx(2 * -np.log(0.8) + 0.4, rel=1e-5)
    # Eq. 8 per positive: CE + exp(-CE) * IoU-loss; the positive's score still rises
    out["total"].backward()
    assert float(cls.grad[0, 1, 0, 0]) < 0
    # without CSRL: the plain IoU loss (SiamBAN)
    plain, cls_p = _loss_case(False, 0.8, [10, 10, 0, 10], [10, 10, 10, 10])
    assert plain["reg"].item() == pytest.approx(0.5, rel=1e-5)
    # the CSRL term also reaches the classification branch (joint optimisation) ...
    plain["total"].backward()
    assert float(cls.grad[0, 1, 0, 0]) > float(cls_p.grad[0, 1, 0, 0])
    # ... unless the weight is detached
    det, cls_d = _loss_case(True, 0.8, [10, 10, 0, 10], [10, 10, 10, 10], detach=True)
    assert det["reg"].item() == pytest.approx(0.4, rel=1e-5)
    det["total"].backward()
    assert float(cls_d.grad[0, 1, 0, 0]) == pytest.approx(float(cls_p.grad[0, 1, 0, 0]))


def test_loss_with_only_negative_pairs_and_bad_targets():
    from fgsgt_ros.model.losses import SiamFFNLoss

    cfg = get_preset("siamffn_tiny")
    loss = SiamFFNLoss(cfg)
    cls = torch.zeros(1, 2, 2, 2, requires_grad=True)
    ltrb = torch.ones(1, 4, 2, 2, requires_grad=True)
    out = loss({"cls": cls, "ltrb": ltrb},
               {"label_cls": torch.tensor([[0, 0, -1, -1]]), "label_ltrb": torch.zeros(1, 4, 4)})
    assert out["reg"].item() == 0.0 and out["cls"].item() == pytest.approx(np.log(2))
    out["total"].backward()
    with pytest.raises(KeyError):
        loss({"cls": cls, "ltrb": ltrb}, {"label_cls": torch.zeros(1, 4, dtype=torch.long)})
    with pytest.raises(ValueError):
        loss({"cls": cls, "ltrb": ltrb},
             {"label_cls": torch.zeros(1, 5, dtype=torch.long), "label_ltrb": torch.zeros(1, 4, 5)})


# ------------------------------------------------------------------ training / checkpoint / tracker
def test_a_short_training_run_lowers_every_loss_term(tmp_path):
    """SiamFFN + CSRL (tiny, at 63/127 px crops) through the project's pair sampling and targets:
    SGD steps on one fixed batch of generated thermal pairs lower cls, reg, iou and total (reg,
    the CSRL term, falls more slowly: its weight exp(-CE) grows as the classification learns)."""
    import dataclasses

    from fgsgt_ros.data.samples import INPUT_KEYS, PairDataset, SampleConfig, to_model_input
    from fgsgt_ros.data.sequence import read_plain_dataset
    from fgsgt_ros.data.synth import PRESETS as SYNTH, generate_dataset

    generate_dataset(tmp_path, SYNTH["tiny"], n_sequences=2, n_frames=6, seed=11, progress=False)
    cfg = dataclasses.replace(get_preset("siamffn_tiny"), **SMALL_TINY)
    ds = PairDataset(read_plain_dataset(tmp_path), cfg, SampleConfig(neg_prob=0.0),
                     samples_per_epoch=4, seed=5)
    items = [ds[i] for i in range(4)]
    batch = {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in items[0]}
    z, x = to_model_input(batch["template"]), to_model_input(batch["search"])
    targets = {k: v for k, v in batch.items() if k not in INPUT_KEYS}
    assert set(targets) == {"label_cls", "label_ltrb"}
    torch.manual_seed(0)
    net = build_model(cfg).train()
    loss_fn = family_of(cfg).make_loss(cfg)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    history = []
    for _ in range(30):
        out = loss_fn(net.forward_train(z, x), targets)
        opt.zero_grad()
        out["total"].backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step()
        history.append({k: v.item() for k, v in out.items()})
    for key in ("cls", "reg", "iou", "total"):
        first = np.mean([h[key] for h in history[:3]])
        last = np.mean([h[key] for h in history[-3:]])
        assert last < 0.85 * first, (key, first, last)


def test_checkpoint_round_trip_and_tracker_selection(tmp_path):
    from fgsgt_ros.model.checkpoint import load_checkpoint, save_checkpoint
    from fgsgt_ros.tracker import build_tracker, load_model
    from fgsgt_ros.tracker.decoding import AnchorFreeDecoder as Dec
    from fgsgt_ros.tracker.siamese import SiameseTracker

    cfg = get_preset("siamffn_tiny")
    torch.manual_seed(0)
    net = build_model(cfg).eval()
    path = tmp_path / "ffn.pt"
    save_checkpoint(path, net, cfg, extra={"tracker_config": {"lost_threshold": 0.4,
                                                              "recover_threshold": 0.6}})
    net2, cfg2, extra = load_checkpoint(path)
    assert cfg2 == cfg and isinstance(net2, type(net))
    z, x = _inputs(cfg)
    with torch.no_grad():
        a = net.track_with_kernels(x, *net.template_kernels(z))
        b = net2.track_with_kernels(x, *net2.template_kernels(z))
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    tracker = build_tracker(f"siamffn_tiny:{path}")
    assert isinstance(tracker, SiameseTracker) and isinstance(tracker.decoder, Dec)
    assert tracker.cfg.lost_threshold == pytest.approx(0.4)
    loaded = load_model("siamffn_tiny_rf", allow_untrained=True)
    assert loaded.model_cfg.head.fusion == "result"
    # a frame through the whole loop: box stays finite and inside the frame
    img = np.zeros((120, 160), np.uint8)
    img[50:70, 60:90] = 200
    tracker.init(img, (60, 50, 30, 20))
    res = tracker.update(img)
    assert np.isfinite(res.box).all() and 0 <= res.score <= 1
    assert res.saliency_crop is not None and res.saliency_crop.shape == (191, 191)


def test_shipped_siamffn_tiny_runs_in_the_tracking_session():
    """What the node does with ``checkpoint: siamffn_tiny``: the shipped file through
    TrackingSession (AGC of a 16-bit frame, the family's tracker with its calibrated LOST
    thresholds)."""
    from fgsgt_ros import weights
    from fgsgt_ros.tracker.session import TrackingSession

    if not weights.checkpoint_path("siamffn_tiny").is_file():
        pytest.skip("no shipped siamffn_tiny.pt in this checkout")
    session = TrackingSession("siamffn_tiny", model_preset="siamffn_tiny")
    assert session.calibrated and session.model_name == "siamffn_tiny"
    assert isinstance(session.tracker.decoder, AnchorFreeDecoder)
    rng = np.random.default_rng(0)
    frame = (3000 + rng.normal(0, 20, (120, 160))).astype(np.uint16)
    frame[50:70, 60:90] += 800                     # a warm target
    session.init(frame, (60, 50, 30, 20))
    res = session.step(frame)
    assert res.state == "TRACKING"
    assert np.allclose(res.box, (60, 50, 30, 20), atol=6.0), res.box
