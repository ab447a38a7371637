"""Motion of a rich-scene object: velocity, gait phase, moving and facing per frame."""

from __future__ import annotations

import math
from typing import Tuple

import numpy as np

from fgsgt_ros.data.synth.rich.figure import _Figure
from fgsgt_ros.data.synth.textures import _smooth_path


def _rich_motion(rng: np.random.Generator, category: str, fig: _Figure, n: int, leave: bool
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Velocity (n, 2) in figure units per frame, gait phase (n,), moving (n,) in 0..1, facing left (n,)."""
    u = rng.uniform
    p = fig.params
    t = np.arange(n, dtype=np.float64)
    speed = 0.0
    if category in ("person", "animal", "vehicle"):
        speed = {"person": u(0.006, 0.03), "animal": u(0.004, 0.035), "vehicle": u(0.008, 0.05)}[category]
        if category == "vehicle" and p["view"] > 0.5:
            a = math.radians(fig.angle)
            direction = np.array([math.cos(a), math.sin(a)])
        elif category == "person" and p["view"] > 0.5:  # towards/away from the camera: little sideways motion
            direction = np.array([u(-0.3, 0.3), 0.0])
        else:
            direction = np.array([rng.choice([-1.0, 1.0]), u(-0.15, 0.15)])
        profile = np.ones(n)
        p_stop = {"person": 0.3, "animal": 0.4, "vehicle": 0.15}[category]
        if rng.random() < p_stop and n >= 10:
            t1 = int(rng.integers(0, n - 5))
            profile[t1:t1 + int(rng.integers(5, max(6, n // 2)))] = 0.0
        sign = np.ones(n)
        if category != "vehicle" and rng.random() < (0.6 if leave else 0.15) and n >= 8:
            sign[int(rng.integers(n // 4, max(n // 4 + 1, 3 * n // 4))):] = -1.0
        v = direction[None, :] * (speed * profile * sign)[:, None]
        v[:, 1] += _smooth_path(rng, n, rng.uniform(-0.3, 0.3, (max(2, n // 20 + 2), 1)), 3.0)[:, 0] * speed
        v = _smooth_path(rng, n, v, 1.5) if n > 3 else v
    elif category == "drone":
        k = max(2, n // 20 + 2)
        amp = u(0.3, 4.0)
        path = _smooth_path(rng, n, rng.uniform(-amp, amp, (k, 2)), 3.0)
        v = np.diff(path, axis=0, prepend=path[:1])
    elif category == "bird":
        ang = u(-0.4, 0.4) + math.pi * float(rng.random() < 0.5) + u(-0.01, 0.01) * t
        spd = u(0.08, 0.4)
        v = np.stack([np.cos(ang), np.sin(ang)], 1) * spd
    else:
        v = np.zeros((n, 2))
    vmag = np.hypot(v[:, 0], v[:, 1])
    phase0 = u(0, 2 * math.pi)
    if category == "person":
        phase = phase0 + np.cumsum(vmag) / 0.8 * 2 * math.pi
        moving = np.clip(vmag / (0.5 * speed + 1e-9), 0, 1)
    elif category == "animal":
        phase = phase0 + np.cumsum(vmag) / (0.4 + 1.2 * p["leg"]) * 2 * math.pi
        moving = np.clip(vmag / (0.5 * speed + 1e-9), 0, 1)
    elif category == "bird":
        phase = phase0 + t * u(0.5, 1.3)
        moving = np.ones(n)
    else:
        phase = phase0 + t * u(0.1, 0.3)
        moving = np.ones(n)
    flip = np.zeros(n, bool)
    symmetric = (category == "vehicle" and p["view"] > 0.5) or (category == "drone" and p["kind"] < 2)
    if not symmetric:
        facing_left = v[0, 0] < 0 if abs(v[0, 0]) > 1e-9 else bool(rng.random() < 0.5)
        thr = 0.2 * max(speed, float(np.abs(v[:, 0]).max()) * 0.5, 1e-9)
        for i in range(n):  # turn only on a clear sideways velocity
            if v[i, 0] < -thr:
                facing_left = True
            elif v[i, 0] > thr:
                facing_left = False
            flip[i] = facing_left
    return v, phase, moving, flip
