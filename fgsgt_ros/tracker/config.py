"""Tracking hyperparameters (one source of truth for their defaults).

The defaults are the public SiamRPN++ TIR variant (a public SiamRPN++ configuration: K=0.01, WI=0.40,
LR=0.38): thermal targets change aspect ratio little between frames but the contrast of a TIR
score map is flatter than in colour video, so a weak scale/ratio penalty and a strong cosine window
work better there. The OTB and VOT settings of SiamRPN++ are available as named presets.

Lost-target handling (our design; SiamRPN++ has only a "long-term" mode, see REFERENCE.md):
- the target's own score level: ``reference`` = median of its last ``reference_frames`` scores
  while TRACKING (how well the network recognises this target in this scene now);
- a frame is weak when its score is below ``min(lost_threshold, lost_relative * reference)``:
  the calibrated absolute threshold, lowered for a target the network scores lower than the
  calibration data (real footage: a visible target scoring 0.76-0.92 against a threshold of 0.879
  calibrated on generated data made the node report LOST on 59 % of a clip's frames), while a
  target that vanishes still drops far below its own recent level;
- TRACKING -> LOST when ``lost_frames`` consecutive frames are weak;
- while LOST the search context ``s_x`` is multiplied by ``reacquire_scale`` (the network input stays
  ``instance_size``, so the crop is coarser), the cosine window is weakened to
  ``lost_window_influence`` (the target may be anywhere in the enlarged region), and the box is only
  moved when the score reaches ``min(recover_threshold, recover_relative * reference)`` (>= the
  LOST level: hysteresis); then the state goes back to TRACKING and the normal search size is
  restored. ``lost_relative`` = 0 switches the relative part off (absolute thresholds only);
- re-detection while LOST (``lost_scan_every``, ``lost_scan_tiles``): some LOST frames search
  tiles of a whole-frame grid at the normal resolution instead, so a small target that comes
  back elsewhere (re-entering the view, leaving cover) is found where the enlarged, coarser
  region would miss it.
The two thresholds compare raw scores, whose level depends on the network (how high it scores
empty background), so they are measured per model: ``fgsgt calibrate --write``
(``fgsgt_ros.evaluation.calibration``) stores them in the checkpoint, and ``build_tracker`` and the
ROS node use the checkpoint's values instead of the defaults below (which remain the defaults of
models without calibration).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Dict, Mapping


#: Field metadata of the per-model settings that ``fgsgt calibrate --write`` measures and stores in
#: a checkpoint's ``extra["tracker_config"]`` (``build_tracker`` and the ROS node then use the
#: checkpoint's values as defaults; the defaults below are for models without calibration).
_CALIBRATED = {"calibrated": True}


#: how ``TrackerConfig.with_text_overrides`` reads a bool
_TRUTH = {"true": True, "1": True, "yes": True, "on": True,
          "false": False, "0": False, "no": False, "off": False}


@dataclass(frozen=True)
class TrackerConfig:
    """Hyperparameters of ``SiameseTracker`` (peers use the lost-target fields only)."""

    #: K of the scale/ratio change penalty exp(-(r_c * s_c - 1) * K).
    penalty_k: float = 0.01
    #: WI: weight of the cosine (Hanning) window in pscore = score*penalty*(1-WI) + window*WI.
    window_influence: float = 0.40
    #: LR: size smoothing rate; the applied rate is penalty * score * LR.
    lr: float = 0.38
    #: Context added around the target: s_z = sqrt((w + c(w+h)) (h + c(w+h))).
    context_amount: float = 0.5
    #: Smallest box side in pixels after the update. pysot's 10 px (colour video, targets of 20 px
    #: and more) inflated 3-10 px thermal targets (a 5x6 px bird became 10x10 and slid off).
    min_size: float = 2.0
    #: Size limits from the target itself: each side stays within [min_scale, max_scale] times its
    #: size at init (and within [min_size, frame size]).
    min_scale: float = 0.2
    max_scale: float = 5.0
    #: Move the search centre with the camera's own motion (global phase correlation).
    camera_motion: bool = False
    #: Linear template update weight g of the newest template (0: the first-frame template only).
    template_update: float = 0.2
    #: Frames between template updates (only confident TRACKING frames count).
    template_update_interval: int = 5
    #: Score needed for a frame to update the template.
    template_update_score: float = 0.9
    #: Weight a of the first-frame template in the template used: a * initial + (1 - a) * running.
    template_keep_initial: float = 0.5
    #: Score below this counts as a "weak" frame.
    lost_threshold: float = field(default=0.3, metadata=_CALIBRATED)
    #: Consecutive weak frames before the state becomes LOST.
    lost_frames: int = 5
    #: Score at or above which a LOST target is re-acquired (>= lost_threshold).
    recover_threshold: float = field(default=0.5, metadata=_CALIBRATED)
    #: Weak below min(lost_threshold, lost_relative * reference); 0 = absolute only. Default: what
    #: ``fgsgt calibrate`` measures for the shipped model on generated data (p5 / median of its
    #: on-target scores, 0.726 / 0.975).
    lost_relative: float = field(default=0.75, metadata=_CALIBRATED)
    #: Re-acquire at min(recover_threshold, recover_relative * reference) (>= lost_relative).
    recover_relative: float = 1.0
    #: Last TRACKING scores whose median is the target's reference score.
    reference_frames: int = 30
    #: Factor applied to the search context s_x while LOST.
    reacquire_scale: float = 2.0
    #: Cosine-window weight while LOST (pysot long-term mode uses 0.001).
    lost_window_influence: float = 0.001
    #: While LOST, every ``lost_scan_every``-th frame searches the next tile of a whole-frame scan
    #: at the tracking resolution (tiles nearest the last position first) instead of the enlarged
    #: region; 0 = off. The enlarged region is coarser by ``reacquire_scale``, which a 3-5 px
    #: target does not survive; with ``lost_scan_tiles`` 1 every frame stays one network pass.
    lost_scan_every: int = 2
    #: Tiles searched on each scan frame, the best-scoring one winning; each is one network pass,
    #: so a scan frame costs about this many tracking steps. More tiles can re-find a small target
    #: sooner where the frame rate leaves time (a 9 Hz camera), not reliably (docs/MODEL_CARD.md).
    lost_scan_tiles: int = 1
    #: Scan frames search where the target's appearance at init matches best (normalised
    #: cross-correlation over the frame, within reach of the last position, matches turned down
    #: recently skipped) before the grid: a target that comes back is found on one of its first
    #: frames instead of when the grid reaches its tile. False: the grid only.
    lost_scan_proposals: bool = True

    def __post_init__(self) -> None:
        if not (0.0 <= self.window_influence <= 1.0 and 0.0 <= self.lost_window_influence <= 1.0):
            raise ValueError("window_influence values must be in [0, 1]")
        if not 0.0 <= self.lr <= 1.0:
            raise ValueError(f"lr must be in [0, 1], got {self.lr}")
        if not 0.0 < self.min_scale <= 1.0 <= self.max_scale:
            raise ValueError("need 0 < min_scale <= 1 <= max_scale")
        if not 0.0 <= self.template_update <= 1.0 or not 0.0 <= self.template_keep_initial <= 1.0:
            raise ValueError("template_update and template_keep_initial must be in [0, 1]")
        if self.template_update_interval < 1:
            raise ValueError("template_update_interval must be >= 1")
        if self.penalty_k < 0 or self.context_amount < 0 or self.min_size <= 0:
            raise ValueError("penalty_k and context_amount must be >= 0, min_size > 0")
        if self.lost_frames < 1:
            raise ValueError(f"lost_frames must be >= 1, got {self.lost_frames}")
        if self.recover_threshold < self.lost_threshold:
            raise ValueError("recover_threshold must be >= lost_threshold")
        if not 0.0 <= self.lost_relative <= self.recover_relative <= 1.0:
            raise ValueError("need 0 <= lost_relative <= recover_relative <= 1")
        if self.reference_frames < 1:
            raise ValueError(f"reference_frames must be >= 1, got {self.reference_frames}")
        if self.lost_scan_every < 0:
            raise ValueError(f"lost_scan_every must be >= 0, got {self.lost_scan_every}")
        if self.lost_scan_tiles < 1:
            raise ValueError(f"lost_scan_tiles must be >= 1, got {self.lost_scan_tiles}")
        if self.reacquire_scale < 1.0:
            raise ValueError(f"reacquire_scale must be >= 1, got {self.reacquire_scale}")

    def to_dict(self) -> Dict[str, float]:
        return asdict(self)

    def with_text_overrides(self, overrides: Mapping[str, str]) -> "TrackerConfig":
        """A copy with fields set from text (``{"lost_scan_tiles": "4"}``, e.g. from a command
        line), each value parsed as its field's type (bool: true/false, 1/0, yes/no, on/off).
        Raises ValueError naming an unknown field, a value that does not parse, or a combination
        ``__post_init__`` refuses."""
        known = {f.name: type(getattr(self, f.name)) for f in fields(self)}
        values: Dict[str, object] = {}
        for name, text in overrides.items():
            if name not in known:
                raise ValueError(f"unknown tracker setting {name!r}; valid: {', '.join(sorted(known))}")
            kind, word = known[name], str(text).strip()
            try:
                if kind is bool:
                    values[name] = _TRUTH[word.lower()]
                else:
                    values[name] = kind(word)
            except (KeyError, ValueError):
                raise ValueError(f"tracker setting {name}={text!r}: not a {kind.__name__}") from None
        return replace(self, **values)

    @classmethod
    def from_dict(cls, values: Mapping[str, object]) -> "TrackerConfig":
        """Build from a mapping (e.g. ROS parameters or a checkpoint's ``extra``); unknown keys raise."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown tracker parameter(s) {unknown}; valid: {sorted(known)}")
        return replace(cls(), **dict(values))


#: Named hyperparameter sets (REFERENCE.md). "tir" is the default ``TrackerConfig()``.
TRACKER_PRESETS: Dict[str, TrackerConfig] = {
    "tir": TrackerConfig(),
    "otb": TrackerConfig(penalty_k=0.24, window_influence=0.5, lr=0.25),
    "vot": TrackerConfig(penalty_k=0.05, window_influence=0.42, lr=0.38),
}


def get_tracker_preset(name: str) -> TrackerConfig:
    try:
        return TRACKER_PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown tracker preset {name!r}; valid: {', '.join(TRACKER_PRESETS)}") from None
