"""The rich generator: composes a scene from its parts and renders it."""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import numpy as np

from fgsgt_ros.data.synth.compose import SyntheticSequence, _blend, _paste, _visible_box
from fgsgt_ros.data.synth.config import CATEGORIES, MAX_COUNT, SynthConfig
from fgsgt_ros.data.synth.rich.actors import _Actor, _boxes_overlap, _local_stats
from fgsgt_ros.data.synth.rich.backdrop import _BACKDROPS, _Road, _rich_background
from fgsgt_ros.data.synth.rich.display import _Display
from fgsgt_ros.data.synth.rich.figure import _Figure, _fit_scale, _render_figure, _tight_box
from fgsgt_ros.data.synth.rich.motion import _rich_motion
from fgsgt_ros.data.synth.rich.parts import _figure_params
from fgsgt_ros.data.synth.sensor import _Sensor
from fgsgt_ros.data.synth.textures import _smooth_noise, _smooth_path


def _generate_rich(cfg: SynthConfig, n: int, seed: int, index: int, render_target: bool = True
                   ) -> SyntheticSequence:
    """A rich scene (see ``SynthConfig.scene``); same determinism and ground-truth convention as
    the classic scenes. ``render_target=False`` renders the same scene (same random draws) without
    the target, whose rows are then NaN."""
    import cv2

    rng = np.random.default_rng([int(seed), int(index), 0x71C4])
    W, H = cfg.frame_sizes[int(rng.choice(len(cfg.frame_sizes), p=np.asarray(cfg.frame_size_probs)
                                          / np.sum(cfg.frame_size_probs)))]
    C = np.array([W / 2.0, H / 2.0])
    display = bool(rng.random() < cfg.p_display)
    category = cfg.categories[int(rng.choice(len(cfg.categories), p=np.asarray(cfg.category_probs)
                                             / np.sum(cfg.category_probs)))]
    if category not in CATEGORIES:
        raise ValueError(f"unknown target category {category!r}; valid: {', '.join(CATEGORIES)}")
    names, probs = _BACKDROPS[category]
    backdrop = names[int(rng.choice(len(names), p=np.asarray(probs)))]
    view = "top" if backdrop == "topdown" and category == "vehicle" else "side"
    if backdrop == "topdown" and category != "vehicle":
        backdrop = "field"
    level = rng.uniform(*cfg.base_level)
    std = rng.uniform(*cfg.clutter_std)
    leave = bool(rng.random() < cfg.p_leave)
    cold = bool(rng.random() < cfg.p_cold_target)

    # ---- target: figure, aspect (stretch into the configured range), size at frame 1
    params = _figure_params(rng, category, view)
    angle = float(rng.choice([0.0, 90.0, 180.0, 270.0])) if view == "top" else 0.0
    fig = _Figure(category, params, angle)
    v_units, phase, moving, flip = _rich_motion(rng, category, fig, n, leave)
    _, _, a_nat, _ = _render_figure(fig, 0.0, 0.0, 80.0 / max(fig.extent[1] - fig.extent[0],
                                                               fig.extent[3] - fig.extent[2]),
                                    float(phase[0]), float(moving[0]), bool(flip[0]))
    nb = _tight_box(a_nat, 0, 0)
    natural = nb[2] / nb[3] if nb is not None else 1.0
    want = float(np.clip(natural * math.exp(rng.uniform(-0.12, 0.12)), *cfg.target_aspect))
    stretch = (math.sqrt(want / natural), 1.0 / math.sqrt(want / natural))
    fig = _Figure(category, params, angle, stretch)
    side_cap = min(cfg.max_side, 0.45 * min(W, H))
    if category in ("drone", "bird"):
        side_cap = min(side_cap, 64.0)  # flying targets are seen from afar
    g_lo = min(cfg.target_size[0], side_cap)
    g0 = math.exp(rng.uniform(math.log(g_lo), math.log(max(g_lo, min(cfg.target_size[1], side_cap)))))
    scale0 = _fit_scale(fig, g0, side_cap, float(phase[0]), float(moving[0]), bool(flip[0]), cfg.min_side,
                        (cfg.target_aspect[0] / 1.2, cfg.target_aspect[1] * 1.2))
    _, _, a0, _ = _render_figure(fig, 0.0, 0.0, scale0, float(phase[0]), float(moving[0]), bool(flip[0]))
    b0 = _tight_box(a0, 0, 0) or (0.0, 0.0, g0, g0)
    bw0, bh0 = b0[2], b0[3]

    # size path (depth changes), camera zoom, world displacement of the target
    k_way = max(2, n // int(rng.integers(15, 40)) + 2)
    log_scale = np.concatenate([[0.0], rng.uniform(-1, 1, k_way - 1) * math.log(cfg.max_scale_change)])
    depth = np.exp(_smooth_path(rng, n, log_scale[:, None], sigma=3.0)[:, 0])
    depth /= depth[0]  # frame 1 has the fitted size
    zoom = np.ones(n)
    if rng.random() < cfg.p_zoom:
        kz = max(2, n // 40 + 2)
        lz = np.concatenate([[0.0], rng.uniform(-1, 1, kz - 1) * math.log(cfg.max_zoom_change)])
        zoom = np.exp(_smooth_path(rng, n, lz[:, None], sigma=4.0)[:, 0])
        zoom /= zoom[0]
    # keep the target's on-screen size within [min_side, 1.5 x cap]
    g_t = g0 * depth * zoom
    depth = depth * np.clip(g_t, cfg.min_side, 1.5 * side_cap) / g_t
    scale = scale0 * depth
    min_px = rng.uniform(0.1, 0.8)  # small targets still move a little on screen
    v_px = v_units * scale[:, None]
    nominal = float(np.median(np.hypot(v_px[:, 0], v_px[:, 1])))
    if category in ("person", "animal", "vehicle") and 0 < nominal < min_px:
        v_px *= min_px / nominal
    disp = np.concatenate([np.zeros((1, 2)), np.cumsum(v_px, axis=0)[:-1]], axis=0)
    span_cap = 1.5 * max(W, H)
    rng_span = float(np.max(disp.max(0) - disp.min(0)))
    if rng_span > span_cap:
        disp *= span_cap / rng_span

    # camera: pan/tilt path, optional following of the target, shake
    follow = bool(rng.random() < cfg.p_follow)
    amp = rng.uniform(*cfg.camera_motion)
    k_cam = max(2, n // 30 + 2)
    pan = _smooth_path(rng, n, np.stack([rng.uniform(-amp * W, amp * W, k_cam),
                                         rng.uniform(-amp * H, amp * H, k_cam)], 1), sigma=4.0)
    pan -= pan[0]
    cam = C[None, :] + pan
    if follow:
        gain = rng.uniform(0.8, 1.0)
        lag = _smooth_path(rng, n, disp, sigma=rng.uniform(1.5, 5.0)) if n > 3 else disp
        cam = cam + (lag - lag[0]) * gain
    shake = rng.standard_normal((n, 2)) * rng.uniform(0.0, 0.8)  # mount/gimbal jitter
    cam = cam + shake - shake[0]

    # frame-1 position; outside "leave" sequences the path is fitted into the view
    margin = np.array([bw0 / 2 + 2, bh0 / 2 + 2])

    def on_screen(p0: np.ndarray) -> np.ndarray:
        return zoom[:, None] * (p0[None, :] + disp - cam) + C[None, :]

    if category in ("drone", "bird"):
        hz_frac = rng.uniform(0.55, 1.4) if backdrop == "sky" else rng.uniform(0.3, 0.7)
    elif backdrop in ("street",):
        hz_frac = rng.uniform(0.12, 0.5)
    else:
        hz_frac = rng.uniform(-0.2, 0.4)
    horizon = hz_frac * H
    lo_y, hi_y = margin[1], H - margin[1]
    if category in ("person", "animal") or (category == "vehicle" and view == "side"):
        lo_y = min(max(lo_y, horizon + 0.1 * bh0), hi_y)  # standing on the ground
    elif category in ("drone", "bird"):
        hi_y = max(min(hi_y, horizon - margin[1]), lo_y)  # in the sky
    if follow:
        p0 = np.array([rng.uniform(0.3 * W, 0.7 * W), rng.uniform(lo_y, hi_y)])
        p0 = np.clip(p0, margin, np.array([W, H]) - margin)
    else:
        rel = on_screen(C) - C[None, :]
        lo = np.array([margin[0], lo_y]) - rel.min(0)
        hi = np.array([W - margin[0], hi_y]) - rel.max(0)
        if not leave and np.any(lo > hi):  # too long a path for the view: slow the target down
            factor = float(np.min(np.where(lo > hi, (np.array([W, hi_y - lo_y + 2 * margin[1]]) - 2 * margin)
                                           / np.maximum(rel.max(0) - rel.min(0), 1e-6), 1.0)))
            disp *= max(0.05, factor * 0.95)
            rel = on_screen(C) - C[None, :]
            lo = np.array([margin[0], lo_y]) - rel.min(0)
            hi = np.array([W - margin[0], hi_y]) - rel.max(0)
        if leave:
            lo, hi = np.array([margin[0], lo_y]), np.array([W - margin[0], hi_y])
        p0 = np.array([rng.uniform(min(lo[0], hi[0]), max(lo[0], hi[0])),
                       rng.uniform(min(lo[1], hi[1]), max(lo[1], hi[1]))])
        p0 = np.clip(p0, margin, np.array([W, H]) - margin)
    pos = p0[None, :] + disp  # world = frame-1 coordinates

    # world canvas covering every view
    half = np.stack([W / 2 / zoom, H / 2 / zoom], 1)
    wmin = np.floor((cam - half).min(0)) - 6
    wmax = np.ceil((cam + half).max(0)) + 6
    ox, oy = float(wmin[0]), float(wmin[1])
    Ww, Hw = int(wmax[0] - wmin[0]), int(wmax[1] - wmin[1])
    roads: List[_Road] = []
    short_side = min(bw0, bh0)
    if backdrop == "topdown":
        vertical = angle in (90.0, 270.0)
        roads.append(_Road(vertical, float(p0[0] if vertical else p0[1]), short_side * rng.uniform(2.5, 6.0)))
    elif backdrop == "street" and (category == "vehicle" or rng.random() < 0.5):
        roads.append(_Road(False, float(p0[1] + bh0 * 0.45), bh0 * rng.uniform(0.6, 2.0)))
    bg = _rich_background(rng, cfg, backdrop, Hw, Ww, ox, oy, horizon, level, std, g0, roads)

    def world_stats(p: np.ndarray, r: float) -> Tuple[float, float]:
        return _local_stats(bg, p[0] - ox, p[1] - oy, r)

    ref, local_std = world_stats(p0, max(bw0, bh0) * 1.5)
    contrast = max(rng.uniform(*cfg.target_contrast), 2.0 * local_std, 3.0 * cfg.temporal_noise[1])

    def texture() -> np.ndarray:
        return (1.0 + rng.uniform(0.03, 0.12) * _smooth_noise(rng, 24, 24, 2.0)).astype(np.float32)

    target = _Actor(fig, pos, scale, phase, moving, flip, ref, contrast, cold, texture())

    # ---- distractors: look-alikes of the same class and size near the target, other objects
    behind: List[_Actor] = []
    front: List[_Actor] = []
    dist_info: List[Dict[str, object]] = []

    def jitter_params(p: Dict[str, float]) -> Dict[str, float]:
        return {k: (v if k in ("kind", "view") else v * rng.uniform(0.92, 1.08)) for k, v in p.items()}

    p_look = cfg.p_lookalike * (0.3 if category in ("drone", "bird") else 1.0)
    n_look = int(rng.integers(1, 5 if category == "person" else 3)) if rng.random() < p_look else 0
    for _ in range(n_look):
        mode = str(rng.choice(["group", "cross", "stand"], p=[0.45, 0.35, 0.2]))
        d_fig = _Figure(category, jitter_params(params), angle, stretch)
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
        actor = _Actor(d_fig, d_pos, d_scale, d_phase, d_moving, d_flip, ref, d_contrast, d_cold, texture(), True)
        (front if rng.random() < 0.5 else behind).append(actor)
    # other objects of the scene: birds near drones, people/vehicles on streets, animals in fields
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
        o_scale = o_scale0 * depth
        o_vpx = o_v * o_scale[:, None]
        o_disp = np.concatenate([np.zeros((1, 2)), np.cumsum(o_vpx, axis=0)[:-1]], axis=0)
        if category == "animal" and o_cat == "person" and j == 0:  # walks beside the animal
            start = pos[0] + np.array([rng.choice([-1.0, 1.0]) * 0.6 * bw0, rng.uniform(-0.1, 0.1) * bh0])
            o_pos = start + (pos - pos[0])
            o_phase, o_moving = phase * 1.3 + rng.uniform(0, 6.0), moving
            o_flip = flip
        elif o_view == "top":  # another lane of the same road
            lane = rng.choice([-1.0, 1.0]) * short_side * rng.uniform(1.2, 2.2)
            along = rng.uniform(-0.4, 0.4) * np.array([W, H])
            offs = np.array([lane, 0.0]) if angle in (90.0, 270.0) else np.array([0.0, lane])
            axis_mask = np.array([0.0, 1.0]) if angle in (90.0, 270.0) else np.array([1.0, 0.0])
            o_pos = pos[0] + offs + along * axis_mask + o_disp
        else:
            o_pos = np.array([rng.uniform(0, W), rng.uniform(0, H)]) + o_disp
        actor = _Actor(o_fig, o_pos, o_scale, o_phase, o_moving, o_flip, world_stats(o_pos[0], g * 1.5)[0],
                       rng.uniform(*cfg.target_contrast) if o_cat != category else contrast * rng.uniform(0.7, 1.3),
                       bool(rng.random() < 0.15), texture())
        (front if rng.random() < 0.4 else behind).append(actor)

    # cold or warm posts / trunks fixed in the world, in front of the target at some frame
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
                                np.zeros(n, bool), world_stats(anchor, width * 2)[0], rng.uniform(*cfg.occluder_contrast),
                                occ_cold, texture()))

    # the first frame shows the target whole: push overlapping objects aside
    def frame_box(actor: _Actor, i: int) -> Optional[Tuple[float, float, float, float]]:
        fx, fy = zoom[i] * (actor.pos[i] - cam[i]) + C
        x0, y0, a, _ = _render_figure(actor.fig, float(fx), float(fy), float(actor.scale[i] * zoom[i]),
                                      float(actor.phase[i]), float(actor.moving[i]), bool(actor.flip[i]))
        return _tight_box(a, x0, y0)

    t_box0 = frame_box(target, 0)
    for actor in behind + front + occluders:
        for _ in range(4):
            box = frame_box(actor, 0)
            if not _boxes_overlap(box, t_box0):
                break
            shift = (box[2] + t_box0[2]) / 2 + 3 if box is not None else 0.0
            sign = 1.0 if box is None or box[0] + box[2] / 2 >= t_box0[0] + t_box0[2] / 2 else -1.0
            actor.pos = actor.pos + np.array([sign * shift / max(zoom[0], 1e-6), 0.0])
    for actor in behind + front:
        box = frame_box(actor, 0)
        same = actor.fig.category == category
        dist_info.append({"category": actor.fig.category, "lookalike": actor.lookalike, "same_class": same,
                          "box0": box, "cold": actor.cold})

    # ---- render
    sensor = _Sensor(rng, cfg, H, W, n)
    camera = _Display(rng, cfg, H, W) if display else None
    layers: List[Tuple[str, _Actor]] = ([("d", a) for a in behind] + [("t", target)]
                                        + [("d", a) for a in front] + [("o", a) for a in occluders])
    frames: List[np.ndarray] = []
    boxes = np.full((n, 4), np.nan)
    full_area = None
    for i in range(n):
        z = float(zoom[i])
        m = np.float32([[z, 0, z * (ox - cam[i, 0]) + W / 2], [0, z, z * (oy - cam[i, 1]) + H / 2]])
        frame = cv2.warpAffine(bg, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        vis = np.zeros((H, W), bool)
        t_area = 0
        for kind, actor in layers:
            fx, fy = z * (actor.pos[i] - cam[i]) + C
            sc = float(actor.scale[i] * z)
            ex = actor.fig.extent
            reach = sc * max(ex[1] - ex[0], ex[3] - ex[2])
            if fx < -reach or fy < -reach or fx > W + reach or fy > H + reach:
                continue  # far outside the view
            x0, y0, a, e = _render_figure(actor.fig, float(fx), float(fy), sc, float(actor.phase[i]),
                                          float(actor.moving[i]), bool(actor.flip[i]))
            if kind == "t":
                t_area = int((a > 0.5).sum())
                if not render_target:
                    continue
            sl = _paste(frame, x0, y0, a)
            if sl is None:
                continue
            fy_, fx_, py, px = sl
            _blend(frame, vis, fy_, fx_, a[py, px], actor.value(e)[py, px], kind == "t")
        if i == 0:
            full_area = t_area
        box = _visible_box(vis, cfg.min_visible_fraction * max(1, t_area))
        if box is not None:
            boxes[i] = box
        frame = sensor.apply(frame, i)
        if camera is not None:
            frames.append(camera.apply(frame, i))
        else:
            frames.append(np.clip(np.round(frame), 0, MAX_COUNT).astype(np.uint16))

    absent = ~np.isfinite(boxes).all(axis=1)
    info = {"shape": category, "scene": "rich", "backdrop": backdrop, "view": view, "size": (W, H),
            "output": "display8" if display else "raw16", "cold_target": cold,
            "black_hot": bool(camera.black_hot) if camera is not None else False,
            "overlay": camera is not None and camera.overlay is not None,
            "jpeg_quality": camera.jpeg if camera is not None else None,
            "follow": follow, "zoom_range": (float(zoom.min()), float(zoom.max())),
            "distractors": len(dist_info), "lookalikes": sum(1 for d in dist_info if d["lookalike"]),
            "distractor_info": dist_info, "occluders": len(occluders),
            "leave": bool(absent[1:].any()) if render_target else leave,
            "ffc_frames": sorted(sensor.ffc_frames), "init_area": full_area}
    return SyntheticSequence(frames, boxes, info)
