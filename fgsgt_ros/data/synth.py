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
#: the rich scenes leave out the sample images of printed text and of isolated round objects
NATURAL_TEXTURES = ("camera", "brick", "grass", "gravel", "moon", "chelsea", "coffee", "rocket", "astronaut")
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
    # ---- rich scenes only (scene="rich"); the classic scenes ignore everything below ----
    #: "classic": the warm-shape scenes above (the shipped models were trained on them);
    #: "rich": articulated people, vehicles, animals, drones and birds, look-alike groups,
    #: cold targets, pan/tilt/zoom, 16-bit raw or 8-bit display output (``_generate_rich``)
    scene: str = "classic"
    #: target categories (of ``CATEGORIES``) and their probabilities
    categories: Tuple[str, ...] = ("person", "vehicle", "animal", "drone")
    category_probs: Tuple[float, ...] = (0.4, 0.25, 0.15, 0.2)
    #: probability that a sequence is 8-bit display video (else 16-bit raw counts)
    p_display: float = 0.0
    #: probability that the target is cooler than its surroundings (e.g. a cold bus among warm cars)
    p_cold_target: float = 0.15
    #: probability of look-alikes (same class, similar size and temperature) near the target
    p_lookalike: float = 0.6
    #: pan/tilt/zoom: probability that the camera follows the target, of a zoom change, its range
    p_follow: float = 0.3
    p_zoom: float = 0.3
    max_zoom_change: float = 1.6
    #: display video: probabilities of burnt-in overlays, JPEG-like compression, black-hot palette
    p_overlay: float = 0.6
    p_jpeg: float = 0.6
    p_black_hot: float = 0.15


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
    # ---- rich scenes (articulated targets, look-alikes, PTZ, display video) ----
    # 8-bit display video as cameras publish it: people, vehicles, animals, drones; AGC, gamma,
    # sharpening, JPEG, burnt-in overlays; pan/tilt/zoom; frames up to 1920x1080; 3-250 px targets
    "display": SynthConfig(name="display", scene="rich",
                           frame_sizes=((320, 256), (640, 512), (1280, 1024), (1920, 1080)),
                           frame_size_probs=(0.3, 0.45, 0.15, 0.1), target_size=(6.0, 150.0),
                           target_aspect=(0.25, 4.0), min_side=3.0, max_side=250.0,
                           max_scale_change=1.6, categories=("person", "vehicle", "animal", "drone"),
                           category_probs=(0.4, 0.25, 0.1, 0.25), p_display=1.0, p_cold_target=0.2,
                           distractors=(0, 3), p_occlusion=0.35, p_leave=0.2, p_ffc=0.3,
                           camera_motion=(0.0, 0.2)),
    # small targets (3-15 px): drones among birds, small animals, distant people; raw and display
    "small": SynthConfig(name="small", scene="rich", frame_sizes=((160, 120), (320, 256), (640, 512)),
                         frame_size_probs=(0.4, 0.35, 0.25), target_size=(3.0, 15.0),
                         target_aspect=(0.33, 3.0), min_side=2.0, max_side=24.0, max_scale_change=1.4,
                         categories=("drone", "bird", "animal", "person"),
                         category_probs=(0.4, 0.15, 0.3, 0.15), p_display=0.5, p_zoom=0.2,
                         distractors=(1, 4), p_occlusion=0.3, p_leave=0.2, camera_motion=(0.0, 0.15)),
    # people among look-alike people (groups, crossings), tall boxes; raw and display
    "people": SynthConfig(name="people", scene="rich", frame_sizes=((320, 256), (640, 512)),
                          frame_size_probs=(0.5, 0.5), target_size=(10.0, 110.0),
                          target_aspect=(0.25, 1.0), min_side=3.0, max_side=250.0,
                          categories=("person",), category_probs=(1.0,), p_display=0.5,
                          p_lookalike=1.0, p_follow=0.4, distractors=(0, 2), p_leave=0.15),
    # the mix: every category, 3-200 px, 8-bit display and 16-bit raw, 160x120 .. 1920x1080
    "realistic": SynthConfig(name="realistic", scene="rich",
                             frame_sizes=((160, 120), (320, 256), (640, 512), (1280, 1024), (1920, 1080)),
                             frame_size_probs=(0.25, 0.3, 0.3, 0.1, 0.05), target_size=(3.0, 200.0),
                             target_aspect=(0.25, 4.0), min_side=2.0, max_side=250.0,
                             categories=("person", "vehicle", "animal", "drone", "bird"),
                             category_probs=(0.3, 0.2, 0.2, 0.22, 0.08), p_display=0.5,
                             distractors=(0, 3), p_occlusion=0.35, p_leave=0.2, camera_motion=(0.0, 0.2)),
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


def _blend(frame, vis, fy, fx, alpha, value, is_target: bool) -> None:
    """Alpha-blend one layer's radiance into ``frame[fy, fx]``; a target layer marks the pixels it
    covers (alpha > 0.5) as visible, an occluder layer hides them."""
    frame[fy, fx] = frame[fy, fx] * (1 - alpha) + alpha * value
    if is_target:
        vis[fy, fx] |= alpha > 0.5
    else:
        vis[fy, fx] &= ~(alpha > 0.5)


def _visible_box(vis: np.ndarray, min_pixels: float):
    """Tight [x, y, w, h] of the visible target pixels, or None when fewer than ``min_pixels``."""
    ys, xs = np.nonzero(vis)
    if not len(xs) or len(xs) < min_pixels:
        return None
    return [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()]


def _paste(canvas: np.ndarray, x0: int, y0: int, patch: np.ndarray) -> Optional[Tuple[slice, slice, slice, slice]]:
    """Slices (frame rows, frame cols, patch rows, patch cols) of a patch's overlap with canvas."""
    H, W = canvas.shape[:2]
    h, w = patch.shape[:2]
    fx0, fy0 = max(0, x0), max(0, y0)
    fx1, fy1 = min(W, x0 + w), min(H, y0 + h)
    if fx1 <= fx0 or fy1 <= fy0:
        return None
    return slice(fy0, fy1), slice(fx0, fx1), slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0)


class _Sensor:
    """Raw sensor effects on a float frame in counts: optical blur, vignetting, fixed-pattern
    row/column noise, temporal noise, slow drift and FFC offset jumps (which also redraw the column
    pattern). The random draws happen in a fixed order (the classic scenes' output depends on it)."""

    def __init__(self, rng: np.random.Generator, cfg: SynthConfig, H: int, W: int, n: int):
        self.rng, self.cfg, self.H, self.W = rng, cfg, H, W
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        r2 = ((xx - W / 2) / (W / 2)) ** 2 + ((yy - H / 2) / (H / 2)) ** 2
        self.vignette = -rng.uniform(*cfg.vignetting) * r2 / 2.0
        self.fpn_sigma = rng.uniform(*cfg.fpn_std)
        self.fpn = self._draw_fpn()
        self.noise_sigma = rng.uniform(*cfg.temporal_noise)
        self.blur_sigma = rng.uniform(*cfg.optical_blur)
        self.drift = _smooth_path(rng, n, rng.uniform(-20, 20, (max(2, n // 50 + 2), 1)), 5.0)[:, 0]
        self.ffc_frames = set()
        if rng.random() < cfg.p_ffc and n > 4:
            self.ffc_frames = set(int(f) for f in rng.integers(2, n, size=int(rng.integers(1, 3))))
        self.offset = 0.0

    def _draw_fpn(self) -> np.ndarray:
        rng = self.rng
        return (rng.standard_normal((self.H, 1)) * self.fpn_sigma * rng.uniform(0.3, 1.0)
                + rng.standard_normal((1, self.W)) * self.fpn_sigma).astype(np.float32)

    def apply(self, frame: np.ndarray, i: int) -> np.ndarray:
        import cv2

        if i in self.ffc_frames:  # FFC: offset jump and a fresh column pattern
            self.offset += self.rng.choice([-1, 1]) * self.rng.uniform(*self.cfg.ffc_jump)
            self.fpn = self._draw_fpn()
        frame = cv2.GaussianBlur(frame, (0, 0), self.blur_sigma)
        frame += self.vignette + self.fpn + self.offset + self.drift[i]
        frame += self.rng.standard_normal((self.H, self.W)).astype(np.float32) * self.noise_sigma
        return frame


# --------------------------------------------------------------------------------------------
# scene


@dataclass
class SyntheticSequence:
    """A generated sequence in memory: uint16 frames and (N, 4) xywh ground truth (NaN = absent)."""

    frames: List[np.ndarray]
    boxes: np.ndarray
    info: Dict[str, object] = field(default_factory=dict)


def _background(rng: np.random.Generator, cfg: SynthConfig, H: int, W: int, level: float,
                textures: Seq[str] = TEXTURE_NAMES) -> np.ndarray:
    """Clutter canvas (H, W) float32 in counts: texture + gradients + warm/cold structures."""
    import cv2

    name = textures[int(rng.integers(len(textures)))]
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


def generate_sequence(cfg: SynthConfig, n_frames: int, seed: int, index: int = 0,
                      render_target: bool = True) -> SyntheticSequence:
    """Generate sequence ``index`` for ``seed`` (deterministic). ``render_target=False`` (rich
    scenes only) renders the same scene with the same random draws but without the target (its
    rows are NaN): the difference of the two shows exactly the target's pixels."""
    import cv2

    if n_frames < 2:
        raise ValueError(f"a sequence needs at least 2 frames, got {n_frames}")
    if cfg.scene == "rich":
        return _generate_rich(cfg, int(n_frames), seed, index, render_target)
    if cfg.scene != "classic":
        raise ValueError(f"unknown scene {cfg.scene!r}; valid: classic, rich")
    if not render_target:
        raise ValueError("render_target=False is only available for rich scenes")
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

    sensor = _Sensor(rng, cfg, H, W, n)

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
        box = _visible_box(vis, cfg.min_visible_fraction * max(1, t_area))
        if box is not None:
            boxes[i] = box
        frame = sensor.apply(frame, i)
        frames.append(np.clip(np.round(frame), 0, MAX_COUNT).astype(np.uint16))

    info = {"shape": shape, "size": (W, H), "distractors": n_dis, "occluders": len(occluders),
            "leave": leave, "ffc_frames": sorted(sensor.ffc_frames), "init_area": full_area}
    return SyntheticSequence(frames, boxes, info)


# ============================================================================================
# rich scenes: articulated people, vehicles, animals, drones and birds; look-alike groups; cold
# targets; pan/tilt/zoom; 16-bit raw or 8-bit display video (AGC, gamma, sharpening, JPEG,
# burnt-in overlays)

#: target categories of the rich scenes (``info["shape"]`` of a rich sequence is one of these)
CATEGORIES = ("person", "vehicle", "animal", "drone", "bird")

# backdrop families per target category and their probabilities
_BACKDROPS: Dict[str, Tuple[Tuple[str, ...], Tuple[float, ...]]] = {
    "person": (("street", "field", "topdown"), (0.55, 0.35, 0.1)),
    "vehicle": (("street", "topdown"), (0.45, 0.55)),
    "animal": (("field", "street"), (0.7, 0.3)),
    "drone": (("sky", "street"), (0.8, 0.2)),
    "bird": (("sky", "field"), (0.8, 0.2)),
}

# A figure is a list of primitives in figure units (x right, y down), each with a relative emission:
#   ("ellipse", x, y, ax, ay, angle_deg, e) | ("poly", [(x, y), ...], e) | ("limb", x0, y0, x1, y1, t, e)
_Part = tuple


def _circle(x: float, y: float, r: float, e: float) -> _Part:
    return ("ellipse", x, y, r, r, 0.0, e)


def _rect(x0: float, y0: float, x1: float, y1: float, e: float) -> _Part:
    return ("poly", [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], e)


def _person_parts(p: Dict[str, float], phase: float, moving: float) -> List[_Part]:
    """Person facing right (height 1, y 0 = top of head): head, neck, torso, two arms, two legs;
    limbs swing with the walking ``phase`` (0 = standing pose when ``moving`` is 0)."""
    b, sw = p["build"], p["swing"] * moving
    s, c = math.sin(phase), math.cos(phase)
    eh, et, el, ea, ehand = p["e_head"], p["e_torso"], p["e_legs"], p["e_arms"], p["e_hands"]
    hip_y, sh_y = 0.52, 0.19
    L1, L2, A1, A2 = 0.245, 0.245, 0.165, 0.155
    out: List[_Part] = []
    if p["view"] < 0.5:  # side view
        def leg(side: int) -> List[_Part]:
            a = side * (0.45 * sw * s) + side * p["stance"]
            bend = 0.6 * sw * max(0.0, side * c)  # the knee bends while the leg swings forward
            kx, ky = L1 * math.sin(a), hip_y + L1 * math.cos(a)
            a2 = a - bend
            fx, fy = kx + L2 * math.sin(a2), ky + L2 * math.cos(a2)
            k = 1.0 if side > 0 else 0.93
            return [("limb", 0.0, hip_y, kx, ky, 0.085 * b, el * k), ("limb", kx, ky, fx, fy, 0.065 * b, el * k),
                    ("limb", fx, fy, fx + 0.06, fy, 0.04 * b, el * k * 0.95)]

        def arm(side: int) -> List[_Part]:
            ua = -side * 0.55 * sw * s + side * 0.5 * p["stance"]
            ex, ey = A1 * math.sin(ua), sh_y + A1 * math.cos(ua)
            fa = ua + 0.15 + 0.5 * sw * max(0.0, -side * s)
            hx, hy = ex + A2 * math.sin(fa), ey + A2 * math.cos(fa)
            k = 1.0 if side > 0 else 0.92
            return [("limb", 0.0, sh_y, ex, ey, 0.055 * b, ea * k), ("limb", ex, ey, hx, hy, 0.048 * b, ea * k),
                    _circle(hx, hy, 0.03 * b, ehand * k)]

        torso = [("poly", [(-0.06 * b, 0.17), (0.075 * b, 0.17), (0.07 * b, 0.545), (-0.065 * b, 0.545)], et),
                 ("ellipse", 0.005, 0.2, 0.07 * b, 0.045, 0.0, et)]
        out += arm(-1) + leg(-1) + torso
        out += [("limb", 0.0, 0.11, 0.005, 0.18, 0.05 * b, eh * 0.9), _circle(0.012, 0.066, 0.066, eh)]
        out += leg(1) + arm(1)
    else:  # walking towards or away from the camera: legs and arms swing in depth
        for side in (-1, 1):
            lift = 0.14 * sw * max(0.0, side * s)
            x = side * (0.055 + 0.3 * p["stance"]) * b
            out.append(("limb", x, hip_y, x * 1.1, hip_y + (L1 + L2) * (1 - lift), 0.08 * b, el))
            alift = 0.12 * sw * max(0.0, -side * s)
            ax = side * 0.125 * b
            hx, hy = side * 0.16 * b, sh_y + (A1 + A2) * (1 - alift)
            out += [("limb", ax, sh_y + 0.01, hx, hy, 0.055 * b, ea), _circle(hx, hy, 0.03 * b, ehand)]
        out += [("poly", [(-0.125 * b, 0.17), (0.125 * b, 0.17), (0.1 * b, 0.55), (-0.1 * b, 0.55)], et),
                ("limb", 0.0, 0.11, 0.0, 0.18, 0.055 * b, eh * 0.9), _circle(0.0, 0.066, 0.068, eh)]
    return out


def _animal_parts(p: Dict[str, float], phase: float, moving: float) -> List[_Part]:
    """Quadruped facing right (body length about 1, y 0 = body axis): body, neck and head, four
    legs in a trotting gait (diagonal pairs), tail."""
    bh, L, sw = p["body_h"], p["leg"], 0.4 * moving
    lt = max(0.04, 0.22 * bh) * p["thick"]
    eb, ehd, el, etl = p["e_body"], p["e_head"], p["e_legs"], p["e_tail"]
    y_top = 0.15 * bh

    def leg(x: float, off: float, k: float) -> _Part:
        a = sw * math.sin(phase + off)
        return ("limb", x, y_top, x + L * math.sin(a), y_top + L * math.cos(a), lt, el * k)

    tang = p["tail_angle"] + 0.12 * math.sin(0.5 * phase)
    tail = ("limb", -0.4, -0.15 * bh, -0.4 - p["tail"] * math.cos(tang), -0.15 * bh + p["tail"] * math.sin(tang),
            max(0.02, p["tail_t"]), etl)
    hx, hy = 0.36 + p["neck"] * 0.5, -0.2 * bh - p["neck"] * 0.85
    out = [leg(-0.28, math.pi, 0.9), leg(0.27, 0.0, 0.9), tail,
           ("ellipse", 0.0, 0.0, 0.42, bh / 2, 0.0, eb),
           ("limb", 0.3, -0.05 * bh, hx, hy, max(0.05, 0.5 * bh) * p["thick"], eb * 1.02),
           ("ellipse", hx + p["head"] * 0.55, hy, p["head"] * 1.35, p["head"] * 0.8, 25.0, ehd),
           leg(-0.3, 0.0, 1.0), leg(0.29, math.pi, 1.0)]
    return out


def _vehicle_parts(p: Dict[str, float], phase: float, moving: float) -> List[_Part]:
    """Vehicle facing right, length 1: from the side (y 0 = ground) with hot engine, exhaust, warm
    tyres and cold windows, or from above (``view`` 1) with hot bonnet and cold glass."""
    kind, eb, eg, ee = int(p["kind"]), p["e_body"], p["e_glass"], p["e_engine"]
    if p["view"] < 0.5:
        r = (0.075, 0.08, 0.058, 0.07)[kind]
        clear = 0.55 * r
        out: List[_Part] = []
        if kind == 0:  # car
            top = clear + 0.17
            out += [_rect(-0.5, -top, 0.5, -clear, eb),
                    ("poly", [(-0.33, -top), (0.23, -top), (0.08, -top - 0.15), (-0.25, -top - 0.15)], eb * 0.95),
                    ("poly", [(-0.29, -top - 0.01), (0.19, -top - 0.01), (0.06, -top - 0.13), (-0.23, -top - 0.13)], eg),
                    _rect(0.28, -top + 0.02, 0.5, -clear, ee)]
            exhaust = (-0.5, -clear - 0.01)
        elif kind == 1:  # van
            top = clear + 0.33
            out += [("poly", [(-0.5, -top), (0.3, -top), (0.5, -top + 0.15), (0.5, -clear), (-0.5, -clear)], eb),
                    ("poly", [(0.31, -top + 0.02), (0.47, -top + 0.16), (0.31, -top + 0.16)], eg),
                    _rect(-0.45, -top + 0.03, 0.25, -top + 0.12, eg * 1.05),
                    _rect(0.33, -top + 0.2, 0.5, -clear, ee)]
            exhaust = (-0.5, -clear - 0.01)
        elif kind == 2:  # bus: engine at the rear
            top = clear + 0.29
            out += [_rect(-0.5, -top, 0.5, -clear, eb),
                    _rect(-0.46, -top + 0.04, 0.44, -top + 0.13, eg),
                    _rect(0.455, -top + 0.03, 0.5, -top + 0.2, eg),
                    _rect(-0.5, -top + 0.17, -0.38, -clear, ee)]
            exhaust = (-0.5, -top + 0.02)
        else:  # truck: cab at the front, cooler cargo box
            top = clear + 0.36
            out += [_rect(-0.5, -top, 0.24, -clear - 0.02, eb * 0.8),
                    _rect(0.27, -top + 0.05, 0.5, -clear, eb),
                    _rect(0.35, -top + 0.08, 0.48, -top + 0.17, eg),
                    _rect(0.27, -top + 0.22, 0.5, -clear, ee)]
            exhaust = (0.25, -top + 0.02)
        out.append(_circle(exhaust[0], exhaust[1], 0.028, ee * 1.25))
        xs = {0: (-0.32, 0.32), 1: (-0.33, 0.33), 2: (-0.33, 0.3), 3: (-0.38, -0.22, 0.36)}[kind]
        for x in xs:
            out += [_circle(x, -r, r, p["e_tyre"]), _circle(x, -r, 0.45 * r, p["e_tyre"] * 1.15)]
        return out
    wd = (0.44, 0.46, 0.27, 0.3)[kind] / 2
    out = [("poly", [(-0.5, -wd * 0.85), (-0.46, -wd), (0.44, -wd), (0.5, -wd * 0.8), (0.5, wd * 0.8),
                     (0.44, wd), (-0.46, wd), (-0.5, wd * 0.85)], eb)]
    if kind == 0:
        out += [_rect(0.2, -wd * 0.9, 0.5, wd * 0.9, ee), _rect(0.07, -wd * 0.85, 0.2, wd * 0.85, eg),
                _rect(-0.25, -wd * 0.85, 0.07, wd * 0.85, eb * p["e_roof"]),
                _rect(-0.36, -wd * 0.8, -0.25, wd * 0.8, eg)]
    elif kind == 1:
        out += [_rect(0.32, -wd * 0.9, 0.5, wd * 0.9, ee), _rect(0.24, -wd * 0.85, 0.32, wd * 0.85, eg),
                _rect(-0.48, -wd * 0.85, 0.24, wd * 0.85, eb * p["e_roof"])]
    elif kind == 2:
        out += [_rect(-0.5, -wd * 0.9, -0.4, wd * 0.9, ee), _rect(0.46, -wd * 0.9, 0.5, wd * 0.9, eg),
                _rect(-0.2, -wd * 0.5, 0.0, wd * 0.5, eb * 1.15), _rect(0.15, -wd * 0.5, 0.3, wd * 0.5, eb * 1.1)]
    else:
        out += [_rect(0.28, -wd, 0.5, wd, ee), _rect(-0.5, -wd, 0.25, wd, eb * p["e_roof"])]
    return out


def _drone_parts(p: Dict[str, float], phase: float, moving: float) -> List[_Part]:
    """Small drone, span 1: quadcopter seen from below (X arms, hot motors), from the side (arms,
    motors, landing legs), or a fixed-wing airframe."""
    kind, eb, em, ea = int(p["kind"]), p["e_body"], p["e_motor"], p["e_arms"]
    if kind == 0:
        out: List[_Part] = []
        for sx, sy in ((-1, -1), (1, -1), (-1, 1), (1, 1)):
            out.append(("limb", 0.0, 0.0, 0.33 * sx, 0.33 * sy, 0.07, ea))
        out.append(("ellipse", 0.0, 0.0, 0.15, 0.12, 0.0, eb))
        out += [_circle(0.34 * sx, 0.34 * sy, 0.085, em) for sx, sy in ((-1, -1), (1, -1), (-1, 1), (1, 1))]
        return out
    if kind == 1:
        tilt = 0.03 * math.sin(phase)
        return [("limb", -0.1, 0.05, -0.16, 0.17, 0.03, ea * 0.8), ("limb", 0.1, 0.05, 0.16, 0.17, 0.03, ea * 0.8),
                ("limb", -0.43, -tilt, 0.43, tilt, 0.055, ea), ("ellipse", 0.0, 0.0, 0.17, 0.085, 0.0, eb),
                ("ellipse", -0.43, -0.035 - tilt, 0.05, 0.045, 0.0, em),
                ("ellipse", 0.43, -0.035 + tilt, 0.05, 0.045, 0.0, em),
                ("ellipse", -0.43, -0.08 - tilt, 0.15, 0.012, 0.0, ea * 0.85),
                ("ellipse", 0.43, -0.08 + tilt, 0.15, 0.012, 0.0, ea * 0.85)]
    return [("poly", [(0.02, -0.5), (0.13, -0.5), (0.13, 0.5), (0.02, 0.5)], ea),
            ("poly", [(-0.34, -0.16), (-0.27, -0.16), (-0.27, 0.16), (-0.34, 0.16)], ea * 0.9),
            ("ellipse", 0.0, 0.0, 0.36, 0.05, 0.0, eb), _circle(0.34, 0.0, 0.04, em)]


def _bird_parts(p: Dict[str, float], phase: float, moving: float) -> List[_Part]:
    """Bird facing right, span about 1: body, head, tail and two flapping wings."""
    s = math.sin(phase)
    eb, ew = p["e_body"], p["e_wings"]
    tip_y, tip_x = -0.42 * s, -0.08 + 0.06 * math.cos(phase)
    out = [("poly", [(0.07, -0.01), (-0.07, -0.01), (tip_x - 0.06, tip_y * 0.92)], ew * 0.9)]
    out += [("poly", [(-0.14, 0.0), (-0.3, -0.05), (-0.3, 0.05)], eb * 0.8),
            ("ellipse", 0.0, 0.0, 0.18, 0.065, 0.0, eb), _circle(0.19, -0.02, 0.05, eb * 1.08),
            ("poly", [(0.08, 0.0), (-0.06, 0.0), (tip_x, tip_y)], ew)]
    return out


def _post_parts(p: Dict[str, float], phase: float, moving: float) -> List[_Part]:
    """Post, pole or tree trunk: width 1, height ``p["height"]``, centred."""
    h = p["height"] / 2
    return [_rect(-0.5, -h, 0.5, h, 1.0)]


_PARTS = {"person": _person_parts, "animal": _animal_parts, "vehicle": _vehicle_parts, "drone": _drone_parts,
          "bird": _bird_parts, "post": _post_parts}


def _figure_params(rng: np.random.Generator, category: str, view: str) -> Dict[str, float]:
    """Random proportions and part emissions (relative to the body, about 1) of one figure."""
    u = rng.uniform
    if category == "person":
        return {"build": u(0.85, 1.2), "swing": u(0.7, 1.1), "stance": u(0.02, 0.08),
                "view": float(rng.random() < 0.25), "e_head": u(1.2, 1.5), "e_torso": u(0.75, 1.05),
                "e_legs": u(0.7, 1.0), "e_arms": u(0.75, 1.0), "e_hands": u(1.05, 1.3)}
    if category == "animal":
        kind = int(rng.choice(3, p=[0.35, 0.4, 0.25]))  # horse/deer, dog/fox, small (possum, rodent)
        leg, bh, neck = [(u(0.45, 0.6), u(0.26, 0.34), u(0.2, 0.35)), (u(0.28, 0.42), u(0.25, 0.34), u(0.05, 0.15)),
                         (u(0.12, 0.22), u(0.32, 0.45), u(0.0, 0.06))][kind]
        return {"leg": leg, "body_h": bh, "neck": neck, "head": u(0.07, 0.12) if kind else u(0.08, 0.1),
                "tail": u(0.15, 0.5), "tail_t": u(0.02, 0.06), "tail_angle": u(0.3, 1.2), "thick": u(0.9, 1.2),
                "e_body": 1.0, "e_head": u(1.05, 1.35), "e_legs": u(0.75, 1.0), "e_tail": u(0.6, 0.9)}
    if category == "vehicle":
        return {"kind": float(rng.choice(4, p=[0.55, 0.15, 0.15, 0.15])), "view": float(view == "top"),
                "e_body": u(0.8, 1.0), "e_glass": u(0.35, 0.7), "e_engine": u(1.3, 2.0), "e_tyre": u(1.05, 1.5),
                "e_roof": u(0.7, 1.0)}
    if category == "drone":
        return {"kind": float(rng.choice(3, p=[0.5, 0.35, 0.15])), "e_body": u(1.0, 1.3),
                "e_motor": u(1.3, 1.9), "e_arms": u(0.7, 0.95)}
    if category == "bird":
        return {"e_body": u(1.0, 1.3), "e_wings": u(0.6, 0.9)}
    if category == "post":
        return {"height": u(4.0, 30.0)}
    raise ValueError(f"unknown figure category {category!r}")


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


def _lowfreq(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Zero-mean, unit-std smooth random field with features of about ``cell`` px (cheap at any size)."""
    import cv2

    gh, gw = max(2, int(h / max(cell, 1.0)) + 2), max(2, int(w / max(cell, 1.0)) + 2)
    f = cv2.resize(rng.standard_normal((gh, gw)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return _normalise(f)


@dataclass
class _Road:
    """A straight road in world coordinates: horizontal (``vertical`` False: centre is a y) or vertical."""

    vertical: bool
    centre: float
    width: float


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
        sky_cold = std * rng.uniform(3.0, 10.0)
        sky = level - sky_cold * (1.0 + 0.5 * np.clip((hz - yy) / max(Hw, 1), 0, 1))
        sky = sky + np.zeros((1, Ww), np.float32)
        cloud = 1.0 / (1.0 + np.exp(-(_lowfreq(rng, Hw, Ww, rng.uniform(0.1, 0.4) * max(Hw, Ww))
                                      - rng.uniform(-0.5, 1.5)) * rng.uniform(1.5, 6.0)))
        sky += cloud * sky_cold * rng.uniform(0.2, 0.9)
        sky += np.exp(-np.clip(hz - yy, 0, None) / (rng.uniform(0.03, 0.2) * Hw)) * sky_cold * rng.uniform(0, 0.6)
        sky += _smooth_noise(rng, Hw, Ww, 1.0) * std * rng.uniform(0.02, 0.1)
        above = (1.0 / (1.0 + np.exp(np.clip(-(hz - yy) * 0.7, -50, 50)))).astype(np.float32)
        bg = bg * (1 - above) + sky.astype(np.float32) * above
        # tree line: a band with crowns along the horizon, foliage texture, about ambient temperature
        if rng.random() < (0.75 if backdrop == "sky" else 0.6):
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
            bg = bg * (1 - m) + foliage * m
        # buildings / roofs on the horizon with windows (cold glass or lit rooms)
        for _ in range(int(rng.integers(0, 5 if backdrop == "street" else 3))):
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
        # towers and poles against the sky (thin lattice or pole with a warm lamp)
        if backdrop == "sky" and rng.random() < 0.35:
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
    if backdrop == "topdown":
        # roofs (cool, with vents), trees (warm crowns), parked cars
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
    for road in roads:
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
    return bg.astype(np.float32)


_OVERLAY_WORDS = ("THERMAL", "IR CAM", "LWIR", "NIGHT VISION", "SECURITY", "PTZ-2", "OBSERVER", "CH-IR")


class _Overlay:
    """Burnt-in on-screen display drawn into every 8-bit frame: status text (date/time that runs,
    azimuth/elevation/field of view, channel, zoom), a crosshair or corner brackets, a faint
    watermark, and a colour-scale bar or a measuring bar."""

    def __init__(self, rng: np.random.Generator, H: int, W: int):
        self.H, self.W = H, W
        self.font = int(rng.choice([0, 1, 2, 3, 4]))  # cv2 Hershey fonts
        self.fs = max(0.3, H / 520 * rng.uniform(0.5, 1.1))
        self.th = 1 if self.fs < 0.9 or rng.random() < 0.5 else 2
        self.colour = float(rng.choice([255.0, 235.0, 0.0, 30.0], p=[0.5, 0.2, 0.2, 0.1]))
        self.outline = rng.random() < 0.3
        y, mo, d = int(rng.integers(2015, 2026)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
        self.t0 = int(rng.integers(0, 86400))
        self.fps = float(rng.choice([9.0, 25.0, 30.0]))
        self.date = f"{y}-{mo:02d}-{d:02d}" if rng.random() < 0.6 else f"{d:02d}/{mo:02d}/{y}"
        self.az, self.el, self.fov = rng.uniform(0, 360), rng.uniform(-5, 30), rng.uniform(0.5, 40)
        self.lines = [k for k in ("time", "angles", "channel", "zoom") if rng.random() < 0.6] or ["time"]
        self.bottom = rng.random() < 0.3
        self.cross = str(rng.choice(["none", "cross", "brackets", "both"], p=[0.3, 0.3, 0.25, 0.15]))
        self.cross_size = rng.uniform(0.03, 0.12) * min(H, W)
        self.watermark = (str(rng.choice(_OVERLAY_WORDS)), rng.uniform(0.08, 0.3), rng.uniform(0.05, 0.6),
                          rng.uniform(0.2, 0.8)) if rng.random() < 0.4 else None
        self.bar = str(rng.choice(["none", "palette", "measure"], p=[0.5, 0.3, 0.2]))
        self.channel = int(rng.integers(1, 5))

    def _text(self, img: np.ndarray, text: str, org: Tuple[int, int], scale: float, colour: float,
              thickness: int) -> None:
        import cv2

        if self.outline:
            cv2.putText(img, text, org, self.font, scale, 255.0 - colour, thickness + 2, cv2.LINE_AA)
        cv2.putText(img, text, org, self.font, scale, colour, thickness, cv2.LINE_AA)

    def draw(self, img: np.ndarray, i: int) -> np.ndarray:
        import cv2

        H, W = self.H, self.W
        out = img.copy()
        line_h = int(28 * self.fs) + 4
        t = self.t0 + int(i / self.fps)
        texts = {"time": f"{self.date} {t // 3600 % 24:02d}:{t // 60 % 60:02d}:{t % 60:02d}",
                 "angles": f"AZ {self.az + 0.01 * i:.2f}  EL {self.el:.2f}  FOV {self.fov:.2f}",
                 "channel": f"CH{self.channel} IR", "zoom": f"x{40 / self.fov:.1f}"}
        y = H - 8 - line_h * (len(self.lines) - 1) if self.bottom else line_h
        for k in self.lines:
            self._text(out, texts[k], (8, y), self.fs, self.colour, self.th)
            y += line_h
        cx, cy, s = W // 2, H // 2, int(self.cross_size)
        if self.cross in ("cross", "both"):
            g = max(2, s // 4)
            for (a, b) in (((cx - s, cy), (cx - g, cy)), ((cx + g, cy), (cx + s, cy)),
                           ((cx, cy - s), (cx, cy - g)), ((cx, cy + g), (cx, cy + s))):
                cv2.line(out, a, b, self.colour, self.th)
        if self.cross in ("brackets", "both"):
            bw, bh, L = int(W * 0.2), int(H * 0.2), max(4, s)
            for sx, sy in ((-1, -1), (1, -1), (-1, 1), (1, 1)):
                px, py = cx + sx * bw, cy + sy * bh
                cv2.line(out, (px, py), (px - sx * L, py), self.colour, self.th)
                cv2.line(out, (px, py), (px, py - sy * L), self.colour, self.th)
        if self.watermark is not None:
            word, alpha, fx, fy = self.watermark
            wm = np.zeros_like(out)
            scale = max(0.5, W / 400)
            cv2.putText(wm, word, (int(fx * W), int(fy * H) + int(30 * scale)), cv2.FONT_HERSHEY_DUPLEX, scale,
                        255, max(1, int(scale * 2)), cv2.LINE_AA)
            a = wm.astype(np.float32) * (alpha / 255.0)
            out = np.clip(np.round(out * (1 - a) + a * self.colour), 0, 255).astype(np.uint8)
        if self.bar == "palette":
            bw, bh = max(4, W // 60), H // 3
            x0, y0 = W - bw - 10, H // 3
            out[y0:y0 + bh, x0:x0 + bw] = np.linspace(255, 0, bh).astype(np.uint8)[:, None]
            self._text(out, f"{self.az / 10:.1f}", (x0 - int(60 * self.fs), y0 + 10), self.fs * 0.8, self.colour, 1)
            self._text(out, f"{self.el:.1f}", (x0 - int(60 * self.fs), y0 + bh), self.fs * 0.8, self.colour, 1)
        elif self.bar == "measure":
            L, y0 = W // 8, H - 14
            cv2.line(out, (10, y0), (10 + L, y0), self.colour, self.th)
            cv2.line(out, (10, y0 - 5), (10, y0 + 3), self.colour, self.th)
            cv2.line(out, (10 + L, y0 - 5), (10 + L, y0 + 3), self.colour, self.th)
            self._text(out, f"{int(self.fov * 2) + 1} m", (14 + L, y0 + 4), self.fs * 0.8, self.colour, 1)
        return out


class _Display:
    """Camera-side conversion of a radiometric frame to 8-bit display video: AGC (percentile or
    min/max stretch that adapts slowly, or local contrast equalisation), gamma, white-hot or
    black-hot palette, unsharp-mask sharpening (halos), burnt-in overlays, JPEG-like compression."""

    def __init__(self, rng: np.random.Generator, cfg: SynthConfig, H: int, W: int):
        self.rng = rng
        self.mode = str(rng.choice(["percentile", "minmax", "equalise"], p=[0.55, 0.2, 0.25]))
        self.p_lo, self.p_hi = (0.0, 100.0) if self.mode == "minmax" else (rng.uniform(0, 3), rng.uniform(97, 100))
        self.rate = math.exp(rng.uniform(math.log(0.03), math.log(1.0)))
        self.gamma = math.exp(rng.uniform(math.log(0.65), math.log(1.5)))
        self.black_hot = bool(rng.random() < cfg.p_black_hot)
        self.sharpen = (rng.uniform(0.8, 2.5), rng.uniform(0.3, 1.5)) if rng.random() < 0.7 else None
        self.jpeg = int(rng.integers(30, 93)) if rng.random() < cfg.p_jpeg else None
        self.overlay = _Overlay(rng, H, W) if rng.random() < cfg.p_overlay else None
        self.noise = rng.uniform(0.0, 1.5)
        self.clip_limit = rng.uniform(1.5, 4.0)
        self.lo: Optional[float] = None
        self.hi: Optional[float] = None

    def apply(self, frame: np.ndarray, i: int) -> np.ndarray:
        import cv2

        frame = frame.astype(np.float32, copy=False)
        sub = frame[::4, ::4]
        lo, hi = (float(v) for v in np.percentile(sub, [self.p_lo, self.p_hi]))
        if self.lo is None:
            self.lo, self.hi = lo, hi
        else:  # slow AGC: the stretch follows the scene with a lag
            self.lo += self.rate * (lo - self.lo)
            self.hi += self.rate * (hi - self.hi)
        span = max(self.hi - self.lo, 20.0)
        x = np.clip((frame - np.float32(self.lo)) * np.float32(1.0 / span), 0.0, 1.0)
        if self.mode == "equalise":
            clahe = cv2.createCLAHE(clipLimit=self.clip_limit, tileGridSize=(8, 8))
            x = clahe.apply(np.round(x * 255).astype(np.uint8)).astype(np.float32) / 255.0
        x = x ** np.float32(self.gamma)
        if self.black_hot:
            x = 1.0 - x
        if self.sharpen is not None:
            sigma, amount = self.sharpen
            x = x + np.float32(amount) * (x - cv2.GaussianBlur(x, (0, 0), sigma))
        x = x * np.float32(255.0) + self.rng.standard_normal(x.shape, dtype=np.float32) * np.float32(self.noise)
        img = np.clip(np.round(x), 0, 255).astype(np.uint8)
        if self.overlay is not None:
            img = self.overlay.draw(img, i)
        if self.jpeg is not None:
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg])
            if not ok:
                raise RuntimeError("JPEG encoding of a generated frame failed")
            img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
        return img


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
