"""``make demo``: the tracker node on a thermal sequence, end to end, as a user would run it.

1. a thermal sequence: generated with fgsgt_ros.data.synth (16-bit, FLIR-Lepton-like, with ground
   truth), or ``--source`` a plain folder, video or rosbag2;
2. the ``fgsgt_tracker`` node and the ``fgsgt_player`` in two separate processes on an isolated,
   localhost-only ROS domain;
3. ``init_target`` called like a user would: a service client sends the first frame's
   ground-truth box together with that frame's stamp (the node initialises on its buffered frame);
4. everything the node publishes is recorded; out/demo/ gets ``tracking.mp4`` (the node's debug
   image: AGC frame with its box, score and state; ground truth drawn in blue), ``saliency.mp4``,
   ``metrics.json`` (success AUC, precision@20 via fgsgt_ros.evaluation, frames per second,
   latency p50/p99 from image stamp to detection receipt, dropped frames) and the node/player logs;
   a one-screen summary is printed at the end.

Frames the node dropped (a newer frame arrived first) have no output of their own: for the metrics
they keep the previous published output, which is what a consumer of ``detections`` holds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

DEFAULT_OUT = Path("out/demo")
GT_COLOUR = (255, 128, 0)  # BGR: blue-ish, distinct from the node's green/red states


class DemoError(Exception):
    """A problem the user can fix; one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m fgsgt_ros.ros.demo",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--source", type=Path, default=None,
                   help="plain sequence folder, video or rosbag2 (default: generate one)")
    p.add_argument("--frames", type=int, default=240, help="generated sequence length")
    p.add_argument("--seed", type=int, default=7, help="generator seed")
    p.add_argument("--synth-preset", default="lepton", help="fgsgt_ros.data.synth preset")
    p.add_argument("--rate", type=float, default=15.0, help="player rate in Hz")
    p.add_argument("--init-box", default=None,
                   help="x,y,w,h on the first frame (default: its ground truth)")
    p.add_argument("--checkpoint", default="", help="node 'checkpoint' parameter (default: shipped)")
    p.add_argument("--device", default="auto", help="node 'device' parameter")
    p.add_argument("--threads", type=int, default=1, help="node 'num_threads' parameter")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    p.add_argument("--scale", type=int, default=0,
                   help="video upscaling factor (0 = to about 480 px wide)")
    return p


def _prepare_source(args) -> tuple:
    """(source path, ground truth (N,4) or None, frame count or None)."""
    from fgsgt_ros.data.sequence import read_box_file, write_plain_sequence

    if args.source is not None:
        src = args.source
        if not src.exists():
            raise DemoError(f"--source {src} does not exist")
        gt_file = src / "groundtruth_rect.txt" if src.is_dir() else None
        gt = read_box_file(gt_file) if gt_file is not None and gt_file.is_file() else None
        return src, gt, (len(gt) if gt is not None else None)
    from fgsgt_ros.data.synth import generate_sequence, get_preset

    try:
        cfg = get_preset(args.synth_preset)
    except ValueError as exc:
        raise DemoError(str(exc)) from None
    folder = args.out / "sequence"
    print(f"[1/4] generating a {args.frames}-frame thermal sequence "
          f"(synth preset '{args.synth_preset}', seed {args.seed}) ...", flush=True)
    seq = generate_sequence(cfg, args.frames, args.seed, 0)
    write_plain_sequence(folder, seq.frames, seq.boxes)
    return folder, np.asarray(seq.boxes, dtype=np.float64), len(seq.frames)


def _free_domain() -> int:
    """A ROS domain id for the demo's private graph (ROS_DOMAIN_ID wins when set)."""
    if os.environ.get("FGSGT_DEMO_DOMAIN"):
        return int(os.environ["FGSGT_DEMO_DOMAIN"])
    return random.Random(os.getpid() ^ time.time_ns()).randint(101, 199)


def _read_stamps(path: Path) -> Dict[int, int]:
    """index -> stamp_ns from the player's stamps file (complete lines only)."""
    out = {}
    try:
        text = path.read_text()
    except OSError:
        return out
    for line in text.splitlines():
        parts = line.split(",")
        if len(parts) == 2 and parts[1].strip():
            out[int(parts[0])] = int(parts[1])
    return out


def _last_log_line(log: str) -> str:
    """The last non-empty line of a node log without rclpy's "[LEVEL] [time] [name]: " prefix."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    if not lines:
        return "no output"
    return re.sub(r"^(\[[^\]]*\]\s*)+:?\s*", "", lines[-1]) or lines[-1]


def _stamp_ns(header) -> int:
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


def run(args) -> int:
    import cv2
    from tqdm import tqdm

    from fgsgt_ros.ros.client import TrackerClient, detection_box, ros_env, start_node
    from fgsgt_ros.ros.conversions import image_to_array

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    source, gt, n_frames = _prepare_source(args)
    if args.init_box:
        try:
            init_box = np.array([float(v) for v in args.init_box.split(",")])
            assert init_box.shape == (4,)
        except (ValueError, AssertionError):
            raise DemoError(f"--init-box must be x,y,w,h, got {args.init_box!r}") from None
    elif gt is not None and np.isfinite(gt[0]).all():
        init_box = gt[0]
    else:
        raise DemoError(f"{source} has no ground truth for the first frame: give --init-box x,y,w,h")

    domain = _free_domain()
    env = ros_env(domain)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = env["ROS_AUTOMATIC_DISCOVERY_RANGE"]
    print(f"[2/4] starting the tracker node (ROS domain {domain}, localhost only) ...", flush=True)
    # one network thread: node, player and this recorder share a small CPU
    node = start_node({"checkpoint": args.checkpoint, "device": args.device,
                       "frame_buffer_size": 120, "num_threads": args.threads}, env,
                      log_path=out / "node.log")
    client = None
    player = None
    stamps_path = out / "stamps.csv"
    stamps_path.unlink(missing_ok=True)
    try:
        client = TrackerClient(domain_id=domain)
        try:
            client.wait_ready(120, node)
        except RuntimeError:
            raise DemoError(f"the tracker node did not start: {_last_log_line(node.log())} "
                            f"(log: {out / 'node.log'})") from None
        import subprocess

        player_log = open(out / "player.log", "w")
        player = subprocess.Popen(
            [sys.executable, "-m", "fgsgt_ros.ros.player", str(source), "--rate", str(args.rate),
             "--stamps-out", str(stamps_path), "--hold-first", "2.0", "--frame-id", "thermal"],
            env=env, stdout=player_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        player_log.close()

        # --- a user sees the first frame and sends its box with that frame's stamp -----------
        if not client.wait_for(lambda: 0 in _read_stamps(stamps_path) or player.poll() is not None,
                               120):
            raise DemoError("the player published nothing (see out/demo/player.log)")
        stamps = _read_stamps(stamps_path)
        if 0 not in stamps:
            tail = (out / "player.log").read_text().strip().splitlines()
            raise DemoError("the player stopped before publishing: " +
                            (tail[-1] if tail else "no output"))
        from builtin_interfaces.msg import Time

        s0 = stamps[0]
        response = client.init_target(init_box, stamp=Time(sec=s0 // 10**9, nanosec=s0 % 10**9))
        print(f"[3/4] init_target on frame 1 (stamp {s0 / 1e9:.3f}): "
              f"{'OK' if response.success else 'REFUSED'} - {response.message}", flush=True)
        if not response.success:
            raise DemoError(f"init_target refused: {response.message}")

        bar = tqdm(total=n_frames, desc="[4/4] tracking", unit="frame")
        while player.poll() is None:
            bar.update(len(_read_stamps(stamps_path)) - bar.n)
            time.sleep(0.2)
        bar.update(len(_read_stamps(stamps_path)) - bar.n)
        bar.close()
        stamps = _read_stamps(stamps_path)
        last = stamps[max(stamps)] if stamps else None
        # let the node finish the frame it is on
        client.wait_for(lambda: any(_stamp_ns(m.msg.header) == last
                                    for m in client.messages("status")[-3:]), 10)
        time.sleep(0.5)
        statuses = client.messages("status")
        detections = client.messages("detections")
        debug = client.messages("debug_image")
        saliency = client.messages("saliency")
        diag = client.messages("diagnostics")
    finally:
        if player is not None and player.poll() is None:
            player.terminate()
        if client is not None:
            client.close()
        node_rc = node.stop()

    # --- results -----------------------------------------------------------------------------
    index_of = {ns: i for i, ns in stamps.items()}
    n_pub = len(stamps)
    boxes = np.full((n_pub, 4), np.nan)
    processed = np.zeros(n_pub, dtype=bool)
    latencies = []
    for m in detections:
        i = index_of.get(_stamp_ns(m.msg.header))
        if i is None:
            continue
        processed[i] = True
        b = detection_box(m.msg)
        if b is not None:
            boxes[i] = b
        if i > 0:
            latencies.append((m.t - _stamp_ns(m.msg.header) / 1e9) * 1e3)
    # dropped frames keep the previous published output (what a consumer holds)
    held = boxes.copy()
    for i in range(1, n_pub):
        if not processed[i]:
            held[i] = held[i - 1]
    metrics: Dict[str, object] = {
        "source": str(source), "frames_published": n_pub,
        "frames_processed": int(processed.sum()),
        "frames_dropped": int(n_pub - processed.sum()),
        "node_frames_dropped": int(statuses[-1].msg.frames_dropped) if statuses else None,
        "player_rate_hz": args.rate,
    }
    after_init = [m.t for m in detections if index_of.get(_stamp_ns(m.msg.header), 0) > 0]
    metrics["fps"] = (float((len(after_init) - 1) / (after_init[-1] - after_init[0]))
                      if len(after_init) > 2 else None)
    metrics["latency_ms_p50"] = float(np.percentile(latencies, 50)) if latencies else None
    metrics["latency_ms_p99"] = float(np.percentile(latencies, 99)) if latencies else None
    if diag:
        values = {kv.key: kv.value for kv in diag[-1].msg.status[0].values}
        metrics["model"] = values.get("model")
        metrics["device"] = values.get("device")
        metrics["node_timing_ms"] = {k[5:-3]: float(values[k]) for k in values
                                     if k.startswith("time_") and k.endswith("_ms")}
        metrics["node_overhead_share"] = float(values.get("node_overhead_share", "nan"))
    states = [m.msg.state_name for m in statuses if index_of.get(_stamp_ns(m.msg.header), 0) > 0]
    metrics["state_counts"] = {s: states.count(s) for s in ("TRACKING", "LOST", "IDLE")}
    if gt is not None:
        from fgsgt_ros.evaluation.metrics import sequence_metrics

        g = gt[:n_pub]
        pred = held[:len(g)].copy()
        pred[0] = g[0]  # OPE: the initialisation frame counts with the ground truth
        seq = sequence_metrics(pred, g)
        metrics["success_auc"] = seq["success_auc"]
        metrics["precision_20"] = seq["precision_20"]
        metrics["evaluated_frames"] = seq["frames"]
    else:
        metrics["success_auc"] = metrics["precision_20"] = None
    metrics["node_exit_code"] = node_rc
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    # --- videos ------------------------------------------------------------------------------
    debug_by_i = {index_of[_stamp_ns(m.msg.header)]: m.msg for m in debug
                  if _stamp_ns(m.msg.header) in index_of}
    sal_by_i = {index_of[_stamp_ns(m.msg.header)]: m.msg for m in saliency
                if _stamp_ns(m.msg.header) in index_of}
    status_by_i = {index_of[_stamp_ns(m.msg.header)]: m.msg for m in statuses
                   if _stamp_ns(m.msg.header) in index_of}
    videos = _write_videos(out, n_pub, debug_by_i, sal_by_i, status_by_i, gt, args.scale,
                           image_to_array)
    _print_summary(metrics, out, videos)
    return 0


def _open_writer(path_mp4: Path, fps: float, size):
    import cv2

    writer = cv2.VideoWriter(str(path_mp4), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if writer.isOpened():
        return writer, path_mp4
    path_avi = path_mp4.with_suffix(".avi")
    writer = cv2.VideoWriter(str(path_avi), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    if not writer.isOpened():
        raise DemoError(f"cannot write a video to {path_mp4} or {path_avi}")
    return writer, path_avi


def _write_videos(out: Path, n: int, debug_by_i, sal_by_i, status_by_i, gt, scale: int,
                  decode) -> List[Path]:
    import cv2

    if not debug_by_i:
        return []
    first = decode(next(iter(debug_by_i.values())))
    h, w = first.shape[:2]
    k = scale or max(1, round(480 / w))
    size = (w * k, h * k)
    writer, vpath = _open_writer(out / "tracking.mp4", 15.0, size)
    sal_writer = spath = None
    if sal_by_i:
        sal_writer, spath = _open_writer(out / "saliency.mp4", 15.0, size)
    frame = np.zeros((h, w, 3), np.uint8)
    sal_frame = np.zeros((h, w, 3), np.uint8)
    for i in range(n):
        dropped = i not in debug_by_i
        if not dropped:
            frame = decode(debug_by_i[i])
        big = cv2.resize(frame, size, interpolation=cv2.INTER_NEAREST)
        if gt is not None and i < len(gt) and np.isfinite(gt[i]).all():
            x, y, bw, bh = gt[i] * k
            cv2.rectangle(big, (int(x), int(y)), (int(x + bw), int(y + bh)), GT_COLOUR, 1)
        st = status_by_i.get(i)
        label = f"frame {i + 1}" + (" (dropped by node)" if dropped else
                                    f"  {st.state_name} {st.score:.2f}" if st else "")
        cv2.putText(big, label, (6, size[1] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (255, 255, 255), 1, cv2.LINE_AA)
        cv2.putText(big, "blue: ground truth", (size[0] - 150, size[1] - 8),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, GT_COLOUR, 1, cv2.LINE_AA)
        writer.write(big)
        if sal_writer is not None:
            if i in sal_by_i:
                sal = decode(sal_by_i[i])
                if sal.dtype != np.uint8:
                    sal = (np.clip(sal, 0, 1) * 255).astype(np.uint8)
                sal_frame = cv2.addWeighted(frame, 0.5, cv2.applyColorMap(sal, cv2.COLORMAP_JET),
                                            0.5, 0)
            sal_writer.write(cv2.resize(sal_frame, size, interpolation=cv2.INTER_NEAREST))
    writer.release()
    if sal_writer is not None:
        sal_writer.release()
    return [vpath] + ([spath] if spath else [])


def _fmt(v, spec=".3f", unit=""):
    return "n/a" if v is None else f"{v:{spec}}{unit}"


def _print_summary(m: Dict[str, object], out: Path, videos: List[Path]) -> None:
    lines = [
        "",
        "=" * 64,
        " fgsgt_ros demo: tracker node on a thermal sequence",
        "=" * 64,
        f" source            {m['source']}",
        f" model / device    {m.get('model')} / {m.get('device')}",
        f" frames            {m['frames_published']} published, {m['frames_processed']} "
        f"processed, {m['frames_dropped']} dropped (newest-frame policy)",
        f" success AUC       {_fmt(m.get('success_auc'))}",
        f" precision @20 px  {_fmt(m.get('precision_20'))}",
        f" states            {m['state_counts']}",
        f" processing rate   {_fmt(m.get('fps'), '.1f', ' frames/s')} "
        f"(player {m['player_rate_hz']:g} Hz)",
        f" latency           p50 {_fmt(m.get('latency_ms_p50'), '.1f', ' ms')}, "
        f"p99 {_fmt(m.get('latency_ms_p99'), '.1f', ' ms')} (image stamp -> detection received)",
        f" node overhead     {_fmt(m.get('node_overhead_share'), '.1%')} of per-frame time "
        f"(conversion, AGC, publishing)",
        f" outputs           {out}/: metrics.json, "
        + "".join(f"{v.name}, " for v in videos) + "node.log, player.log",
        "=" * 64,
    ]
    print("\n".join(lines), flush=True)


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except DemoError as exc:
        print(f"fgsgt demo: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fgsgt demo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
