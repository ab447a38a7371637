"""Rich backdrops: field, street, sky and top-down world canvases with roads."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Sequence as Seq, Tuple

import numpy as np

from fgsgt_ros.data.synth.config import NATURAL_TEXTURES, SynthConfig
from fgsgt_ros.data.synth.textures import _background, _lowfreq, _smooth_noise

if TYPE_CHECKING:  # the scene state imports this module
    from fgsgt_ros.data.synth.rich.setup import _Scene

# backdrop families per target category and their probabilities
_BACKDROPS: Dict[str, Tuple[Tuple[str, ...], Tuple[float, ...]]] = {
    "person": (("street", "field", "topdown"), (0.55, 0.35, 0.1)),
    "vehicle": (("street", "topdown"), (0.45, 0.55)),
    "animal": (("field", "street"), (0.7, 0.3)),
    "drone": (("sky", "street"), (0.8, 0.2)),
    "bird": (("sky", "field"), (0.8, 0.2)),
}


@dataclass
class _Road:
    """A straight road in world coordinates: horizontal (``vertical`` False: centre is a y) or vertical."""

    vertical: bool
    centre: float
    width: float




def _sky(rng: np.random.Generator, bg: np.ndarray, Hw: int, Ww: int, yy: np.ndarray, hz: float,
         level: float, std: float) -> np.ndarray:
    """Cold sky above the horizon ``hz`` (world y): clouds, haze near the horizon, faint noise."""
    sky_cold = std * rng.uniform(3.0, 10.0)
    sky = level - sky_cold * (1.0 + 0.5 * np.clip((hz - yy) / max(Hw, 1), 0, 1))
    sky = sky + np.zeros((1, Ww), np.float32)
    cloud = 1.0 / (1.0 + np.exp(-(_lowfreq(rng, Hw, Ww, rng.uniform(0.1, 0.4) * max(Hw, Ww))
                                  - rng.uniform(-0.5, 1.5)) * rng.uniform(1.5, 6.0)))
    sky += cloud * sky_cold * rng.uniform(0.2, 0.9)
    sky += np.exp(-np.clip(hz - yy, 0, None) / (rng.uniform(0.03, 0.2) * Hw)) * sky_cold * rng.uniform(0, 0.6)
    sky += _smooth_noise(rng, Hw, Ww, 1.0) * std * rng.uniform(0.02, 0.1)
    above = (1.0 / (1.0 + np.exp(np.clip(-(hz - yy) * 0.7, -50, 50)))).astype(np.float32)
    return bg * (1 - above) + sky.astype(np.float32) * above


def _tree_line(rng: np.random.Generator, bg: np.ndarray, Hw: int, Ww: int, oy: float, hz: float, level: float,
               std: float, unit: float) -> np.ndarray:
    """A band with crowns along the horizon, foliage texture, about ambient temperature."""
    import cv2

    m = np.zeros((Hw, Ww), np.float32)
    tree_h = rng.uniform(0.5, 4.0) * max(unit, 8.0)
    band_top = int(hz - oy - tree_h * 0.5)
    cv2.rectangle(m, (0, band_top), (Ww, int(hz - oy + tree_h * 0.3)), 1.0, -1)
    x = 0.0
    while x < Ww:
        r = tree_h * rng.uniform(0.2, 0.6)
        cv2.circle(m, (int(x), int(band_top - rng.uniform(-0.2, 0.5) * r)), int(max(1, r)), 1.0, -1)
        x += r * rng.uniform(0.6, 1.4)
    m = cv2.GaussianBlur(m, (0, 0), rng.uniform(0.6, 1.5))
    foliage = (level + std * rng.uniform(-0.5, 2.0)
               + _smooth_noise(rng, Hw, Ww, rng.uniform(1.2, 3.0)) * std * rng.uniform(0.3, 1.0)
               + _lowfreq(rng, Hw, Ww, tree_h) * std * 0.5)
    return bg * (1 - m) + foliage * m


def _building(rng: np.random.Generator, bg: np.ndarray, Hw: int, Ww: int, oy: float, hz: float, level: float,
              std: float, unit: float) -> np.ndarray:
    """A building or roof on the horizon with windows (cold glass or lit rooms)."""
    import cv2

    bw = rng.uniform(2, 12) * max(unit, 8.0)
    bh = rng.uniform(1, 6) * max(unit, 8.0)
    bx = rng.uniform(-bw / 2, Ww - bw / 2)
    base = hz - oy + rng.uniform(0, 0.5) * bh
    m = np.zeros((Hw, Ww), np.float32)
    cv2.rectangle(m, (int(bx), int(base - bh)), (int(bx + bw), int(base)), 1.0, -1)
    if rng.random() < 0.5:  # pitched roof
        pts = np.array([(bx, base - bh), (bx + bw, base - bh), (bx + bw / 2, base - bh - bh * rng.uniform(0.2, 0.5))],
                       np.int32)
        cv2.fillPoly(m, [pts], 1.0)
    value = level + std * rng.uniform(-1.0, 2.5)
    bg = bg * (1 - m) + m * (value + _smooth_noise(rng, Hw, Ww, 2.0) * std * 0.2)
    win = np.zeros((Hw, Ww), np.float32)
    step = max(4.0, bh / rng.uniform(2, 6))
    for wy in np.arange(base - bh + step * 0.3, base - step * 0.5, step):
        for wx in np.arange(bx + step * 0.3, bx + bw - step * 0.5, step):
            cv2.rectangle(win, (int(wx), int(wy)), (int(wx + step * 0.45), int(wy + step * 0.45)), 1.0, -1)
    bg += win * std * rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0)
    return bg


def _tower(rng: np.random.Generator, bg: np.ndarray, Hw: int, Ww: int, oy: float, hz: float, level: float,
           std: float) -> np.ndarray:
    """A thin lattice tower against the sky."""
    import cv2

    tx, th = rng.uniform(0, Ww), rng.uniform(0.3, 0.9) * Hw
    tw = max(3.0, th * rng.uniform(0.04, 0.1))
    t = np.zeros((Hw, Ww), np.float32)
    top, base = int(hz - oy - th), int(hz - oy)
    cv2.line(t, (int(tx - tw), base), (int(tx - tw * 0.3), top), 1.0, 1 + int(tw // 12))
    cv2.line(t, (int(tx + tw), base), (int(tx + tw * 0.3), top), 1.0, 1 + int(tw // 12))
    for y in np.arange(base, top, -max(3.0, tw * 0.8)):
        f = (base - y) / max(1, base - top)
        half = tw * (1 - 0.7 * f)
        cv2.line(t, (int(tx - half), int(y)), (int(tx + half), int(y - tw * 0.8)), 1.0, 1)
    bg += t * (level + std * rng.uniform(0, 2) - bg)
    return bg


def _topdown(rng: np.random.Generator, bg: np.ndarray, Hw: int, Ww: int, level: float, std: float,
             unit: float) -> np.ndarray:
    """Ground seen from above: roofs (cool, with vents), trees (warm crowns), parked cars."""
    import cv2

    u = max(unit, 8.0)
    for _ in range(int(rng.integers(2, 8))):
        m = np.zeros((Hw, Ww), np.float32)
        x, y = rng.uniform(0, Ww), rng.uniform(0, Hw)
        if rng.random() < 0.5:
            cv2.rectangle(m, (int(x), int(y)), (int(x + rng.uniform(2, 8) * u), int(y + rng.uniform(2, 8) * u)), 1.0, -1)
            value = level + std * rng.uniform(-2.5, 0.5)
        else:
            cv2.circle(m, (int(x), int(y)), int(rng.uniform(0.5, 2.0) * u), 1.0, -1)
            value = level + std * rng.uniform(0.0, 2.0)
        m = cv2.GaussianBlur(m, (0, 0), 1.0)
        bg = bg * (1 - m) + m * value
    return bg


def _road(rng: np.random.Generator, bg: np.ndarray, road: _Road, Hw: int, Ww: int, ox: float, oy: float,
          level: float, std: float, unit: float) -> np.ndarray:
    """Asphalt of one road with (cooler) dashed lane paint."""
    import cv2

    m = np.zeros((Hw, Ww), np.float32)
    c = road.centre - (ox if road.vertical else oy)
    half = road.width / 2
    if road.vertical:
        cv2.rectangle(m, (int(c - half), 0), (int(c + half), Hw), 1.0, -1)
    else:
        cv2.rectangle(m, (0, int(c - half)), (Ww, int(c + half)), 1.0, -1)
    m = cv2.GaussianBlur(m, (0, 0), 1.0)
    asphalt = level + std * rng.uniform(-0.5, 2.0) + _smooth_noise(rng, Hw, Ww, 1.5) * std * 0.25
    bg = bg * (1 - m) + m * asphalt
    dash = np.zeros((Hw, Ww), np.float32)
    length = road.width * rng.uniform(0.3, 0.8)
    for k in np.arange(0, max(Hw, Ww), 2.5 * length):
        for lane in (-0.5, 0.0, 0.5) if road.width > 3 * unit else (0.0,):
            cl = c + lane * half
            if road.vertical:
                cv2.line(dash, (int(cl), int(k)), (int(cl), int(k + length)), 1.0, max(1, int(road.width / 40)))
            else:
                cv2.line(dash, (int(k), int(cl)), (int(k + length), int(cl)), 1.0, max(1, int(road.width / 40)))
    bg -= dash * std * rng.uniform(0.3, 1.2)  # paint is cooler than asphalt
    return bg


def _rich_background(rng: np.random.Generator, cfg: SynthConfig, backdrop: str, Hw: int, Ww: int, ox: float,
                     oy: float, horizon: float, level: float, std: float, unit: float,
                     roads: Seq[_Road]) -> np.ndarray:
    """World canvas (Hw, Ww) float32 in counts, world point (x, y) at canvas (x - ox, y - oy).

    ``field``: the classic clutter; ``street``: sky above ``horizon`` (world y), tree line and
    buildings on it, ground below; ``sky``: cold sky with clouds and haze over a tree line, roofs or
    towers; ``topdown``: ground seen from above with roads, roofs, trees and parked cars. ``unit`` is
    the target's size in px (scales buildings, trees and roads)."""
    import cv2

    area = float(Hw) * Ww
    if area > 0.35e6:  # large canvases: the smooth clutter at a lower resolution (cheap), scaled up
        f = math.sqrt(0.35e6 / area)
        small = _background(rng, cfg, max(16, int(Hw * f)), max(16, int(Ww * f)), level, NATURAL_TEXTURES)
        bg = cv2.resize(small, (Ww, Hw), interpolation=cv2.INTER_LINEAR)
    else:
        bg = _background(rng, cfg, Hw, Ww, level, NATURAL_TEXTURES)  # ground clutter
    yy = (np.arange(Hw, dtype=np.float32) + oy)[:, None]
    hz = horizon
    if backdrop in ("sky", "street"):
        bg = _sky(rng, bg, Hw, Ww, yy, hz, level, std)
        if rng.random() < (0.75 if backdrop == "sky" else 0.6):
            bg = _tree_line(rng, bg, Hw, Ww, oy, hz, level, std, unit)
        for _ in range(int(rng.integers(0, 5 if backdrop == "street" else 3))):
            bg = _building(rng, bg, Hw, Ww, oy, hz, level, std, unit)
        if backdrop == "sky" and rng.random() < 0.35:  # towers and poles against the sky
            bg = _tower(rng, bg, Hw, Ww, oy, hz, level, std)
    if backdrop == "topdown":
        bg = _topdown(rng, bg, Hw, Ww, level, std, unit)
    for road in roads:
        bg = _road(rng, bg, road, Hw, Ww, ox, oy, level, std, unit)
    return bg.astype(np.float32)


def _world_canvas(rng: np.random.Generator, s: "_Scene") -> None:
    """World canvas covering every view (origin ``ox``, ``oy``), the roads on it, and its clutter ``bg``."""
    cfg, W, H, zoom, cam, category, backdrop = s.cfg, s.W, s.H, s.zoom, s.cam, s.category, s.backdrop
    bw0, bh0, p0 = s.bw0, s.bh0, s.p0
    half = np.stack([W / 2 / zoom, H / 2 / zoom], 1)
    wmin = np.floor((cam - half).min(0)) - 6
    wmax = np.ceil((cam + half).max(0)) + 6
    ox, oy = float(wmin[0]), float(wmin[1])
    Ww, Hw = int(wmax[0] - wmin[0]), int(wmax[1] - wmin[1])
    roads: List[_Road] = []
    short_side = min(bw0, bh0)
    if backdrop == "topdown":
        vertical = s.angle in (90.0, 270.0)
        roads.append(_Road(vertical, float(p0[0] if vertical else p0[1]), short_side * rng.uniform(2.5, 6.0)))
    elif backdrop == "street" and (category == "vehicle" or rng.random() < 0.5):
        roads.append(_Road(False, float(p0[1] + bh0 * 0.45), bh0 * rng.uniform(0.6, 2.0)))
    s.ox, s.oy, s.short_side, s.roads = ox, oy, short_side, roads
    s.bg = _rich_background(rng, cfg, backdrop, Hw, Ww, ox, oy, s.horizon, s.level, s.std, s.g0, roads)
