"""A posed, mirrored, stretched figure and its anti-aliased rendering; fitting its on-screen size."""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import numpy as np

from fgsgt_ros.data.synth.rich.parts import _PARTS, _Part


class _Figure:
    """One drawable object: category, proportions, orientation (mirror per frame, a fixed rotation
    for top views), anisotropic stretch; ``extent`` bounds every pose in figure units."""

    def __init__(self, category: str, params: Dict[str, float], angle: float = 0.0,
                 stretch: Tuple[float, float] = (1.0, 1.0)):
        self.category, self.params, self.angle, self.stretch = category, dict(params), float(angle), stretch
        self._parts = _PARTS[category]
        self.extent = self._extent()

    def parts(self, phase: float, moving: float, flip: bool) -> List[_Part]:
        """Primitives after mirroring (``flip``: facing left), stretch and rotation."""
        sx, sy = self.stretch
        fx = -1.0 if flip else 1.0
        ca, sa = math.cos(math.radians(self.angle)), math.sin(math.radians(self.angle))

        def pt(x: float, y: float) -> Tuple[float, float]:
            x, y = x * fx * sx, y * sy
            return x * ca - y * sa, x * sa + y * ca

        out: List[_Part] = []
        k = math.sqrt(sx * sy)
        for part in self._parts(self.params, phase, moving):
            if part[0] == "ellipse":
                x, y = pt(part[1], part[2])
                out.append(("ellipse", x, y, part[3] * sx, part[4] * sy, fx * part[5] + self.angle, part[6]))
            elif part[0] == "poly":
                out.append(("poly", [pt(x, y) for x, y in part[1]], part[2]))
            else:
                x0, y0 = pt(part[1], part[2])
                x1, y1 = pt(part[3], part[4])
                out.append(("limb", x0, y0, x1, y1, part[5] * k, part[6]))
        return out

    def _extent(self) -> Tuple[float, float, float, float]:
        xs: List[float] = []
        ys: List[float] = []
        for phase in np.linspace(0, 2 * math.pi, 9)[:-1]:
            for moving in (0.0, 1.0):
                for flip in (False, True):
                    for part in self.parts(float(phase), moving, flip):
                        if part[0] == "ellipse":
                            r = max(part[3], part[4])
                            xs += [part[1] - r, part[1] + r]
                            ys += [part[2] - r, part[2] + r]
                        elif part[0] == "poly":
                            xs += [x for x, _ in part[1]]
                            ys += [y for _, y in part[1]]
                        else:
                            r = part[5] / 2
                            xs += [part[1] - r, part[1] + r, part[3] - r, part[3] + r]
                            ys += [part[2] - r, part[2] + r, part[4] - r, part[4] + r]
        return min(xs), max(xs), min(ys), max(ys)

    @property
    def anchor(self) -> Tuple[float, float]:
        """Figure-unit point that an object's position refers to: the centre of the extent."""
        x0, x1, y0, y1 = self.extent
        return (x0 + x1) / 2, (y0 + y1) / 2


def _render_figure(fig: _Figure, cx: float, cy: float, scale: float, phase: float = 0.0, moving: float = 0.0,
                   flip: bool = False) -> Tuple[int, int, np.ndarray, np.ndarray]:
    """Sprite of ``fig`` with its anchor at frame point (cx, cy), ``scale`` px per figure unit,
    anti-aliased by supersampling (sub-pixel placement): (x0, y0, alpha, emission)."""
    import cv2

    ex0, ex1, ey0, ey1 = fig.extent
    ax, ay = fig.anchor
    left, top = cx + (ex0 - ax) * scale, cy + (ey0 - ay) * scale
    x0, y0 = int(math.floor(left)) - 1, int(math.floor(top)) - 1
    w = int(math.ceil(cx + (ex1 - ax) * scale)) + 2 - x0
    h = int(math.ceil(cy + (ey1 - ay) * scale)) + 2 - y0
    ss = int(np.clip(math.ceil(32.0 / max(1.0, min(ex1 - ex0, ey1 - ey0) * scale)), 2, 8))
    if min(w, h) > 80:
        ss = 1 if min(w, h) > 160 else 2
    k = scale * ss
    ox, oy = (cx - x0) * ss, (cy - y0) * ss  # anchor in canvas px
    A = np.zeros((h * ss, w * ss), np.float32)
    E = np.zeros_like(A)
    sh = 16.0  # cv2 fractional bits: 4

    def P(x: float, y: float) -> Tuple[int, int]:
        return int(round((ox + (x - ax) * k) * sh)), int(round((oy + (y - ay) * k) * sh))

    for part in fig.parts(phase, moving, flip):
        e = float(part[-1])
        for img, val in ((A, 1.0), (E, e)):
            if part[0] == "ellipse":
                axes = (max(0, int(round(part[3] * k * sh))), max(0, int(round(part[4] * k * sh))))
                cv2.ellipse(img, P(part[1], part[2]), axes, float(part[5]), 0, 360, val, -1, cv2.LINE_8, 4)
            elif part[0] == "poly":
                pts = np.array([P(x, y) for x, y in part[1]], np.int32)
                cv2.fillPoly(img, [pts], val, cv2.LINE_8, 4)
            else:
                t = part[5] * k
                p0, p1 = P(part[1], part[2]), P(part[3], part[4])
                if t >= 1.5:
                    cv2.line(img, p0, p1, val, int(round(t)), cv2.LINE_8, 4)
                r = max(0, int(round(t / 2 * sh)))
                cv2.circle(img, p0, r, val, -1, cv2.LINE_8, 4)
                cv2.circle(img, p1, r, val, -1, cv2.LINE_8, 4)
                if t < 1.5:
                    cv2.line(img, p0, p1, val, 1, cv2.LINE_8, 4)
    a = A.reshape(h, ss, w, ss).mean(axis=(1, 3))
    e = E.reshape(h, ss, w, ss).mean(axis=(1, 3)) / np.maximum(a, 1e-3)
    return x0, y0, a, e


def _tight_box(alpha: np.ndarray, x0: int, y0: int) -> Optional[Tuple[float, float, float, float]]:
    ys, xs = np.nonzero(alpha > 0.5)
    if not len(xs):
        return None
    return float(x0 + xs.min()), float(y0 + ys.min()), float(xs.max() + 1 - xs.min()), float(ys.max() + 1 - ys.min())


def _fit_scale(fig: _Figure, g0: float, max_side: float, phase: float, moving: float, flip: bool,
               min_side: float = 1.0, aspect: Tuple[float, float] = (0.0, math.inf)) -> float:
    """Scale (px per figure unit) at which the figure's visible box has geometric-mean side ``g0``,
    then grown where needed until its shorter side is at least ``min_side`` and its aspect ratio
    w/h within ``aspect`` (thin parts vanish at small sizes, which shrinks the short side), its
    longer side at most ``max_side``. Measured over sub-pixel placements."""
    ex0, ex1, ey0, ey1 = fig.extent

    def measure(scale: float) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        boxes = [_tight_box(_render_figure(fig, dx, dy, scale, phase, moving, flip)[2], 0, 0)
                 for dx, dy in ((0.0, 0.0), (0.5, 0.5), (0.25, 0.75), (0.75, 0.25))]
        if any(box is None for box in boxes):
            return None
        return np.array([box[2] for box in boxes]), np.array([box[3] for box in boxes])

    scale = g0 / math.sqrt((ex1 - ex0) * (ey1 - ey0))
    for _ in range(4):  # geometric-mean size
        m = measure(scale)
        if m is None:
            scale *= 1.5
            continue
        ws, hs = m
        factor = min(g0 / math.sqrt(ws.mean() * hs.mean()), max_side / max(ws.max(), hs.max()))
        if abs(factor - 1) < 0.04:
            break
        scale *= factor
    for _ in range(8):  # short side and aspect ratio
        m = measure(scale)
        if m is None:
            scale *= 1.5
            continue
        ws, hs = m
        ok = (min(ws.min(), hs.min()) >= min_side and aspect[0] <= ws.min() / hs.max()
              and ws.max() / hs.min() <= aspect[1])
        if ok or max(ws.max(), hs.max()) * 1.15 > max_side:
            break
        scale *= 1.15
    return scale
