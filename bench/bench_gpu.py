"""GPU check: one command for someone with a CUDA GPU (desktop or Jetson) to measure this project.

    python bench/bench_gpu.py                      # everything on cuda:0 -> out/bench_gpu/
    python bench/bench_gpu.py --device cuda:1 --presets fgsgt_tiny,fgsgt_r50 --node-seconds 30
    python bench/bench_gpu.py --device cpu --presets fgsgt_tiny    # CPU reference, same tables

Measures, on ``--device``:
1. **network**: per-frame time of the search branch (``track(x)`` against cached template kernels)
   of every model preset of every family (``fgsgt_ros.model.registry``), PyTorch fp32 and fp16
   (autocast, as the node's ``precision: fp16``), and onnxruntime with the CUDA provider where
   ``onnxruntime-gpu`` is installed (fp32 graph; the CPU provider when ``--device cpu``);
   random weights (the time does not depend on the weight values);
2. **tracker step**: ``TrackingSession.step`` (AGC + crop + network + decode) of the shipped
   models on 640x512 16-bit frames, fp32 and fp16, torch and onnx runtimes;
3. **node**: the ``fgsgt_tracker`` node with ``device`` set, fed 640x512 16-bit frames at 30 Hz
   over a localhost ROS 2 domain: latency p50/p99 (image stamp -> result published), processing
   rate and the node's own per-frame time (needs rclpy: a ROS 2 install or this repo's venv).
Times are medians (and p90) of ``--rounds`` calls after ``--warmup`` calls, each ended with
``torch.cuda.synchronize()``.

Without a CUDA device the CUDA parts are skipped with a message (exit code 0), so the script also
runs on a CPU-only machine. Results: ``<out>/bench_gpu.json`` and ``<out>/bench_gpu.md`` (a
markdown table to paste into docs/BENCHMARKS.md), both printed as they are written.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def environment(device: str) -> dict:
    import torch

    env = {"python": platform.python_version(), "torch": torch.__version__,
           "cuda_available": bool(torch.cuda.is_available()), "device": device,
           "cpu_count": os.cpu_count(), "machine": platform.machine()}
    if device.startswith("cuda") and torch.cuda.is_available():
        idx = torch.device(device).index or 0
        env["gpu"] = torch.cuda.get_device_name(idx)
        env["cuda"] = torch.version.cuda
        env["cudnn"] = torch.backends.cudnn.version()
    try:
        import onnxruntime as ort
        env["onnxruntime"] = ort.__version__
        env["onnxruntime_providers"] = ort.get_available_providers()
    except ImportError:
        env["onnxruntime"] = None
    return env


def _sync(device: str) -> None:
    import torch
    if device.startswith("cuda"):
        torch.cuda.synchronize(torch.device(device))


def _time(fn, device: str, rounds: int, warmup: int) -> dict:
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - t) * 1e3)
    return {"ms_median": statistics.median(times),
            "ms_p90": float(np.percentile(times, 90)), "rounds": rounds}


def bench_networks(presets, device: str, rounds: int, warmup: int, log) -> list:
    """Search-branch time per preset: torch fp32, torch fp16 (CUDA), onnxruntime."""
    import torch

    from fgsgt_ros.model.registry import PRESETS, build_model
    from fgsgt_ros.model.runtime import OnnxNet

    cuda = device.startswith("cuda")
    rows = []
    for name in presets:
        cfg = PRESETS[name]
        try:
            net = build_model(cfg).to(device).eval()
        except Exception as exc:  # a family that cannot build here: reported, not fatal
            rows.append({"preset": name, "error": f"{type(exc).__name__}: {exc}"})
            continue
        z = torch.rand(1, 3, cfg.exemplar_size, cfg.exemplar_size, device=device) * 255
        x = torch.rand(1, 3, cfg.instance_size, cfg.instance_size, device=device) * 255
        row = {"preset": name, "params_m": sum(p.numel() for p in net.parameters()) / 1e6}
        with torch.inference_mode():
            net.template(z)
            row["torch_fp32"] = _time(lambda: net.track(x), device, rounds, warmup)
            if cuda:
                with torch.autocast(device_type="cuda", dtype=torch.float16):
                    net.template(z)
                    row["torch_fp16"] = _time(lambda: net.track(x), device, rounds, warmup)
            else:
                row["torch_fp16"] = {"skipped": "fp16 needs CUDA"}
        row["onnx_fp32"] = _bench_onnx(net, device, z, x, rounds, warmup, OnnxNet)
        log(f"  {name:<24} torch fp32 {_ms(row['torch_fp32'])}  fp16 {_ms(row['torch_fp16'])}"
            f"  onnx {_ms(row['onnx_fp32'])}")
        rows.append(row)
        del net
        if cuda:
            torch.cuda.empty_cache()
    return rows


def _bench_onnx(net, device, z, x, rounds, warmup, OnnxNet) -> dict:
    try:
        import onnxruntime as ort
    except ImportError:
        return {"skipped": "onnxruntime not installed"}
    cuda = device.startswith("cuda")
    if cuda and "CUDAExecutionProvider" not in ort.get_available_providers():
        return {"skipped": "onnxruntime has no CUDA provider (pip install onnxruntime-gpu)"}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            onnx_net = OnnxNet.from_model(net, Path(tmp) / "m.onnx", threads=0 if cuda else 1,
                                          device=device)
            if cuda and "CUDAExecutionProvider" not in onnx_net.providers:
                return {"skipped": f"CUDA provider not usable here ({onnx_net.providers})"}
            onnx_net.template(z)
            result = _time(lambda: onnx_net.track(x), "cpu", rounds, warmup)
            result["providers"] = onnx_net.providers
            return result
    except Exception as exc:  # export or session failure of one preset: reported, not fatal
        return {"skipped": f"{type(exc).__name__}: {str(exc)[:200]}"}


def bench_tracker(specs, device: str, frames_n: int, log) -> list:
    """TrackingSession.step per frame (AGC + crop + network + decode) on 640x512 16-bit frames."""
    from bench_node import make_frames

    from fgsgt_ros.tracker.session import ModelLoadError, TrackingSession

    frames, boxes = make_frames(640, 512, n=max(frames_n, 10))
    cuda = device.startswith("cuda")
    rows = []
    for spec in specs:
        for runtime in ("torch", "onnx"):
            for precision in ("fp32", "fp16"):
                key = {"model": spec, "runtime": runtime, "precision": precision}
                if precision == "fp16" and not cuda:
                    rows.append({**key, "skipped": "fp16 needs CUDA"})
                    continue
                if precision == "fp16" and runtime == "onnx":
                    rows.append({**key, "skipped": "fp16 applies to the torch runtime (autocast)"})
                    continue
                try:
                    session = TrackingSession.from_spec(spec, device=device, runtime=runtime,
                                                        precision=precision,
                                                        device_fallback=False)
                except ModelLoadError as exc:
                    rows.append({**key, "skipped": str(exc)})
                    continue
                session.init(frames[0], boxes[0])
                times = []
                for i in range(1, len(frames)):
                    t = time.perf_counter()
                    session.step(frames[i])
                    _sync(device)
                    times.append((time.perf_counter() - t) * 1e3)
                times = times[3:]  # warm-up (cudnn autotune, first allocations)
                row = {**key, "ms_median": statistics.median(times),
                       "ms_p90": float(np.percentile(times, 90)), "frames": len(times)}
                log(f"  {spec:<16} {runtime:<6} {precision}: {row['ms_median']:.2f} ms/frame")
                rows.append(row)
    return rows


def bench_node(device: str, seconds: float, log) -> dict:
    """The node on ``device`` at 30 Hz of 640x512 16-bit frames: latency and rate."""
    try:
        from fgsgt_ros.ros.client import TrackerClient, make_header, ros_env, start_node
        from fgsgt_ros.ros.conversions import array_to_image
    except ImportError as exc:
        return {"skipped": f"needs rclpy and the generated interfaces ({exc})"}
    from bench_node import make_frames

    frames, boxes = make_frames(640, 512)
    domain = 100 + os.getpid() % 90
    env = ros_env(domain)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = env["ROS_AUTOMATIC_DISCOVERY_RANGE"]
    tmp = Path(tempfile.mkdtemp(prefix="bench_gpu_node_"))
    node = start_node({"device": device, "publish_saliency": False, "publish_debug_image": False,
                       "diagnostics_period_s": 1.0, "qos_reliability": "reliable"}, env,
                      log_path=tmp / "node.log")
    client = TrackerClient(domain_id=domain, keep_images=False, record=("detections", "status"))
    try:
        try:
            client.wait_ready(120, node)
        except RuntimeError as exc:
            return {"skipped": f"the node did not start: {exc}"}
        msgs = [array_to_image(f, None) for f in frames]
        period, i, initialised = 1.0 / 30.0, 0, False
        t_end = time.monotonic() + seconds
        next_t = time.monotonic()
        while time.monotonic() < t_end:
            if time.monotonic() < next_t:
                time.sleep(0.002)
                continue
            msg = msgs[i % len(msgs)]
            msg.header = make_header(frame_id="thermal")
            client.publish(msg)
            if not initialised and i >= 2:
                initialised = bool(client.init_target(boxes[i % len(boxes)]).success)
            i += 1
            next_t = max(next_t + period, time.monotonic() - period)
        time.sleep(1.0)
        statuses = [m.msg for m in client.messages("status")]
        diags = client.messages("diagnostics")
    finally:
        client.close()
        rc = node.stop()
    lat = np.array([s.latency_ms for s in statuses[len(statuses) // 5:]])  # after warm-up
    values = {}
    for m in reversed(diags):
        own = [st for st in m.msg.status if "fgsgt" in st.name]
        if own:
            values = {kv.key: kv.value for kv in own[0].values}
            break
    res = {"frames_published": i, "frames_processed": len(statuses), "node_exit_code": rc,
           "device_reported": values.get("device"), "model": values.get("model"),
           "latency_ms_p50": float(np.percentile(lat, 50)) if lat.size else None,
           "latency_ms_p99": float(np.percentile(lat, 99)) if lat.size else None,
           "processing_rate_hz": float(values["processing_rate_hz"])
           if "processing_rate_hz" in values else None,
           "time_total_ms": float(values["time_total_ms"]) if "time_total_ms" in values else None,
           "time_tracker_ms": float(values["time_tracker_ms"])
           if "time_tracker_ms" in values else None}
    log(f"  node on {res['device_reported']}: latency p50 {res['latency_ms_p50']} ms, "
        f"p99 {res['latency_ms_p99']} ms, {res['processing_rate_hz']} Hz")
    return res


def _ms(entry) -> str:
    if not isinstance(entry, dict) or "ms_median" not in entry:
        return "-"
    return f"{entry['ms_median']:.2f}"


def render(result: dict) -> str:
    env = result["environment"]
    lines = [f"GPU check ({result['command']}), {result['date']}: device {env['device']}"
             + (f" ({env.get('gpu')}, CUDA {env.get('cuda')})" if env.get("gpu") else "")
             + f", torch {env['torch']}, onnxruntime {env.get('onnxruntime')}", ""]
    for note in result["skipped"]:
        lines.append(f"- skipped: {note}")
    if result["skipped"]:
        lines.append("")
    if result.get("networks"):
        lines += ["Network search branch, ms per frame (median; random weights):", "",
                  "| preset | params (M) | torch fp32 | torch fp16 | onnxruntime fp32 |",
                  "|---|---|---|---|---|"]
        for r in result["networks"]:
            if "error" in r:
                lines.append(f"| {r['preset']} | - | {r['error']} | | |")
                continue
            lines.append(f"| {r['preset']} | {r['params_m']:.2f} | {_ms(r['torch_fp32'])} | "
                         f"{_ms(r['torch_fp16'])} | {_ms(r['onnx_fp32'])} |")
        lines.append("")
    if result.get("tracker"):
        lines += ["Tracker step (TrackingSession.step: AGC + crop + network + decode), 640x512 "
                  "16-bit frames, ms per frame:", "",
                  "| model | runtime | precision | median | p90 |", "|---|---|---|---|---|"]
        for r in result["tracker"]:
            if "ms_median" in r:
                lines.append(f"| {r['model']} | {r['runtime']} | {r['precision']} | "
                             f"{r['ms_median']:.2f} | {r['ms_p90']:.2f} |")
            else:
                lines.append(f"| {r['model']} | {r['runtime']} | {r['precision']} | "
                             f"skipped: {r['skipped']} | |")
        lines.append("")
    node = result.get("node")
    if node and "skipped" not in node:
        lines += [f"Node on {node.get('device_reported')} (640x512 at 30 Hz, shipped model): "
                  f"latency p50 {node['latency_ms_p50']:.1f} ms, p99 {node['latency_ms_p99']:.1f} "
                  f"ms, processing {node['processing_rate_hz']} Hz, per-frame "
                  f"{node['time_total_ms']} ms (tracker {node['time_tracker_ms']} ms)", ""]
    elif node:
        lines += [f"Node: skipped: {node['skipped']}", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda:0", help="cuda:N (default) or cpu (a reference)")
    ap.add_argument("--presets", default="all",
                    help="comma-separated model presets for the network table (default: all)")
    ap.add_argument("--models", default="shipped",
                    help="tracker-step models: 'shipped' (every shipped checkpoint) or a "
                         "comma-separated list of tracker specs")
    ap.add_argument("--rounds", type=int, default=50, help="timed calls per measurement")
    ap.add_argument("--warmup", type=int, default=10, help="untimed calls first")
    ap.add_argument("--frames", type=int, default=60, help="frames per tracker-step measurement")
    ap.add_argument("--node-seconds", type=float, default=20.0,
                    help="seconds of 30 Hz input for the node measurement (0 = skip the node)")
    ap.add_argument("--out", type=Path, default=Path("out/bench_gpu"), help="output folder")
    args = ap.parse_args(argv)

    import torch

    from fgsgt_ros.model.registry import PRESETS
    from fgsgt_ros.tracker import shipped_presets

    def log(text):
        print(text, flush=True)

    device = args.device
    result = {"command": "python bench/bench_gpu.py " + " ".join(argv or sys.argv[1:]),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "environment": environment(device), "skipped": []}
    args.out.mkdir(parents=True, exist_ok=True)
    if device.startswith("cuda") and not torch.cuda.is_available():
        msg = (f"CUDA not available here (torch {torch.__version__}, "
               f"torch.cuda.is_available() is False): the CUDA measurements (network fp32/fp16, "
               f"onnxruntime-gpu, tracker step, node latency) were skipped. Run this on a "
               f"machine with an NVIDIA GPU, or --device cpu for a CPU reference.")
        log(msg)
        result["skipped"].append(msg)
    else:
        if device.startswith("cuda"):
            torch.backends.cudnn.benchmark = True
        else:
            from fgsgt_ros.model.runtime import DEFAULT_NUM_THREADS
            torch.set_num_threads(DEFAULT_NUM_THREADS)
        presets = list(PRESETS) if args.presets == "all" else \
            [p.strip() for p in args.presets.split(",") if p.strip()]
        unknown = [p for p in presets if p not in PRESETS]
        if unknown:
            print(f"bench_gpu: error: unknown preset(s) {unknown}", file=sys.stderr)
            return 2
        log(f"network search branch on {device} ({len(presets)} presets):")
        result["networks"] = bench_networks(presets, device, args.rounds, args.warmup, log)
        models = shipped_presets() if args.models == "shipped" else \
            [m.strip() for m in args.models.split(",") if m.strip()]
        log(f"tracker step on {device}:")
        result["tracker"] = bench_tracker(models, device, args.frames, log)
        if args.node_seconds > 0:
            log(f"node on {device} ({args.node_seconds:g} s):")
            result["node"] = bench_node(device, args.node_seconds, log)
        else:
            result["node"] = {"skipped": "--node-seconds 0"}
    (args.out / "bench_gpu.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    table = render(result)
    (args.out / "bench_gpu.md").write_text(table + "\n")
    print(table)
    print(f"wrote {args.out / 'bench_gpu.json'} and {args.out / 'bench_gpu.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
