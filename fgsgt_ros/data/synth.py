"""Procedural thermal-infrared sequence generator (16-bit radiometric frames + ground truth).

Why: no TIR training data can be downloaded here, and a shipped model must still learn what a
thermal target looks like. Each sequence is a small physical-ish scene in raw sensor counts:

- background: a narrow-range 14-bit-ish level (a few thousand counts) plus clutter whose standard
  deviation is tens to hundreds of counts: real textures (scikit-image sample images) blurred as a
  thermal camera would, smooth gradients (sky/ground), warm and cold structures;
- one warm target of varied shape (ellipse, person, animal, vehicle, blob), size 7-60 px,
  internal texture and hot spots, moving along a smooth path with scale change, possibly leaving
  the view and coming back;
- similar warm distractors, some crossing the target's path (in front of or behind it);
- cold occluders (posts, walls, passing cold objects) in front of the target;
- camera motion (pan), optical blur, vignetting, fixed-pattern row/column noise, temporal noise,
  slow drift and flat-field-correction (FFC) offset jumps that also redraw the column pattern.

Ground truth is the tight box of the target's *visible* pixels (the convention of the real dev
clip); a frame whose visible target area is below ``min_visible_fraction`` of the whole target is
absent (NaN row). Frame 1 always shows the target whole and unoccluded.

Deterministic: sequence ``i`` of a call with seed ``s`` depends only on ``(s, i)`` and the config.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence as Seq, Tuple

import numpy as np

from fgsgt_ros.data.sequence import write_plain_sequence

# scikit-image sample images used as background clutter (grey or converted to grey).
TEXTURE_NAMES = ("camera", "brick", "grass", "gravel", "moon", "text", "coins", "page", "cell",
                 "clock", "chelsea", "coffee", "rocket", "astronaut")
SHAPES = ("ellipse", "person", "animal", "vehicle", "blob")
MAX_COUNT = 16383  # 14-bit sensor


@dataclass(frozen=True)
class SynthConfig:
    """What the generated sequences look like. All ranges are (low, high), sampled uniformly."""

    name: str = "mixed"
    #: frame sizes (width, height) and their probabilities
    frame_sizes: Tuple[Tuple[int, int], ...] = ((160, 120), (320, 256), (640, 512))
    frame_size_probs: Tuple[float, ...] = (0.45, 0.4, 0.15)
    #: target geometric-mean side in px at frame 1 (clipped to the frame), aspect ratio w/h range
    target_size: Tuple[float, float] = (9.0, 40.0)
    target_aspect: Tuple[float, float] = (0.4, 2.5)
    #: overall scale change over a sequence: size multiplied by up to this factor (or 1/it)
    max_scale_change: float = 2.0
    min_side: float = 7.0
    max_side: float = 60.0
    #: radiometry (raw counts)
    base_level: Tuple[float, float] = (1500.0, 7000.0)
    clutter_std: Tuple[float, float] = (20.0, 160.0)
    target_contrast: Tuple[float, float] = (60.0, 700.0)
    occluder_contrast: Tuple[float, float] = (40.0, 300.0)
    temporal_noise: Tuple[float, float] = (2.0, 9.0)
    fpn_std: Tuple[float, float] = (1.0, 8.0)
    vignetting: Tuple[float, float] = (0.0, 150.0)
    optical_blur: Tuple[float, float] = (0.4, 1.3)
    #: events (per-sequence probabilities / counts)
    distractors: Tuple[int, int] = (0, 3)
    p_crossing: float = 0.6
    p_occlusion: float = 0.5
    p_leave: float = 0.3
    p_ffc: float = 0.5
    ffc_jump: Tuple[float, float] = (10.0, 120.0)
    camera_motion: Tuple[float, float] = (0.0, 0.25)  # pan amplitude as a fraction of frame size
    min_visible_fraction: float = 0.1


PRESETS: Dict[str, SynthConfig] = {
    "mixed": SynthConfig(),
    # FLIR Lepton-like: what the real dev clip looks like
    "lepton": SynthConfig(name="lepton", frame_sizes=((160, 120),), frame_size_probs=(1.0,),
                          target_size=(9.0, 30.0), max_side=45.0),
    # held-out evaluation: every sequence has a crossing distractor and an occlusion
    "hard": SynthConfig(name="hard", frame_sizes=((160, 120), (320, 256)), frame_size_probs=(0.5, 0.5),
                        distractors=(1, 3), p_crossing=1.0, p_occlusion=1.0, p_leave=0.4, p_ffc=0.7),
    # tests: small frames, all events on
    "tiny": SynthConfig(name="tiny", frame_sizes=((128, 96),), frame_size_probs=(1.0,),
                        target_size=(10.0, 20.0), max_side=32.0, distractors=(1, 1), p_crossing=1.0,
                        p_occlusion=1.0, p_leave=0.0, p_ffc=1.0),
}


def get_preset(name: str) -> SynthConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown synth preset {name!r}; valid: {', '.join(sorted(PRESETS))}") from None


# --------------------------------------------------------------------------------------------
# building blocks


@lru_cache(maxsize=None)
def _texture(name: str) -> np.ndarray:
    """A scikit-image sample image as float32 grey in [0, 1] (cached)."""
    import skimage.data

    img = np.asarray(getattr(skimage.data, name)())
    if img.ndim == 3:
        img = img[..., :3].astype(np.float32).mean(axis=2)
    return img.astype(np.float32) / 255.0


def _smooth_noise(rng: np.random.Generator, h: int, w: int, sigma: float) -> np.ndarray:
    """Zero-mean, unit-std Gaussian-filtered white noise."""
    import cv2

    n = rng.standard_normal((h, w)).astype(np.float32)
    if sigma > 0:
        n = cv2.GaussianBlur(n, (0, 0), sigma)
    return (n - n.mean()) / (n.std() + 1e-6)


def _normalise(a: np.ndarray) -> np.ndarray:
    return (a - a.mean()) / (a.std() + 1e-6)


def _smooth_path(rng: np.random.Generator, n: int, waypoints: np.ndarray, sigma: float) -> np.ndarray:
    """(n, D) smooth trajectory through (K, D) waypoints spread over n frames."""
    import cv2

    k = len(waypoints)
    t_way = np.linspace(0, n - 1, k)
    t = np.arange(n)
    path = np.stack([np.interp(t, t_way, waypoints[:, d]) for d in range(waypoints.shape[1])], 1)
    if sigma > 0 and n > 3:
        pad = int(3 * sigma) + 1
        padded = np.pad(path, ((pad, pad), (0, 0)), mode="edge").astype(np.float32)
        path = cv2.GaussianBlur(padded, (1, 2 * pad + 1), 0, sigmaY=sigma)[pad:-pad].astype(np.float64)
    return path


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


def _paste(canvas: np.ndarray, x0: int, y0: int, patch: np.ndarray) -> Optional[Tuple[slice, slice, slice, slice]]:
    """Slices (frame rows, frame cols, patch rows, patch cols) of a patch's overlap with canvas."""
    H, W = canvas.shape[:2]
    h, w = patch.shape[:2]
    fx0, fy0 = max(0, x0), max(0, y0)
    fx1, fy1 = min(W, x0 + w), min(H, y0 + h)
    if fx1 <= fx0 or fy1 <= fy0:
        return None
    return slice(fy0, fy1), slice(fx0, fx1), slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0)


# --------------------------------------------------------------------------------------------
# scene


@dataclass
class SyntheticSequence:
    """A generated sequence in memory: uint16 frames and (N, 4) xywh ground truth (NaN = absent)."""

    frames: List[np.ndarray]
    boxes: np.ndarray
    info: Dict[str, object] = field(default_factory=dict)


def _background(rng: np.random.Generator, cfg: SynthConfig, H: int, W: int, level: float) -> np.ndarray:
    """Clutter canvas (H, W) float32 in counts: texture + gradients + warm/cold structures."""
    import cv2

    name = TEXTURE_NAMES[int(rng.integers(len(TEXTURE_NAMES)))]
    tex = _texture(name)
    th, tw = tex.shape
    zoom = rng.uniform(0.5, 2.0)
    cw, ch = min(tw, max(16, int(W / zoom))), min(th, max(16, int(H / zoom)))
    x, y = int(rng.integers(0, tw - cw + 1)), int(rng.integers(0, th - ch + 1))
    patch = tex[y:y + ch, x:x + cw]
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    if rng.random() < 0.3:
        patch = 1.0 - patch  # thermal polarity of a visible image is arbitrary
    patch = cv2.resize(np.ascontiguousarray(patch), (W, H), interpolation=cv2.INTER_LINEAR)
    patch = cv2.GaussianBlur(patch, (0, 0), rng.uniform(0.8, 3.0))  # thermal scenes are smooth
    std = rng.uniform(*cfg.clutter_std)
    bg = _normalise(patch) * std * rng.uniform(0.3, 1.0)
    # low-frequency field + sky/ground gradient
    bg += _smooth_noise(rng, H, W, max(H, W) / 6) * std * rng.uniform(0.2, 0.8)
    yy = np.linspace(-1, 1, H, dtype=np.float32)[:, None]
    xx = np.linspace(-1, 1, W, dtype=np.float32)[None, :]
    bg += (rng.uniform(-1, 1) * yy + rng.uniform(-0.5, 0.5) * xx) * std
    if rng.random() < 0.4:  # horizon: colder sky above
        horizon = rng.uniform(-0.6, 0.2)
        bg -= rng.uniform(0.5, 2.0) * std / (1 + np.exp(-(horizon - yy) * 20))
    # structures: warm/cold rectangles and discs (windows, rocks, vents)
    for _ in range(int(rng.integers(0, 8))):
        m = np.zeros((H, W), np.float32)
        cx, cy = int(rng.integers(0, W)), int(rng.integers(0, H))
        r = int(rng.integers(4, max(6, min(H, W) // 5)))
        if rng.random() < 0.5:
            cv2.rectangle(m, (cx - r, cy - r // 2), (cx + r, cy + r // 2), 1.0, -1)
        else:
            cv2.circle(m, (cx, cy), r, 1.0, -1)
        m = cv2.GaussianBlur(m, (0, 0), rng.uniform(0.7, 3.0))
        bg += m * rng.uniform(-1.5, 1.5) * std
    return (bg + level).astype(np.float32)


def generate_sequence(cfg: SynthConfig, n_frames: int, seed: int, index: int = 0) -> SyntheticSequence:
    """Generate sequence ``index`` for ``seed`` (deterministic)."""
    import cv2

    if n_frames < 2:
        raise ValueError(f"a sequence needs at least 2 frames, got {n_frames}")
    rng = np.random.default_rng([int(seed), int(index), 0x7151])
    n = int(n_frames)
    W, H = cfg.frame_sizes[int(rng.choice(len(cfg.frame_sizes), p=np.asarray(cfg.frame_size_probs)
                                          / np.sum(cfg.frame_size_probs)))]
    level = rng.uniform(*cfg.base_level)

    # camera pan: smooth path of the frame's top-left inside a larger canvas
    amp = rng.uniform(*cfg.camera_motion)
    mx, my = int(math.ceil(amp * W)) + 2, int(math.ceil(amp * H)) + 2
    bg = _background(rng, cfg, H + 2 * my, W + 2 * mx, level)
    k_cam = max(2, n // 30 + 2)
    cam = _smooth_path(rng, n, np.stack([rng.uniform(0, 2 * mx, k_cam), rng.uniform(0, 2 * my, k_cam)], 1),
                       sigma=4.0)

    # target: size path (geometric mean side s, aspect r) and position path
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

    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    t_alpha = _shape_alpha(rng, shape)
    target = _Object(t_alpha, _object_texture(rng, t_alpha, rng.random() < 0.6),
                     rng.uniform(*cfg.target_contrast), pos, size)

    # distractors (similar warm objects); crossing ones pass through the target's position
    distractors: List[Tuple[_Object, bool]] = []  # (object, drawn in front of the target)
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

    # cold occluders: posts fixed in the world (move with the camera) or passing cold objects
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

    # sensor: vignetting, fixed pattern (row/column) noise, temporal noise, drift, FFC jumps
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    r2 = ((xx - W / 2) / (W / 2)) ** 2 + ((yy - H / 2) / (H / 2)) ** 2
    vignette = -rng.uniform(*cfg.vignetting) * r2 / 2.0
    fpn_sigma = rng.uniform(*cfg.fpn_std)

    def draw_fpn() -> np.ndarray:
        return (rng.standard_normal((H, 1)) * fpn_sigma * rng.uniform(0.3, 1.0)
                + rng.standard_normal((1, W)) * fpn_sigma).astype(np.float32)

    fpn = draw_fpn()
    noise_sigma = rng.uniform(*cfg.temporal_noise)
    blur_sigma = rng.uniform(*cfg.optical_blur)
    drift = _smooth_path(rng, n, rng.uniform(-20, 20, (max(2, n // 50 + 2), 1)), 5.0)[:, 0]
    ffc_frames = set()
    if rng.random() < cfg.p_ffc and n > 4:
        ffc_frames = set(int(f) for f in rng.integers(2, n, size=int(rng.integers(1, 3))))
    offset = 0.0

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
            aa = a[py, px]
            frame[fy, fx] = frame[fy, fx] * (1 - aa) + aa * (local_level + val[py, px])
            if kind == "t":
                vis[fy, fx] |= aa > 0.5
            else:
                vis[fy, fx] &= ~(aa > 0.5)
        if i == 0:
            full_area = t_area
        ys, xs = np.nonzero(vis)
        if len(xs) and len(xs) >= cfg.min_visible_fraction * max(1, t_area):
            boxes[i] = [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()]
        if i in ffc_frames:  # FFC: offset jump and a fresh column pattern
            offset += rng.choice([-1, 1]) * rng.uniform(*cfg.ffc_jump)
            fpn = draw_fpn()
        frame = cv2.GaussianBlur(frame, (0, 0), blur_sigma)
        frame += vignette + fpn + offset + drift[i]
        frame += rng.standard_normal((H, W)).astype(np.float32) * noise_sigma
        frames.append(np.clip(np.round(frame), 0, MAX_COUNT).astype(np.uint16))

    info = {"shape": shape, "size": (W, H), "distractors": n_dis, "occluders": len(occluders),
            "leave": leave, "ffc_frames": sorted(ffc_frames), "init_area": full_area}
    return SyntheticSequence(frames, boxes, info)


def generate_dataset(out: Path, cfg: SynthConfig, n_sequences: int, n_frames: int, seed: int,
                     progress: bool = True) -> List[Path]:
    """Write ``n_sequences`` plain-layout sequences ``synth_<seed>_<i>`` under ``out``."""
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in tqdm(range(n_sequences), desc=f"generate {cfg.name}", disable=not progress, unit="seq"):
        seq = generate_sequence(cfg, n_frames, seed, i)
        folder = out / f"synth_{seed}_{i:04d}"
        write_plain_sequence(folder, seq.frames, seq.boxes, category=seq.info.get("category") or seq.info.get("shape"))
        paths.append(folder)
    return paths
