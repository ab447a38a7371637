"""IBFP's online branch: per-frame cost (median, p95, worst frame, first-frame fit) and accuracy of
the online-branch choices, beside the offline network and fgsgt_tiny, in one run.

    .venv/bin/python bench/bench_ibfp_online.py [--checkpoint fgsgt_ros/weights/ibfp_tiny.pt]
        [--data out/data/heldout_9001] [--out out/bench_ibfp_online] [--write]

Every variant runs the whole tracking session (AGC, crop, network, online branch, decoding, LOST
logic; ``fgsgt_ros.evaluation.run_ope``) with one torch thread over the held-out generated set of
docs/MODEL_CARD.md (preset ``hard``: crossing look-alike distractors and cold occluders, seed 9001;
generated here when missing). Variants (``OnlineConfig`` fields changed from the shipped one):

- ``offline``: no online branch (``ibfp_tiny_offline``);
- ``online``: the shipped choice (32 hidden channels, one Adam step per frame at most);
- ``online_unamortised``: a whole update (``update_steps`` steps) in the frame that triggers it;
- ``online_paper_width``: 256 hidden channels, as in the paper;
- ``online_no_hard_neg``: updates only every ``update_interval`` frames (no hard-negative trigger);
- ``online_no_memory``: first-frame samples only (no tracked-frame memory);
- ``online_confident``: tracked frames join the memory only at a mixed score >= 0.5 (not 0.25).

``--write`` replaces the "## IBFP online branch (issue 12)" section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fgsgt_ros.data.sequence import read_plain_dataset  # noqa: E402
from fgsgt_ros.evaluation.runner import result_paths, run_ope  # noqa: E402
from fgsgt_ros.tracker import load_model  # noqa: E402
from fgsgt_ros.tracker.families import make_ibfp_tracker  # noqa: E402
from fgsgt_ros.tracker.session import TrackingSession  # noqa: E402

HEADING = "## IBFP online branch (issue 12)"
HELDOUT_SEED = 9001


def variants(cfg):
    o = cfg.online
    return {
        "offline": dataclasses.replace(o, enabled=False),
        "online": o,
        "online_unamortised": dataclasses.replace(o, max_steps_per_frame=o.update_steps),
        "online_paper_width": dataclasses.replace(o, hidden=256),
        "online_no_hard_neg": dataclasses.replace(o, hard_negative_ratio=float("inf")),
        "online_no_memory": dataclasses.replace(o, memory=0),
        "online_confident": dataclasses.replace(o, sample_min_score=0.5),
    }


def frame_times(out_dir: Path, name: str, sequences):
    """(init ms per sequence, per-frame ms after init) from the runner's time files."""
    inits, frames = [], []
    for seq in sequences:
        _, tp = result_paths(out_dir, name, seq.name)
        t = np.array([float(v) for v in tp.read_text().split()]) * 1000.0
        nz = np.flatnonzero(t > 0)
        if len(nz):
            inits.append(t[nz[0]])
            frames.extend(t[nz[0] + 1:])
    return np.array(inits), np.array(frames)


def cpu_times(tracker, seqs, n_seq: int = 2):
    """Process CPU ms (one thread) of init and of every later update on the first sequences:
    what one uncontended core needs, less sensitive to the machine's load than wall time. Frames
    go through TrackingSession (the node's loop); its AGC is timed apart and left out."""
    from fgsgt_ros.evaluation.runner import as_session

    session = as_session(tracker)
    inits, frames = [], []
    for seq in seqs[:n_seq]:
        for i in range(len(seq)):
            raw = seq.frame(i)
            t0 = time.process_time()
            if i == 0:
                r = session.init(raw, seq.groundtruth[0])
                inits.append((time.process_time() - t0 - r.times.preprocess_s) * 1000.0)
            else:
                r = session.step(raw)
                frames.append((time.process_time() - t0 - r.times.preprocess_s) * 1000.0)
    return np.array(inits), np.array(frames)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default="fgsgt_ros/weights/ibfp_tiny.pt")
    ap.add_argument("--baseline", default="fgsgt", help="timing/accuracy reference tracker spec")
    ap.add_argument("--data", type=Path, default=Path("out/data/heldout_9001"))
    ap.add_argument("--sequences", type=int, default=10)
    ap.add_argument("--seed", type=int, default=HELDOUT_SEED,
                    help="seed of the generated set when --data does not exist yet")
    ap.add_argument("--out", type=Path, default=Path("out/bench_ibfp_online"))
    ap.add_argument("--only", nargs="*", help="subset of the variants")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    if not args.data.is_dir():
        from fgsgt_ros.data.synth import generate_dataset, get_preset
        generate_dataset(args.data, get_preset("hard"), args.sequences, 80, seed=args.seed,
                         progress=False)
    seqs = read_plain_dataset(args.data)[:args.sequences]
    loaded = load_model(f"ibfp_tiny:{args.checkpoint}" if os.path.sep in args.checkpoint
                        else args.checkpoint, runtime="torch")  # variants rebuild the module
    cfg = loaded.model_cfg
    items = []
    for name, online in variants(cfg).items():
        if args.only and name not in args.only:
            continue
        vcfg = dataclasses.replace(cfg, online=online)
        items.append((name, make_ibfp_tracker(loaded.model, vcfg, loaded.tracker_config,
                                              name=name)))
    items.append((args.baseline, TrackingSession.from_spec(args.baseline)))
    load0 = os.getloadavg()[0]
    summary = run_ope(items, seqs, args.out, progress=True, plots=False,
                      dataset_name=f"generated (hard) {args.data.name}")
    load1 = os.getloadavg()[0]
    rows = []
    for name, tracker in items:
        inits, frames = frame_times(args.out, name, seqs)
        m = summary["trackers"][name]["overall"]
        steps = getattr(getattr(tracker, "online", None), "stats", {}).get("steps")
        c_init, c_frames = cpu_times(tracker, seqs)
        rows.append((name, m["success_auc"], m["precision_20"], np.median(inits),
                     np.median(frames), np.percentile(frames, 95), frames.max(), steps,
                     np.median(c_init), np.median(c_frames), c_frames.max()))
    lines = [HEADING, "",
             f"`bench/bench_ibfp_online.py` on {platform.processor() or platform.machine()} "
             f"({os.cpu_count()} cores), one torch thread, torch {torch.__version__}: the whole "
             f"tracking session per frame (AGC, crop, network, online branch, decoding) over the "
             f"held-out generated set of docs/MODEL_CARD.md ({len(seqs)} sequences x 80 frames, "
             f"preset hard, seed {HELDOUT_SEED}), checkpoint `{Path(args.checkpoint).name}`. "
             f"Shared machine (load average {load0:.1f} at start, {load1:.1f} at end): times "
             "are wall-clock and noisy, compare rows of this run only. 'init' is the first "
             "frame (template + the online branch's first-frame fit); 'worst' the slowest later "
             "frame. Steps: optimiser steps of the online branch on the last sequence. CPU "
             "columns: process CPU time of the tracker alone (init / update, AGC excluded) on "
             "the first two sequences, run again after the accuracy pass.", "",
             "| variant | success AUC | precision@20 | init ms | median ms/frame | p95 ms | worst "
             "ms | steps (last seq) | CPU init ms | CPU median ms | CPU worst ms |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r[0]} | {r[1]:.3f} | {r[2]:.3f} | {r[3]:.0f} | {r[4]:.1f} | "
                     f"{r[5]:.1f} | {r[6]:.1f} | {'' if r[7] is None else r[7]} | {r[8]:.0f} | "
                     f"{r[9]:.1f} | {r[10]:.1f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        path = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"
        old = path.read_text() if path.exists() else "# Benchmarks\n"
        if HEADING in old:
            head, rest = old.split(HEADING, 1)
            nxt = rest.find("\n## ")
            new = head + text + ("\n" + rest[nxt + 1:] if nxt >= 0 else "")
        else:
            new = old.rstrip("\n") + "\n\n" + text
        path.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
