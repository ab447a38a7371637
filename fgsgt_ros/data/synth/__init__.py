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

Layout: ``config`` (``SynthConfig``, presets, constants), ``textures`` / ``compose`` / ``sensor``
(shared by both generators), ``classic`` (the classic generator), ``rich/`` (the rich generator:
``setup`` (scene state, first draws), ``parts`` and ``figure`` (articulated figures), ``target``,
``motion``, ``camera`` (size path, zoom, pan/tilt, placement), ``backdrop``, ``actors``
(look-alikes, other objects, posts), ``display`` and ``overlay`` (8-bit video, OSD text), ``scene``
(composition and rendering)), ``generate`` (``generate_sequence``), ``dataset``
(``generate_dataset``).
"""

from fgsgt_ros.data.synth.compose import SyntheticSequence
from fgsgt_ros.data.synth.config import (CATEGORIES, MAX_COUNT, NATURAL_TEXTURES, PRESETS, SHAPES, TEXTURE_NAMES,
                                         SynthConfig, get_preset)
from fgsgt_ros.data.synth.dataset import generate_dataset
from fgsgt_ros.data.synth.generate import generate_sequence

__all__ = ["CATEGORIES", "MAX_COUNT", "NATURAL_TEXTURES", "PRESETS", "SHAPES", "TEXTURE_NAMES", "SynthConfig",
           "SyntheticSequence", "generate_dataset", "generate_sequence", "get_preset"]
