"""Writing generated sequences to disk (plain folder layout)."""

from __future__ import annotations

from pathlib import Path
from typing import List

from fgsgt_ros.data.sequence import write_plain_sequence
from fgsgt_ros.data.synth.config import SynthConfig
from fgsgt_ros.data.synth.generate import generate_sequence


def generate_dataset(out: Path, cfg: SynthConfig, n_sequences: int, n_frames: int, seed: int,
                     progress: bool = True) -> List[Path]:
    """Write ``n_sequences`` plain-layout sequences ``synth_<seed>_<i>`` under ``out``."""
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in tqdm(range(n_sequences), desc=f"generate {cfg.name}", disable=not progress, unit="seq"):
        seq = generate_sequence(cfg, n_frames, seed, i)
        folder = out / f"synth_{seed}_{i:04d}"
        write_plain_sequence(folder, seq.frames, seq.boxes, category=seq.info.get("category") or seq.info.get("shape"))
        paths.append(folder)
    return paths
