"""Objects of a rich scene (target, look-alikes, other objects, posts) and their radiometry."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from fgsgt_ros.data.synth.rich.figure import _Figure, _render_figure, _tight_box
from fgsgt_ros.data.synth.rich.motion import _rich_motion
from fgsgt_ros.data.synth.rich.parts import _figure_params
from fgsgt_ros.data.synth.rich.setup import _Scene
from fgsgt_ros.data.synth.textures import _smooth_noise


@dataclass
class _Actor:
    """An object of a rich scene: world anchor position (n, 2), world scale (n,) in px per figure
    unit at zoom 1, gait phase, how much it is moving (0 = standing pose), facing left, and its
    radiometry: ``ref`` (the background level it sits on) +/- ``contrast`` x emission."""

    fig: _Figure
    pos: np.ndarray
    scale: np.ndarray
    phase: np.ndarray
    moving: np.ndarray
    flip: np.ndarray
    ref: float
    contrast: float
    cold: bool
    texture: np.ndarray
    lookalike: bool = False

    def value(self, e: np.ndarray) -> np.ndarray:
        import cv2

        tex = cv2.resize(self.texture, (e.shape[1], e.shape[0]), interpolation=cv2.INTER_LINEAR)
        if self.cold:  # cooler than the background everywhere; its warm parts (engine) less so
            return self.ref - self.contrast * np.clip(1.0 - 0.5 * (e - 1.0), 0.2, 1.5) * tex
        return self.ref + self.contrast * e * tex


def _local_stats(bg: np.ndarray, x: float, y: float, r: float) -> Tuple[float, float]:
    """Median and standard deviation of the canvas in a window of radius ``r`` around (x, y)."""
    H, W = bg.shape
    r = max(4, int(r))
    x0, x1 = int(np.clip(x - r, 0, W - 1)), int(np.clip(x + r + 1, 1, W))
    y0, y1 = int(np.clip(y - r, 0, H - 1)), int(np.clip(y + r + 1, 1, H))
    win = bg[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]
    return float(np.median(win)), float(win.std())


def _boxes_overlap(a: Optional[Tuple[float, ...]], b: Optional[Tuple[float, ...]], pad: float = 2.0) -> bool:
    if a is None or b is None:
        return False
    return (a[0] < b[0] + b[2] + pad and b[0] < a[0] + a[2] + pad and a[1] < b[1] + b[3] + pad
            and b[1] < a[1] + a[3] + pad)


def _world_stats(s: _Scene, p: np.ndarray, r: float) -> Tuple[float, float]:
    """``_local_stats`` of the world canvas around world point ``p``."""
    return _local_stats(s.bg, p[0] - s.ox, p[1] - s.oy, r)


def _actor_texture(rng: np.random.Generator) -> np.ndarray:
    return (1.0 + rng.uniform(0.03, 0.12) * _smooth_noise(rng, 24, 24, 2.0)).astype(np.float32)


def _jitter_params(rng: np.random.Generator, p: Dict[str, float]) -> Dict[str, float]:
    return {k: (v if k in ("kind", "view") else v * rng.uniform(0.92, 1.08)) for k, v in p.items()}


def _target_actor(rng: np.random.Generator, s: _Scene) -> _Actor:
    """The target: on the background level around its frame-1 position, a contrast that stands out
    of the local clutter and the sensor noise."""
    cfg = s.cfg
    ref, local_std = _world_stats(s, s.p0, max(s.bw0, s.bh0) * 1.5)
    contrast = max(rng.uniform(*cfg.target_contrast), 2.0 * local_std, 3.0 * cfg.temporal_noise[1])
    return _Actor(s.fig, s.pos, s.scale, s.phase, s.moving, s.flip, ref, contrast, s.cold, _actor_texture(rng))


def _lookalikes(rng: np.random.Generator, s: _Scene, target: _Actor, front: List[_Actor],
                behind: List[_Actor]) -> None:
    """Look-alikes of the same class and size near the target (walking with it, crossing it or
    standing nearby), appended to ``front`` or ``behind``."""
    cfg, n, category, view = s.cfg, s.n, s.category, s.view
    pos, scale, phase, moving, flip = s.pos, s.scale, s.phase, s.moving, s.flip
    bw0, bh0, v_px, cold, ref, contrast = s.bw0, s.bh0, s.v_px, s.cold, target.ref, target.contrast
    p_look = cfg.p_lookalike * (0.3 if category in ("drone", "bird") else 1.0)
    n_look = int(rng.integers(1, 5 if category == "person" else 3)) if rng.random() < p_look else 0
    for _ in range(n_look):
        mode = str(rng.choice(["group", "cross", "stand"], p=[0.45, 0.35, 0.2]))
        d_fig = _Figure(category, _jitter_params(rng, s.params), s.angle, s.stretch)
        d_scale = scale * rng.uniform(0.85, 1.15)
        side = rng.choice([-1.0, 1.0])
        if mode == "group":  # walking together with the target
            off = np.array([side * rng.uniform(1.1, 3.0) * bw0, rng.uniform(-0.3, 0.3) * bh0])
            d_pos = pos + off
            d_phase, d_moving, d_flip = phase + rng.uniform(0, 2 * math.pi), moving, flip
        elif mode == "cross":  # walking the other way, passing the target at frame tc
            tc = int(rng.integers(max(1, n // 5), max(2, n - 1)))
            vel = -(v_px if np.abs(v_px).max() > 1e-6 else np.tile([[0.5, 0.0]], (n, 1)))
            vel = vel * rng.uniform(0.7, 1.4)
            d_disp = np.concatenate([np.zeros((1, 2)), np.cumsum(vel, axis=0)[:-1]], axis=0)
            d_pos = pos[tc] + d_disp - d_disp[tc] + np.array([0.0, rng.uniform(-0.25, 0.25) * bh0])
            step = np.hypot(vel[:, 0], vel[:, 1]) / np.maximum(d_scale, 1e-6)
            d_phase = rng.uniform(0, 2 * math.pi) + np.cumsum(step) / 0.8 * 2 * math.pi
            d_moving = np.ones(n) if category in ("person", "animal") else moving
            d_flip = vel[:, 0] < 0 if not (category == "vehicle" and view == "top") else flip
        else:  # standing nearby
            off = np.array([side * rng.uniform(1.2, 4.0) * bw0, rng.uniform(-0.5, 0.5) * bh0])
            d_pos = np.tile(pos[0] + off, (n, 1))
            d_phase, d_moving = np.full(n, rng.uniform(0, 2 * math.pi)), np.zeros(n)
            d_flip = np.full(n, bool(rng.random() < 0.5))
        d_cold = cold if rng.random() < 0.4 else False  # a cold target often among warm look-alikes
        d_contrast = contrast * rng.uniform(0.75, 1.25)
        actor = _Actor(d_fig, d_pos, d_scale, d_phase, d_moving, d_flip, ref, d_contrast, d_cold,
                       _actor_texture(rng), True)
        (front if rng.random() < 0.5 else behind).append(actor)


def _other_place(rng: np.random.Generator, s: _Scene, o_cat: str, o_view: str, j: int,
                 o_disp: np.ndarray) -> np.ndarray:
    """World path of another object: beside a led animal, in another lane of a top-down road, or
    anywhere in the view."""
    W, H, category, angle, pos, bw0, bh0 = s.W, s.H, s.category, s.angle, s.pos, s.bw0, s.bh0
    if category == "animal" and o_cat == "person" and j == 0:  # walks beside the animal
        start = pos[0] + np.array([rng.choice([-1.0, 1.0]) * 0.6 * bw0, rng.uniform(-0.1, 0.1) * bh0])
        return start + (pos - pos[0])
    if o_view == "top":  # another lane of the same road
        lane = rng.choice([-1.0, 1.0]) * s.short_side * rng.uniform(1.2, 2.2)
        along = rng.uniform(-0.4, 0.4) * np.array([W, H])
        offs = np.array([lane, 0.0]) if angle in (90.0, 270.0) else np.array([0.0, lane])
        axis_mask = np.array([0.0, 1.0]) if angle in (90.0, 270.0) else np.array([1.0, 0.0])
        return pos[0] + offs + along * axis_mask + o_disp
    return np.array([rng.uniform(0, W), rng.uniform(0, H)]) + o_disp


def _other_objects(rng: np.random.Generator, s: _Scene, target: _Actor, front: List[_Actor],
                   behind: List[_Actor]) -> None:
    """Other objects of the scene: birds near drones, people/vehicles on streets, animals in fields
    (a person may lead an animal target), appended to ``front`` or ``behind``."""
    cfg, n, category, backdrop, view, angle = s.cfg, s.n, s.category, s.backdrop, s.view, s.angle
    bw0, bh0, contrast = s.bw0, s.bh0, target.contrast
    others = {"sky": ("bird",), "street": ("person", "vehicle"), "field": ("animal", "person"),
              "topdown": ("vehicle",)}[backdrop]
    if category == "drone":
        others = ("bird",)
    if category == "animal" and rng.random() < 0.4:  # an animal led by a person
        others = ("person",) + others
    for j in range(int(rng.integers(cfg.distractors[0], cfg.distractors[1] + 1))):
        o_cat = others[0] if j == 0 else others[int(rng.integers(len(others)))]
        o_view = view if o_cat == "vehicle" and backdrop == "topdown" else "side"
        o_params = _figure_params(rng, o_cat, o_view)
        o_angle = angle if o_view == "top" else 0.0
        o_fig = _Figure(o_cat, o_params, o_angle)
        o_v, o_phase, o_moving, o_flip = _rich_motion(rng, o_cat, o_fig, n, False)
        rel_size = {"bird": rng.uniform(0.5, 1.6), "person": rng.uniform(0.6, 1.6)}.get(o_cat, rng.uniform(0.6, 1.5))
        if category == "animal" and o_cat == "person" and j == 0:
            rel_size = rng.uniform(0.9, 1.4) * bh0 / max(bw0, bh0)
        g = max(cfg.min_side, math.sqrt(bw0 * bh0) * rel_size)
        ex = o_fig.extent
        o_scale0 = g / math.sqrt((ex[1] - ex[0]) * (ex[3] - ex[2]))
        o_scale = o_scale0 * s.depth
        o_vpx = o_v * o_scale[:, None]
        o_disp = np.concatenate([np.zeros((1, 2)), np.cumsum(o_vpx, axis=0)[:-1]], axis=0)
        o_pos = _other_place(rng, s, o_cat, o_view, j, o_disp)
        if category == "animal" and o_cat == "person" and j == 0:
            o_phase, o_moving = s.phase * 1.3 + rng.uniform(0, 6.0), s.moving
            o_flip = s.flip
        actor = _Actor(o_fig, o_pos, o_scale, o_phase, o_moving, o_flip, _world_stats(s, o_pos[0], g * 1.5)[0],
                       rng.uniform(*cfg.target_contrast) if o_cat != category else contrast * rng.uniform(0.7, 1.3),
                       bool(rng.random() < 0.15), _actor_texture(rng))
        (front if rng.random() < 0.4 else behind).append(actor)


def _posts(rng: np.random.Generator, s: _Scene) -> List[_Actor]:
    """Cold or warm posts / trunks fixed in the world, in front of the target at some frame."""
    cfg, n, W, H, category, view = s.cfg, s.n, s.W, s.H, s.category, s.view
    pos, cam, zoom, bw0, bh0 = s.pos, s.cam, s.zoom, s.bw0, s.bh0
    occluders: List[_Actor] = []
    if rng.random() < cfg.p_occlusion and n >= 6:
        to = int(rng.integers(max(2, n // 4), max(3, n - 1)))
        width = float(np.clip(bw0 * rng.uniform(0.3, 1.2), 2.0, W / 4))
        if view == "side":  # standing on the ground (below a flying target), reaching above the target
            top = pos[to, 1] - rng.uniform(0.6, 3.0) * bh0
            bottom = max(pos[to, 1] + 0.6 * bh0, float(cam[:, 1].max()) + H / 2 / float(zoom.min()) + 2
                         if category in ("drone", "bird") else pos[to, 1] + rng.uniform(0.5, 1.5) * bh0)
            height_ratio = (bottom - top) / width
            anchor = np.array([pos[to, 0], (top + bottom) / 2])
        else:
            height_ratio = rng.uniform(1.0, 3.0)
            anchor = pos[to].copy()
        p_fig = _Figure("post", {"height": height_ratio})
        occ_cold = bool(rng.random() < 0.7)
        occluders.append(_Actor(p_fig, np.tile(anchor, (n, 1)), np.full(n, width), np.zeros(n), np.zeros(n),
                                np.zeros(n, bool), _world_stats(s, anchor, width * 2)[0],
                                rng.uniform(*cfg.occluder_contrast), occ_cold, _actor_texture(rng)))
    return occluders


def _frame_box(s: _Scene, actor: _Actor, i: int) -> Optional[Tuple[float, float, float, float]]:
    """Tight box of an actor's drawn pixels in frame ``i``."""
    fx, fy = s.zoom[i] * (actor.pos[i] - s.cam[i]) + s.C
    x0, y0, a, _ = _render_figure(actor.fig, float(fx), float(fy), float(actor.scale[i] * s.zoom[i]),
                                  float(actor.phase[i]), float(actor.moving[i]), bool(actor.flip[i]))
    return _tight_box(a, x0, y0)


def _clear_first_frame(s: _Scene, target: _Actor, behind: List[_Actor], front: List[_Actor],
                       occluders: List[_Actor]) -> List[Dict[str, object]]:
    """The first frame shows the target whole: push overlapping objects aside. Returns the
    distractors' descriptions (``info["distractor_info"]``)."""
    zoom = s.zoom
    t_box0 = _frame_box(s, target, 0)
    for actor in behind + front + occluders:
        for _ in range(4):
            box = _frame_box(s, actor, 0)
            if not _boxes_overlap(box, t_box0):
                break
            shift = (box[2] + t_box0[2]) / 2 + 3 if box is not None else 0.0
            sign = 1.0 if box is None or box[0] + box[2] / 2 >= t_box0[0] + t_box0[2] / 2 else -1.0
            actor.pos = actor.pos + np.array([sign * shift / max(zoom[0], 1e-6), 0.0])
    dist_info: List[Dict[str, object]] = []
    for actor in behind + front:
        box = _frame_box(s, actor, 0)
        same = actor.fig.category == s.category
        dist_info.append({"category": actor.fig.category, "lookalike": actor.lookalike, "same_class": same,
                          "box0": box, "cold": actor.cold})
    return dist_info
