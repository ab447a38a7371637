"""Fuzz benchmark of the tracker node: hostile input at full rate over real DDS, then memory under a
long valid stream of large frames.

Phase ``fuzz`` (per transport, raw ``sensor_msgs/Image`` and ``sensor_msgs/CompressedImage``):
``--messages`` messages in all (split over the transports) drawn, seeded, from every kind in
``fgsgt_dev.fuzzing`` (valid frames of several sizes and encodings, malformed and hostile ones,
AGC-poisoning float frames, size bombs), with ``init_box`` detections and a thread calling
``init_target`` (hostile and valid boxes/stamps) and ``reset`` back to back all the while. Every
``--check-every`` messages: is the process alive (else: a crash, restarted), does a moving target
get followed again (reset, init, 6 frames; else: the AGC or tracker is stuck), does it answer
(no status/answer within 20 s: a hang). Reported: messages, crashes, hangs, worker exceptions
(processing_errors + callback_errors from /diagnostics), stuck checks, service latency p50/p99/max,
bad frames by reason, log growth, RSS.

Phase ``stream``: valid mono16 frames of 640x512 and 160x120 alternating, published at full rate
over reliable QoS for ``--stream-s`` seconds; the subscriber's RSS is sampled every 5 s. Drift =
(mean RSS of the last minute - mean of the first minute after ``--warmup-s``) / the latter.
``--subscriber plain`` runs the same stream into a plain rclpy subscriber with an empty callback
(the middleware's share); ``node`` into the tracker node.

    nice -n 5 .venv/bin/python bench/bench_fuzz.py --json out/bench_fuzz.json
    .venv/bin/python bench/bench_fuzz.py --phases stream --subscriber plain --stream-s 120

Figures: docs/BENCHMARKS.md (Node robustness: fuzzing).
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

import numpy as np

# the checkout first: fgsgt_dev (the node harness, not installed) lives beside fgsgt_ros
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def rss_parts_mb(pid: int) -> dict:
    """RssAnon / RssFile / RssShmem (MB): private heap vs mapped files vs shared memory (Fast
    DDS's shared-memory transport segments count in RSS once touched)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("RssAnon:", "RssFile:", "RssShmem:")):
                    out[line.split(":")[0]] = round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        pass
    return out


def _diag_int(diag: dict, key: str) -> int:
    try:
        return int(diag.get(key, 0))
    except (TypeError, ValueError):
        return 0


class Target:
    """The fuzz phase's node under test, restarted when it dies (each death counts as a crash)."""

    def __init__(self, transport: str, domain: int, log_dir: Path, params: dict) -> None:
        self.transport, self.domain, self.log_dir, self.params = transport, domain, log_dir, params
        self.crashes = 0
        self.errors_before_restarts = 0
        self.n = None
        self.start()

    def start(self) -> None:
        from fgsgt_dev.testing import NodeUnderTest

        params = dict(self.params)
        if self.transport == "compressed":
            params["input_transport"] = "compressed"
        self.n = NodeUnderTest(params, domain=self.domain, namespace=f"/fz_{self.transport}",
                               transport=self.transport, log_dir=self.log_dir)

    def restart(self) -> None:
        self.crashes += 1
        try:
            self.n.close()
        except Exception:
            pass
        self.start()


def _encoder(transport: str):
    if transport == "compressed":
        from fgsgt_ros.ros.conversions import array_to_compressed

        return lambda image, header: array_to_compressed(image, header, "png")
    from fgsgt_ros.ros.conversions import array_to_image

    return array_to_image


def tracking_check(n, start: int, transport: str) -> str:
    """'ok', 'stuck' (no box on the moving target) or 'hang' (no answer/status in 20 s)."""
    from fgsgt_ros.ros.client import detection_box
    from fgsgt_dev.testing import on_target, scene, target_box

    encode = _encoder(transport)
    try:
        n.client.reset(timeout=20.0)
        n.feed([scene(start)], encode=encode)
        if not n.client.init_target(target_box(start), timeout=20.0).success:
            return "stuck"
        headers = n.feed([scene(i) for i in range(start + 1, start + 7)], encode=encode)
    except (AssertionError, TimeoutError):
        return "hang"
    for m in reversed(n.client.messages("detections")):
        if m.msg.header.stamp == headers[-1].stamp:
            return "ok" if on_target(detection_box(m.msg), target_box(start + 6)) else "stuck"
    return "stuck"


def fuzz_transport(transport: str, messages: int, seed: int, domain: int, tmp: Path,
                   check_every: int) -> dict:
    from fgsgt_dev import fuzzing as F
    from fgsgt_dev.testing import scene, target_box

    target = Target(transport, domain, tmp, {
        "qos_reliability": "reliable", "qos_depth": 50, "diagnostics_period_s": 1.0,
        "publish_saliency": False, "publish_debug_image": False, "num_threads": 1})
    rng = np.random.default_rng(seed)
    f = F.MessageFactory(seed, scene)
    if transport == "compressed":
        kinds = list(F.COMPRESSED_KINDS) + ["valid_png16"] * 8 + ["valid_jpeg8"] * 2
        make = f.compressed
    else:
        kinds = list(F.RAW_KINDS) + ["valid_mono16"] * 10 + ["valid_large_mono16"] * 3
        make = f.raw
    lat = {"init_target": [], "reset": []}
    hangs = {"service": 0, "check": 0}
    stop, paused = threading.Event(), threading.Event()
    slow = []  # service calls over 0.5 s, for the record
    call_rng = np.random.default_rng(seed + 1000)

    def caller():
        while not stop.is_set():
            if paused.is_set():  # a tracking check is running: no resets under its feet
                time.sleep(0.05)
                continue
            n = target.n
            t0 = time.monotonic()
            try:
                if call_rng.random() < 0.15:
                    n.client.reset(timeout=10.0)
                    lat["reset"].append(time.monotonic() - t0)
                else:
                    if call_rng.random() < 0.25:
                        x, y, w, h = target_box(f.i)
                        req = n.client._InitTarget.Request()
                        req.box.center.position.x, req.box.center.position.y = x + w / 2, y + h / 2
                        req.box.size_x, req.box.size_y = w, h
                    else:
                        req = F.init_request(call_rng, time.time_ns())
                    answer = n.client._call(n.client.init_client, req, 10.0)
                    lat["init_target"].append(time.monotonic() - t0)
                    if lat["init_target"][-1] > 0.5:
                        b = req.box
                        slow.append((round(lat["init_target"][-1], 3),
                                     [b.center.position.x, b.center.position.y, b.size_x,
                                      b.size_y], [req.stamp.sec, req.stamp.nanosec],
                                     answer.message[:120]))
            except TimeoutError:
                if target.n is n and n.proc.alive():
                    hangs["service"] += 1
            except Exception:
                time.sleep(0.1)  # client being replaced after a crash

    log_start = None
    checks = {"ok": 0, "stuck": 0, "hang": 0}
    errors = 0
    rss = []
    bad = {}
    t_start = time.monotonic()
    thread = threading.Thread(target=caller, daemon=True)
    thread.start()
    try:
        log_start = len(target.n.proc.log())
        sent = 0
        while sent < messages:
            block = min(check_every, messages - sent)
            for k in range(block):
                publish(target.n.client, make(kinds[int(rng.integers(len(kinds)))]))
                if k % 50 == 0:
                    target.n.client.init_box_pub.publish(F.init_box_message(rng, time.time_ns()))
                if k % 4 == 0:
                    time.sleep(0.001)  # let the executor breathe (a real flood, not a livelock)
            sent += block
            if not target.n.proc.alive():
                errors += _diag_int(_last_diag(target.n), "processing_errors")
                target.restart()
                continue
            paused.set()
            time.sleep(0.2)  # let a call in flight finish
            result = tracking_check(target.n, 1000 + sent // check_every * 10, transport)
            paused.clear()
            checks[result] += 1
            if result == "hang" and not target.n.proc.alive():
                target.restart()
            rss.append(rss_mb(target.n.proc.proc.pid))
            print(f"[{transport}] {sent}/{messages} messages, check {result}, "
                  f"RSS {rss[-1]:.0f} MB, {time.monotonic() - t_start:.0f} s", flush=True)
    finally:
        stop.set()
        thread.join(20)
    elapsed = time.monotonic() - t_start
    diag = {}
    try:
        diag = target.n.fresh_diagnostics(15.0)
    except AssertionError:
        pass
    log_bytes = len(target.n.proc.log()) - (log_start or 0)
    for part in diag.get("bad_frame_reasons", "").split(", "):
        if "=" in part:
            key, value = part.split("=")
            bad[key] = int(value)
    alive = target.n.proc.alive()
    target.n.close()

    def pct(values, q):
        return float(np.percentile(values, q)) if values else float("nan")

    all_lat = lat["init_target"] + lat["reset"]
    return {
        "transport": transport, "messages": messages, "seconds": round(elapsed, 1),
        "messages_per_s": round(messages / elapsed, 1),
        "service_calls": len(all_lat), "crashes": target.crashes, "alive_at_end": alive,
        "hangs_service": hangs["service"], "hangs_check": checks["hang"],
        "worker_exceptions": errors + _diag_int(diag, "processing_errors"),
        "callback_errors": _diag_int(diag, "callback_errors"),
        "tracking_checks": checks["ok"] + checks["stuck"] + checks["hang"],
        "tracking_checks_stuck": checks["stuck"],
        "frames_received": _diag_int(diag, "frames_received"),
        "frames_processed": _diag_int(diag, "frames_processed"),
        "bad_frames": _diag_int(diag, "bad_frames"), "bad_frame_reasons": bad,
        "init_target_p50_ms": round(pct(lat["init_target"], 50) * 1e3, 1),
        "init_target_p99_ms": round(pct(lat["init_target"], 99) * 1e3, 1),
        "reset_p50_ms": round(pct(lat["reset"], 50) * 1e3, 1),
        "reset_p99_ms": round(pct(lat["reset"], 99) * 1e3, 1),
        "service_max_ms": round(max(all_lat) * 1e3, 1) if all_lat else None,
        "publish_refused_by_middleware": PUBLISH_FAILURES[0],
        "slow_init_target_calls": sorted(slow, reverse=True)[:10],
        "log_bytes": log_bytes, "rss_mb_first_check": rss[0] if rss else None,
        "rss_mb_last_check": rss[-1] if rss else None,
    }


PUBLISH_FAILURES = [0]


def publish(client, msg) -> None:
    """Publish; a reliable writer whose history is full of unacknowledged samples refuses after
    its blocking time (RCLError 'cannot publish data'): count it, back off and go on."""
    try:
        client.publish(msg)
    except Exception as exc:  # rclpy's RCLError
        if "publish" not in str(exc):
            raise
        PUBLISH_FAILURES[0] += 1
        time.sleep(0.01)


def _last_diag(n) -> dict:
    try:
        return n.diagnostics()
    except AssertionError:
        return {}


_PLAIN_SUBSCRIBER = """
import sys, rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy, HistoryPolicy
from sensor_msgs.msg import Image
rclpy.init()
node = rclpy.create_node("plain_subscriber")
qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=int(sys.argv[1]),
                 reliability=ReliabilityPolicy.RELIABLE)
count = [0]
def received(msg):
    count[0] += 1
node.create_subscription(Image, "image", received, qos)
try:
    rclpy.spin(node)
except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
    pass
print("received", count[0], flush=True)
"""


def stream(subscriber: str, seconds: float, warmup: float, domain: int, tmp: Path,
           qos_depth: int, extra_env: dict) -> dict:
    """RSS of ``subscriber`` (node | plain) under a full-rate reliable stream of mixed sizes."""
    from fgsgt_ros.ros.client import TrackerClient, make_header, ros_env, start_node
    from fgsgt_ros.ros.conversions import array_to_image
    from fgsgt_dev.testing import scene

    env = ros_env(domain)
    env.update(extra_env)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = env["ROS_AUTOMATIC_DISCOVERY_RANGE"]
    if subscriber == "node":
        proc = start_node({"qos_reliability": "reliable", "qos_depth": qos_depth,
                           "num_threads": 1, "publish_saliency": False,
                           "publish_debug_image": False, "diagnostics_period_s": 2.0}, env,
                          log_path=tmp / "stream_node.log")
        pid, stop_proc = proc.proc.pid, proc.stop
    else:
        log = open(tmp / "plain.log", "w")
        p = subprocess.Popen([sys.executable, "-c", _PLAIN_SUBSCRIBER, str(qos_depth)], env=env,
                             stdout=log, stderr=subprocess.STDOUT)
        pid = p.pid

        def stop_proc():
            p.send_signal(2)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
            log.close()
            text = (tmp / "plain.log").read_text()
            got = [int(line.split()[1]) for line in text.splitlines()
                   if line.startswith("received ")]
            received[0] = got[-1] if got else None
    received = [None]
    # no namespace: the input topic is /image, as in config/fastdds_large_frames.xml
    client = TrackerClient(namespace="", domain_id=domain, record=(),
                           diagnostics=subscriber == "node")
    try:
        end = time.monotonic() + 60
        while client.image_pub.get_subscription_count() == 0 and time.monotonic() < end:
            time.sleep(0.2)
        def large(i):  # 640x512
            return np.pad(np.tile(scene(i), (4, 4)), ((0, 32), (0, 0)), mode="edge")
        msgs = [array_to_image(large(i) if i % 2 else scene(i)) for i in range(8)]
        t0 = time.monotonic()
        next_sample, samples, sent = t0, [], 0
        PUBLISH_FAILURES[0] = 0
        while time.monotonic() - t0 < seconds:
            msg = msgs[sent % len(msgs)]
            msg.header = make_header()
            publish(client, msg)
            sent += 1
            if sent % 8 == 0:
                time.sleep(0.001)
            now = time.monotonic()
            if now >= next_sample:
                samples.append((round(now - t0, 1), rss_mb(pid), sent, rss_parts_mb(pid)))
                next_sample += 5.0
        samples.append((round(time.monotonic() - t0, 1), rss_mb(pid), sent, rss_parts_mb(pid)))
        elapsed = time.monotonic() - t0
        if subscriber == "node":  # frames the node took from DDS, from its /diagnostics
            time.sleep(2.5)
            for m in reversed(client.messages("diagnostics")):
                if m.msg.status and m.msg.status[0].name.startswith("/fgsgt_tracker:"):
                    values = {kv.key: kv.value for kv in m.msg.status[0].values}
                    received[0] = int(values.get("frames_received", 0))
                    break
    finally:
        client.close()
        stop_proc()
    after = [(t, r) for t, r, _, _ in samples if t >= warmup]
    first = [r for t, r in after if t < warmup + 60] or [after[0][1]]
    last = [r for t, r in after if t >= samples[-1][0] - 60] or [after[-1][1]]
    base = float(np.mean(first))
    return {
        "subscriber": subscriber, "seconds": round(elapsed, 1), "messages": sent,
        "messages_per_s": round(sent / elapsed, 1), "qos_depth": qos_depth,
        "publish_refused_by_middleware": PUBLISH_FAILURES[0],
        "received_by_subscriber": received[0],
        "env": extra_env, "rss_mb_start": samples[0][1], "rss_mb_after_warmup": round(base, 1),
        "rss_mb_end": round(float(np.mean(last)), 1),
        "rss_mb_max": round(max(r for _, r, _, _ in samples), 1),
        "rss_parts_end": samples[-1][3],
        "drift_after_warmup": round((float(np.mean(last)) - base) / base, 4),
        "samples": samples,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--phases", default="fuzz,stream", help="fuzz, stream or both")
    ap.add_argument("--messages", type=int, default=100_000,
                    help="fuzz messages in all, split over --transports")
    ap.add_argument("--transports", default="raw,compressed")
    ap.add_argument("--raw-share", type=float, default=0.6,
                    help="share of the fuzz messages sent raw (the rest compressed)")
    ap.add_argument("--check-every", type=int, default=5000,
                    help="messages between liveness/tracking checks")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--stream-s", type=float, default=600.0)
    ap.add_argument("--warmup-s", type=float, default=120.0)
    ap.add_argument("--subscriber", choices=("node", "plain"), default="node")
    ap.add_argument("--qos-depth", type=int, default=5, help="subscriber history depth (stream)")
    ap.add_argument("--env", action="append", default=[],
                    help="KEY=VALUE for the subscriber's environment (stream), e.g. "
                         "MALLOC_ARENA_MAX=2")
    ap.add_argument("--json", type=Path, default=Path("out/bench_fuzz.json"))
    args = ap.parse_args(argv)

    from builtin_interfaces.msg import Time  # noqa: F401  (fails early without ROS)

    tmp = Path(tempfile.mkdtemp(prefix="bench_fuzz_"))
    domain = 200 + os.getpid() % 30
    phases = set(args.phases.split(","))
    transports = args.transports.split(",")
    out = {"args": {k: str(v) for k, v in vars(args).items()}, "fuzz": [], "stream": None,
           "logs": str(tmp)}
    if "fuzz" in phases:
        for i, transport in enumerate(transports):
            share = (args.raw_share if transport == "raw" else 1 - args.raw_share) \
                if len(transports) > 1 else 1.0
            result = fuzz_transport(transport, int(round(args.messages * share)), args.seed + i,
                                    domain, tmp, args.check_every)
            print(json.dumps(result), flush=True)
            out["fuzz"].append(result)
    if "stream" in phases:
        extra = dict(e.split("=", 1) for e in args.env)
        out["stream"] = stream(args.subscriber, args.stream_s, args.warmup_s, domain, tmp,
                               args.qos_depth, extra)
        print(json.dumps({k: v for k, v in out["stream"].items() if k != "samples"}), flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1))
    print(f"written {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
