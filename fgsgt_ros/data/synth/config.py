"""Scene configuration: ``SynthConfig``, the named presets and the constants both generators share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

# scikit-image sample images used as background clutter (grey or converted to grey).
TEXTURE_NAMES = ("camera", "brick", "grass", "gravel", "moon", "text", "coins", "page", "cell",
                 "clock", "chelsea", "coffee", "rocket", "astronaut")
#: the rich scenes leave out the sample images of printed text and of isolated round objects
NATURAL_TEXTURES = ("camera", "brick", "grass", "gravel", "moon", "chelsea", "coffee", "rocket", "astronaut")
SHAPES = ("ellipse", "person", "animal", "vehicle", "blob")
MAX_COUNT = 16383  # 14-bit sensor
#: target categories of the rich scenes (``info["shape"]`` of a rich sequence is one of these)
CATEGORIES = ("person", "vehicle", "animal", "drone", "bird")


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
