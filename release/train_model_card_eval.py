"""Evaluate the shipped tiny models for docs/MODEL_CARD.md (one-pass evaluation, both sets).

Trackers: the shipped fgsgt_tiny, an untrained fgsgt_tiny (same preset, seed 0), the tiny
SiamRPN++ baseline, OpenCV CSRT and KCF. Sets: (a) a held-out generated set (preset ``hard``:
crossing distractors and cold occluders in every sequence; a seed never used for training) and
(b) the real FLIR Lepton clips tir_real_dev (never used for training).

    .venv/bin/python release/train_model_card_eval.py --out /tmp/model_card_eval \
        [--fgsgt fgsgt_ros/weights/fgsgt_tiny.pt] [--baseline fgsgt_ros/weights/siamrpnpp_tiny.pt]

Prints the markdown table of the model card and writes it to OUT/model_card_table.md with the
evaluation toolkit's summary.json / plots per set.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

HELDOUT_SEED = 9001  # training used seeds 101 (mixed) and 202 (lepton)


def main() -> int:
    import torch

    from fgsgt_ros.data.datasets import read_dataset
    from fgsgt_ros.data.sequence import read_plain_dataset
    from fgsgt_ros.data.synth import generate_dataset, get_preset as synth_preset
    from fgsgt_ros.evaluation import format_tables, run_ope
    from fgsgt_ros.model.families.fgsgt import build_model, get_preset
    from fgsgt_ros.tracker.siamese import SiameseTracker
    from fgsgt_ros.weights import checkpoint_path, default_checkpoint

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--fgsgt", type=Path, default=default_checkpoint())
    ap.add_argument("--baseline", type=Path, default=checkpoint_path("siamrpnpp_tiny"))
    ap.add_argument("--real", type=Path, default=REPO.parent / "shared" / "data" / "tir_real_dev")
    ap.add_argument("--heldout-sequences", type=int, default=10)
    ap.add_argument("--heldout-frames", type=int, default=80)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    heldout_dir = args.out / "heldout_data"
    if not (heldout_dir / "done").exists():
        generate_dataset(heldout_dir, synth_preset("hard"), args.heldout_sequences, args.heldout_frames,
                         HELDOUT_SEED)
        (heldout_dir / "done").write_text("ok\n")
    sets = {"held-out generated (hard, seed %d)" % HELDOUT_SEED: read_plain_dataset(heldout_dir),
            "real tir_real_dev": read_dataset(args.real)}

    def untrained():
        torch.manual_seed(0)
        cfg = get_preset("fgsgt_tiny")
        return SiameseTracker(build_model(cfg), cfg, name="fgsgt_tiny(untrained)")

    trackers = [f"fgsgt_tiny=fgsgt_tiny:{args.fgsgt}", ("fgsgt_tiny_untrained", untrained())]
    if args.baseline.is_file():
        trackers.append(f"siamrpnpp_tiny=siamrpnpp_tiny:{args.baseline}")
    trackers += ["csrt", "kcf"]

    rows = []
    all_summaries = {}
    for set_name, seqs in sets.items():
        key = "heldout" if set_name.startswith("held") else "real"
        summary = run_ope(trackers, seqs, args.out / key, dataset_name=set_name, resume=False)
        all_summaries[key] = summary
        print(format_tables(summary))
        for name, t in summary["trackers"].items():
            o = t["overall"]
            rows.append(f"| {set_name} ({len(summary['sequences'])} seq) | {name} | {o['success_auc']:.3f} | "
                        f"{o['precision_20']:.3f} | {o['norm_precision_20']:.3f} | {o['fps']:.1f} |")
    table = "\n".join(["| set | tracker | success AUC | precision@20px | norm. precision@0.20 | FPS (this CPU) |",
                       "|---|---|---|---|---|---|"] + rows)
    print(table)
    (args.out / "model_card_table.md").write_text(table + "\n")
    (args.out / "summaries.json").write_text(json.dumps(all_summaries, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
