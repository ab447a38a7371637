"""Benchmark: the fgsgt_tracker node at camera rate on this machine.

    .venv/bin/python bench/bench_node.py --duration 600          # the 10-minute memory run
    .venv/bin/python bench/bench_node.py --duration 60 --size 160x120 --outputs off

A publisher in this process plays a 16-bit thermal scene (a warm target on a moving path) at
``--rate`` Hz with real stamps to the node running in its own process, initialises the target by
service, and measures:
- processing rate and dropped frames (newest-frame policy: frames are dropped, never queued);
- latency p50/p99 from the image stamp to the receipt of the matching detection;
- the node's resident memory (VmRSS) after warm-up and at the end, and its slope over the run;
- the node's own timers (from /diagnostics): conversion, AGC, tracker (crop + network + decode),
  publishing; the node overhead share = (conversion + AGC + publishing) / total.
Baseline measured in the same run: the node's TrackingSession alone (AGC + update, no ROS) on the
same frames.

Without the shipped checkpoint (a checkout before training) the same preset with random weights
is used and reported as such: timing does not depend on the weight values.
Results: printed as a markdown block (paste under "## Node (issue 6)" in docs/BENCHMARKS.md) and
written to ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def make_frames(width: int, height: int, n: int = 90):
    """``n`` 16-bit frames, periodic so they loop seamlessly, and the target boxes."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 3000.0 + 80.0 * xx / width + 40.0 * yy / height
    tw, th = max(12.0, width / 16), max(9.0, height / 16)
    frames, boxes = [], []
    for i in range(n):
        phase = 2 * np.pi * i / n
        cx = width / 2 + width / 4 * np.sin(phase)
        cy = height / 2 + height / 8 * np.sin(2 * phase)
        inside = ((xx + 0.5 - cx) / (tw / 2)) ** 2 + ((yy + 0.5 - cy) / (th / 2)) ** 2 <= 1
        f = base + rng.normal(0, 4, base.shape) + 900.0 * inside
        frames.append(np.clip(f, 0, 65535).astype(np.uint16))
        boxes.append([cx - tw / 2, cy - th / 2, tw, th])
    return frames, np.asarray(boxes)


def resolve_checkpoint(spec: str, tmp: Path) -> tuple:
    """(checkpoint parameter, note). Random-weight stand-in when the shipped file is missing."""
    from fgsgt_ros import weights

    if spec or weights.default_checkpoint().is_file():
        return spec, "shipped fgsgt_tiny" if not spec else spec
    from fgsgt_ros.model.checkpoint import save_checkpoint
    from fgsgt_ros.model.families.fgsgt import build_model, get_preset

    cfg = get_preset("fgsgt_tiny")
    path = tmp / "fgsgt_tiny_random.pt"
    save_checkpoint(path, build_model(cfg), cfg)
    return str(path), "fgsgt_tiny with RANDOM weights (shipped checkpoint missing; same timing)"


def baseline(checkpoint: str, frames, boxes, n: int = 150, threads: int = 0) -> float:
    """ms per frame of the node's TrackingSession (AGC + tracker.update) without ROS (same
    frames, same process count)."""
    import torch

    from fgsgt_ros.tracker.config import TrackerConfig
    from fgsgt_ros.tracker.session import TrackingSession
    from fgsgt_ros.tracker.thermal import ThermalConfig

    session = TrackingSession.from_spec(checkpoint, tracker_cfg=TrackerConfig(),
                                        thermal_cfg=ThermalConfig(), device="cpu",
                                        num_threads=threads)
    session.init(frames[0], boxes[0])
    for i in range(10):
        session.step(frames[i % len(frames)])
    t0 = time.perf_counter()
    for i in range(n):
        session.step(frames[(i + 10) % len(frames)])
    ms = (time.perf_counter() - t0) / n * 1e3
    del session
    torch.set_num_threads(os.cpu_count() or 1)
    return ms


VIEWER = """
import rclpy
from rclpy.qos import QoSProfile
from sensor_msgs.msg import Image
rclpy.init()
n = rclpy.create_node('bench_viewer')
q = QoSProfile(depth=1)
n.create_subscription(Image, 'debug_image', lambda m: None, q)
n.create_subscription(Image, 'saliency', lambda m: None, q)
try:
    rclpy.spin(n)
except BaseException:
    pass
"""


def _own_diag(client) -> dict:
    """Latest /diagnostics values of the benchmarked node, with its receipt time as '_t'."""
    msgs = [m for m in client.messages("diagnostics")
            if m.msg.status and m.msg.status[0].name == "/fgsgt_tracker: tracker"]
    if not msgs:
        return {"_t": time.time(), "frames_processed": 0, "frames_received": 0}
    values = {kv.key: kv.value for kv in msgs[-1].msg.status[0].values}
    values["_t"] = msgs[-1].t
    return values


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main(argv=None) -> int:
    from fgsgt_ros.model.runtime import DEFAULT_NUM_THREADS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=120.0, help="seconds of 30 Hz input")
    ap.add_argument("--rate", type=float, default=30.0)
    ap.add_argument("--size", default="640x512", help="frame size WxH")
    ap.add_argument("--checkpoint", default="", help="node checkpoint (default: shipped)")
    ap.add_argument("--outputs", choices=("on", "off"), default="on",
                    help="saliency + debug image publishing")
    ap.add_argument("--threads", type=int, default=DEFAULT_NUM_THREADS,
                    help="node num_threads (default: the node's, %(default)s: on this shared 2-core "
                         "machine more threads oversubscribe the CPU and slow the network down)")
    ap.add_argument("--qos", choices=("best_effort", "reliable"), default="best_effort",
                    help="node input QoS (large frames over best-effort Fast DDS get lost in "
                         "transport under load; reliable retransmits)")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    ap.add_argument("--json", type=Path, default=Path("out/bench_node.json"))
    args = ap.parse_args(argv)

    from builtin_interfaces.msg import Time  # noqa: F401  (fails early without ROS)

    from fgsgt_ros.ros.client import TrackerClient, make_header, ros_env, start_node
    from fgsgt_ros.ros.conversions import array_to_image

    width, height = (int(v) for v in args.size.lower().split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="bench_node_"))
    checkpoint, model_note = resolve_checkpoint(args.checkpoint, tmp)
    frames, boxes = make_frames(width, height)
    print(f"model: {model_note}; frames {width}x{height} at {args.rate:g} Hz for "
          f"{args.duration:g} s; outputs {args.outputs}", flush=True)
    base_ms = baseline(checkpoint, frames, boxes, threads=args.threads)
    print(f"baseline (AGC + tracker.update, no ROS): {base_ms:.1f} ms/frame", flush=True)

    domain = 150 + os.getpid() % 50
    env = ros_env(domain)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = env["ROS_AUTOMATIC_DISCOVERY_RANGE"]
    on = args.outputs == "on"
    node = start_node({"checkpoint": checkpoint, "num_threads": args.threads,
                       "publish_saliency": on, "publish_debug_image": on,
                       "diagnostics_period_s": 2.0, "qos_reliability": args.qos}, env,
                      log_path=tmp / "node.log")
    viewer = None
    if on:
        # a separate process subscribes to the images like rviz would (the node builds them only
        # for a subscriber); receiving megabyte images here would slow this publisher down
        import subprocess

        viewer = subprocess.Popen([sys.executable, "-c", VIEWER], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = TrackerClient(domain_id=domain, keep_images=False, record=("detections", "status"))
    try:
        client.wait_ready(120, node, image=True)  # frames must reach the node
        msgs = [array_to_image(f, None) for f in frames]
        period = 1.0 / args.rate
        published = {}
        rss = []
        t_start = time.monotonic()
        t_end = t_start + args.warmup + args.duration
        next_t = t_start
        i = 0
        initialised = False
        measuring_from = None
        next_rss = t_start
        while time.monotonic() < t_end:
            now = time.monotonic()
            if now < next_t:
                time.sleep(min(next_t - now, 0.005))
                continue
            msg = msgs[i % len(msgs)]
            msg.header = make_header(frame_id="thermal")
            client.publish(msg)
            stamp_ns = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
            published[stamp_ns] = time.time()
            if not initialised and i >= 2:
                r = client.init_target(boxes[i % len(boxes)])
                initialised = bool(r.success)
            i += 1
            next_t += period
            if next_t < time.monotonic() - period:
                next_t = time.monotonic()  # never burst to catch up
            if measuring_from is None and now - t_start >= args.warmup:
                measuring_from = (stamp_ns, time.monotonic())
                diag_start = _own_diag(client)
            if now >= next_rss:
                rss.append((now - t_start, rss_mb(node.proc.pid)))
                next_rss += 5.0
        time.sleep(1.0)
        diag = _own_diag(client)
        stamp0, t0 = measuring_from
        dets = [m for m in client.messages("detections")
                if m.msg.header.stamp.sec * 10**9 + m.msg.header.stamp.nanosec >= stamp0]
        statuses = client.messages("status")
    finally:
        client.close()
        rc = node.stop()
        if viewer is not None:
            viewer.terminate()
            viewer.wait(10)

    pub_measured = [s for s in published if s >= stamp0]
    node_lat = np.array([m.msg.latency_ms for m in statuses
                         if m.msg.header.stamp.sec * 10**9 + m.msg.header.stamp.nanosec >= stamp0])
    lat = np.array([(m.t - (m.msg.header.stamp.sec + m.msg.header.stamp.nanosec / 1e9)) * 1e3
                    for m in dets])
    # rate and drops from the node's own counters (diagnostics every 2 s: window ~ duration)
    t_diag = float(diag["_t"]) - float(diag_start["_t"])
    processed = int(diag["frames_processed"]) - int(diag_start["frames_processed"])
    received = int(diag["frames_received"]) - int(diag_start["frames_received"])
    span = t_diag
    states = [m.msg.state_name for m in statuses]
    rss_arr = np.array(rss)
    warm = rss_arr[rss_arr[:, 0] >= args.warmup]
    slope = float(np.polyfit(warm[:, 0] / 60.0, warm[:, 1], 1)[0]) if len(warm) > 2 else float("nan")
    half = warm[warm[:, 0] >= args.warmup + args.duration / 2]
    slope2 = float(np.polyfit(half[:, 0] / 60.0, half[:, 1], 1)[0]) if len(half) > 2 else float("nan")
    f = {k: float(diag[k]) for k in diag if k.startswith("time_") and k.endswith("_ms")}
    total = f["time_total_ms"]
    node_ms = total - f["time_tracker_ms"]
    res = {
        "model": model_note, "frame_size": [width, height], "rate_hz": args.rate,
        "duration_s": args.duration, "outputs": args.outputs, "qos": args.qos, "node_exit_code": rc,
        "frames_published": len(pub_measured), "frames_received_by_node": received,
        "frames_processed": processed, "processing_rate_hz": processed / span,
        "frames_dropped": received - processed,
        "node_latency_ms_p50": float(np.percentile(node_lat, 50)) if len(node_lat) else None,
        "node_latency_ms_p99": float(np.percentile(node_lat, 99)) if len(node_lat) else None,
        "node_frames_dropped_total": int(diag["frames_dropped"]),
        "node_frames_lost_in_transport_total": int(diag.get("frames_lost_in_transport", -1)),
        "load_average_1min_end": os.getloadavg()[0],
        "latency_ms_p50": float(np.percentile(lat, 50)) if len(lat) else None,
        "latency_ms_p99": float(np.percentile(lat, 99)) if len(lat) else None,
        "rss_mb_after_warmup": float(warm[0, 1]) if len(warm) else None,
        "rss_mb_end": float(rss_arr[-1, 1]),
        "rss_slope_mb_per_min": slope, "rss_slope_second_half_mb_per_min": slope2,
        "timing_ms": f, "node_overhead_ms": node_ms,
        "node_overhead_share": node_ms / total if total else None,
        "baseline_tracker_alone_ms": base_ms,
        "state_share_tracking": states.count("TRACKING") / max(1, len(states)),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    print(f"""
| setting | value |
|---|---|
| model / input | {model_note}; {width}x{height} mono16 at {args.rate:g} Hz, {args.duration:g} s (+{args.warmup:g} s warm-up), outputs {args.outputs}, input QoS {args.qos} |
| processing rate (node counters) | {res['processing_rate_hz']:.1f} frames/s ({processed} processed of {received} received, {len(pub_measured)} published; whole run: {res['node_frames_dropped_total']} replaced in the node's mailbox, {res['node_frames_lost_in_transport_total']} lost before the callback) |
| machine load (1-min load average at the end, 2 cores) | {res['load_average_1min_end']:.1f} |
| latency stamp -> detection received (client) | p50 {res['latency_ms_p50']:.1f} ms, p99 {res['latency_ms_p99']:.1f} ms |
| latency stamp -> results published (node) | p50 {res['node_latency_ms_p50']:.1f} ms, p99 {res['node_latency_ms_p99']:.1f} ms |
| per-frame time (node timers) | total {total:.1f} ms = conversion {f['time_convert_ms']:.2f} + AGC {f['time_preprocess_ms']:.2f} + tracker (crop + network + decode) {f['time_tracker_ms']:.1f} + publishing {f['time_publish_ms']:.2f} |
| node overhead (conversion + AGC + publishing) | {node_ms:.2f} ms = {100 * res['node_overhead_share']:.1f}% of per-frame time |
| baseline: AGC + tracker alone, no ROS (same run) | {base_ms:.1f} ms/frame |
| node resident memory | {res['rss_mb_after_warmup']:.0f} MB after warm-up -> {res['rss_mb_end']:.0f} MB at end; slope {slope:+.2f} MB/min (second half {slope2:+.2f}) |
""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
