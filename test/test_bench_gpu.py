"""bench/bench_gpu.py (the GPU check) runs on a machine without CUDA: it says the CUDA parts were
skipped and still writes its JSON and table; with --device cpu it fills the same tables."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_gpu.py"


@pytest.fixture(scope="module")
def bench_gpu():
    spec = importlib.util.spec_from_file_location("bench_gpu", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_cuda_the_cuda_parts_are_skipped_with_a_message(tmp_path, bench_gpu, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the skip path does not apply")
    assert bench_gpu.main(["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "CUDA not available here" in out and "skipped" in out
    result = json.loads((tmp_path / "bench_gpu.json").read_text())
    assert result["environment"]["cuda_available"] is False
    assert result["skipped"] and "networks" not in result
    assert "skipped: CUDA not available" in (tmp_path / "bench_gpu.md").read_text()


def test_cpu_reference_fills_the_tables(tmp_path, bench_gpu):
    from fgsgt_ros import weights

    models = "fgsgt" if weights.default_checkpoint().is_file() else "csrt"
    assert bench_gpu.main(["--device", "cpu", "--presets", "fgsgt_tiny", "--models", models,
                           "--rounds", "2", "--warmup", "1", "--frames", "5",
                           "--node-seconds", "0", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "bench_gpu.json").read_text())
    (row,) = result["networks"]
    assert row["preset"] == "fgsgt_tiny" and row["torch_fp32"]["ms_median"] > 0
    assert row["torch_fp16"] == {"skipped": "fp16 needs CUDA"}
    tracker = {(r["runtime"], r["precision"]): r for r in result["tracker"]}
    if models == "fgsgt":
        assert tracker[("torch", "fp32")]["ms_median"] > 0
    assert "skipped" in tracker[("torch", "fp16")]
    table = (tmp_path / "bench_gpu.md").read_text()
    assert "| fgsgt_tiny | 0.56 |" in table and "Tracker step" in table
