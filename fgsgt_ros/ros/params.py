"""The node's parameters, derived from dataclasses (one source of truth for every default).

- ``NodeConfig`` (below) holds what only the node needs (model/device/transport/QoS/outputs).
- ``tracker.*`` parameters come field by field from ``fgsgt_ros.tracker.config.TrackerConfig``,
  ``thermal.*`` from ``fgsgt_ros.tracker.thermal.ThermalConfig`` and ``click.*`` from
  ``fgsgt_ros.tracker.click.ClickConfig``: their defaults, types and (where the dataclass gives one
  in field metadata or its docstring) descriptions. config/fgsgt.yaml only overrides; it never
  restates a default.

When a change takes effect (``ParamSpec.applies``; the node is a lifecycle node):
- ``now``: at once, in any state (all tracker/thermal/click settings: thresholds, penalties, AGC);
- ``activate``: what the subscriptions and the frame buffer are made with: settable while the node
  is not active, used from the next activation (deactivate, set, activate);
- ``configure``: what the model is loaded with (checkpoint, device, ...): settable while the node is
  unconfigured, used by the next configure (deactivate, cleanup, set, configure, activate);
- ``start``: read-only, fixed when the process starts.

No rclpy here (the node turns ``ParamSpec`` into ParameterDescriptors), so the parameter table in
README.md (Parameters) and the YAML template are generated without ROS:
``python -m fgsgt_ros.ros.params --markdown`` / ``--yaml``.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import inspect
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from fgsgt_ros.model.runtime import DEFAULT_NUM_THREADS, DEFAULT_RUNTIME, RUNTIMES
from fgsgt_ros.ros.conversions import MAX_PIXELS as _MAX_PIXELS


#: When a parameter change takes effect (see the module docstring).
APPLIES = ("now", "activate", "configure", "start")
_APPLIES_TEXT = {"now": "settable", "activate": "on activate", "configure": "on configure",
                 "start": "read-only"}


def _f(default, description: str, *, choices: Sequence[str] = (), range: Tuple = (),
       read_only: Optional[bool] = None, applies: Optional[str] = None):
    """A NodeConfig field. ``applies``: when a change takes effect (APPLIES); without it,
    ``read_only=False`` means "now" and anything else "configure" (needs a model reload)."""
    if applies is None:
        applies = "now" if read_only is False else "configure"
    if applies not in APPLIES:
        raise ValueError(f"applies={applies!r} is not one of {APPLIES}")
    return field(default=default, metadata={
        "description": description, "choices": tuple(choices), "range": tuple(range),
        "applies": applies})


@dataclass
class NodeConfig:
    """Node-level settings; tracker/thermal settings live in their own dataclasses."""

    checkpoint: str = _f(
        "", "Model to load: a checkpoint path, a shipped checkpoint name, or an OpenCV peer "
        "(csrt, kcf, mosse, nanotrack). Empty = the shipped fgsgt_nano model (FGSGT on a "
        "pretrained MobileNetV3-small, online branch on); fgsgt_tiny = the model shipped before "
        "it (trained from scratch; ahead on raw 16-bit Lepton video, behind on 8-bit display "
        "video).")
    model_preset: str = _f(
        "", "Expected model preset (e.g. fgsgt_tiny). Empty = whatever the checkpoint holds; "
        "set it to refuse a checkpoint of another architecture at start-up.")
    device: str = _f("auto", "auto, cpu or cuda:N. An absent CUDA device falls back to CPU with "
                     "a warning.")
    precision: str = _f("fp32", "Network precision; fp16 only on CUDA (CPU stays fp32 with a "
                        "warning).", choices=("fp32", "fp16"))
    runtime: str = _f(DEFAULT_RUNTIME, "Network runtime: auto (onnx on a CPU where the onnx and "
                      "onnxruntime packages are installed, else torch), torch (PyTorch) or onnx "
                      "(the network exported once and run by onnxruntime; about 2x faster on a "
                      "CPU). The status and diagnostics say which one runs. OpenCV peers ignore "
                      "it.",
                      choices=RUNTIMES)
    num_threads: int = _f(DEFAULT_NUM_THREADS, "CPU threads for the network (0 = PyTorch's default, all cores). 1 is "
                          "the fastest for these small networks on a CPU shared with the rest "
                          "of the node (docs/BENCHMARKS.md); more can help a large model on an "
                          "idle many-core CPU.", range=(0, 256, 1), applies="now")
    autostart: bool = _f(True, "Configure and activate at start-up (lifecycle). false: the node "
                         "waits unconfigured for a lifecycle manager or `ros2 lifecycle set`.",
                         applies="start")
    input_transport: str = _f("raw", "raw subscribes 'image' (sensor_msgs/Image); compressed "
                              "subscribes 'image/compressed' (PNG/JPEG, 8 or 16 bit).",
                              choices=("raw", "compressed"), applies="activate")
    qos_reliability: str = _f("best_effort", "Input QoS reliability (sensor-data default; use "
                              "reliable for reliable-only publishers).",
                              choices=("best_effort", "reliable"), applies="activate")
    qos_depth: int = _f(5, "Input QoS history depth (keep last N).", range=(1, 1000, 1),
                        applies="activate")
    subscribe_init_box: bool = _f(True, "Subscribe 'init_box' (vision_msgs/Detection2D) so a "
                                  "detector can start tracking.", applies="activate")
    click_topic: str = _f(
        "", "Topic of clicks that start tracking (geometry_msgs/Point, pixel x/y, as "
        "rqt_image_view publishes on '<shown image topic>_mouse_left'); the box is the thermal "
        "blob under the click (click.*). Empty = the resolved input image topic + '_mouse_left' "
        "(click on the camera view); e.g. 'debug_image_mouse_left' to click on the debug image; "
        "'none' = no clicks.", applies="now")
    backlog_warn_s: float = _f(
        0.5, "A status whose frame was older than this (seconds from the node receiving it to "
        "publishing its result) says backlog, and /diagnostics is WARN while the last one was.",
        range=(0.001, 3600.0), applies="now")
    frame_buffer_size: int = _f(60, "Frames kept for stamped init_target (about 2 s at 30 Hz).",
                                range=(1, 1000, 1), applies="activate")
    class_id: str = _f("target", "class_id written into each published detection.",
                       read_only=False)
    publish_saliency: bool = _f(True, "Publish the saliency map on 'saliency' (no cost when off).",
                                read_only=False)
    saliency_encoding: str = _f("mono8", "Saliency image encoding: mono8 (probability*255) or "
                                "32FC1 (probability in [0, 1]).", choices=("mono8", "32FC1"),
                                read_only=False)
    publish_debug_image: bool = _f(True, "Publish 'debug_image' (bgr8, frame after AGC with box, "
                                   "score and state; no cost when off).", read_only=False)
    diagnostics_period_s: float = _f(1.0, "Period of /diagnostics messages in seconds.",
                                     range=(0.1, 60.0, 0.0), applies="now")
    log_throttle_s: float = _f(2.0, "Minimum seconds between repeated warnings of one kind "
                               "(bad frames are still all counted).", range=(0.0, 3600.0, 0.0),
                               read_only=False)
    max_image_pixels: int = _f(
        _MAX_PIXELS, "Largest frame accepted, in pixels (width*height), raw or compressed; a "
        "compressed image's PNG/JPEG header is checked against it before decoding.",
        range=(1, 1 << 30, 1), read_only=False)
    frame_buffer_max_mb: float = _f(
        256.0, "Byte bound of the stamped-init frame buffer in MiB (oldest frames go first; the "
        "newest frame is always kept).", range=(1.0, 65536.0, 0.0), applies="activate")
    stale_input_s: float = _f(
        2.0, "Seconds without a valid input frame after which status and /diagnostics report the "
        "input as stale.", range=(0.1, 3600.0, 0.0), read_only=False)


@dataclass
class ParamSpec:
    """One ROS parameter: name, default, description and constraints."""

    name: str
    default: Any
    description: str
    choices: Tuple[str, ...] = ()
    range: Tuple = ()       # (lo, hi, step) for int/float
    applies: str = "now"    # when a change takes effect: one of APPLIES
    group: str = "node"     # node | tracker | thermal | click
    field_name: str = ""
    calibrated: bool = False  # a checkpoint's calibrated value replaces the default

    @property
    def read_only(self) -> bool:
        """Never settable (ROS read-only): fixed when the process starts."""
        return self.applies == "start"


# Ranges for tracker/thermal fields we know the meaning of. These are constraints, not defaults:
# the defaults always come from the dataclass. Fields not listed get no range.
_KNOWN_RANGES: Dict[str, Tuple] = {
    # TrackerConfig
    "penalty_k": (0.0, 10.0, 0.0),
    "window_influence": (0.0, 1.0, 0.0),
    "lr": (0.0, 1.0, 0.0),
    "context_amount": (0.0, 5.0, 0.0),
    "min_size": (0.5, 10000.0, 0.0),
    "lost_threshold": (0.0, 1.0, 0.0),
    "lost_frames": (1, 10000, 1),
    "recover_threshold": (0.0, 1.0, 0.0),
    "reacquire_scale": (1.0, 10.0, 0.0),
    "lost_window_influence": (0.0, 1.0, 0.0),
    "lost_scan_every": (0, 1000, 1),
    "lost_scan_tiles": (1, 256, 1),
    # ThermalConfig
    "low_percentile": (0.0, 100.0, 0.0),
    "high_percentile": (0.0, 100.0, 0.0),
    "smoothing": (0.0, 1.0, 0.0),
    "jump_fraction": (0.0, 100.0, 0.0),
    "min_span": (0.0, 1.0e9, 0.0),
    "max_samples": (16, 100_000_000, 1),
    # ClickConfig (min_size shares TrackerConfig's range)
    "snap_radius": (0.0, 1000.0, 0.0),
    "window": (4, 100_000, 1),
    "min_contrast": (0.001, 1.0e6, 0.0),
    "level": (0.01, 0.99, 0.0),
    "min_edge": (0.0, 1.0, 0.0),
    "max_area_fraction": (0.001, 1.0, 0.0),
    "fallback_size": (1.0, 100_000.0, 0.0),
}


def _known_choices() -> Dict[str, Tuple[str, ...]]:
    try:
        from fgsgt_ros.tracker.temperature import RADIOMETRY
        from fgsgt_ros.tracker.thermal import POLARITIES
    except ImportError:
        return {}
    return {"polarity": tuple(POLARITIES), "radiometry": tuple(RADIOMETRY)}


def _comment_descriptions(cls) -> Dict[str, str]:
    """Field descriptions from ``#:`` comments above the fields (Sphinx style) in the source.

    A comment block describes every field line that directly follows it.
    """
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    out: Dict[str, str] = {}
    block: List[str] = []
    fresh = False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("#:"):
            if not fresh:
                block = []
            block.append(stripped[2:].strip())
            fresh = True
            continue
        m = re.match(r"(\w+)\s*:\s*[^=]+=", stripped)
        if m and block:
            out.setdefault(m.group(1), " ".join(block))
            fresh = False
        elif not m:
            block, fresh = [], False
    return out


def _ros_value(value: Any) -> Optional[Any]:
    """A dataclass default as a ROS parameter value (None when it has no ROS type)."""
    if isinstance(value, enum.Enum):
        value = value.value if isinstance(value.value, (str, int, float)) else value.name
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)) and value and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return [float(v) for v in value] if any(isinstance(v, float) for v in value) else list(value)
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, str) for v in value):
        return list(value)
    return None


#: Note added to the description of tracker fields a checkpoint may calibrate (``fgsgt calibrate
#: --write`` stores them in its ``extra["tracker_config"]``): the table shows TrackerConfig's value.
CALIBRATED_NOTE = ("Default: the checkpoint's calibrated value when it carries one (`fgsgt calibrate "
                   "--write`), else the value shown; an explicit parameter overrides both.")


def dataclass_specs(cls, group: str, instance=None) -> List[ParamSpec]:
    """ParamSpecs for each ROS-representable field of dataclass ``cls``; defaults from ``instance``
    (e.g. a checkpoint's calibrated TrackerConfig), else from ``cls()``."""
    instance = cls() if instance is None else instance
    calibrated = {f.name for f in dataclasses.fields(cls) if (f.metadata or {}).get("calibrated")}
    docs = _comment_descriptions(cls)
    specs = []
    for f in dataclasses.fields(cls):
        if not f.init or f.name.startswith("_"):
            continue
        value = _ros_value(getattr(instance, f.name))
        if value is None:
            continue  # nested/None-valued fields cannot be ROS parameters; they keep the default
        meta = dict(f.metadata or {})
        description = (meta.get("description") or meta.get("help") or meta.get("doc")
                       or docs.get(f.name) or f"{cls.__name__}.{f.name}")
        if f.name in calibrated:
            description = f"{description} {CALIBRATED_NOTE}"
        rng = tuple(meta.get("range") or ())
        if not rng and f.name in _KNOWN_RANGES and isinstance(value, (int, float)) \
                and not isinstance(value, bool):
            rng = _KNOWN_RANGES[f.name]
            if isinstance(value, int) and not isinstance(rng[0], int):
                rng = ()
            elif isinstance(value, float) and isinstance(rng[0], int):
                rng = ()
        if rng and not (rng[0] <= value <= rng[1]):
            rng = ()  # never let a guessed range reject the dataclass's own default
        choices = tuple(meta.get("choices") or ()) or _known_choices().get(f.name, ())
        default_attr = getattr(instance, f.name)
        if isinstance(default_attr, enum.Enum) and not choices:
            choices = tuple(str(_ros_value(m)) for m in type(default_attr))
        specs.append(ParamSpec(
            name=f"{group}.{f.name}" if group != "node" else f.name, default=value,
            description=str(description), choices=choices, range=rng,
            applies=str(meta.get("applies") or ("now" if group != "node" else "configure")),
            group=group, field_name=f.name,
            calibrated=f.name in calibrated))
    return specs


def tracker_config_class():
    from fgsgt_ros.tracker.config import TrackerConfig
    return TrackerConfig


def thermal_config_class():
    from fgsgt_ros.tracker.thermal import ThermalConfig
    return ThermalConfig


def click_config_class():
    from fgsgt_ros.tracker.click import ClickConfig
    return ClickConfig


def all_specs(tracker_defaults=None) -> List[ParamSpec]:
    """Every parameter the node declares, node ones first. ``tracker_defaults``: the TrackerConfig
    whose values are the ``tracker.*`` defaults (the node passes the loaded checkpoint's calibrated
    one); None = ``TrackerConfig()`` (the documented table)."""
    return (dataclass_specs(NodeConfig, "node")
            + dataclass_specs(tracker_config_class(), "tracker", tracker_defaults)
            + dataclass_specs(thermal_config_class(), "thermal")
            + dataclass_specs(click_config_class(), "click"))


def build_dataclass(cls, values: Dict[str, Any]):
    """``cls`` with the given field values (ROS lists back to tuples, enum names back to enums)."""
    instance = cls()
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in values:
            continue
        current = getattr(instance, f.name)
        value = values[f.name]
        if isinstance(current, enum.Enum):
            enum_cls = type(current)
            try:
                value = enum_cls(value)
            except ValueError:
                try:
                    value = enum_cls[str(value)]
                except KeyError:
                    raise ValueError(
                        f"{f.name}: {value!r} is not one of "
                        f"{[str(_ros_value(m)) for m in enum_cls]}") from None
        elif isinstance(current, tuple):
            value = tuple(value)
        elif isinstance(current, float) and isinstance(value, int):
            value = float(value)
        kwargs[f.name] = value
    return dataclasses.replace(instance, **kwargs)


def check_choice(spec: ParamSpec, value: Any) -> Optional[str]:
    """Reason the value is refused, or None."""
    if spec.choices and str(value) not in spec.choices:
        return f"{spec.name}={value!r} is not one of {', '.join(spec.choices)}"
    if spec.range and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not spec.range[0] <= value <= spec.range[1]:
            return f"{spec.name}={value!r} is outside [{spec.range[0]}, {spec.range[1]}]"
    return None


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def markdown_table(specs: Optional[List[ParamSpec]] = None) -> str:
    specs = specs if specs is not None else all_specs()
    lines = ["| parameter | default | constraints | runtime | description |",
             "|---|---|---|---|---|"]
    for s in specs:
        cons = []
        if s.choices:
            cons.append(" / ".join(s.choices))
        if s.range:
            cons.append(f"[{s.range[0]}, {s.range[1]}]")
        desc = s.description.replace("|", "\\|")
        lines.append(f"| `{s.name}` | `{_fmt(s.default)}` | {'; '.join(cons)} | "
                     f"{_APPLIES_TEXT[s.applies]} | {desc} |")
    return "\n".join(lines)


def yaml_template(specs: Optional[List[ParamSpec]] = None) -> str:
    """A params file listing every parameter commented out with its current default."""
    specs = specs if specs is not None else all_specs()
    out = ["# fgsgt_tracker parameters (every node name, every namespace).",
           "# Defaults live in the dataclasses (fgsgt_ros.ros.params.NodeConfig,",
           "# fgsgt_ros.tracker.config.TrackerConfig, fgsgt_ros.tracker.thermal.ThermalConfig,",
           "# fgsgt_ros.tracker.click.ClickConfig); the table in README.md says when each applies.",
           "# the commented lines show them. Uncomment a line only to override it (keep its comma).",
           "# The braces keep the mapping valid while every line is a comment; nothing here sets",
           "# ROS' own parameters (use_sim_time comes from the launch file or the command line).",
           "# Regenerate after changing a dataclass: python -m fgsgt_ros.ros.params --yaml",
           "# (test/test_node_params.py fails while this file is out of date).",
           "/**:", "  ros__parameters: {"]
    group = None
    for s in specs:
        if s.group != group:
            group = s.group
            out.append(f"    # --- {group} ---")
        note = "  # or the checkpoint's calibrated value" if s.calibrated else ""
        out.append(f"    # {s.name}: {_fmt(s.default)},{note}")
    out.append("  }")
    return "\n".join(out) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="fgsgt_tracker parameter table / YAML template")
    parser.add_argument("--markdown", action="store_true", help="print the markdown table")
    parser.add_argument("--yaml", action="store_true", help="print the commented YAML template")
    args = parser.parse_args(argv)
    if args.yaml:
        sys.stdout.write(yaml_template())
    else:
        sys.stdout.write(markdown_table() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
