"""Network cost of every preset in one run: per-frame inference time (template cached), parameters,
GFLOPs, with SiamRPN++ as the reference (R50 presets vs siamrpnpp_r50, tiny vs siamrpnpp_tiny).

    .venv/bin/python bench/bench_model.py [--threads 2] [--rounds 5] [--frames 4] [--write]

Presets are timed round-robin (each round times every preset) so load from other processes on a
shared machine hits all of them alike; the per-preset figure is the median over all frames.
``--write`` replaces the "## Network (issue 3)" section of docs/BENCHMARKS.md with the table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fgsgt_ros.model.registry import PRESETS  # noqa: E402
from fgsgt_ros.model.losses import FGSGTLoss  # noqa: E402
from fgsgt_ros.model.registry import build_model  # noqa: E402
from fgsgt_ros.model.profile import count_gflops, count_params  # noqa: E402

HEADING = "## Network (issue 3)"
REFERENCE = {name: ("siamrpnpp_tiny" if "_tiny" in name else "siamrpnpp_r50")
             for name in PRESETS}
ORT_SUFFIX = " [onnxruntime, 1 thr]"


def time_presets(nets, rounds, frames, threads):
    """Median wall ms/frame with ``threads`` threads, and median CPU ms/frame (process time) with
    one thread: the latter is what one uncontended core would need, whatever else is running."""
    wall = {name: [] for name in nets}
    wall1 = {name: [] for name in nets}
    cpu = {name: [] for name in nets}
    inputs = {}
    with torch.no_grad():
        for name, net in nets.items():
            cfg = net.cfg
            z = torch.rand(1, 3, cfg.exemplar_size, cfg.exemplar_size) * 255
            x = torch.rand(1, 3, cfg.instance_size, cfg.instance_size) * 255
            net.template(z)
            net.track(x)  # warm-up (oneDNN primitive creation)
            net.track(x)
            inputs[name] = x
        for _ in tqdm(range(rounds), desc=f"timing rounds ({threads} threads, wall)"):
            for name, net in nets.items():
                for _ in range(frames):
                    t0 = time.perf_counter()
                    net.track(inputs[name])
                    wall[name].append((time.perf_counter() - t0) * 1000.0)
        torch.set_num_threads(1)
        for _ in tqdm(range(rounds), desc="timing rounds (1 thread, CPU time)"):
            for name, net in nets.items():
                for _ in range(frames):
                    t0, w0 = time.process_time(), time.perf_counter()
                    net.track(inputs[name])
                    cpu[name].append((time.process_time() - t0) * 1000.0)
                    wall1[name].append((time.perf_counter() - w0) * 1000.0)
        torch.set_num_threads(threads)
    med = statistics.median
    return tuple({n: med(t) for n, t in d.items()} for d in (wall, wall1, cpu))


def train_step_ms(name, batch, threads, steps=3):
    """Forward+backward+SGD step of a batch of pairs (what CPU training costs per step):
    (median wall ms with ``threads`` threads, median CPU ms with one thread)."""
    cfg = PRESETS[name]
    net = build_model(cfg).train()
    loss_fn = FGSGTLoss(cfg)
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
    from test_model import make_targets  # the test suite's synthetic SiamRPN++ labels
    z = torch.rand(batch, 3, cfg.exemplar_size, cfg.exemplar_size) * 255
    x = torch.rand(batch, 3, cfg.instance_size, cfg.instance_size) * 255
    t = make_targets(cfg, batch)
    result = []
    for n_threads, clock in ((threads, time.perf_counter), (1, time.process_time)):
        torch.set_num_threads(n_threads)
        out = []
        for i in range(steps + 1):
            t0 = clock()
            loss = loss_fn(net.forward_train(z, x), t)["total"]
            opt.zero_grad()
            loss.backward()
            opt.step()
            if i:  # first step is warm-up
                out.append((clock() - t0) * 1000.0)
        result.append(statistics.median(out))
    torch.set_num_threads(threads)
    return tuple(result)


def render(rows, train_rows, args):
    lines = [HEADING, "",
             f"Measured by `bench/bench_model.py` on {platform.processor() or platform.machine()}"
             f" ({os.cpu_count()} cores), torch {torch.__version__}, {args.threads} threads, "
             f"batch 1, medians of {args.rounds} rounds x {args.frames} frames, presets timed "
             "round-robin. Per-frame = one `track()` call with the template kernels cached "
             "(the tracker's cropping and decoding not included). The machine is shared with "
             "other jobs (load average at start "
             f"{args.load_start:.1f}, at end {args.load_end:.1f}), so wall times are noisy; the "
             "*CPU ms (1 thr)* column is process CPU time with one thread, which approximates "
             "what one core needs (load still inflates it through shared caches); the ratios "
             "use it. siam_t and fgsgt_r50 are the same network at inference (they differ only "
             "in the training loss), so the gap between their rows shows the noise. GFLOPs counted with "
             "`torch.utils.flop_counter` (1 MAC = 2 FLOPs) for that call.", "",
             f"| preset | input z/x | score | params (M) | GFLOPs/frame | wall ms ({args.threads} "
             "thr) | wall ms (1 thr) | CPU ms (1 thr) | time vs ref | GFLOPs vs ref | reference |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['z']}/{r['x']} | {r['score']} | {r['params']:.2f} | "
                     f"{r['gflops']:.2f} | {r['ms']:.1f} | {r['ms1']:.1f} | {r['cpu']:.1f} | "
                     f"{r['time_ratio']:.2f}x | {r['flop_ratio']:.2f}x | {r['ref']} |")
    if train_rows:
        lines += ["", "Training step (forward + backward + SGD step, random pairs):", "",
                  f"| preset | batch | wall ms/step ({args.threads} thr) | CPU ms/step (1 thr) |",
                  "|---|---|---|---|"]
        lines += [f"| {n} | {b} | {w:.0f} | {c:.0f} |" for n, b, (w, c) in train_rows]
    by = {r["name"]: r for r in rows}
    lines += [""]
    if "fgsgt_r50" in by:
        ok = by["fgsgt_r50"]["time_ratio"] <= 1.3
        wall = by["fgsgt_r50"]["ms"] / by["siamrpnpp_r50"]["ms"] if "siamrpnpp_r50" in by else 0
        lines.append(f"- Target FGSGT-R50 <= 1.3x SiamRPN++-R50 per frame: "
                     f"{by['fgsgt_r50']['time_ratio']:.2f}x CPU time "
                     f"({wall:.2f}x wall) -> {'met' if ok else 'MISSED'}.")
    ort_row = by.get("fgsgt_tiny" + ORT_SUFFIX)
    if ort_row:
        lines.append(f"- fgsgt_tiny through onnxruntime (`fgsgt_ros.model.runtime.OnnxNet`, same "
                     f"weights, same outputs within 1e-3): {ort_row['ms1']:.1f} ms/frame "
                     f"({1000 / ort_row['ms1']:.1f} FPS) with one thread, vs "
                     f"{by['fgsgt_tiny']['ms1']:.1f} ms in PyTorch eager.")
    if "fgsgt_tiny" in by:
        fps_wall = 1000 / by["fgsgt_tiny"]["ms"]
        fps_wall1 = 1000 / by["fgsgt_tiny"]["ms1"]
        fps_cpu = 1000 / by["fgsgt_tiny"]["cpu"]
        fps_ort = 1000 / ort_row["ms1"] if ort_row else 0.0
        best = max(min(fps_wall1, fps_cpu), fps_ort)
        lines.append(f"- Target fgsgt_tiny >= 25 FPS (network alone): PyTorch eager "
                     f"{fps_wall1:.1f} FPS wall-clock with 1 thread under this run's load "
                     f"({fps_cpu:.1f} FPS by CPU time, {fps_wall:.1f} FPS with {args.threads} "
                     f"threads); onnxruntime {fps_ort:.1f} FPS -> "
                     f"{'met' if best >= 25 else 'MISSED'}.")
    if args.threads > 1 and "fgsgt_tiny" in by:
        r = by["fgsgt_tiny"]
        lines.append(f"- Threads: fgsgt_tiny took {r['ms']:.1f} ms with {args.threads} threads and "
                     f"{r['ms1']:.1f} ms with one. On this shared 2-core machine extra torch "
                     "threads help only when the other core is idle (under heavy load, 2 threads "
                     "were up to ~40x slower in earlier runs: each OpenMP region waits for a "
                     "thread whose core is busy), so small models are safer with "
                     "`torch.set_num_threads(1)` here.")
    return "\n".join(lines) + "\n"


def write_section(text, path):
    path = Path(path)
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    if HEADING in old:
        head, rest = old.split(HEADING, 1)
        nxt = rest.find("\n## ")
        tail = rest[nxt + 1:] if nxt >= 0 else ""
        new = head + text + ("\n" + tail if tail else "")
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--frames", type=int, default=4)
    p.add_argument("--presets", nargs="*", default=list(PRESETS))
    p.add_argument("--train-batch", type=int, default=16, help="0 skips the training-step rows")
    p.add_argument("--no-onnx", dest="onnx", action="store_false",
                   help="skip the onnxruntime rows of the tiny presets")
    p.add_argument("--write", action="store_true", help="update docs/BENCHMARKS.md")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    names = list(args.presets)
    for n in names:
        if n not in PRESETS:
            p.error(f"unknown preset {n!r}; valid: {', '.join(PRESETS)}")
    nets = {n: build_model(PRESETS[n]).eval() for n in tqdm(names, desc="building")}
    info = {n: (count_params(net), count_gflops(net)) for n, net in nets.items()}
    if args.onnx:
        from fgsgt_ros.model.runtime import OnnxNet

        for n in [n for n in names if n.endswith("_tiny")]:
            ort_name = n + ORT_SUFFIX
            nets[ort_name] = OnnxNet.from_model(nets[n], threads=1)
            info[ort_name] = info[n]
            names.append(ort_name)
    args.load_start = os.getloadavg()[0]
    ms, ms1, cpu = time_presets(nets, args.rounds, args.frames, args.threads)
    rows = []
    for n in names:
        cfg = nets[n].cfg
        ref = REFERENCE[cfg.name]
        rows.append({"name": n, "z": cfg.exemplar_size, "x": cfg.instance_size,
                     "score": cfg.score_size, "params": info[n][0] / 1e6, "gflops": info[n][1],
                     "ms": ms[n], "ms1": ms1[n], "cpu": cpu[n], "ref": ref,
                     "time_ratio": cpu[n] / cpu[ref] if ref in cpu else float("nan"),
                     "flop_ratio": info[n][1] / info[ref][1] if ref in info else float("nan")})
    del nets
    train_rows = []
    if args.train_batch:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))
        for n in ("fgsgt_tiny", "siamrpnpp_tiny"):
            if n in names:
                ms = train_step_ms(n, args.train_batch, args.threads)
                train_rows.append((n, args.train_batch, ms))
    args.load_end = os.getloadavg()[0]
    text = render(rows, train_rows, args)
    print(text)
    if args.write:
        write_section(text, Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
