"""How the tracker node answers while its camera topic is busy, and whether its memory stays flat.

Phase ``flood`` (per transport, raw ``sensor_msgs/Image`` and ``sensor_msgs/CompressedImage``): a
publisher process floods the node's input at ``--rate`` Hz (default 120) with 640x512 16-bit
frames of a warm target, ``--bad-share`` of them malformed (every kind of
``fgsgt_dev.fuzzing`` that keeps the frame size: lying encodings and steps, truncated data,
NaN/inf floats, hostile strings, ...), while this process calls ``init_target`` (on the latest
frame, and stamped on a frame the node just reported) and ``reset`` back to back. Reported: every
call answered or not, latency p50/p99/max per service, frames received/processed/dropped.

Phase ``soak``: the node and a plain rclpy subscriber (empty callback: the middleware's own share)
on the same 30 Hz stream of 640x512 16-bit frames for ``--minutes`` (default 60), with an
``init_target`` / ``reset`` every few seconds and ``--soak-bad-share`` malformed frames. Every
``--sample-s`` seconds: RSS of both processes; per minute: service latencies, frame latency
p50/p99 (stamp to status, the node's ``latency_ms``) and frames dropped. Reported: RSS slope
after the first ``--warmup-min`` minutes (MB/min, least squares) for both, and a plot of RSS and
latency over time (``--plot``).

    .venv/bin/python bench/bench_node_load.py --phases flood --seconds 60 --json out/flood.json
    .venv/bin/python bench/bench_node_load.py --phases soak --minutes 60 --json out/soak.json \\
        --plot docs/soak.png

Figures: docs/BENCHMARKS.md ("The node", "Soak: one hour at 30 Hz").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

W, H = 640, 512
TARGET = (300.0, 230.0, 36.0, 48.0)  # x, y, w, h of the warm target in every frame


def scene(i: int) -> np.ndarray:
    """A 640x512 16-bit frame: textured background, a warm target at TARGET (small jitter)."""
    rng = np.random.default_rng(i % 97)
    frame = 3000.0 + rng.normal(0.0, 6.0, (H, W))
    yy, xx = np.mgrid[0:H, 0:W]
    frame += 40.0 * np.sin(xx / 37.0) * np.cos(yy / 53.0)
    x, y, w, h = TARGET
    cx, cy = x + w / 2 + (i % 5) - 2, y + h / 2
    inside = ((xx + 0.5 - cx) / (w / 2)) ** 2 + ((yy + 0.5 - cy) / (h / 2)) ** 2 <= 1.0
    frame[inside] += 700.0
    return np.clip(frame, 0, 65535).astype(np.uint16)


# --------------------------------------------------------------------------------------------
# the publisher process

#: malformed kinds that keep the 640x512 size (the size bombs and tiny/large frames are the fuzz
#: bench's; here the point is load, not sizes)
RAW_BAD = ("encoding_unsupported", "encoding_injection", "step_small", "step_huge", "truncated",
           "overlong", "bigendian_mono16", "float_nonfinite", "float_constant_huge",
           "constant_mono16", "frame_id_injection", "stamp_odd", "valid_32FC1")
COMPRESSED_BAD = ("empty", "random_bytes", "png_magic_garbage", "jpeg_magic_garbage",
                  "truncated_png", "truncated_jpeg", "png_lying_header", "other_codec",
                  "codec_mismatch", "format_injection", "valid_jpeg8")


def publisher_main(argv: List[str]) -> int:
    """``--publisher TRANSPORT RATE BAD_SHARE SECONDS SEED RELIABLE [TOPIC...]``: publish the
    stream, then exit. Each topic gets every message (the soak's node and baseline)."""
    transport, rate, bad_share, seconds, seed = (argv[0], float(argv[1]), float(argv[2]),
                                                 float(argv[3]), int(argv[4]))
    reliable = argv[5] == "1"
    import rclpy
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage, Image

    from fgsgt_dev import fuzzing as F
    from fgsgt_ros.ros.client import make_header

    rclpy.init()
    node = rclpy.create_node("load_publisher")
    qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=50 if reliable else 5,
                     reliability=(ReliabilityPolicy.RELIABLE if reliable
                                  else ReliabilityPolicy.BEST_EFFORT))
    topics = argv[6:] or ["image"]
    kind = CompressedImage if transport == "compressed" else Image
    suffix = "/compressed" if transport == "compressed" else ""
    pubs = [node.create_publisher(kind, t + suffix, qos) for t in topics]
    factory = F.MessageFactory(seed, scene)
    rng = np.random.default_rng(seed)
    make = factory.compressed if transport == "compressed" else factory.raw
    valid_kind = "valid_png16" if transport == "compressed" else "valid_mono16"
    bad_kinds = [k for k in (COMPRESSED_BAD if transport == "compressed" else RAW_BAD)
                 if k in (F.COMPRESSED_KINDS if transport == "compressed" else F.RAW_KINDS)]
    valid = [(valid_kind, make(valid_kind)) for _ in range(24)]
    bad = [(bad_kinds[i % len(bad_kinds)], make(bad_kinds[i % len(bad_kinds)]))
           for i in range(3 * len(bad_kinds))]
    # wait for the subscribers (the node may still be loading its model)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and any(p.get_subscription_count() == 0 for p in pubs):
        time.sleep(0.1)
    period, t0, sent = 1.0 / rate, time.monotonic(), 0
    while time.monotonic() - t0 < seconds:
        pool = bad if rng.random() < bad_share else valid
        kind_name, msg = pool[sent % len(pool)]
        if kind_name != "stamp_odd":  # odd stamps stay odd; every other frame is stamped now
            msg.header.stamp = make_header().stamp
        for p in pubs:
            try:
                p.publish(msg)
            except Exception as exc:  # a reliable writer with a full history refuses: go on
                if "publish" not in str(exc):
                    raise
        sent += 1
        delay = t0 + sent * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(json.dumps({"sent": sent, "seconds": time.monotonic() - t0}), flush=True)
    node.destroy_node()
    rclpy.shutdown()
    return 0


def start_publisher(transport: str, rate: float, bad_share: float, seconds: float, seed: int,
                    env: Dict[str, str], topics=("image",), log: Optional[Path] = None,
                    reliable: bool = False):
    out = open(log, "w") if log else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--publisher", transport, str(rate),
         str(bad_share), str(seconds), str(seed), "1" if reliable else "0", *topics],
        env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


# --------------------------------------------------------------------------------------------
# measurements

def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def pct(values, q) -> Optional[float]:
    return round(float(np.percentile(values, q)) * 1e3, 1) if len(values) else None


class Caller:
    """init_target / reset back to back (``pause_s`` apart) from a thread; latencies kept."""

    def __init__(self, client, pause_s: float = 0.0, timeout: float = 10.0) -> None:
        self.client, self.pause_s, self.timeout = client, pause_s, timeout
        self.latency: Dict[str, List[float]] = {"init_target": [], "init_stamped": [], "reset": []}
        self.times: Dict[str, List[float]] = {k: [] for k in self.latency}
        self.unanswered = 0
        self.refused: Dict[str, int] = {k: 0 for k in self.latency}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "Caller":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.timeout + 5)

    def _one(self, kind: str) -> None:
        t0 = time.monotonic()
        try:
            if kind == "reset":
                answer = self.client.reset(timeout=self.timeout)
            elif kind == "init_stamped":
                statuses = self.client.messages("status")
                stamp = statuses[-1].msg.header.stamp if statuses else None
                answer = self.client.init_target(TARGET, stamp=stamp, timeout=self.timeout)
            else:
                answer = self.client.init_target(TARGET, timeout=self.timeout)
        except TimeoutError:
            self.unanswered += 1
            return
        self.latency[kind].append(time.monotonic() - t0)
        self.times[kind].append(t0)
        if not answer.success:
            self.refused[kind] += 1

    def _run(self) -> None:
        order = ("init_target", "reset", "init_stamped", "reset")
        i = 0
        while not self._stop.is_set():
            self._one(order[i % len(order)])
            i += 1
            if self.pause_s:
                self._stop.wait(self.pause_s)

    def summary(self) -> dict:
        out = {"unanswered": self.unanswered}
        for kind, values in self.latency.items():
            out[kind] = {"calls": len(values), "refused": self.refused[kind],
                         "p50_ms": pct(values, 50), "p99_ms": pct(values, 99),
                         "max_ms": round(max(values) * 1e3, 1) if values else None}
        return out


def _diag(client, name="/fgsgt_tracker: tracker") -> dict:
    for m in reversed(client.messages("diagnostics")):
        if m.msg.status and m.msg.status[0].name == name:
            return {kv.key: kv.value for kv in m.msg.status[0].values}
    return {}


#: node input QoS in the flood (--qos): the sensor-data default, or what the fuzz bench used
QOS = {"sensor": {}, "reliable50": {"qos_reliability": "reliable", "qos_depth": 50}}


def _start_node(env, tmp: Path, transport: str, extra: Optional[dict] = None):
    from fgsgt_ros.ros.client import TrackerClient, start_node

    params = {"input_transport": transport, "diagnostics_period_s": 1.0, "num_threads": 1,
              "publish_saliency": False, "publish_debug_image": False}
    params.update(extra or {})
    node = start_node(params, env, log_path=tmp / f"node_{transport}.log")
    client = TrackerClient(record=("status",), keep_images=False, domain_id=int(env["ROS_DOMAIN_ID"]))
    client.wait_ready(120, node)
    return node, client


def flood(transport: str, rate: float, bad_share: float, seconds: float, domain: int,
          tmp: Path, seed: int, qos: str = "sensor") -> dict:
    from fgsgt_ros.ros.client import ros_env

    env = ros_env(domain)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = env["ROS_AUTOMATIC_DISCOVERY_RANGE"]
    node, client = _start_node(env, tmp, transport, QOS[qos])
    pub = start_publisher(transport, rate, bad_share, seconds + 5, seed, env,
                          log=tmp / f"publisher_{transport}.log",
                          reliable=qos != "sensor")
    try:
        # calls start once frames flow
        client.wait_for(lambda: len(client.messages("status")) > 0, 120)
        caller = Caller(client).start()
        time.sleep(seconds)
        caller.stop()
        time.sleep(1.5)
        diag = _diag(client)
    finally:
        pub.wait(timeout=60)
        client.close()
        rc = node.stop()
    sent = json.loads((tmp / f"publisher_{transport}.log").read_text().strip().splitlines()[-1])
    return {"transport": transport, "qos": qos, "rate_hz": rate, "bad_share": bad_share, "seconds": seconds,
            "published": sent["sent"], "published_per_s": round(sent["sent"] / sent["seconds"], 1),
            "services": caller.summary(),
            "frames_received": int(diag.get("frames_received", 0)),
            "frames_processed": int(diag.get("frames_processed", 0)),
            "frames_dropped": int(diag.get("frames_dropped", 0)),
            "bad_frames": int(diag.get("bad_frames", 0)),
            "callback_errors": int(diag.get("callback_errors", 0)),
            "processing_errors": int(diag.get("processing_errors", 0)),
            "node_exit_code": rc}


_PLAIN = """
import rclpy, sys
from rclpy.qos import QoSProfile, ReliabilityPolicy, HistoryPolicy
from sensor_msgs.msg import Image
rclpy.init()
node = rclpy.create_node("plain_subscriber")
qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
node.create_subscription(Image, sys.argv[1], lambda msg: None, qos)
try:
    rclpy.spin(node)
except Exception:
    pass
"""


def slope_mb_per_min(times_s, values) -> Optional[float]:
    t, v = np.asarray(times_s, float), np.asarray(values, float)
    ok = np.isfinite(v)
    if ok.sum() < 3:
        return None
    return float(np.polyfit(t[ok] / 60.0, v[ok], 1)[0])


def soak(minutes: float, bad_share: float, sample_s: float, warmup_min: float, domain: int,
         tmp: Path, seed: int, call_every_s: float) -> dict:
    from fgsgt_ros.ros.client import ros_env

    env = ros_env(domain)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = env["ROS_AUTOMATIC_DISCOVERY_RANGE"]
    seconds = minutes * 60.0
    node, client = _start_node(env, tmp, "raw")
    plain = subprocess.Popen([sys.executable, "-c", _PLAIN, "plain_image"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    pub = start_publisher("raw", 30.0, bad_share, seconds + 10, seed, env,
                          topics=("image", "plain_image"), log=tmp / "publisher_soak.log")
    samples = {"t": [], "node_rss_mb": [], "plain_rss_mb": []}
    per_minute: List[dict] = []
    caller = None
    try:
        client.wait_for(lambda: len(client.messages("status")) > 0, 120)
        caller = Caller(client, pause_s=call_every_s).start()
        t0 = time.monotonic()
        next_minute, last_status, last_dropped = 60.0, 0, None
        while time.monotonic() - t0 < seconds:
            time.sleep(sample_s)
            now = time.monotonic() - t0
            samples["t"].append(now)
            samples["node_rss_mb"].append(rss_mb(node.proc.pid))
            samples["plain_rss_mb"].append(rss_mb(plain.pid))
            if now >= next_minute or now >= seconds:
                statuses = client.messages("status")
                new = statuses[last_status:]
                last_status = len(statuses)
                # the client keeps only what the summaries need: drop old messages
                with client.lock:
                    client.received["status"] = client.received["status"][-50:]
                    last_status = len(client.received["status"])
                lat = [s.msg.latency_ms for s in new]
                dropped = new[-1].msg.frames_dropped if new else last_dropped
                calls = [x for k in caller.latency for x, t in
                         zip(caller.latency[k], caller.times[k]) if t - t0 >= now - 60.0]
                per_minute.append({
                    "minute": round(now / 60.0, 2), "frames": len(new),
                    "latency_p50_ms": float(np.percentile(lat, 50)) if lat else None,
                    "latency_p99_ms": float(np.percentile(lat, 99)) if lat else None,
                    "dropped": (None if dropped is None or last_dropped is None
                                else int(dropped - last_dropped)),
                    "service_p99_ms": pct(calls, 99),
                    "node_rss_mb": samples["node_rss_mb"][-1],
                    "plain_rss_mb": samples["plain_rss_mb"][-1]})
                last_dropped = dropped
                print(f"[soak] {now / 60:.1f} min: node RSS {samples['node_rss_mb'][-1]:.0f} MB, "
                      f"plain {samples['plain_rss_mb'][-1]:.0f} MB, frame latency p99 "
                      f"{per_minute[-1]['latency_p99_ms'] or 0:.0f} ms", flush=True)
                next_minute += 60.0
    finally:
        if caller is not None:
            caller.stop()
        pub.terminate()
        pub.wait(timeout=30)
        plain.terminate()
        plain.wait(timeout=30)
        diag = _diag(client)
        client.close()
        rc = node.stop()
    keep = [i for i, t in enumerate(samples["t"]) if t >= warmup_min * 60.0]
    t_keep = [samples["t"][i] for i in keep]
    return {
        "minutes": minutes, "bad_share": bad_share, "warmup_min": warmup_min,
        "node_rss_slope_mb_per_min": slope_mb_per_min(
            t_keep, [samples["node_rss_mb"][i] for i in keep]),
        "plain_rss_slope_mb_per_min": slope_mb_per_min(
            t_keep, [samples["plain_rss_mb"][i] for i in keep]),
        "node_rss_mb_first": samples["node_rss_mb"][0] if samples["t"] else None,
        "node_rss_mb_last": samples["node_rss_mb"][-1] if samples["t"] else None,
        "plain_rss_mb_first": samples["plain_rss_mb"][0] if samples["t"] else None,
        "plain_rss_mb_last": samples["plain_rss_mb"][-1] if samples["t"] else None,
        "services": caller.summary() if caller else {},
        "per_minute": per_minute, "samples": samples,
        "frames_received": int(diag.get("frames_received", 0)),
        "frames_processed": int(diag.get("frames_processed", 0)),
        "bad_frames": int(diag.get("bad_frames", 0)),
        "callback_errors": int(diag.get("callback_errors", 0)),
        "processing_errors": int(diag.get("processing_errors", 0)),
        "node_exit_code": rc}


def plot_soak(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s, pm = result["samples"], result["per_minute"]
    fig, (a, b) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    t = np.asarray(s["t"]) / 60.0
    a.plot(t, s["node_rss_mb"], label=f"tracker node ({result['node_rss_slope_mb_per_min']:+.2f}"
                                      " MB/min after warm-up)")
    a.plot(t, s["plain_rss_mb"], label=f"plain rclpy subscriber "
                                       f"({result['plain_rss_slope_mb_per_min']:+.2f} MB/min)")
    a.axvline(result["warmup_min"], color="grey", ls=":", lw=1)
    a.set_ylabel("resident memory (MB)")
    a.legend(loc="center right", fontsize=8)
    a.set_title("30 Hz 640x512 16-bit stream, init/reset calls and malformed frames mixed in")
    m = [p["minute"] for p in pm]
    b.plot(m, [p["latency_p50_ms"] for p in pm], "o-", ms=3, label="frame latency p50")
    b.plot(m, [p["latency_p99_ms"] for p in pm], "o-", ms=3, label="frame latency p99")
    b.plot(m, [p["service_p99_ms"] for p in pm], "s-", ms=3, label="service answer p99")
    b.set_ylabel("ms")
    b.set_xlabel("minutes")
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--publisher":
        return publisher_main(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--phases", default="flood", help="flood, soak or flood,soak")
    ap.add_argument("--transports", default="raw,compressed")
    ap.add_argument("--rate", type=float, default=120.0, help="flood rate (Hz)")
    ap.add_argument("--bad-share", type=float, default=0.3, help="malformed share in the flood")
    ap.add_argument("--seconds", type=float, default=60.0, help="flood length per transport")
    ap.add_argument("--qos", default="sensor,reliable50",
                    help="node input QoS in the flood: sensor (best effort, depth 5: the "
                         "default) and/or reliable50 (reliable, depth 50)")
    ap.add_argument("--minutes", type=float, default=60.0, help="soak length")
    ap.add_argument("--soak-bad-share", type=float, default=0.05)
    ap.add_argument("--sample-s", type=float, default=10.0)
    ap.add_argument("--warmup-min", type=float, default=5.0)
    ap.add_argument("--call-every-s", type=float, default=5.0,
                    help="pause between service calls in the soak")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--plot", type=Path, help="soak plot (PNG)")
    args = ap.parse_args(argv)
    domain = 150 + os.getpid() % 40
    tmp = Path(tempfile.mkdtemp(prefix="bench_node_load_"))
    result: Dict[str, object] = {"machine": f"{os.cpu_count()} cores", "logs": str(tmp)}
    phases = args.phases.split(",")
    if "flood" in phases:
        result["flood"] = [flood(t, args.rate, args.bad_share, args.seconds, domain, tmp, args.seed,
                                 q)
                           for q in args.qos.split(",") for t in args.transports.split(",")]
        for r in result["flood"]:
            s = r["services"]
            print(f"[flood {r['transport']} {r['qos']}] {r['published_per_s']} msg/s: init p99 "
                  f"{s['init_target']['p99_ms']} ms (max {s['init_target']['max_ms']}), stamped "
                  f"init p99 {s['init_stamped']['p99_ms']} ms, reset p99 {s['reset']['p99_ms']} "
                  f"ms (max {s['reset']['max_ms']}), unanswered {s['unanswered']}; received "
                  f"{r['frames_received']}, processed {r['frames_processed']}", flush=True)
    if "soak" in phases:
        result["soak"] = soak(args.minutes, args.soak_bad_share, args.sample_s, args.warmup_min,
                              domain, tmp, args.seed, args.call_every_s)
        s = result["soak"]
        print(f"[soak] RSS slope after {args.warmup_min:g} min: node "
              f"{s['node_rss_slope_mb_per_min']} MB/min, plain subscriber "
              f"{s['plain_rss_slope_mb_per_min']} MB/min", flush=True)
        if args.plot:
            plot_soak(s, args.plot)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
