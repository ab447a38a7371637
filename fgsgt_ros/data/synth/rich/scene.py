"""The rich generator: composes a scene from its parts (setup, target, camera, backdrop, actors)
and renders it through the sensor and, for display video, the camera's 8-bit pipeline."""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np

from fgsgt_ros.data.synth.compose import SyntheticSequence, _blend, _finish_frame, _paste, _to_counts
from fgsgt_ros.data.synth.config import SynthConfig
from fgsgt_ros.data.synth.rich.actors import (_Actor, _clear_first_frame, _lookalikes, _other_objects, _posts,
                                              _target_actor)
from fgsgt_ros.data.synth.rich.backdrop import _world_canvas
from fgsgt_ros.data.synth.rich.camera import _camera_path, _place_target, _size_path
from fgsgt_ros.data.synth.rich.display import _Display
from fgsgt_ros.data.synth.rich.figure import _render_figure
from fgsgt_ros.data.synth.rich.setup import _Scene, _choose_scene
from fgsgt_ros.data.synth.rich.target import _target_figure
from fgsgt_ros.data.synth.sensor import _Sensor


def _render_rich(s: _Scene, layers: List[Tuple[str, _Actor]], sensor: _Sensor, camera: Optional[_Display],
                 render_target: bool) -> Tuple[List[np.ndarray], np.ndarray, Optional[int]]:
    """Frames (uint16 counts or uint8 display video), visible-pixel boxes (NaN = absent) and the
    target's frame-1 area."""
    import cv2

    cfg, n, W, H, C, zoom, cam, bg, ox, oy = s.cfg, s.n, s.W, s.H, s.C, s.zoom, s.cam, s.bg, s.ox, s.oy
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
        frame = _finish_frame(frame, vis, t_area, cfg.min_visible_fraction, sensor, boxes, i)
        frames.append(camera.apply(frame, i) if camera is not None else _to_counts(frame))
    return frames, boxes, full_area


def _rich_info(s: _Scene, boxes: np.ndarray, camera: Optional[_Display], sensor: _Sensor,
               dist_info: List[Dict[str, object]], occluders: List[_Actor], full_area: Optional[int],
               render_target: bool) -> Dict[str, object]:
    """``SyntheticSequence.info`` of a rich scene."""
    absent = ~np.isfinite(boxes).all(axis=1)
    zoom = s.zoom
    return {"shape": s.category, "scene": "rich", "backdrop": s.backdrop, "view": s.view, "size": (s.W, s.H),
            "output": "display8" if s.display else "raw16", "cold_target": s.cold,
            "black_hot": bool(camera.black_hot) if camera is not None else False,
            "overlay": camera is not None and camera.overlay is not None,
            "jpeg_quality": camera.jpeg if camera is not None else None,
            "follow": s.follow, "zoom_range": (float(zoom.min()), float(zoom.max())),
            "distractors": len(dist_info), "lookalikes": sum(1 for d in dist_info if d["lookalike"]),
            "distractor_info": dist_info, "occluders": len(occluders),
            "leave": bool(absent[1:].any()) if render_target else s.leave,
            "ffc_frames": sorted(sensor.ffc_frames), "init_area": full_area}


def _generate_rich(cfg: SynthConfig, n: int, seed: int, index: int, render_target: bool = True
                   ) -> SyntheticSequence:
    """A rich scene (see ``SynthConfig.scene``); same determinism and ground-truth convention as
    the classic scenes. ``render_target=False`` renders the same scene (same random draws) without
    the target, whose rows are then NaN. The steps draw from one generator in this order (the
    output depends on it)."""
    rng = np.random.default_rng([int(seed), int(index), 0x71C4])
    s = _choose_scene(rng, cfg, n)
    _target_figure(rng, s)
    _size_path(rng, s)
    _camera_path(rng, s)
    _place_target(rng, s)
    _world_canvas(rng, s)
    target = _target_actor(rng, s)
    behind: List[_Actor] = []
    front: List[_Actor] = []
    _lookalikes(rng, s, target, front, behind)
    _other_objects(rng, s, target, front, behind)
    occluders = _posts(rng, s)
    dist_info = _clear_first_frame(s, target, behind, front, occluders)

    sensor = _Sensor(rng, cfg, s.H, s.W, n)
    camera = _Display(rng, cfg, s.H, s.W) if s.display else None
    layers: List[Tuple[str, _Actor]] = ([("d", a) for a in behind] + [("t", target)]
                                        + [("d", a) for a in front] + [("o", a) for a in occluders])
    frames, boxes, full_area = _render_rich(s, layers, sensor, camera, render_target)
    info = _rich_info(s, boxes, camera, sensor, dist_info, occluders, full_area, render_target)
    return SyntheticSequence(frames, boxes, info)
