"""Replay a labelled sequence through a running ``fgsgt_tracker`` node in lockstep, as a robot's
integration test would: one frame at a time (each published after the previous frame's status
arrived), ``reset`` before the sequence and ``init_target`` with the first labelled frame's stamp.

What comes back is what the node published, in the layout of ``fgsgt eval``'s result files, so
the two can be compared frame by frame (the parity test and ``bench/bench_node_vs_eval.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import List

import numpy as np

from fgsgt_ros.ros.client import TrackerClient, detection_box, make_header
from fgsgt_ros.ros.conversions import array_to_image


class ReplayError(RuntimeError):
    """The node did not answer a frame or refused the init box."""


@dataclass
class NodeRun:
    """Per frame: the published box (NaN row for an empty ``detections``; the init frame holds the
    init box, as in the result files), the status state and score, and the frame stamp (ns)."""

    published: np.ndarray
    states: List[str]
    scores: np.ndarray
    stamps: List[int]


def _find(client: TrackerClient, topic: str, stamp):
    for m in reversed(client.messages(topic)):
        if m.msg.header.stamp == stamp:
            return m.msg
    return None


def replay_through_node(client: TrackerClient, seq, start: int, *, base_stamp_ns: int,
                        period_ns: int = 100_000_000, timeout: float = 60.0,
                        frame_id: str = "thermal") -> NodeRun:
    """Play ``seq`` (``frame(i)``, ``groundtruth``) into the node behind ``client`` in lockstep,
    initialising on frame ``start`` (by service, with that frame's stamp). Stamps are
    ``base_stamp_ns + i * period_ns`` (use a fresh base per sequence)."""
    n = len(seq)
    run = NodeRun(np.full((n, 4), np.nan), [""] * n, np.full(n, np.nan), [0] * n)
    reply = client.reset(timeout=timeout)
    if not reply.success:
        raise ReplayError(f"reset refused: {reply.message}")
    for i in range(n):
        frame = seq.frame(i)
        stamp_ns = base_stamp_ns + i * period_ns
        header = make_header(stamp_ns, frame_id=frame_id)
        client.publish(array_to_image(frame, header))
        if not client.wait_for(lambda: _find(client, "status", header.stamp) is not None
                               and _find(client, "detections", header.stamp) is not None,
                               timeout, poll=0.002):
            raise ReplayError(f"{getattr(seq, 'name', 'sequence')}: no output for frame {i} "
                              f"within {timeout} s")
        status = _find(client, "status", header.stamp)
        det = _find(client, "detections", header.stamp)
        run.stamps[i] = stamp_ns
        if i < start:
            continue
        if i == start:
            reply = client.init_target(seq.groundtruth[i], stamp=header.stamp, timeout=timeout)
            if not reply.success:
                raise ReplayError(f"init_target refused on frame {i}: {reply.message}")
            run.published[i] = seq.groundtruth[i]
            run.states[i], run.scores[i] = "TRACKING", 1.0
            continue
        box = detection_box(det)
        if box is not None:
            run.published[i] = box
        run.states[i], run.scores[i] = status.state_name, float(status.score)
        time.sleep(0.001)
    return run
