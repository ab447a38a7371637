"""Behaviour of the FGSGT network: shapes, gradients, ablations, losses, checkpoints, ONNX, weights.

Full-size (R50) presets are exercised at small batch and, for the gradient test, at a reduced
search size (127/159) so the whole file stays within about two minutes on two cores.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from fgsgt_ros.model import anchors as A
from fgsgt_ros.model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from fgsgt_ros.model.families.fgsgt import PRESETS, ModelConfig, build_model, get_preset
from fgsgt_ros.model.fgpcb import FGPCB, BilinearFusion
from fgsgt_ros.model.losses import FGSGTLoss
from fgsgt_ros.model.rrspn import RRSPN

TINY = ("fgsgt_tiny", "siamrpnpp_tiny")
R50 = ("fgsgt_r50", "siamrpnpp_r50", "siam_fgpcb", "siam_rrspn", "siam_t")


def images(cfg, b=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    z = torch.rand(b, 3, cfg.exemplar_size, cfg.exemplar_size, generator=g) * 255
    x = torch.rand(b, 3, cfg.instance_size, cfg.instance_size, generator=g) * 255
    return z, x


def make_targets(cfg: ModelConfig, b: int, seed: int = 0):
    """SiamRPN++-style labels for a random target near the search-crop centre."""
    rng = np.random.default_rng(seed)
    anc = A.anchor_grid(cfg.stride, cfg.anchor_ratios, cfg.anchor_scales, cfg.score_size)
    n = len(anc)
    label = np.full((b, n), -1, np.int64)
    loc = np.zeros((b, 4, n), np.float32)
    weight = np.zeros((b, n), np.float32)
    boxes = np.zeros((b, 4), np.float32)
    sal = np.zeros((b, 1, cfg.instance_size, cfg.instance_size), np.float32)
    size = cfg.exemplar_size / 2
    for i in range(b):
        box = np.array([rng.uniform(-16, 16), rng.uniform(-16, 16),
                        size * rng.uniform(0.8, 1.25), size * rng.uniform(0.8, 1.25)], np.float32)
        x0 = np.maximum(anc[:, 0] - anc[:, 2] / 2, box[0] - box[2] / 2)
        x1 = np.minimum(anc[:, 0] + anc[:, 2] / 2, box[0] + box[2] / 2)
        y0 = np.maximum(anc[:, 1] - anc[:, 3] / 2, box[1] - box[3] / 2)
        y1 = np.minimum(anc[:, 1] + anc[:, 3] / 2, box[1] + box[3] / 2)
        inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        iou = inter / (anc[:, 2] * anc[:, 3] + box[2] * box[3] - inter)
        pos = np.argsort(-iou)[:4]  # best anchors, so every sample has positives
        neg = rng.choice(np.where(iou < 0.3)[0], 48, replace=False)
        label[i, neg] = 0
        label[i, pos] = 1
        weight[i, pos] = 1.0 / len(pos)
        loc[i] = A.encode(box, anc)
        boxes[i] = box
        c = cfg.instance_size / 2
        sal[i, 0, int(c + box[1] - box[3] / 2):int(c + box[1] + box[3] / 2),
            int(c + box[0] - box[2] / 2):int(c + box[0] + box[2] / 2)] = 1.0
    return {"label_cls": torch.from_numpy(label), "label_loc": torch.from_numpy(loc),
            "label_loc_weight": torch.from_numpy(weight), "saliency": torch.from_numpy(sal),
            "target_box": torch.from_numpy(boxes)}


def calibrate_bn(net, cfg, steps=2):
    """Give BatchNorm realistic running statistics (eval outputs of O(1), like a trained net)."""
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # cumulative average
    net.train()
    with torch.no_grad():
        for s in range(steps):
            net.forward_train(*images(cfg, 2, seed=100 + s))
    net.eval()


# -- configuration ----------------------------------------------------------------------------

def test_get_preset_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as err:
        get_preset("fgsgt_r18")
    for name in PRESETS:
        assert name in str(err.value)


@pytest.mark.parametrize("name", list(PRESETS))
def test_config_round_trips_through_a_plain_dict(name):
    cfg = get_preset(name)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg


def test_config_rejects_unknown_keys_and_bad_values():
    d = get_preset("fgsgt_tiny").to_dict()
    d["rrspn"]["depth"] = 3
    with pytest.raises(ValueError, match="depth"):
        ModelConfig.from_dict(d)
    with pytest.raises(ValueError):
        dataclasses.replace(get_preset("fgsgt_tiny"), instance_size=80)


# -- ablations --------------------------------------------------------------------------------

def _count(net, kind):
    return sum(isinstance(m, kind) for m in net.modules())


@pytest.mark.parametrize("name,fgpcb,rrspn,iou,saliency", [
    ("siamrpnpp_r50", False, False, False, "none"),
    ("siam_fgpcb", True, False, False, "none"),
    ("siam_rrspn", False, True, False, "final"),
    ("siam_t", True, True, False, "final"),
    ("fgsgt_r50", True, True, True, "deep"),
    ("siamrpnpp_tiny", False, False, False, "none"),
    ("fgsgt_tiny", True, True, True, "deep"),
])
def test_ablation_presets_have_exactly_their_modules(name, fgpcb, rrspn, iou, saliency):
    cfg = get_preset(name)
    net = build_model(cfg)
    assert _count(net, FGPCB) == (3 if fgpcb else 0)
    assert _count(net, BilinearFusion) == (1 if fgpcb else 0)
    assert _count(net, RRSPN) == (1 if rrspn else 0)
    assert cfg.loss.iou is iou and cfg.loss.saliency == saliency
    # The FGPCB presets replace Conv4_1..Conv4_3 and keep the remaining bottlenecks.
    assert len(net.backbone.layer3) == cfg.backbone.layers[2]


def test_tiny_baseline_matches_fgsgt_tiny_apart_from_the_fgsgt_modules():
    a, b = get_preset("fgsgt_tiny"), get_preset("siamrpnpp_tiny")
    for f in ("exemplar_size", "instance_size", "anchor_scales", "backbone", "head"):
        assert getattr(a, f) == getattr(b, f)


# -- shapes -------------------------------------------------------------------------------------

def test_paper_sizes_give_every_intermediate_its_documented_shape():
    cfg = get_preset("fgsgt_r50")
    net = build_model(cfg).eval()
    seen = {}

    def hook(name):
        def fn(_m, _inp, out):
            seen.setdefault(name, []).append(out)
        return fn

    for i in range(3):
        net.backbone.layer3[i].register_forward_hook(hook(f"fgpcb{i}"))
    net.backbone.fusion.register_forward_hook(hook("fusion"))
    net.neck.register_forward_hook(hook("neck"))
    z, x = images(cfg)
    with torch.no_grad():
        fz = net.backbone(z)
        fx = net.backbone(x)
        assert [tuple(f.shape[1:]) for f in fz] == [
            (64, 61, 61), (256, 31, 31), (512, 15, 15), (1024, 15, 15), (2048, 15, 15)]
        assert [tuple(f.shape[1:]) for f in fx] == [
            (64, 125, 125), (256, 63, 63), (512, 31, 31), (1024, 31, 31), (2048, 31, 31)]
        assert all(tuple(o.shape) == (1, 1024, 31, 31) for o in
                   [seen[f"fgpcb{i}"][-1] for i in range(3)] + [seen["fusion"][-1]])
        seen.clear()
        kernels = net.template_kernels(z)
        assert [tuple(t.shape) for t in seen["neck"][0]] == [(1, 256, 7, 7)] * 3
        assert [tuple(k.shape) for k in kernels] == [(1, 256, 5, 5)] * 6
        sal_maps = net.rrspn(*fx)
        assert [tuple(s.shape) for s in sal_maps] == [(1, 1, 125, 125)] * 3
        cls, loc, sal = net.track_with_kernels(x, *kernels)
    assert cfg.score_size == 25 and cfg.anchor_num == 5
    assert tuple(cls.shape) == (1, 10, 25, 25)
    assert tuple(loc.shape) == (1, 20, 25, 25)
    assert tuple(sal.shape) == (1, 1, 125, 125)
    assert float(sal.min()) >= 0.0 and float(sal.max()) <= 1.0


@pytest.mark.parametrize("name", TINY)
def test_tiny_inference_api_matches_the_contract(name):
    cfg = get_preset(name)
    net = build_model(cfg).eval()
    z, x = images(cfg, 2)
    with pytest.raises(RuntimeError, match="template"):
        net.track(x)
    with torch.no_grad():
        net.template(z)
        cls, loc, sal = net.track(x)
        again = net.track_with_kernels(x, *net.template_kernels(z))
        train = net.forward_train(z, x)
    s, a = cfg.score_size, cfg.anchor_num
    assert tuple(cls.shape) == (2, 2 * a, s, s) and tuple(loc.shape) == (2, 4 * a, s, s)
    assert sal.shape[:2] == (2, 1) and 0.0 <= float(sal.min()) <= float(sal.max()) <= 1.0
    torch.testing.assert_close(cls, again[0])
    torch.testing.assert_close(train["cls"], cls)
    n_maps = cfg.rrspn.num_srrb + 1 if cfg.rrspn.enabled else 0
    assert len(train["saliency_logits"]) == n_maps
    with torch.no_grad(), pytest.raises(ValueError, match="batch"):
        net.track_with_kernels(x[:1], *net.template_kernels(z))


def test_baseline_saliency_is_the_response_map_over_the_whole_crop():
    cfg = get_preset("siamrpnpp_tiny")
    net = build_model(cfg).eval()
    z, x = images(cfg)
    with torch.no_grad():
        cls, _, sal = net.track_with_kernels(x, *net.template_kernels(z))
    assert tuple(sal.shape) == (1, 1, cfg.instance_size, cfg.instance_size)
    fg = torch.softmax(cls.view(1, 2, cfg.anchor_num, -1), 1)[:, 1].amax(1)
    c = cfg.instance_size // 2
    assert abs(float(sal[0, 0, c, c]) - float(fg.view(-1)[fg.numel() // 2])) < 0.05
    assert float(sal[0, 0, 0, 0]) == 0.0  # outside the score grid


def test_saliency_guidance_switch_controls_whether_rrspn_affects_the_heads():
    base = get_preset("fgsgt_tiny")
    for guidance in (True, False):
        cfg = dataclasses.replace(base, rrspn=dataclasses.replace(base.rrspn, guidance=guidance))
        torch.manual_seed(0)
        net = build_model(cfg).eval()
        z, x = images(cfg)
        with torch.no_grad():
            before = net.track_with_kernels(x, *net.template_kernels(z))[0]
            for p in net.rrspn.parameters():
                p.add_(torch.randn_like(p))
            after = net.track_with_kernels(x, *net.template_kernels(z))[0]
        assert (not torch.allclose(before, after)) is guidance


# -- gradients and losses -----------------------------------------------------------------------

def _small(cfg):
    """R50 presets at reduced input sizes and batch 1 for the gradient test (same modules and
    losses; BatchNorm still sees several positions per channel)."""
    if cfg.name in TINY:
        return cfg, 2
    return dataclasses.replace(cfg, exemplar_size=111, instance_size=143), 1


@pytest.mark.parametrize("name", list(PRESETS))
def test_combined_loss_reaches_every_parameter(name):
    cfg, b = _small(get_preset(name))
    torch.manual_seed(0)
    net = build_model(cfg).train()
    z, x = images(cfg, b)
    out = net.forward_train(z, x)
    assert tuple(out["cls"].shape[-2:]) == (cfg.score_size, cfg.score_size)
    losses = FGSGTLoss(cfg)(out, make_targets(cfg, b))
    expected = {"total", "cls", "loc_l1"}
    expected |= {"loc_iou"} if cfg.loss.iou else set()
    expected |= {"saliency"} if cfg.loss.saliency != "none" else set()
    assert set(losses) == expected
    losses["total"].backward()
    dead = [n for n, p in net.named_parameters()
            if p.grad is None or not torch.isfinite(p.grad).all() or float(p.grad.abs().sum()) == 0]
    assert dead == []


def test_siamrpnpp_loss_is_cls_plus_1_2_weighted_l1():
    cfg = get_preset("siamrpnpp_tiny")
    net = build_model(cfg)
    out = net.forward_train(*images(cfg, 2))
    loss = FGSGTLoss(cfg)(out, make_targets(cfg, 2))
    torch.testing.assert_close(loss["total"], 1.0 * loss["cls"] + 1.2 * loss["loc_l1"])


def test_regression_terms_vanish_for_a_perfect_prediction():
    cfg = get_preset("fgsgt_tiny")
    t = make_targets(cfg, 2)
    s, a = cfg.score_size, cfg.anchor_num
    out = {"cls": torch.zeros(2, 2 * a, s, s),
           "loc": t["label_loc"].reshape(2, 4 * a, s, s).clone(),
           "saliency_logits": [torch.zeros(2, 1, 47, 47)] * 3}
    loss = FGSGTLoss(cfg)(out, t)
    assert float(loss["loc_l1"]) < 1e-6
    assert float(loss["loc_iou"]) < 1e-4
    assert abs(float(loss["cls"]) - float(np.log(2))) < 1e-6


def test_loss_rejects_targets_of_the_wrong_shape():
    cfg = get_preset("fgsgt_tiny")
    out = build_model(cfg).forward_train(*images(cfg, 2))
    t = make_targets(cfg, 2)
    t["label_cls"] = t["label_cls"][:, :-1]
    with pytest.raises(ValueError, match="label_cls"):
        FGSGTLoss(cfg)(out, t)


def test_tiny_model_trains_stably_from_scratch():
    cfg = get_preset("fgsgt_tiny")
    torch.manual_seed(0)
    net = build_model(cfg).train()
    loss_fn = FGSGTLoss(cfg)
    z, x = images(cfg, 4, seed=3)
    t = make_targets(cfg, 4, seed=3)
    opt = torch.optim.SGD(net.parameters(), lr=1e-2, momentum=0.9)
    history = []
    for _ in range(8):
        loss = loss_fn(net.forward_train(z, x), t)["total"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    assert all(np.isfinite(history))
    assert history[-1] < 0.8 * history[0]


# -- checkpoints ----------------------------------------------------------------------------------

def test_checkpoint_alone_rebuilds_the_same_model(tmp_path):
    cfg = get_preset("fgsgt_tiny")
    net = build_model(cfg)
    calibrate_bn(net, cfg, steps=1)
    path = tmp_path / "m.pt"
    save_checkpoint(path, net, cfg, extra={"epoch": 3, "note": "test"})
    loaded, cfg2, extra = load_checkpoint(path)
    assert cfg2 == cfg and extra == {"epoch": 3, "note": "test"}
    assert not loaded.training
    z, x = images(cfg)
    with torch.no_grad():
        ref = net.track_with_kernels(x, *net.template_kernels(z))
        got = loaded.track_with_kernels(x, *loaded.template_kernels(z))
    for a, b in zip(ref, got):
        torch.testing.assert_close(a, b)


def test_corrupt_foreign_and_mismatched_checkpoints_fail_clearly(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(garbage)
    cfg = get_preset("siamrpnpp_tiny")
    net = build_model(cfg)
    good = tmp_path / "good.pt"
    save_checkpoint(good, net, cfg)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:4000])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save(net.state_dict(), foreign)
    with pytest.raises(CheckpointError, match="not an fgsgt_ros model checkpoint"):
        load_checkpoint(foreign)
    payload = torch.load(good, weights_only=True)
    payload["config"] = get_preset("fgsgt_tiny").to_dict()  # weights of another preset
    mismatched = tmp_path / "mismatched.pt"
    torch.save(payload, mismatched)
    with pytest.raises(CheckpointError, match="do not match the 'fgsgt_tiny' config"):
        load_checkpoint(mismatched)
    payload["version"] = 99
    future = tmp_path / "future.pt"
    torch.save(payload, future)
    with pytest.raises(CheckpointError, match="version"):
        load_checkpoint(future)


# -- ONNX ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", TINY + ("fgsgt_tiny@conv1", "fgsgt_tiny@online"))
def test_onnx_export_matches_pytorch(tmp_path, name):
    ort = pytest.importorskip("onnxruntime")
    from fgsgt_ros.model.config import OnlineConfig
    from fgsgt_ros.model.export import KERNEL_NAMES, export_onnx

    cfg = get_preset(name.split("@")[0])
    if name.endswith("@conv1"):  # the paper's saliency resolution (the R50 presets' path)
        cfg = dataclasses.replace(cfg, rrspn=dataclasses.replace(cfg.rrspn, low_level="conv1"))
    if name.endswith("@online"):  # the tracker's online branch needs the search feature too
        cfg = dataclasses.replace(cfg, online=OnlineConfig(enabled=True, layers=2, hidden=16))
    torch.manual_seed(0)
    net = build_model(cfg)
    calibrate_bn(net, cfg)
    track_path, template_path = export_onnx(net, tmp_path / "model.onnx")
    assert not net.training  # export must not flip BatchNorm back to training
    z, x = images(cfg, seed=7)
    with torch.no_grad():
        kernels = net.template_kernels(z)
        ref = net.track_with_kernels(x, *kernels)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    tmpl = ort.InferenceSession(str(template_path), opts, providers=["CPUExecutionProvider"])
    track = ort.InferenceSession(str(track_path), opts, providers=["CPUExecutionProvider"])
    k_onnx = tmpl.run(None, {"z": z.numpy()})
    for a, b in zip(k_onnx, kernels):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-4, atol=1e-3)
    feeds = {"x": x.numpy(), **dict(zip(KERNEL_NAMES, k_onnx))}
    names = [o.name for o in track.get_outputs()]
    assert names == ["cls", "loc", "sal"] + (["feat"] if cfg.online.enabled else [])
    for a, b in zip(track.run(None, feeds), ref):
        assert a.shape == tuple(b.shape)
        assert np.abs(a - b.numpy()).max() < 1e-3


# -- ImageNet weights ------------------------------------------------------------------------------

def torchvision_resnet50_shapes():
    """Names and shapes of torchvision's resnet50().state_dict(), written from the architecture."""
    shapes = {"conv1.weight": (64, 3, 7, 7)}

    def bn(prefix, c):
        shapes.update({f"{prefix}.weight": (c,), f"{prefix}.bias": (c,),
                       f"{prefix}.running_mean": (c,), f"{prefix}.running_var": (c,),
                       f"{prefix}.num_batches_tracked": ()})

    bn("bn1", 64)
    inplanes = 64
    for li, (planes, blocks) in enumerate(zip((64, 128, 256, 512), (3, 4, 6, 3)), start=1):
        for b in range(blocks):
            p = f"layer{li}.{b}"
            shapes[f"{p}.conv1.weight"] = (planes, inplanes, 1, 1)
            bn(f"{p}.bn1", planes)
            shapes[f"{p}.conv2.weight"] = (planes, planes, 3, 3)
            bn(f"{p}.bn2", planes)
            shapes[f"{p}.conv3.weight"] = (planes * 4, planes, 1, 1)
            bn(f"{p}.bn3", planes * 4)
            if b == 0:
                shapes[f"{p}.downsample.0.weight"] = (planes * 4, inplanes, 1, 1)
                bn(f"{p}.downsample.1", planes * 4)
            inplanes = planes * 4
    shapes["fc.weight"] = (1000, 2048)
    shapes["fc.bias"] = (1000,)
    return shapes


def _synthetic_state_dict():
    g = torch.Generator().manual_seed(0)
    return {k: (torch.tensor(5) if k.endswith("num_batches_tracked")
                else torch.randn(s, generator=g)) for k, s in torchvision_resnet50_shapes().items()}


def test_imagenet_resnet50_state_dict_loads_into_the_backbone(tmp_path):
    from fgsgt_ros.model.backbones.resnet import load_resnet50_imagenet

    sd = _synthetic_state_dict()
    path = tmp_path / "resnet50.pth"
    torch.save(sd, path)
    net = build_model(get_preset("siamrpnpp_r50"))
    report = load_resnet50_imagenet(net, path)
    own = net.backbone.state_dict()
    assert report.not_loaded == []  # the baseline backbone is exactly a ResNet-50
    assert set(report.unused) == {"fc.weight", "fc.bias"}
    torch.testing.assert_close(own["layer3.4.conv2.weight"], sd["layer3.4.conv2.weight"])
    torch.testing.assert_close(own["bn1.running_var"], sd["bn1.running_var"])
    w = own["layer4.0.downsample.0.weight"]  # 3x3 here, 1x1 in torchvision: centre tap
    torch.testing.assert_close(w[:, :, 1, 1], sd["layer4.0.downsample.0.weight"][:, :, 0, 0])
    assert float(w[:, :, 0, 0].abs().sum()) == 0.0

    fg = build_model(get_preset("fgsgt_r50"))
    report = load_resnet50_imagenet(fg, path)
    assert "layer3.0.conv1.weight" in report.unused  # replaced by FGPCB
    assert any(n.startswith("layer3.0.stream_3x3") for n in report.not_loaded)
    torch.testing.assert_close(fg.backbone.state_dict()["layer3.3.conv1.weight"],
                               sd["layer3.3.conv1.weight"])


def test_loading_an_unrelated_file_as_imagenet_weights_fails(tmp_path):
    from fgsgt_ros.model.backbones.resnet import load_resnet50_imagenet

    path = tmp_path / "other.pth"
    torch.save({"encoder.weight": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="no tensor matched"):
        load_resnet50_imagenet(build_model(get_preset("siamrpnpp_tiny")), path)
    with pytest.raises(FileNotFoundError):
        load_resnet50_imagenet(build_model(get_preset("siamrpnpp_tiny")), tmp_path / "nope.pth")


# -- CLI ------------------------------------------------------------------------------------------

def test_model_cli_reports_costs_and_rejects_bad_input(capsys, tmp_path):
    from fgsgt_ros.cli import main

    assert main(["model-info", "siamrpnpp_tiny"]) == 0
    out = capsys.readouterr().out
    assert "score 17x17 x 5 anchors" in out and "GFLOPs" in out
    assert main(["model-info", "resnet"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'resnet'" in err and "fgsgt_r50" in err
    assert main(["export-onnx", "--checkpoint", str(tmp_path / "no.pt"),
                 "--out", str(tmp_path / "m.onnx")]) == 2
    assert f"checkpoint {tmp_path / 'no.pt'} not found" in capsys.readouterr().err


def test_loss_ignores_undefined_regression_targets_of_negative_pairs():
    cfg = get_preset("fgsgt_tiny")
    out = build_model(cfg).forward_train(*images(cfg, 2))
    t = make_targets(cfg, 2)
    t["label_cls"][1][t["label_cls"][1] == 1] = 0  # sample 1 is a negative pair
    t["label_loc_weight"][1] = 0.0
    t["label_loc"][1] = float("nan")
    t["target_box"][1] = float("nan")
    loss = FGSGTLoss(cfg)(out, t)
    assert all(torch.isfinite(v) for v in loss.values())
    loss["total"].backward()


def test_onnxruntime_net_is_a_drop_in_for_the_tracker(tmp_path):
    pytest.importorskip("onnxruntime")
    from fgsgt_ros.model.runtime import OnnxNet

    cfg = get_preset("fgsgt_tiny")
    torch.manual_seed(1)
    net = build_model(cfg)
    calibrate_bn(net, cfg, steps=1)
    ckpt = tmp_path / "m.pt"
    save_checkpoint(ckpt, net, cfg)
    ort_net = OnnxNet.from_checkpoint(ckpt, cache_dir=tmp_path / "cache")
    cached = sorted((tmp_path / "cache").iterdir())
    assert len(cached) == 2
    stamp = [p.stat().st_mtime_ns for p in cached]
    OnnxNet.from_checkpoint(ckpt, cache_dir=tmp_path / "cache")  # reuses the export
    assert [p.stat().st_mtime_ns for p in cached] == stamp
    z, x = images(cfg, seed=5)
    with pytest.raises(RuntimeError, match="template"):
        ort_net.track(x)
    ort_net.template(z)
    net.eval()
    with torch.no_grad():
        net.template(z)
        ref = net.track(x)
    got = ort_net.track(x)
    assert ort_net.cfg == cfg
    for a, b in zip(got, ref):
        assert isinstance(a, torch.Tensor) and a.shape == b.shape
        assert float((a - b).abs().max()) < 1e-3
