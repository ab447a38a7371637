"""Helpers for the node tests (test/test_node*.py) and the node benchmark: a thermal scene with one
very clear warm target, an isolated ROS graph per test module, and lock-step frame feeding.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import List, Optional

import numpy as np

from fgsgt_ros.boxes import iou_xywh

from fgsgt_ros.ros.client import TrackerClient, make_header, ros_env, start_node
from fgsgt_ros.ros.conversions import array_to_image

W, H = 160, 120
TARGET_W, TARGET_H = 20, 14


def shipped_model_or_peer() -> str:
    """'' (the shipped model) when its checkpoint exists; otherwise the CSRT peer, so the
    plumbing tests still run a real tracker in a checkout without weights."""
    from fgsgt_ros import weights

    return "" if weights.default_checkpoint().is_file() else "csrt"


def target_box(i: int) -> np.ndarray:
    """Ground-truth xywh of the target in frame ``i`` (slow, smooth motion)."""
    x = 70.0 + 40.0 * np.sin(i / 20.0)
    y = 50.0 + 8.0 * np.sin(i / 12.0)
    return np.array([x, y, TARGET_W, TARGET_H], dtype=np.float64)


def on_target(box, gt) -> bool:
    """The tracked box is on the target: centre within half the target's size, and overlapping."""
    if box is None:
        return False
    box, gt = np.asarray(box, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    centre_err = np.hypot(*((box[:2] + box[2:] / 2) - (gt[:2] + gt[2:] / 2)))
    return bool(centre_err < max(gt[2], gt[3]) / 2 and iou_xywh(box, gt) > 0.25)


def scene(i: int, present: bool = True, box: Optional[np.ndarray] = None) -> np.ndarray:
    """16-bit raw thermal frame: gentle gradient + noise, a warm elliptic target when present."""
    rng = np.random.default_rng(1000 + i)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    frame = 3000.0 + 60.0 * xx / W + 30.0 * yy / H + rng.normal(0.0, 4.0, (H, W))
    if present:
        x, y, w, h = target_box(i) if box is None else box
        cx, cy = x + w / 2.0, y + h / 2.0
        inside = ((xx + 0.5 - cx) / (w / 2.0)) ** 2 + ((yy + 0.5 - cy) / (h / 2.0)) ** 2 <= 1.0
        frame[inside] += 900.0
    return np.clip(frame, 0, 65535).astype(np.uint16)


class NodeUnderTest:
    """The tracker node in its own process and a client node in this one."""

    def __init__(self, params: dict, domain: int, namespace: str = "", transport: str = "raw",
                 log_dir: Optional[Path] = None, params_file: Optional[Path] = None) -> None:
        self.domain = domain
        ns = "/" + namespace.strip("/") if namespace.strip("/") else ""
        self.diag_name = f"{ns}/fgsgt_tracker: tracker"  # /diagnostics is shared by all nodes
        env = ros_env(self.domain)
        os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = env["ROS_AUTOMATIC_DISCOVERY_RANGE"]
        base = {"num_threads": 1, "checkpoint": shipped_model_or_peer()}
        base.update(params)
        log_path = (log_dir / f"node_{namespace.strip('/') or 'root'}.log") if log_dir else None
        self.proc = start_node(base, env, namespace=namespace, log_path=log_path,
                               params_file=params_file)
        self.client = TrackerClient(namespace=namespace, domain_id=self.domain,
                                    transport=transport)
        self.client.wait_ready(120, self.proc, image=True)

    def close(self) -> int:
        self.client.close()
        return self.proc.stop()

    def status_for(self, stamp) -> Optional[object]:
        for m in reversed(self.client.messages("status")):
            if m.msg.header.stamp == stamp:
                return m.msg
        return None

    def feed(self, frames: List[np.ndarray], frame_id: str = "thermal",
             timeout: float = 20.0, encode=array_to_image) -> list:
        """Publish frames one by one, each after the previous one's status arrived.

        ``encode(image, header)`` builds the message (default: sensor_msgs/Image).
        """
        headers = []
        for image in frames:
            header = make_header(frame_id=frame_id)
            self.client.publish(encode(image, header))
            ok = self.client.wait_for(lambda: self.status_for(header.stamp) is not None, timeout)
            assert ok, f"no status for frame {len(headers)} within {timeout} s:\n" \
                       f"{self.proc.log()[-2000:]}"
            headers.append(header)
            time.sleep(0.002)
        return headers

    def _own_diagnostics(self) -> list:
        return [m for m in self.client.messages("diagnostics")
                if m.msg.status and m.msg.status[0].name == self.diag_name]

    def diagnostics(self) -> dict:
        msgs = self._own_diagnostics()
        assert msgs, f"no /diagnostics from {self.diag_name}"
        return {kv.key: kv.value for kv in msgs[-1].msg.status[0].values}

    def fresh_diagnostics(self, timeout: float = 10.0) -> dict:
        n = len(self._own_diagnostics())
        assert self.client.wait_for(lambda: len(self._own_diagnostics()) > n, timeout)
        return self.diagnostics()
