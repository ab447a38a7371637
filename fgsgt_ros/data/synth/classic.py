"""The classic generator: warm shapes (ellipse, person, animal, vehicle, blob) on clutter, with
distractors, cold occluders, camera pan and the raw sensor model (the shipped models were trained
on these scenes)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

from fgsgt_ros.data.synth.compose import SyntheticSequence, _blend, _finish_frame, _paste, _to_counts
from fgsgt_ros.data.synth.config import SHAPES, SynthConfig
from fgsgt_ros.data.synth.sensor import _Sensor
from fgsgt_ros.data.synth.textures import _background, _smooth_noise, _smooth_path


def _shape_alpha(rng: np.random.Generator, shape: str, size: int = 64) -> np.ndarray:
    """Alpha mask (float32 0..1) of an object drawn on a ``size`` canvas, cropped tight."""
    import cv2

    s = size
    m = np.zeros((s, s), np.float32)
    c = s // 2
    if shape == "ellipse":
        cv2.ellipse(m, (c, c), (int(s * 0.45), int(s * rng.uniform(0.25, 0.45))),
                    float(rng.uniform(0, 180)), 0, 360, 1.0, -1, cv2.LINE_AA)
    elif shape == "person":
        body_w = int(s * rng.uniform(0.12, 0.2))
        cv2.ellipse(m, (c, int(s * 0.42)), (body_w, int(s * 0.2)), 0, 0, 360, 1.0, -1, cv2.LINE_AA)
        cv2.circle(m, (c, int(s * 0.14)), int(s * 0.09), 1.0, -1, cv2.LINE_AA)
        for side in (-1, 1):  # legs, slightly apart
            x = c + side * int(body_w * rng.uniform(0.2, 0.6))
            cv2.line(m, (c, int(s * 0.58)), (x, int(s * 0.95)), 1.0, max(2, body_w // 2), cv2.LINE_AA)
    elif shape == "animal":
        cv2.ellipse(m, (c, c), (int(s * 0.32), int(s * rng.uniform(0.14, 0.22))), 0, 0, 360, 1.0, -1,
                    cv2.LINE_AA)
        hx = c + int(s * 0.34)
        cv2.circle(m, (hx, c - int(s * 0.08)), int(s * rng.uniform(0.08, 0.12)), 1.0, -1, cv2.LINE_AA)
        for x in (c - int(s * 0.2), c + int(s * 0.2)):  # legs
            cv2.line(m, (x, c), (x, c + int(s * 0.3)), 1.0, max(2, s // 20), cv2.LINE_AA)
        cv2.line(m, (c - int(s * 0.3), c), (c - int(s * 0.46), c - int(s * 0.1)), 0.7, max(1, s // 30),
                 cv2.LINE_AA)  # faint tail
    elif shape == "vehicle":
        h = int(s * rng.uniform(0.25, 0.4))
        x0, y0 = int(s * 0.05), c - h // 2
        cv2.rectangle(m, (x0, y0), (s - x0, y0 + h), 1.0, -1)
        cv2.rectangle(m, (int(s * 0.25), y0 - h // 2), (int(s * 0.7), y0), 1.0, -1)  # cabin
        m = cv2.GaussianBlur(m, (0, 0), 1.0)
    else:  # blob: largest component of thresholded smooth noise inside a soft disc
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
        disc = 1.0 - np.hypot(xx - c, yy - c) / (0.5 * s)
        field_ = _smooth_noise(rng, s, s, s / 8) * 0.5 + disc * 2.0
        binary = (field_ > 0.8).astype(np.uint8)
        count, labels = cv2.connectedComponents(binary)
        if count > 1:
            largest = 1 + int(np.argmax([(labels == i).sum() for i in range(1, count)]))
            binary = (labels == largest).astype(np.uint8)
        else:
            cv2.circle(binary, (c, c), s // 3, 1, -1)
        m = cv2.GaussianBlur(binary.astype(np.float32), (0, 0), 0.8)
    ys, xs = np.nonzero(m > 0.5)
    return m[ys.min():ys.max() + 1, xs.min():xs.max() + 1].copy()


def _object_texture(rng: np.random.Generator, alpha: np.ndarray, hot_spots: bool) -> np.ndarray:
    """Relative emission inside an object (mean about 1): centre warmer, mottled, hot spots."""
    import cv2

    h, w = alpha.shape
    inside = (alpha > 0.5).astype(np.uint8)
    dist = cv2.distanceTransform(np.pad(inside, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    dist = dist / (dist.max() + 1e-6)
    tex = 0.6 + 0.5 * dist + 0.15 * _smooth_noise(rng, h, w, max(1.0, min(h, w) / 8))
    if hot_spots:
        for _ in range(int(rng.integers(1, 4))):
            y, x = rng.integers(0, h), rng.integers(0, w)
            r = max(1.0, min(h, w) * rng.uniform(0.06, 0.15))
            yy, xx = np.mgrid[0:h, 0:w]
            tex += rng.uniform(0.2, 0.6) * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * r * r))
    return np.clip(tex, 0.2, 2.5).astype(np.float32)


@dataclass
class _Object:
    """A moving sprite: base alpha/texture, per-frame top-left position (frame px) and size."""

    alpha: np.ndarray
    texture: np.ndarray
    contrast: float  # counts above (warm) or below (cold) the base level
    pos: np.ndarray  # (n, 2) centre x, y in frame coordinates
    size: np.ndarray  # (n, 2) w, h in px


def _render_sprite(obj: _Object, i: int) -> Tuple[int, int, np.ndarray, np.ndarray]:
    """Sprite at frame ``i``: (x0, y0, alpha, value) with value = contrast * texture."""
    import cv2

    w = max(2, int(round(obj.size[i, 0])))
    h = max(2, int(round(obj.size[i, 1])))
    interp = cv2.INTER_AREA if w < obj.alpha.shape[1] else cv2.INTER_LINEAR
    a = np.clip(cv2.resize(obj.alpha, (w, h), interpolation=interp), 0, 1)
    t = cv2.resize(obj.texture, (w, h), interpolation=interp)
    x0 = int(round(obj.pos[i, 0] - w / 2))
    y0 = int(round(obj.pos[i, 1] - h / 2))
    return x0, y0, a, t * obj.contrast


def _classic_camera(rng: np.random.Generator, cfg: SynthConfig, n: int, W: int, H: int,
                    level: float) -> Tuple[np.ndarray, np.ndarray]:
    """Camera pan: the clutter canvas (larger than the frame) and the smooth path (n, 2) of the
    frame's top-left inside it."""
    amp = rng.uniform(*cfg.camera_motion)
    mx, my = int(math.ceil(amp * W)) + 2, int(math.ceil(amp * H)) + 2
    bg = _background(rng, cfg, H + 2 * my, W + 2 * mx, level)
    k_cam = max(2, n // 30 + 2)
    cam = _smooth_path(rng, n, np.stack([rng.uniform(0, 2 * mx, k_cam), rng.uniform(0, 2 * my, k_cam)], 1),
                       sigma=4.0)
    return bg, cam


def _classic_target_path(rng: np.random.Generator, cfg: SynthConfig, n: int, W: int, H: int
                         ) -> Tuple[float, np.ndarray, np.ndarray, bool]:
    """Target size path (geometric mean side s0 at frame 1, aspect) and position path:
    (s0, size (n, 2) w/h, pos (n, 2) centre, leave)."""
    side_cap = min(cfg.max_side, 0.4 * min(W, H))
    s0 = math.exp(rng.uniform(math.log(cfg.target_size[0]), math.log(min(cfg.target_size[1], side_cap))))
    aspect = math.exp(rng.uniform(math.log(cfg.target_aspect[0]), math.log(cfg.target_aspect[1])))
    k_way = max(2, n // int(rng.integers(15, 40)) + 2)
    log_scale = np.concatenate([[0.0], rng.uniform(-1, 1, k_way - 1) * math.log(cfg.max_scale_change)])
    scale = np.exp(_smooth_path(rng, n, log_scale[:, None], sigma=3.0)[:, 0])
    w_path = np.clip(s0 * math.sqrt(aspect) * scale, cfg.min_side, side_cap * 1.5)
    h_path = np.clip(s0 / math.sqrt(aspect) * scale, cfg.min_side, side_cap * 1.5)
    size = np.stack([w_path, h_path], 1)
    margin = size[0] / 2 + 2
    way = np.stack([rng.uniform(0.15 * W, 0.85 * W, k_way), rng.uniform(0.15 * H, 0.85 * H, k_way)], 1)
    way[0] = [rng.uniform(margin[0], W - margin[0]), rng.uniform(margin[1], H - margin[1])]
    leave = bool(rng.random() < cfg.p_leave) and k_way >= 3
    if leave:  # one interior waypoint well outside the view: the target leaves and re-enters
        j = int(rng.integers(1, k_way - 1)) if k_way > 3 else 1
        side_ = int(rng.integers(4))
        out = max(size[:, 0].max(), size[:, 1].max()) * 1.5
        way[j] = [(-out, way[j, 1]), (W + out, way[j, 1]), (way[j, 0], -out), (way[j, 0], H + out)][side_]
    pos = _smooth_path(rng, n, way, sigma=2.0)
    pos[0] = way[0]
    return s0, size, pos, leave


def _classic_distractors(rng: np.random.Generator, cfg: SynthConfig, n: int, W: int, H: int, shape: str,
                         target: _Object, s0: float) -> List[Tuple[_Object, bool]]:
    """Similar warm objects, (object, drawn in front of the target); the first may cross the
    target's position."""
    pos, size = target.pos, target.size
    distractors: List[Tuple[_Object, bool]] = []
    n_dis = int(rng.integers(cfg.distractors[0], cfg.distractors[1] + 1))
    for d in range(n_dis):
        same = rng.random() < 0.7
        d_shape = shape if same else SHAPES[int(rng.integers(len(SHAPES)))]
        d_alpha = _shape_alpha(rng, d_shape)
        d_size = size * rng.uniform(0.7, 1.3) if same else size[::-1] * rng.uniform(0.6, 1.4)
        d_size = np.clip(d_size, cfg.min_side, None)
        if d == 0 and rng.random() < cfg.p_crossing and n >= 8:
            tc = int(rng.integers(max(3, n // 5), max(4, n - 2)))
            ang = rng.uniform(0, 2 * math.pi)
            speed = rng.uniform(0.5, 2.0) * max(1.0, s0 / 10)
            t = np.arange(n) - tc
            d_pos = pos[tc] + np.stack([np.cos(ang) * speed * t, np.sin(ang) * speed * t], 1)
        else:
            k = max(2, n // 25 + 2)
            d_pos = _smooth_path(rng, n, np.stack([rng.uniform(0, W, k), rng.uniform(0, H, k)], 1), 2.0)
        # the init frame must show the target free of distractor overlap
        if np.all(np.abs(d_pos[0] - pos[0]) < (size[0] + d_size[0]) / 2 + 2):
            d_pos = d_pos.copy()
            d_pos[0] = pos[0] + (size[0] + d_size[0]) * 1.2
            d_pos[1:3] = (d_pos[0] + d_pos[3]) / 2 if n > 3 else d_pos[1:3]
        contrast = target.contrast * rng.uniform(0.7, 1.3)
        distractors.append((_Object(d_alpha, _object_texture(rng, d_alpha, rng.random() < 0.6), contrast,
                                    d_pos, d_size), bool(rng.random() < 0.5)))
    return distractors


def _classic_occluders(rng: np.random.Generator, cfg: SynthConfig, n: int, W: int, H: int, target: _Object,
                       cam: np.ndarray) -> List[_Object]:
    """Cold occluders: a post fixed in the world (moves with the camera) or a passing cold object."""
    pos, size = target.pos, target.size
    occluders: List[_Object] = []
    if rng.random() < cfg.p_occlusion and n >= 6:
        to = int(rng.integers(max(2, n // 4), max(3, n - 1)))
        cold = -rng.uniform(*cfg.occluder_contrast)
        if rng.random() < 0.6:  # post: vertical bar anchored in the world at the target's position
            bw = float(np.clip(size[to, 0] * rng.uniform(0.4, 1.5), 3, W / 4))
            bh = float(H * rng.uniform(0.5, 1.2))
            world = pos[to] + cam[to] + np.array([0.0, rng.uniform(-0.3, 0.3) * bh])
            o_pos = world[None, :] - cam
            o_size = np.tile([bw, bh], (n, 1))
            o_alpha = np.ones((32, 32), np.float32)
        else:  # cold passing object (e.g. a wall edge or cold vehicle) crossing at frame `to`
            ang = rng.uniform(0, 2 * math.pi)
            speed = rng.uniform(1.0, 3.0)
            t = np.arange(n) - to
            o_pos = pos[to] + np.stack([np.cos(ang) * speed * t, np.sin(ang) * speed * t], 1)
            o_size = np.tile(size[to] * rng.uniform(1.0, 2.0), (n, 1))
            o_alpha = _shape_alpha(rng, ["ellipse", "vehicle", "blob"][int(rng.integers(3))])
        if np.all(np.abs(o_pos[0] - pos[0]) < (size[0] + o_size[0]) / 2 + 2):
            o_pos = o_pos + np.array([(size[0, 0] + o_size[0, 0]) * 1.5 + 2, 0.0])
        occluders.append(_Object(o_alpha, 1.0 + 0.1 * _smooth_noise(rng, *o_alpha.shape, 2.0), cold, o_pos,
                                 o_size))
    return occluders


def _render_classic(cfg: SynthConfig, bg: np.ndarray, cam: np.ndarray, target: _Object,
                    distractors: List[Tuple[_Object, bool]], occluders: List[_Object], sensor: _Sensor,
                    n: int, W: int, H: int) -> Tuple[List[np.ndarray], np.ndarray, int]:
    """Frames (uint16 counts), visible-pixel boxes (NaN = absent) and the target's frame-1 area."""
    import cv2

    frames: List[np.ndarray] = []
    boxes = np.full((n, 4), np.nan)
    full_area = None
    for i in range(n):
        m = np.float32([[1, 0, cam[i, 0]], [0, 1, cam[i, 1]]])
        frame = cv2.warpAffine(bg, m, (W, H), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT)
        local_level = float(np.median(frame))
        layers: List[Tuple[str, _Object]] = [("d", o) for o, front in distractors if not front]
        layers += [("t", target)] + [("d", o) for o, front in distractors if front]
        layers += [("o", o) for o in occluders]
        vis = np.zeros((H, W), bool)
        t_area = 0
        for kind, obj in layers:
            x0, y0, a, val = _render_sprite(obj, i)
            if kind == "t":
                t_area = int((a > 0.5).sum())
            sl = _paste(frame, x0, y0, a)
            if sl is None:
                continue
            fy, fx, py, px = sl
            _blend(frame, vis, fy, fx, a[py, px], local_level + val[py, px], kind == "t")
        if i == 0:
            full_area = t_area
        frame = _finish_frame(frame, vis, t_area, cfg.min_visible_fraction, sensor, boxes, i)
        frames.append(_to_counts(frame))
    return frames, boxes, full_area


def _generate_classic(cfg: SynthConfig, n_frames: int, seed: int, index: int) -> SyntheticSequence:
    """A classic scene (see the package docstring); ``generate_sequence`` checks the arguments.
    The parts are drawn in this order from one generator (the output depends on it)."""
    rng = np.random.default_rng([int(seed), int(index), 0x7151])
    n = int(n_frames)
    W, H = cfg.frame_sizes[int(rng.choice(len(cfg.frame_sizes), p=np.asarray(cfg.frame_size_probs)
                                          / np.sum(cfg.frame_size_probs)))]
    level = rng.uniform(*cfg.base_level)
    bg, cam = _classic_camera(rng, cfg, n, W, H, level)
    s0, size, pos, leave = _classic_target_path(rng, cfg, n, W, H)
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    t_alpha = _shape_alpha(rng, shape)
    target = _Object(t_alpha, _object_texture(rng, t_alpha, rng.random() < 0.6),
                     rng.uniform(*cfg.target_contrast), pos, size)
    distractors = _classic_distractors(rng, cfg, n, W, H, shape, target, s0)
    occluders = _classic_occluders(rng, cfg, n, W, H, target, cam)
    sensor = _Sensor(rng, cfg, H, W, n)
    frames, boxes, full_area = _render_classic(cfg, bg, cam, target, distractors, occluders, sensor, n, W, H)
    info = {"shape": shape, "size": (W, H), "distractors": len(distractors), "occluders": len(occluders),
            "leave": leave, "ffc_frames": sorted(sensor.ffc_frames), "init_area": full_area}
    return SyntheticSequence(frames, boxes, info)
