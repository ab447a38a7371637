"""Publish a recorded sequence as a camera would: ``python -m fgsgt_ros.ros.player SOURCE``.

SOURCE is one of
- a plain sequence folder (``img/`` + ``groundtruth_rect.txt``, fgsgt_ros.data.sequence) or any
  folder of image files (sorted by name); 16-bit PNGs go out as mono16, unchanged;
- a video file (anything cv2.VideoCapture reads; published bgr8, or mono8 with ``--mono``);
- a rosbag2 recording (a folder with metadata.yaml, or a .db3/.mcap file), read with the
  ``rosbags`` library (no ROS install needed); Image and CompressedImage messages of ``--bag-topic``
  (default: the first image topic) are decoded and republished.

Frames are published on ``--topic`` (default ``image``, relative: use ``-r``-style namespaces via
``--namespace``) at ``--rate`` Hz with sensor-data QoS (best effort) unless ``--reliable``. Folder and
video frames get real stamps (now, wall clock) and ``--frame-id`` (default ``thermal``). Bag frames
keep their recorded header (stamp and frame_id), as ``ros2 bag play`` does, so outputs match the
recording and its TF frames; ``--restamp`` stamps them with the wall clock instead and ``--frame-id``
replaces their frame_id. (Recorded stamps lie in the past: the node's latency figures then measure
the recording's age; replay with sim time, or restamp, to measure latency.) The player waits for a
subscriber first (``--wait-subscribers``), so nothing is lost while the tracker starts.
``--stamps-out FILE`` writes ``index,stamp_ns`` per published frame, so a tool can match the
tracker's outputs (which carry the input header) back to frame numbers and ground truth (with
``--loop``, a bag's recorded stamps repeat: add ``--restamp``).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Iterator, Optional, Tuple

import numpy as np

from fgsgt_ros.data.sequence import IMAGE_SUFFIXES, list_images

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".m4v")
BAG_SUFFIXES = (".db3", ".mcap")
IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")


class PlayerError(Exception):
    """A source the player cannot read; printed as one line, exit code 2."""


def source_kind(path: Path) -> str:
    """'bag', 'folder' or 'video' for ``path`` (PlayerError if none fits)."""
    if not path.exists():
        raise PlayerError(f"{path} does not exist")
    if path.is_dir():
        if (path / "metadata.yaml").is_file() or any(path.glob("*.db3")) or any(path.glob("*.mcap")):
            return "bag"
        if (path / "img").is_dir() or any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir()):
            return "folder"
        raise PlayerError(f"{path}: no img/ folder, image files or rosbag2 recording in it")
    if path.suffix.lower() in BAG_SUFFIXES:
        return "bag"
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return "video"
    raise PlayerError(f"{path}: not a folder, video ({', '.join(VIDEO_SUFFIXES)}) or bag "
                      f"({', '.join(BAG_SUFFIXES)})")


#: Recorded header of a bag frame: (stamp in ns, frame_id); None for folder and video frames.
Recorded = Optional[Tuple[int, str]]


def folder_frames(path: Path) -> Iterator[np.ndarray]:
    import cv2

    files = list_images(path / "img" if (path / "img").is_dir() else path)
    if not files:
        raise PlayerError(f"{path}: no image files")
    for f in files:
        image = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise PlayerError(f"cannot read frame {f}")
        yield image


def video_frames(path: Path, mono: bool = False) -> Iterator[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise PlayerError(f"cannot open video {path}")
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if mono else frame
    finally:
        cap.release()


def bag_frames(path: Path, topic: Optional[str] = None
               ) -> Iterator[Tuple[np.ndarray, Tuple[int, str]]]:
    """Decoded frames of one image topic of a rosbag2 recording (via the rosbags library), each
    with its recorded header (stamp in ns, frame_id)."""
    try:
        from rosbags.highlevel import AnyReader
        from rosbags.typesys import Stores, get_typestore
    except ImportError as exc:
        raise PlayerError("reading bags needs the 'rosbags' package "
                          "(pip install -r requirements/node.txt)") from exc
    from fgsgt_ros.ros.conversions import ConversionError, compressed_to_array, image_to_array

    bag_dir = path if path.is_dir() else path.parent
    with AnyReader([bag_dir], default_typestore=get_typestore(Stores.ROS2_HUMBLE)) as reader:
        conns = [c for c in reader.connections if c.msgtype in IMAGE_TYPES]
        if topic:
            conns = [c for c in conns if c.topic == topic]
        if not conns:
            topics = sorted({f"{c.topic} ({c.msgtype})" for c in reader.connections})
            raise PlayerError(f"{path}: no image topic{' ' + topic if topic else ''} "
                              f"(topics: {', '.join(topics) or 'none'})")
        first = conns[0].topic
        conns = [c for c in conns if c.topic == first]
        for conn, _t, raw in reader.messages(connections=conns):
            msg = reader.deserialize(raw, conn.msgtype)
            recorded = (int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec),
                        str(msg.header.frame_id))
            try:
                if conn.msgtype.endswith("CompressedImage"):
                    yield compressed_to_array(msg), recorded
                else:
                    yield image_to_array(msg), recorded
            except ConversionError as exc:
                print(f"fgsgt_player: skipping a bad frame in {first}: {exc}", file=sys.stderr)


def open_source(path: Path, bag_topic: Optional[str] = None, mono: bool = False
                ) -> Tuple[str, Iterator[Tuple[np.ndarray, Recorded]]]:
    """(kind, frames): each frame with its recorded header (bags) or None."""
    kind = source_kind(path)
    if kind == "bag":
        return kind, bag_frames(path, bag_topic)
    frames = video_frames(path, mono) if kind == "video" else folder_frames(path)
    return kind, ((image, None) for image in frames)


def write_bag(path: Path, frames, topic: str = "/camera/image", frame_id: str = "thermal",
              rate: float = 30.0, compressed: bool = False, t0_ns: Optional[int] = None) -> Path:
    """Record ``frames`` into a rosbag2 (sqlite3) folder with the rosbags library (tests, tools);
    stamps start at ``t0_ns`` (default: now) and are ``1/rate`` apart."""
    import cv2
    from rosbags.rosbag2 import Writer
    from rosbags.typesys import Stores, get_typestore

    from fgsgt_ros.ros.conversions import ENCODINGS, encoding_for

    store = get_typestore(Stores.ROS2_HUMBLE)
    Image = store.types["sensor_msgs/msg/Image"]
    CImage = store.types["sensor_msgs/msg/CompressedImage"]
    Header = store.types["std_msgs/msg/Header"]
    Time = store.types["builtin_interfaces/msg/Time"]
    msgtype = "sensor_msgs/msg/CompressedImage" if compressed else "sensor_msgs/msg/Image"
    with Writer(path, version=8) as writer:
        conn = writer.add_connection(topic, msgtype, typestore=store)
        t0 = time.time_ns() if t0_ns is None else int(t0_ns)
        for i, frame in enumerate(frames):
            ns = t0 + int(i * 1e9 / rate)
            header = Header(stamp=Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000),
                            frame_id=frame_id)
            frame = np.ascontiguousarray(frame)
            if compressed:
                ok, enc = cv2.imencode(".png", frame)
                msg = CImage(header=header, format="png", data=enc.reshape(-1))
            else:
                enc_name = encoding_for(frame)
                _dtype, channels, _rgb = ENCODINGS[enc_name]
                msg = Image(header=header, height=frame.shape[0], width=frame.shape[1],
                            encoding=enc_name, is_bigendian=0,
                            step=frame.shape[1] * channels * frame.dtype.itemsize,
                            data=frame.astype(frame.dtype.newbyteorder("<")).view(np.uint8)
                            .reshape(-1))
            writer.write(conn, ns, store.serialize_cdr(msg, msgtype))
    return path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fgsgt_player", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", type=Path, help="plain sequence/image folder, video file or rosbag2")
    p.add_argument("--rate", type=float, default=10.0, help="frames per second (default %(default)s)")
    p.add_argument("--topic", default="image", help="topic to publish (default %(default)s)")
    p.add_argument("--namespace", default="", help="ROS namespace of the player node")
    p.add_argument("--frame-id", default=None,
                   help="header frame_id (default: a bag's recorded one, else thermal)")
    p.add_argument("--restamp", action="store_true",
                   help="bags: stamp frames with the wall clock instead of their recorded stamps")
    p.add_argument("--reliable", action="store_true",
                   help="publish reliably (default: sensor-data QoS, best effort)")
    p.add_argument("--compressed", action="store_true",
                   help="publish sensor_msgs/CompressedImage (PNG) on TOPIC/compressed")
    p.add_argument("--mono", action="store_true", help="videos: publish mono8 instead of bgr8")
    p.add_argument("--bag-topic", default=None, help="bags: image topic to play (default: first)")
    p.add_argument("--loop", action="store_true", help="start again at the end")
    p.add_argument("--max-frames", type=int, default=0, help="stop after N frames (0 = all)")
    p.add_argument("--hold-first", type=float, default=0.0,
                   help="seconds to wait after the first frame (time to initialise the target)")
    p.add_argument("--wait-subscribers", type=int, default=1,
                   help="wait for this many subscribers before publishing (default %(default)s)")
    p.add_argument("--wait-timeout", type=float, default=60.0,
                   help="give up waiting for subscribers after this many seconds")
    p.add_argument("--stamps-out", type=Path, default=None,
                   help="write 'index,stamp_ns' per published frame to this file")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.rate <= 0:
        print("fgsgt_player: error: --rate must be > 0", file=sys.stderr)
        return 2
    try:
        kind, frames = open_source(args.source, args.bag_topic, args.mono)
        first = next(frames, None)  # fail on an unreadable source before touching ROS
    except PlayerError as exc:
        print(f"fgsgt_player: error: {exc}", file=sys.stderr)
        return 2
    if first is None:
        print(f"fgsgt_player: error: {args.source} holds no frames", file=sys.stderr)
        return 2

    import rclpy
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage, Image

    from fgsgt_ros.ros.client import make_header
    from fgsgt_ros.ros.conversions import array_to_compressed, array_to_image

    rclpy.init(args=None)
    node = rclpy.create_node("fgsgt_player", namespace=args.namespace or "")
    qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=5,
                     reliability=ReliabilityPolicy.RELIABLE if args.reliable
                     else ReliabilityPolicy.BEST_EFFORT)
    topic = args.topic.rstrip("/") + ("/compressed" if args.compressed else "")
    pub = node.create_publisher(CompressedImage if args.compressed else Image, topic, qos)
    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))
    log = node.get_logger()

    end = time.monotonic() + args.wait_timeout
    while pub.get_subscription_count() < args.wait_subscribers and time.monotonic() < end:
        time.sleep(0.05)
    if pub.get_subscription_count() < args.wait_subscribers:
        log.warning(f"no subscriber on {pub.topic_name} after {args.wait_timeout:.0f} s: "
                    "publishing anyway")

    stamps = open(args.stamps_out, "w") if args.stamps_out else None
    period = 1.0 / args.rate
    count = 0
    if not args.quiet:
        log.info(f"playing {kind} {args.source} on {pub.topic_name} at {args.rate:g} Hz")

    def frame_stream():
        nonlocal frames
        yield first
        while True:
            yield from frames
            if not args.loop:
                return
            _k, frames = open_source(args.source, args.bag_topic, args.mono)

    try:
        next_t = time.monotonic()
        for image, recorded in frame_stream():
            if stop["flag"] or (args.max_frames and count >= args.max_frames):
                break
            delay = next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if recorded is not None and not args.restamp:
                header = make_header(recorded[0], frame_id=recorded[1])
            else:
                header = make_header(frame_id=recorded[1] if recorded else "thermal")
            if args.frame_id is not None:
                header.frame_id = args.frame_id
            msg = (array_to_compressed(image, header, "png") if args.compressed
                   else array_to_image(image, header))
            pub.publish(msg)
            if stamps:
                stamps.write(f"{count},{header.stamp.sec * 1_000_000_000 + header.stamp.nanosec}\n")
                stamps.flush()
            count += 1
            next_t = max(next_t + period, time.monotonic() - period)  # no catch-up bursts
            if count == 1 and args.hold_first > 0:
                time.sleep(args.hold_first)
                next_t = time.monotonic()
            if not args.quiet and count % 100 == 0:
                log.info(f"{count} frames published")
    except KeyboardInterrupt:
        pass
    finally:
        if stamps:
            stamps.close()
        if args.reliable and count:
            # reliable delivery repairs losses after publish(); exiting at once can cut the
            # repair of the last frames short (a test counting frames saw 5 of 6)
            from rclpy.duration import Duration
            if not pub.wait_for_all_acked(Duration(seconds=5.0)):
                log.warning("not every frame was acknowledged by the subscribers within 5 s")
        if not args.quiet:
            log.info(f"done: {count} frames")
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
