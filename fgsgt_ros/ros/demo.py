"""``make demo``: the tracker node on a thermal sequence, end to end, as a user would run it.

1. a thermal sequence: by default real FLIR Lepton footage shipped with the package (``DEMO_CLIP``,
   a possum walking in, foraging and leaving; GPL-3.0, SOURCE.md beside it), played at its own
   rate (about 9 frames/s); ``--source`` a plain folder, video or rosbag2 of your own;
   ``--generated`` a sequence generated with fgsgt_ros.data.synth (16-bit, Lepton-like);
2. the ``fgsgt_tracker`` node and the ``fgsgt_player`` in two separate processes on an isolated,
   localhost-only ROS domain;
3. ``init_target`` called like a user would: a service client sends the first frame's
   ground-truth box together with that frame's stamp (the node initialises on its buffered frame);
4. everything the node publishes is recorded; out/demo/ gets ``tracking.mp4`` (each frame after
   AGC, upscaled first and then annotated at that size: the node's published box, state and score,
   ground truth in blue), ``saliency.mp4`` (the node's saliency map over the frame), both H.264
   (browser-playable; written with PyAV, else MPEG-4 part 2 with a note), ``metrics.json``
   (success AUC, precision@20 px and normalised precision@0.20 via fgsgt_ros.evaluation, the
   node's own capacity in frames/s from its per-frame processing time, the rate it ran at, latency
   p50/p99 from image stamp to detection receipt, dropped frames) and the node/player logs; a
   plain-text summary is printed at the end.

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

from fgsgt_ros.model.runtime import DEFAULT_NUM_THREADS, DEFAULT_RUNTIME, RUNTIMES
from fgsgt_ros.ros.demo_video import DemoError, write_videos
from fgsgt_ros.tracker.temperature import RADIOMETRY

DEFAULT_OUT = Path("out/demo")
#: the real clip the demo plays by default (package data) and the rate it was recorded at
DEMO_CLIP = Path(__file__).resolve().parents[1] / "data" / "clips" / "possum_walk_ftc"
DEMO_CLIP_RATE_HZ = 9.0
#: rate for sources that do not say theirs, and the generated scene's length
DEFAULT_RATE_HZ = 15.0
GENERATED_FRAMES = 240
#: OpenCV trackers run on the same frames for comparison (metrics.json "same_clip")
COMPARED_PEERS = ("csrt", "nanotrack")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m fgsgt_ros.ros.demo",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--source", type=Path, default=None,
                   help="plain sequence folder, video or rosbag2 (default: the shipped real "
                        "Lepton clip possum_walk_ftc)")
    p.add_argument("--generated", action="store_true",
                   help="track a generated sequence instead (fgsgt_ros.data.synth)")
    p.add_argument("--frames", type=int, default=None,
                   help=f"use the first N frames of a folder source; length of a generated "
                        f"sequence (default: all; {GENERATED_FRAMES} generated)")
    p.add_argument("--seed", type=int, default=7, help="generator seed (--generated)")
    p.add_argument("--synth-preset", default="lepton",
                   help="fgsgt_ros.data.synth preset (--generated)")
    p.add_argument("--rate", type=float, default=None,
                   help=f"player rate in Hz (default: the shipped clip's own "
                        f"{DEMO_CLIP_RATE_HZ:g} Hz, else {DEFAULT_RATE_HZ:g} Hz)")
    p.add_argument("--radiometry", choices=RADIOMETRY, default="none",
                   help="node 'thermal.radiometry': how the source's raw values map to "
                        "temperature, e.g. tlinear_centikelvin for a Lepton 3.5 recording "
                        "(default: none; the shipped clip is Lepton 3 raw counts)")
    p.add_argument("--init-box", default=None,
                   help="x,y,w,h on the first frame (default: its ground truth)")
    p.add_argument("--checkpoint", default="", help="node 'checkpoint' parameter (default: shipped)")
    p.add_argument("--device", default="auto", help="node 'device' parameter")
    p.add_argument("--threads", type=int, default=DEFAULT_NUM_THREADS,
                   help="node 'num_threads' parameter (default: %(default)s)")
    p.add_argument("--runtime", choices=RUNTIMES, default=DEFAULT_RUNTIME,
                   help="node 'runtime' parameter: auto, torch or onnx (default: %(default)s)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    p.add_argument("--scale", type=int, default=0,
                   help="video upscaling factor (0 = to about 640 px wide)")
    return p


def _prepare_source(args) -> tuple:
    """(path the player reads, ground truth (N,4) or None, frame count or None, rate in Hz,
    what to call the source: the folder the frames came from)."""
    from fgsgt_ros.data.sequence import read_box_file, write_plain_sequence

    if args.frames is not None and args.frames < 2:
        raise DemoError(f"--frames must be at least 2, got {args.frames}")
    if not args.generated:
        src = args.source if args.source is not None else DEMO_CLIP
        if not src.exists():
            raise DemoError(f"--source {src} does not exist")
        rate = args.rate or (DEMO_CLIP_RATE_HZ if src == DEMO_CLIP else DEFAULT_RATE_HZ)
        gt_file = src / "groundtruth_rect.txt" if src.is_dir() else None
        gt = read_box_file(gt_file) if gt_file is not None and gt_file.is_file() else None
        origin = str(src)
        if args.frames is not None and src.is_dir() and gt is not None and args.frames < len(gt):
            src = _first_frames(src, args.frames, args.out / "sequence")
            gt = gt[:args.frames]
            origin += f" (first {args.frames} frames)"
        return src, gt, (len(gt) if gt is not None else None), rate, origin
    from fgsgt_ros.data.synth import generate_sequence, get_preset

    try:
        cfg = get_preset(args.synth_preset)
    except ValueError as exc:
        raise DemoError(str(exc)) from None
    frames = args.frames or GENERATED_FRAMES
    folder = args.out / "sequence"
    print(f"[1/4] generating a {frames}-frame thermal sequence "
          f"(synth preset '{args.synth_preset}', seed {args.seed}) ...", flush=True)
    seq = generate_sequence(cfg, frames, args.seed, 0)
    write_plain_sequence(folder, seq.frames, seq.boxes)
    return folder, np.asarray(seq.boxes, dtype=np.float64), len(seq.frames), \
        args.rate or DEFAULT_RATE_HZ, str(folder)


def _first_frames(src: Path, n: int, folder: Path) -> Path:
    """A plain copy of the first ``n`` frames of the plain sequence ``src`` (files unchanged)."""
    import shutil

    from fgsgt_ros.data.sequence import read_plain_sequence

    seq = read_plain_sequence(src)
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "img").mkdir(parents=True)
    for path in seq.frame_paths[:n]:
        shutil.copyfile(path, folder / "img" / path.name)
    rows = ["NaN,NaN,NaN,NaN" if not np.isfinite(b).all() else ",".join(f"{v:g}" for v in b)
            for b in seq.groundtruth[:n]]
    (folder / "groundtruth_rect.txt").write_text("\n".join(rows) + "\n")
    return folder


def compare_peers(source: Path, n: int, peers=COMPARED_PEERS, radiometry: str = "none") -> dict:
    """Success AUC / precision of OpenCV trackers on the same first ``n`` frames, through the
    same TrackingSession (the project's AGC) as every tracker: what the node's figures stand
    beside. {peer: metrics}; a peer this OpenCV lacks is left out."""
    from fgsgt_ros.data.sequence import read_plain_sequence
    from fgsgt_ros.evaluation.metrics import sequence_metrics
    from fgsgt_ros.evaluation.runner import track_sequence
    from fgsgt_ros.tracker.session import ModelLoadError, TrackingSession

    seq = read_plain_sequence(source)
    seq.frame_paths, seq.groundtruth = seq.frame_paths[:n], seq.groundtruth[:n]
    out = {}
    for peer in peers:
        try:
            session = TrackingSession.from_spec(peer)
        except ModelLoadError:
            continue
        run = track_sequence(session, seq)
        m = sequence_metrics(run.published, seq.groundtruth)
        fps = len(seq) / max(1e-9, float(np.sum(run.times)))
        out[peer] = {"success_auc": m["success_auc"], "precision_20": m["precision_20"],
                     "norm_precision_20": m["norm_precision_20"], "frames_per_s": fps}
    return out


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
    from tqdm import tqdm

    from fgsgt_ros.ros.client import TrackerClient, detection_box, ros_env, start_node
    from fgsgt_ros.ros.conversions import image_to_array

    from fgsgt_ros import devices

    try:  # a device this machine lacks is the user's typo: say so before starting anything
        devices.resolve_device(args.device)
    except devices.DeviceError as exc:
        raise DemoError(f"--device: {exc}") from None
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    source, gt, n_frames, rate, origin = _prepare_source(args)
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
    # Reliable input: a best-effort first frame sent while discovery is still settling can be
    # lost, and init_target then finds no frame with that stamp (seen once in CI).
    node = start_node({"checkpoint": args.checkpoint, "device": args.device,
                       "frame_buffer_size": 120, "num_threads": args.threads,
                       "runtime": args.runtime, "qos_reliability": "reliable",
                       "thermal.radiometry": args.radiometry}, env,
                      log_path=out / "node.log")
    client = None
    player = None
    stamps_path = out / "stamps.csv"
    stamps_path.unlink(missing_ok=True)
    try:
        # the video is drawn here from the frames at output size: no need for the debug image
        client = TrackerClient(domain_id=domain, record=("detections", "status", "saliency"))
        try:
            client.wait_ready(120, node)
        except RuntimeError:
            raise DemoError(f"the tracker node did not start: {_last_log_line(node.log())} "
                            f"(log: {out / 'node.log'})") from None
        import subprocess

        player_log = open(out / "player.log", "w")
        player = subprocess.Popen(
            [sys.executable, "-m", "fgsgt_ros.ros.player", str(source), "--rate", str(rate),
             "--stamps-out", str(stamps_path), "--hold-first", "2.0", "--frame-id", "thermal",
             "--reliable"],
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
        # the player has sent frame 1; the node holds it once it published a status for it
        if not client.wait_for(lambda: any(_stamp_ns(m.msg.header) == s0
                                           for m in client.messages("status")), 30):
            raise DemoError(f"the tracker node did not receive the first frame within 30 s: "
                            f"{_last_log_line(node.log())} (log: {out / 'node.log'})")
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
        "source": origin, "frames_published": n_pub,
        "frames_processed": int(processed.sum()),
        "frames_dropped": int(n_pub - processed.sum()),
        "node_frames_dropped": int(statuses[-1].msg.frames_dropped) if statuses else None,
        "player_rate_hz": rate,
        "runtime_requested": args.runtime,
        "num_threads": args.threads,
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
        metrics["runtime"] = values.get("runtime")  # None: the node does not report it
        metrics["node_timing_ms"] = {k[5:-3]: float(values[k]) for k in values
                                     if k.startswith("time_") and k.endswith("_ms")}
        metrics["node_overhead_share"] = float(values.get("node_overhead_share", "nan"))
        total_ms = metrics["node_timing_ms"].get("total")
        # what the node could process: 1 / its mean per-frame processing time (conversion, AGC,
        # tracker, publishing), independent of the player's rate
        metrics["node_capacity_fps"] = 1000.0 / total_ms if total_ms else None
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
        metrics["norm_precision_20"] = seq["norm_precision_20"]
        metrics["evaluated_frames"] = seq["frames"]
        if Path(source).is_dir():
            print("comparing: OpenCV's " + " and ".join(COMPARED_PEERS) + " on the same frames "
                  "...", flush=True)
            metrics["same_clip"] = compare_peers(Path(source), len(g))
    else:
        metrics["success_auc"] = metrics["precision_20"] = metrics["norm_precision_20"] = None
    readings = [m.msg for m in statuses if getattr(m.msg, "temperature_valid", False)]
    if readings:
        metrics["temperature"] = {
            "frames": len(readings),
            "target_max_c_median": float(np.median([r.target_max_c for r in readings])),
            "background_c_median": float(np.nanmedian([r.background_c for r in readings])),
        }
    metrics["node_exit_code"] = node_rc
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    # --- videos ------------------------------------------------------------------------------
    sal_by_i = {index_of[_stamp_ns(m.msg.header)]: m.msg for m in saliency
                if _stamp_ns(m.msg.header) in index_of}
    status_by_i = {index_of[_stamp_ns(m.msg.header)]: m.msg for m in statuses
                   if _stamp_ns(m.msg.header) in index_of}
    videos, note = write_videos(out, source, n_pub, boxes, processed, sal_by_i, status_by_i, gt,
                                args.scale, image_to_array)
    metrics["videos"] = [str(v) for v in videos]
    metrics["video_codec"] = note
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(format_summary(metrics, out, videos), flush=True)
    return 0


def _fmt(v, spec=".3f", unit=""):
    return "n/a" if v is None or (isinstance(v, float) and not np.isfinite(v)) \
        else f"{v:{spec}}{unit}"


def format_summary(m: Dict[str, object], out: Path, videos: List[Path]) -> str:
    """The plain-text summary printed at the end of the demo."""
    counts = m.get("state_counts") or {}
    states = ", ".join(f"{s} {counts.get(s, 0)}" for s in ("TRACKING", "LOST", "IDLE"))
    timing = m.get("node_timing_ms") or {}
    runtime = m.get("runtime") or f"{m.get('runtime_requested')} (requested)"
    lines = [
        "",
        "=" * 72,
        " fgsgt_ros demo: the tracker node on a thermal sequence",
        "=" * 72,
        f" source              {m['source']}",
        f" model               {m.get('model')} on {m.get('device')}, runtime {runtime}, "
        f"{m.get('num_threads')} thread(s)",
        f" frames              {m['frames_published']} published, {m['frames_processed']} "
        f"processed, {m['frames_dropped']} dropped (newest-frame policy)",
        f" success AUC         {_fmt(m.get('success_auc'))}   (overlap, 0..1)",
        f" norm. precision     {_fmt(m.get('norm_precision_20'))}   (centre error < 0.2 of the "
        f"target size)",
        f" precision @20 px    {_fmt(m.get('precision_20'))}   (coarse on small frames)",
        f" states              {states}",
    ]
    for peer, pm in (m.get("same_clip") or {}).items():
        lines.append(f" {peer:<19} success AUC {_fmt(pm.get('success_auc'))}, norm. precision "
                     f"{_fmt(pm.get('norm_precision_20'))} (OpenCV, same frames)")
    temp = m.get("temperature")
    if temp:
        lines.append(f" target temperature  {temp['target_max_c_median']:.1f} C hottest pixel, "
                     f"background {temp['background_c_median']:.1f} C (medians over "
                     f"{temp['frames']} tracked frames)")
    lines += [
        f" node capacity       {_fmt(m.get('node_capacity_fps'), '.1f', ' frames/s')} "
        f"(1 / its per-frame processing time of {_fmt(timing.get('total'), '.1f', ' ms')}, "
        f"network part {_fmt(timing.get('tracker'), '.1f', ' ms')})",
        f" ran at              {_fmt(m.get('fps'), '.1f', ' frames/s')} (frames it processed "
        f"per second while the player sent {m['player_rate_hz']:g} Hz)",
        f" latency             p50 {_fmt(m.get('latency_ms_p50'), '.1f', ' ms')}, "
        f"p99 {_fmt(m.get('latency_ms_p99'), '.1f', ' ms')} (image stamp -> detection received)",
        f" node overhead       {_fmt(m.get('node_overhead_share'), '.1%')} of per-frame time "
        f"(conversion, AGC, publishing)",
        " videos              " + (", ".join(v.name for v in videos) or "none")
        + f" ({m.get('video_codec')})",
        f" outputs             {out}/: metrics.json, frame.png, node.log, player.log",
        "=" * 72,
    ]
    return "\n".join(lines)


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
