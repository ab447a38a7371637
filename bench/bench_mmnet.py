"""Per-frame cost of the whole tracker update (crops + network + decoding) for MMNet's SiamFC loop
beside the Siamese (SiamRPN++-style) loop of the tiny presets, in one run.

MMNet's tracker runs ``num_scales`` (3) search crops per frame through the network (the scale
pyramid), the Siamese trackers one crop with box regression, so the network table of
bench/bench_model.py (one ``track`` call) understates MMNet's per-frame work; this measures what a
frame costs end to end.

    .venv/bin/python bench/bench_mmnet.py [--frames 60] [--rounds 3] [--runtime torch|onnx]

Untrained weights of each preset (the cost does not depend on the weights); one generated sequence
(``mixed``, 320x256 or 160x120 frames); one torch thread; presets timed round-robin; reports the
median wall ms of the tracker's ``update`` (``TrackingSession``'s ``track_s``) and the process-CPU ms
of the whole session step (AGC included, a small share).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    from fgsgt_ros.data.synth import generate_sequence, get_preset
    from fgsgt_ros.tracker.session import TrackingSession

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", default="mmnet_tiny,fgsgt_tiny,siamrpnpp_tiny")
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--runtime", default="torch", choices=("torch", "onnx"))
    p.add_argument("--seed", type=int, default=4242)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    seq = generate_sequence(get_preset("mixed"), args.frames + 1, args.seed, 0)
    frames = seq.frames  # raw 16-bit: each session runs its own AGC, as the node does
    box = seq.boxes[0]
    names = args.presets.split(",")
    sessions = {n: TrackingSession.from_spec(n, allow_untrained=True, runtime=args.runtime,
                                             num_threads=1) for n in names}
    wall = {n: [] for n in names}
    cpu = {n: [] for n in names}
    for _ in range(args.rounds):
        for n, session in sessions.items():
            session.init(frames[0], box)
            for f in frames[1:]:
                c0 = time.process_time()
                r = session.step(f)
                cpu[n].append((time.process_time() - c0) * 1e3)
                wall[n].append(r.times.track_s * 1e3)  # the tracker's update alone (no AGC)
    ref = names[1] if len(names) > 1 else names[0]
    ref_cpu = statistics.median(cpu[ref])
    print(f"| preset | tracker loop | crops/frame | wall ms/frame | CPU ms/frame | CPU vs {ref} |")
    print("|---|---|---|---|---|---|")
    for n, session in sessions.items():
        t = session.tracker
        crops = getattr(getattr(t, "fc", None), "num_scales", 1)
        c = statistics.median(cpu[n])
        print(f"| {n} ({args.runtime}) | {type(t).__name__} | {crops} | {statistics.median(wall[n]):.1f} "
              f"| {c:.1f} | {c / ref_cpu:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
