"""The `fgsgt` CLI as a user meets it (issue 14): --version, model-info/export-onnx taking the names
eval takes, ONNX graphs with metadata, runtime torch|onnx, one-line errors (an .onnx file given as
a checkpoint, unknown trackers named once, presets without weights not offered), eval's default
--out, one set of dataset format names for train and eval, fixed plot colours per tracker, and
one default for CPU threads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fgsgt_ros import weights

HAVE_WEIGHTS = weights.default_checkpoint().is_file()
needs_weights = pytest.mark.skipif(not HAVE_WEIGHTS, reason="shipped checkpoint missing")


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def fgsgt(capsys, monkeypatch):
    """Run ``fgsgt ARGS`` in this process (no interpreter start-up); ``cwd`` changes directory."""
    from fgsgt_ros.cli import main

    def run(*args, cwd=None):
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            rc = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's --version / usage errors
            rc = exc.code
        out, err = capsys.readouterr()
        return Result(rc, out, err)
    return run


def test_version():
    from fgsgt_ros import __version__

    r = subprocess.run([sys.executable, "-m", "fgsgt_ros.cli", "--version"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"fgsgt_ros {__version__}"


@needs_weights
def test_model_info_takes_a_checkpoint_and_a_preset(fgsgt, tmp_path):
    from fgsgt_ros.model.registry import PRESETS
    from fgsgt_ros.tracker import shipped_presets

    r = fgsgt("model-info", weights.default_checkpoint())
    assert r.returncode == 0, r.stderr
    assert "checkpoint    " in r.stdout and weights.default_checkpoint().name in r.stdout
    assert "trained       " in r.stdout and "parameters" in r.stdout
    assert "online branch on: learned per target" in r.stdout  # says what the tracker will run
    # a checkpoint without calibrated LOST thresholds says which generic values apply
    from fgsgt_ros.model.checkpoint import load_checkpoint, save_checkpoint
    net, cfg, extra = load_checkpoint(weights.default_checkpoint())
    extra.pop("tracker_config", None)
    save_checkpoint(tmp_path / "nocal.pt", net, cfg, extra)
    r = fgsgt("model-info", tmp_path / "nocal.pt")
    assert r.returncode == 0, r.stderr
    assert "none stored: the generic defaults lost_threshold 0.3, recover_threshold 0.5" in r.stdout
    bare = next(p for p in PRESETS if "tiny" in p and p not in shipped_presets())
    r = fgsgt("model-info", bare)  # a preset without shipped weights: architecture only
    assert r.returncode == 0, r.stderr
    assert "architecture only" in r.stdout and "parameters" in r.stdout


@needs_weights
def test_export_onnx_takes_shipped_names_and_writes_metadata(tmp_path, fgsgt):
    onnx = pytest.importorskip("onnx")
    from fgsgt_ros.model.export import read_onnx_metadata

    r = fgsgt("export-onnx", "fgsgt_tiny", cwd=tmp_path)  # shipped name, default --out
    assert r.returncode == 0, r.stderr
    track = tmp_path / "out" / "onnx" / "fgsgt_tiny.onnx"
    template = tmp_path / "out" / "onnx" / "fgsgt_tiny.template.onnx"
    assert track.is_file() and template.is_file()
    onnx.checker.check_model(str(track))
    meta, tmeta = read_onnx_metadata(track), read_onnx_metadata(template)
    assert meta["graph"] == "track" and tmeta["graph"] == "template"
    assert meta["preset"] == "fgsgt_tiny" and meta["family"] == "fgsgt"
    assert meta["model_config"]["exemplar_size"] == meta["preprocessing"]["exemplar_size"] == 95
    assert [i["name"] for i in meta["inputs"]] == ["x"] + [f"k{i}" for i in range(6)]
    assert meta["inputs"][0]["shape"] == [1, 3, 191, 191] and meta["inputs"][0]["layout"] == "NCHW"
    assert "0..255" in meta["preprocessing"]["scaling"]
    # the shipped file runs the online branch: the graph also hands out the search feature
    assert [o["name"] for o in meta["outputs"]] == ["cls", "loc", "sal", "feat"]
    assert "online branch" in meta["outputs"][3]["meaning"]
    dec = meta["decoding"]
    assert dec["type"] == "siamrpn_anchors" and dec["score_size"] == 17
    assert len(dec["anchor_shapes_wh"]) == dec["anchor_num"] == 5
    # the checkpoint's calibrated LOST thresholds travel with the graph
    assert meta["tracker_config"]["lost_threshold"] == pytest.approx(
        __import__("fgsgt_ros.tracker", fromlist=["load_model"]).load_model("fgsgt_tiny")
        .tracker_config.lost_threshold)
    # the metadata alone rebuilds the tracker's anchors (what a C++/TensorRT user would do)
    from fgsgt_ros.model.anchors import anchor_grid
    from fgsgt_ros.model.registry import get_preset

    s, stride = dec["score_size"], dec["stride"]
    offsets = (np.arange(s) - s // 2) * stride
    ys, xs = np.meshgrid(offsets, offsets, indexing="ij")
    own = np.array([[x, y, w, h] for w, h in dec["anchor_shapes_wh"]
                    for x, y in zip(xs.ravel(), ys.ravel())])
    cfg = get_preset("fgsgt_tiny")
    np.testing.assert_allclose(own, anchor_grid(cfg.stride, cfg.anchor_ratios, cfg.anchor_scales,
                                                cfg.score_size))
    r = fgsgt("export-onnx", "siamrpnpp_tiny", "--out", tmp_path / "s.onnx")
    assert r.returncode == 0, r.stderr
    assert read_onnx_metadata(tmp_path / "s.onnx")["preset"] == "siamrpnpp_tiny"


@needs_weights
def test_onnx_graph_given_as_checkpoint_is_one_clear_line(tmp_path, fgsgt):
    pytest.importorskip("onnx")
    from fgsgt_ros.model.export import export_onnx
    from fgsgt_ros.tracker import TrackerBuildError, load_model

    track, _ = export_onnx(load_model(runtime="torch").model, tmp_path / "m.onnx")
    for spec in (str(track), f"fgsgt_tiny:{track}"):
        with pytest.raises(TrackerBuildError, match="is an exported ONNX graph, not a checkpoint"):
            load_model(spec)
    renamed = tmp_path / "m.pt"  # an ONNX file under a checkpoint name is recognised too
    renamed.write_bytes(track.read_bytes())
    with pytest.raises(TrackerBuildError, match="is an exported ONNX graph"):
        load_model(str(renamed))
    for cmd in (["model-info", track], ["eval", tmp_path, "--trackers", track]):
        r = fgsgt(*cmd)
        assert r.returncode == 2
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "is an exported ONNX graph, not a checkpoint" in lines[0], \
            r.stderr


@needs_weights
def test_runtime_onnx_tracks_like_torch(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # the export cache goes here
    from fgsgt_ros.data.synth import generate_sequence, get_preset
    from fgsgt_ros.model.runtime import OnnxNet
    from fgsgt_ros.tracker import build_tracker, load_model
    from fgsgt_ros.tracker.thermal import ThermalPreprocessor

    loaded = load_model(runtime="onnx", num_threads=1)
    assert loaded.runtime == "onnx" and isinstance(loaded.model, OnnxNet)
    assert loaded.model.track_path.is_relative_to(tmp_path)  # exported once, cached
    seq = generate_sequence(get_preset("lepton"), 12, 5, 0)
    boxes = {}
    for runtime in ("torch", "onnx"):
        tracker, agc = build_tracker("fgsgt", runtime=runtime), ThermalPreprocessor()
        tracker.init(agc(seq.frames[0]), seq.boxes[0])
        boxes[runtime] = np.array([tracker.update(agc(f)).box for f in seq.frames[1:]])
    assert type(build_tracker("fgsgt", runtime="onnx").model).__name__ == "OnnxNet"
    # float differences may flip a near-tie of two anchors on a frame (here the last one, the
    # target gone from where the box stays): the same boxes to 0.5 px on nearly every coordinate
    from fgsgt_ros.boxes import iou_xywh
    close = np.abs(boxes["onnx"] - boxes["torch"]) <= 0.5
    assert close.mean() >= 0.9, f"boxes apart by more than 0.5 px: {(~close).sum()} coordinates"
    assert iou_xywh(boxes["onnx"], boxes["torch"]).mean() > 0.9


def test_default_runtime_is_onnx_on_a_cpu_where_installed_else_torch(monkeypatch):
    from fgsgt_ros.model import runtime as R
    from fgsgt_ros.tracker import load_model

    assert R.DEFAULT_RUNTIME == "auto"
    assert R.resolve_runtime("", "cpu") == R.resolve_runtime("auto", "cpu")
    assert R.resolve_runtime("auto", "cuda:0") == "torch"  # onnxruntime-gpu is not assumed
    assert R.resolve_runtime("torch", "cpu") == "torch" and R.resolve_runtime("onnx", "cpu") == "onnx"
    monkeypatch.setattr(R, "onnx_available", lambda: False)
    assert R.resolve_runtime("auto", "cpu") == "torch"
    loaded = load_model("fgsgt_tiny", runtime="auto", allow_untrained=True)
    assert loaded.runtime == "torch"  # the concrete runtime is recorded, never "auto"
    monkeypatch.setattr(R, "onnx_available", lambda: True)
    assert R.resolve_runtime("auto", "cpu") == "onnx"


def test_unknown_runtime_and_tracker_messages(fgsgt):
    from fgsgt_ros.tracker import TrackerBuildError, load_model, shipped_presets

    with pytest.raises(TrackerBuildError, match="unknown runtime 'tensorrt'"):
        load_model("fgsgt_tiny", runtime="tensorrt", allow_untrained=True)
    with pytest.raises(TrackerBuildError) as info:
        load_model("siamrpn")
    message = str(info.value)
    assert "fgsgt_r50" not in message  # presets without weights are not offered as trackers
    for name in shipped_presets():
        assert name in message
    r = fgsgt("eval", Path(__file__).parent, "--trackers", "siamrpn")
    assert r.returncode == 2
    assert r.stderr.count("'siamrpn'") == 1, r.stderr  # named once, not "tracker 'x': unknown 'x'"


def _tiny_plain_dataset(root: Path, n_seq: int = 2, frames: int = 6) -> Path:
    from fgsgt_ros.data.sequence import write_plain_sequence
    from fgsgt_ros.data.synth import generate_sequence, get_preset

    for i in range(n_seq):
        seq = generate_sequence(get_preset("lepton"), frames, 11 + i, 0)
        write_plain_sequence(root / f"seq_{i}", seq.frames, seq.boxes)
    return root


def test_eval_default_out_format_alias_and_aligned_table(tmp_path, fgsgt):
    data = _tiny_plain_dataset(tmp_path / "mydata")
    r = fgsgt("eval", data, "--trackers", "csrt,a_long_tracker_name=kcf", "--format", "auto",
              "--no-plots", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    summary = tmp_path / "out" / "eval" / "mydata" / "summary.json"
    assert summary.is_file()
    lines = r.stdout.splitlines()
    head = lines.index("Per sequence (success AUC / precision@20px):")
    table = lines[head + 1: head + 4]
    # every row of the per-sequence table has the same width and the columns line up
    assert len({len(line.rstrip()) for line in table}) == 1, table
    ends = [i for i, c in enumerate(table[0]) if c != " " and (i + 1 == len(table[0])
                                                                or table[0][i + 1] == " ")]
    for row in table[1:]:
        for end in ends[1:]:
            assert row[end] != " ", (table, end)
    r = fgsgt("eval", data, "--trackers", "csrt", "--format", "lsotb", "--out", tmp_path / "o")
    assert r.returncode == 2 and "not in an LSOTB-TIR layout" in r.stderr


def test_train_and_eval_take_the_same_format_names(tmp_path):
    from fgsgt_ros.data.datasets import FORMAT_CHOICES, FORMATS, read_dataset, resolve_format
    from fgsgt_ros.cli.evaluate import register as register_eval
    from fgsgt_ros.cli.train import register as register_train
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    register_eval(sub)
    register_train(sub)
    choices = {}
    for name, p in sub.choices.items():
        for action in p._actions:
            if "--format" in action.option_strings:
                choices[name] = tuple(action.choices)
    assert choices["eval"] == choices["train"] == FORMAT_CHOICES
    assert set(FORMATS) <= set(FORMAT_CHOICES)
    assert {"lsotb", "lsotb_tir_train", "lsotb_tir", "auto"} <= set(FORMAT_CHOICES)
    # train's old "lsotb" is an LSOTB-TIR training folder, detected
    root = tmp_path / "LSOTB"
    (root / "Annotations" / "p" / "s").mkdir(parents=True)
    (root / "TrainingData" / "p" / "s").mkdir(parents=True)
    assert resolve_format(root, "lsotb") == "lsotb_tir_train"
    assert resolve_format(root, "lsotb_train") == "lsotb_tir_train"
    data = _tiny_plain_dataset(tmp_path / "d", n_seq=1, frames=3)
    assert len(read_dataset(data, "auto")) == 1


def test_plot_colours_are_fixed_per_tracker(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from fgsgt_ros.evaluation.metrics import (NORM_PRECISION_THRESHOLDS, PRECISION_THRESHOLDS,
                                              SUCCESS_THRESHOLDS)
    from fgsgt_ros.evaluation.plots import tracker_styles, write_plots

    def entry(s, p):  # A wins on success, B on precision: the legend order differs per plot
        return {"success_curve": np.full(len(SUCCESS_THRESHOLDS), s), "success_auc": s,
                "precision_curve": np.full(len(PRECISION_THRESHOLDS), p), "precision_20": p,
                "norm_precision_curve": np.full(len(NORM_PRECISION_THRESHOLDS), p),
                "norm_precision_20": p}

    overall = {"A": entry(0.8, 0.2), "B": entry(0.3, 0.9), "C": entry(0.5, 0.5)}
    seen = []
    original = Figure.savefig

    def record(fig, *args, **kwargs):
        seen.append({line.get_label().split(" [")[0]: line.get_color()
                     for ax in fig.axes for line in ax.get_lines()})
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    paths = write_plots(overall, tmp_path)
    assert len(paths) == 3 and all(p.is_file() for p in paths)
    styles = tracker_styles(list(overall))
    assert len({c for c, _ in styles.values()}) == 3
    for colours in seen:
        assert colours == {n: styles[n][0] for n in overall}


def test_one_default_for_cpu_threads():
    from fgsgt_ros.cli.evaluate import register
    from fgsgt_ros.model.runtime import DEFAULT_NUM_THREADS
    from fgsgt_ros.ros.demo import build_parser
    import argparse

    assert DEFAULT_NUM_THREADS == 1
    sub = argparse.ArgumentParser().add_subparsers()
    register(sub)
    eval_threads = next(a.default for a in sub.choices["eval"]._actions if a.dest == "threads")
    assert eval_threads == DEFAULT_NUM_THREADS
    assert build_parser().parse_args([]).threads == DEFAULT_NUM_THREADS
    try:
        from fgsgt_ros.ros.params import NodeConfig
    except ImportError:  # rclpy-free import failed: params needs ROS here
        return
    assert NodeConfig().num_threads == DEFAULT_NUM_THREADS


def test_train_resume_with_other_settings_says_what_must_match(tmp_path, fgsgt):
    """A run resumed with another schedule (its optimiser groups differ) is refused with a message
    that names the fix, not torch's bare "parameter group" error."""
    from fgsgt_ros.data.synth import PRESETS, generate_dataset

    generate_dataset(tmp_path / "data", PRESETS["tiny"], n_sequences=2, n_frames=8, seed=5,
                     progress=False)
    common = ["train", "--preset", "fgsgt_tiny", "--data", tmp_path / "data", "--format", "plain",
              "--out", tmp_path / "run", "--samples-per-epoch", "2", "--batch-size", "2",
              "--workers", "0", "--device", "cpu"]
    first = fgsgt(*common, "--schedule", "cpu_tiny_long", "--epochs", "1")  # whole backbone
    assert first.returncode == 0, first.stderr
    again = fgsgt(*common, "--schedule", "cpu_tiny", "--epochs", "2", "--resume", "auto")
    assert again.returncode != 0
    assert "cannot resume" in again.stderr and "train_config.json" in again.stderr


@needs_weights
def test_a_cuda_device_this_machine_lacks_is_named_with_what_to_use(fgsgt, tmp_path, monkeypatch):
    """--device cuda:0 without CUDA: one line saying so and naming cpu / auto, no traceback, for
    every command that takes a device (the node instead falls back with a warning)."""
    import torch

    from fgsgt_ros import devices

    if torch.cuda.is_available():  # pretend this machine has no GPU
        monkeypatch.setattr(devices, "_cuda_problem", lambda index: "no CUDA here (test)")
    seq = tmp_path / "data" / "seq"
    (seq / "img").mkdir(parents=True)
    import cv2

    for i in range(3):
        cv2.imwrite(str(seq / "img" / f"{i + 1:06d}.png"), np.full((40, 50), 3000, np.uint16))
    (seq / "groundtruth_rect.txt").write_text("10,10,8,8\n" * 3)
    for args in (["eval", tmp_path / "data", "--trackers", "fgsgt", "--device", "cuda:0",
                  "--out", tmp_path / "e"],
                 ["calibrate", "fgsgt", "--device", "cuda:0"],
                 ["train", "--preset", "fgsgt_tiny", "--schedule", "test", "--data",
                  tmp_path / "data", "--format", "plain", "--out", tmp_path / "t",
                  "--device", "cuda:0"]):
        r = fgsgt(*args)
        assert r.returncode != 0, args
        assert "cuda:0" in r.stderr and "'cpu'" in r.stderr and "'auto'" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr and "AssertionError" not in r.stderr
    assert devices.resolve_device("cuda:0", fallback=True, warn=lambda s: None) == "cpu"
    with pytest.raises(devices.DeviceError, match="not auto, cpu or cuda:N"):
        devices.resolve_device("gpu")
