#!/usr/bin/env python3
"""Whole tracker step (AGC + crop + network + decode) per frame, beside OpenCV CSRT and NanoTrack,
one thread.

What a robot gets at camera rate is the session's step, not the network alone: this bench runs
``TrackingSession.step`` (the loop the node, ``fgsgt eval`` and the demo share) on generated
16-bit frames at Lepton size (160x120) and at 640x512, for each tracker named on each runtime
named (PyTorch eager, onnxruntime), interleaved round by round with OpenCV's CSRT and NanoTrack
(``cv2.TrackerNano``) so that load on a shared machine hits all alike. It reports ms/frame
(median of the rounds' medians), frames/s and the ratio of frame rates to CSRT measured in the
same run (above 1: faster than CSRT), and writes them to a JSON file. The node's default runtime
is the one this bench finds faster for the shipped model.

A LOST frame costs more when the re-detection scan searches several tiles (``lost_scan_tiles``,
one network pass each): for the first network tracker named, the bench also times a LOST spell
on target-free frames for each tile count in ``--lost-tiles``, with the grid alone and with the
appearance proposals (``lost_scan_proposals``, one correlation over the frame per scan frame)
(mean over the LOST frames, and the scan frames alone, which alternate with the enlarged-region
search).

    python bench/bench_tracker.py [--trackers fgsgt,fgsgt_tiny] [--runtimes torch,onnx]
                                  [--frames 150] [--rounds 3] [--lost-tiles 1,2,4]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIZES = {"160x120": (120, 160), "640x512": (512, 640)}


def _frames(h: int, w: int, n: int, seed: int = 0, target: bool = True):
    """A warm square target drifting over a noisy 16-bit background (``target`` False: the
    background alone); (frames, first box)."""
    rng = np.random.default_rng(seed)
    base = (3000 + 40 * rng.standard_normal((h, w))).astype(np.float32)
    side = max(8, w // 16)
    frames = []
    for i in range(n):
        f = base + 10 * rng.standard_normal((h, w)).astype(np.float32)
        x = int(w / 3 + (w / 4) * np.sin(i / 25.0))
        y = int(h / 3 + (h / 6) * np.cos(i / 30.0))
        if target:
            f[y:y + side, x:x + side] += 400
        frames.append(np.clip(f, 0, 65535).astype(np.uint16))
    x0, y0 = int(w / 3), int(h / 3 + h / 6)
    return frames, (x0, y0, side, side)


def _round(session, frames, box) -> float:
    session.init(frames[0], box)
    times = []
    for f in frames[1:]:
        t0 = time.perf_counter()
        session.step(f)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _lost_spell(session, frames, box, empty) -> tuple:
    """Mean s per frame over a LOST spell on target-free frames, and the median of its scan
    frames (LOST frame i, counted from 1, is a scan frame when i is a multiple of
    ``lost_scan_every``)."""
    session.init(frames[0], box)
    for f in frames[1:6]:
        session.step(f)
    session.tracker.mark_lost()
    every = session.tracker_cfg.lost_scan_every
    times, scan = [], []
    for i, f in enumerate(empty, start=1):
        t0 = time.perf_counter()
        session.step(f)
        times.append(time.perf_counter() - t0)
        if every and i % every == 0:
            scan.append(times[-1])
    return float(np.mean(times)), float(np.median(scan)) if scan else float("nan")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trackers", default="fgsgt", help="comma-separated tracker specs (CSRT and "
                   "NanoTrack are always added as the baselines)")
    p.add_argument("--runtimes", default="torch,onnx",
                   help="comma-separated inference runtimes to time each network tracker on")
    p.add_argument("--frames", type=int, default=150)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--lost-tiles", default="1,2,4",
                   help="tile counts per scan frame to time a LOST spell with ('' = skip)")
    p.add_argument("--out", default="out/bench_tracker.json")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import cv2

    cv2.setNumThreads(1)
    from fgsgt_ros.tracker.peers import peer_name
    from fgsgt_ros.tracker.session import TrackingSession

    peers = ["csrt", "nanotrack"]
    runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    sessions = {}
    for spec in (t for t in args.trackers.split(",") if t and t not in peers):
        if peer_name(spec):
            sessions[spec] = TrackingSession.from_spec(spec, num_threads=1)
            continue
        for runtime in runtimes:  # the same network on each runtime
            name = f"{spec}@{runtime}" if len(runtimes) > 1 else spec
            sessions[name] = TrackingSession.from_spec(spec, runtime=runtime, num_threads=1)
    for peer in peers:
        sessions[peer] = TrackingSession.from_spec(peer, num_threads=1)
    names = list(sessions)
    results = {}
    for size, (h, w) in SIZES.items():
        frames, box = _frames(h, w, args.frames + 1)
        per = {n: [] for n in names}
        for _ in range(args.rounds):
            for n in names:
                per[n].append(_round(sessions[n], frames, box))
        results[size] = {n: float(np.median(v)) * 1000.0 for n, v in per.items()}
    load = os.getloadavg()[0]
    print(f"tracker step (AGC + crop + network + decode), 1 thread, median ms/frame; "
          f"load average {load:.1f}")
    print(f"{'tracker':<24}" + "".join(f"{s:>24}" for s in SIZES) + "   (x: frame rate / CSRT's)")
    for n in names:
        cells = []
        for size in SIZES:
            ms = results[size][n]
            cells.append(f"{ms:6.1f} ms {1000 / ms:5.0f} fps {results[size]['csrt'] / ms:4.2f}x")
        print(f"{n:<24}" + "".join(f"{c:>24}" for c in cells))
    lost = {}
    network = next((n for n in names if hasattr(sessions[n].tracker, "search_plan")), None)
    tiles = [int(k) for k in args.lost_tiles.split(",") if k.strip()]
    if network and tiles:
        session = sessions[network]
        print(f"\n{network} while LOST (target-free frames), ms per frame: mean over the spell / "
              f"scan frames alone; tracking frame beside it")
        for size, (h, w) in SIZES.items():
            frames, box = _frames(h, w, 8)
            empty = _frames(h, w, args.frames, seed=1, target=False)[0]
            for k in tiles:
                for proposals in (False, True):  # the grid alone, then appearance proposals
                    session.configure(dataclasses.replace(
                        session.tracker_defaults, lost_scan_tiles=k, lost_scan_proposals=proposals))
                    mean, scan = _lost_spell(session, frames, box, empty)
                    lost[f"{size} tiles={k} proposals={proposals}"] = {
                        "mean_ms": mean * 1000, "scan_frame_ms": scan * 1000}
                    print(f"  {size} lost_scan_tiles={k} proposals={'on ' if proposals else 'off'}: "
                          f"{mean * 1000:6.1f} ms mean ({1 / mean:4.0f} fps), scan frames "
                          f"{scan * 1000:6.1f} ms ({1 / scan:4.0f} fps); tracking "
                          f"{results[size][network]:.1f} ms")
        session.configure()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"ms_per_frame": results, "lost_spell": lost,
                                          "load_average": load, "frames": args.frames,
                                          "rounds": args.rounds}, indent=2))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
