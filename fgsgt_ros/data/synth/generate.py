"""``generate_sequence``: one sequence of either generator, chosen by ``SynthConfig.scene``."""

from __future__ import annotations

from fgsgt_ros.data.synth.classic import _generate_classic
from fgsgt_ros.data.synth.compose import SyntheticSequence
from fgsgt_ros.data.synth.config import SynthConfig
from fgsgt_ros.data.synth.rich import _generate_rich


def generate_sequence(cfg: SynthConfig, n_frames: int, seed: int, index: int = 0,
                      render_target: bool = True) -> SyntheticSequence:
    """Generate sequence ``index`` for ``seed`` (deterministic). ``render_target=False`` (rich
    scenes only) renders the same scene with the same random draws but without the target (its
    rows are NaN): the difference of the two shows exactly the target's pixels."""
    if n_frames < 2:
        raise ValueError(f"a sequence needs at least 2 frames, got {n_frames}")
    if cfg.scene == "rich":
        return _generate_rich(cfg, int(n_frames), seed, index, render_target)
    if cfg.scene != "classic":
        raise ValueError(f"unknown scene {cfg.scene!r}; valid: classic, rich")
    if not render_target:
        raise ValueError("render_target=False is only available for rich scenes")
    return _generate_classic(cfg, n_frames, seed, index)
