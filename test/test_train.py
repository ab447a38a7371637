"""Trainer: learns, resumes exactly, and runs data-parallel under torchrun (gloo, CPU)."""

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from fgsgt_ros.data.sequence import read_plain_dataset
from fgsgt_ros.data.synth import PRESETS as SYNTH, generate_dataset
from fgsgt_ros.model.families.fgsgt import get_preset as model_preset
from fgsgt_ros.training.config import ALL_BACKBONE_LAYERS, get_preset as train_preset
from fgsgt_ros.training.trainer import Trainer, lr_at

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    generate_dataset(root, SYNTH["tiny"], n_sequences=4, n_frames=12, seed=7, progress=False)
    return root


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def small_model():
    """fgsgt_tiny at 63/127 px crops: the same modules, 4x cheaper, for fast tests."""
    return dataclasses.replace(model_preset("fgsgt_tiny"), name="fgsgt_tiny_test", exemplar_size=63,
                               instance_size=127, anchor_scales=(4.0,))


def test_learning_rate_warms_up_then_decays_log_linearly():
    s = train_preset("siamrpnpp").schedule
    assert lr_at(s, 0) == pytest.approx(0.001)
    assert lr_at(s, 5) == pytest.approx(0.005)
    assert lr_at(s, 20) == pytest.approx(0.0005)
    assert lr_at(s, 12.5) == pytest.approx(np.sqrt(0.005 * 0.0005))  # geometric mid-point


def test_resume_reproduces_the_uninterrupted_runs_next_loss(synth_root, tmp_path):
    seqs = read_plain_dataset(synth_root)
    cfg = dataclasses.replace(train_preset("test"), samples_per_epoch=8, batch_size=4)
    full_losses = []
    full = Trainer(small_model(), cfg, seqs, tmp_path / "full", device="cpu", progress=False)
    full.train(step_callback=lambda step, stats: full_losses.append(stats["total"]))
    full.close()
    assert len(full_losses) == 4  # 2 epochs x 2 iterations

    first = Trainer(small_model(), cfg, seqs, tmp_path / "part", device="cpu", progress=False)
    first.train(epochs=1)
    first.close()
    resumed_losses = []
    resumed = Trainer(small_model(), cfg, seqs, tmp_path / "resumed", device="cpu", progress=False)
    resumed.resume(tmp_path / "part" / "checkpoint_e001.pt")
    assert resumed.epoch == 1 and resumed.global_step == 2
    resumed.train(step_callback=lambda step, stats: resumed_losses.append(stats["total"]))
    resumed.close()
    # epoch 2 also unfreezes the backbone (test preset): the phase switch is part of the resume
    assert resumed_losses == pytest.approx(full_losses[2:], rel=1e-5)


def test_all_backbone_layers_trains_the_stem_and_the_pretrained_recipe_keeps_it(
        synth_root, tmp_path):
    """``ALL_BACKBONE_LAYERS`` trains conv1, bn1 and layer1 too (what a from-scratch backbone may
    want); SiamRPN++'s recipe, meant for a pretrained backbone, keeps them fixed."""
    seqs = read_plain_dataset(synth_root)

    def changed_after_one_step(layers):
        base = train_preset("siamrpnpp")
        sched = dataclasses.replace(base.schedule, freeze_backbone_epochs=0, epochs=1,
                                    **({"backbone_train_layers": layers} if layers else {}))
        cfg = dataclasses.replace(base, schedule=sched, samples_per_epoch=2, batch_size=2,
                                  num_workers=0)
        tr = Trainer(small_model(), cfg, seqs, tmp_path / str(layers), device="cpu",
                     progress=False)
        before = {n: p.detach().clone() for n, p in tr.model.backbone.named_parameters()}
        tr.train()
        tr.close()
        return {n.split(".")[0] for n, p in tr.model.backbone.named_parameters()
                if not torch.equal(before[n], p.detach())}

    assert {"conv1", "bn1", "layer1", "layer4"} <= changed_after_one_step(ALL_BACKBONE_LAYERS)
    kept = changed_after_one_step(None)
    assert "layer4" in kept and not kept & {"conv1", "bn1", "layer1"}


def test_tiny_training_lowers_every_loss_term(synth_root, tmp_path):
    seqs = read_plain_dataset(synth_root)
    sched = dataclasses.replace(train_preset("cpu_tiny").schedule, epochs=1, warmup_epochs=0.1,
                                base_lr=0.01, end_lr=0.005)
    cfg = dataclasses.replace(train_preset("cpu_tiny"), schedule=sched, batch_size=8,
                              samples_per_epoch=8 * 200, log_every=50)
    stats = []
    trainer = Trainer(small_model(), cfg, seqs, tmp_path / "run", device="cpu", progress=False)
    trainer.train(step_callback=lambda step, s: stats.append(s))
    trainer.close()
    terms = ["cls", "loc_l1", "loc_iou", "saliency", "total"]
    first = {k: np.mean([s[k] for s in stats[:30]]) for k in terms}
    last = {k: np.mean([s[k] for s in stats[-30:]]) for k in terms}
    for k in terms:
        assert last[k] < 0.9 * first[k], (k, first[k], last[k])
    assert (tmp_path / "run" / "checkpoint_e001.pt").is_file()
    assert list((tmp_path / "run" / "tb").iterdir())  # TensorBoard events written


DDP_SCRIPT = textwrap.dedent("""
    import dataclasses, sys, torch, torch.distributed as dist
    sys.path.insert(0, {repo!r})
    from fgsgt_ros.data.sequence import read_plain_dataset
    from fgsgt_ros.model.families.fgsgt import get_preset
    from fgsgt_ros.training.config import get_preset as tp
    from fgsgt_ros.training.trainer import Trainer
    model = dataclasses.replace(get_preset("fgsgt_tiny"), name="t", exemplar_size=63, instance_size=127,
                                anchor_scales=(4.0,))
    cfg = dataclasses.replace(tp("test"), samples_per_epoch=8, batch_size=2)
    tr = Trainer(model, cfg, read_plain_dataset({data!r}), {out!r}, device="cpu", progress=False)
    init = [p.detach().clone() for p in tr.model.parameters()]
    tr.train(epochs=1)
    rank = dist.get_rank()
    changed = any(not torch.equal(a, b) for a, b in zip(init, tr.model.parameters()))
    torch.save({{"params": {{k: v.detach() for k, v in tr.model.named_parameters()}},
                "changed": changed, "world": dist.get_world_size(), "steps": tr.global_step}},
               {out!r} + f"/rank{{rank}}.pt")
    dist.destroy_process_group()
""")


def test_two_process_torchrun_ranks_hold_identical_weights(synth_root, tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip("torchrun is not installed next to this python")
    out = tmp_path / "ddp"
    out.mkdir()
    script = tmp_path / "ddp_train.py"
    script.write_text(DDP_SCRIPT.format(repo=str(REPO), data=str(synth_root), out=str(out)))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", str(script)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0 = torch.load(out / "rank0.pt")
    r1 = torch.load(out / "rank1.pt")
    assert r0["world"] == r1["world"] == 2
    assert r0["steps"] == r1["steps"] == 2  # 8 samples / 2 ranks / batch 2
    assert r0["changed"] and r1["changed"]
    assert r0["params"].keys() == r1["params"].keys()
    for k in r0["params"]:
        assert torch.equal(r0["params"][k], r1["params"][k]), k
    assert (out / "checkpoint_e001.pt").is_file()  # rank 0 wrote it
    assert json.loads((out / "train_config.json").read_text())["world_size"] == 2
