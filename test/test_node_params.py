"""Node configuration: parameters come from the dataclasses (one source of truth), the shipped
params file lists exactly them, bad settings and bad checkpoints stop the node at start-up with one
clear log line, an absent CUDA device falls back to CPU, and the launch file is sound."""

import py_compile
import re
import time
from pathlib import Path

import pytest

from fgsgt_ros.ros import params as P

REPO = Path(__file__).resolve().parent.parent


def test_tracker_and_thermal_parameters_mirror_their_dataclasses():
    from fgsgt_ros.tracker.config import TrackerConfig
    from fgsgt_ros.tracker.thermal import ThermalConfig

    specs = {s.name: s for s in P.all_specs()}
    for cls, group in ((TrackerConfig, "tracker"), (ThermalConfig, "thermal")):
        default = cls()
        for f in cls.__dataclass_fields__.values():
            spec = specs[f"{group}.{f.name}"]
            assert spec.default == getattr(default, f.name)
            assert spec.description and spec.description != f"{cls.__name__}.{f.name}"
    # values come back into the dataclass with their types (ROS has no tuples / enums)
    cfg = P.build_dataclass(TrackerConfig, {"lost_frames": 9, "lr": 0})
    assert cfg.lost_frames == 9 and isinstance(cfg.lr, float)
    with pytest.raises(ValueError):  # the dataclass's own validation still applies
        P.build_dataclass(TrackerConfig, {"lost_threshold": 0.9, "recover_threshold": 0.5})


def test_shipped_params_file_lists_every_parameter_with_its_current_default():
    text = (REPO / "config" / "fgsgt.yaml").read_text()
    assert text == P.yaml_template(), (
        "config/fgsgt.yaml is out of date: python -m fgsgt_ros.ros.params --yaml "
        "> config/fgsgt.yaml")
    names = set(re.findall(r"^\s*#?\s*([a-z_0-9]+(?:\.[a-z_0-9]+)?):", text, re.M)) - {
        "ros__parameters"}
    assert names == {s.name for s in P.all_specs()}


def test_parameter_table_in_the_docs_is_the_generated_one():
    table = P.markdown_table()
    for spec in P.all_specs():
        assert f"`{spec.name}`" in table
    assert table in (REPO / "docs" / "PARAMETERS.md").read_text(), (
        "docs/PARAMETERS.md parameter table is out of date: python -m fgsgt_ros.ros.params "
        "--markdown")


def test_choice_and_range_checks_name_the_parameter():
    spec = next(s for s in P.all_specs() if s.name == "input_transport")
    assert P.check_choice(spec, "raw") is None
    assert "input_transport='ffmpeg' is not one of raw, compressed" == P.check_choice(spec, "ffmpeg")


def test_tracker_help_prints_and_exits_without_starting_a_node():
    import subprocess
    import sys

    pytest.importorskip("rclpy", reason="rclpy (ROS 2 wheels) not installed: run make setup")
    r = subprocess.run([sys.executable, "-m", "fgsgt_ros.ros.node", "--help"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "usage: fgsgt_tracker" in r.stdout and "tracker.lost_threshold" in r.stdout
    assert "ros2 lifecycle" in r.stdout and "[INFO]" not in r.stdout + r.stderr
    bad = subprocess.run([sys.executable, "-m", "fgsgt_ros.ros.node", "--bogus"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unrecognized arguments: --bogus" in bad.stderr


def test_default_click_topic_follows_the_input_topic(rclpy_context):
    """rqt_image_view publishes clicks on '<the topic it shows>_mouse_left': by default the node
    listens there for its own (resolved, remapped) input topic, raw or compressed."""
    from rclpy.parameter import Parameter

    from fgsgt_ros.ros.node import TrackerNode

    def click_topic(overrides, remaps=()):
        args = ["--ros-args"] + [a for r in remaps for a in ("-r", r)] if remaps else None
        node = TrackerNode(context=rclpy_context, cli_args=args, parameter_overrides=[
            Parameter(k, value=v) for k, v in overrides.items()])
        try:
            return node._click_topic()
        finally:
            node.destroy_node()

    assert click_topic({}) == "/image_mouse_left"
    assert click_topic({}, ["image:=/flir/image_raw"]) == "/flir/image_raw_mouse_left"
    assert click_topic({"input_transport": "compressed"},
                       ["image/compressed:=/flir/image_raw/compressed"]) == \
        "/flir/image_raw_mouse_left"
    assert click_topic({"click_topic": "debug_image_mouse_left"}) == "/debug_image_mouse_left"
    assert click_topic({"click_topic": "none"}) == ""


def test_launch_file_compiles():
    py_compile.compile(str(REPO / "launch" / "fgsgt.launch.py"), doraise=True)


LAUNCH_ARGUMENTS = ("namespace", "image", "params_file", "log_level", "device", "checkpoint",
                    "input_transport", "qos_reliability", "qos_depth", "use_sim_time", "autostart")


def _launch_module_with_stand_ins(monkeypatch):
    """launch/fgsgt.launch.py loaded against minimal stand-ins for the ROS 2 ``launch`` and
    ``launch_ros`` packages (not installable from PyPI): what it declares and the Node it builds
    are checked here; the real packages are used by the test below where installed."""
    import importlib.util
    import sys
    import types

    class Declare:
        def __init__(self, name, default_value="", description=""):
            self.name, self.default_value, self.description = name, default_value, description

    class Opaque:
        def __init__(self, function):
            self.function = function

    class Config:
        def __init__(self, name):
            self.name = name

        def perform(self, context):
            return context[self.name]

    class FakeNode:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

    mods = {
        "launch": types.ModuleType("launch"),
        "launch.actions": types.ModuleType("launch.actions"),
        "launch.substitutions": types.ModuleType("launch.substitutions"),
        "launch_ros": types.ModuleType("launch_ros"),
        "launch_ros.actions": types.ModuleType("launch_ros.actions"),
        "launch_ros.substitutions": types.ModuleType("launch_ros.substitutions"),
    }
    mods["launch"].LaunchDescription = list
    mods["launch.actions"].DeclareLaunchArgument = Declare
    mods["launch.actions"].OpaqueFunction = Opaque
    mods["launch.substitutions"].LaunchConfiguration = Config
    mods["launch.substitutions"].PathJoinSubstitution = lambda parts: parts
    mods["launch_ros.actions"].Node = FakeNode
    mods["launch_ros.substitutions"].FindPackageShare = lambda name: name
    for name, module in mods.items():
        monkeypatch.setitem(sys.modules, name, module)
    spec = importlib.util.spec_from_file_location("fgsgt_launch_stub",
                                                  REPO / "launch" / "fgsgt.launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, Declare, Opaque


def test_launch_arguments_reach_the_node_only_when_given(monkeypatch):
    module, Declare, Opaque = _launch_module_with_stand_ins(monkeypatch)
    entities = module.generate_launch_description()
    declared = {e.name: e for e in entities if isinstance(e, Declare)}
    assert set(declared) == set(LAUNCH_ARGUMENTS)
    opaque = next(e for e in entities if isinstance(e, Opaque))
    context = {**{n: "" for n in LAUNCH_ARGUMENTS}, "namespace": "cam0",
               "image": "/flir/image_raw", "params_file": "p.yaml", "log_level": "info"}

    (node,) = opaque.function(context)
    kw = node.kwargs
    assert kw["parameters"] == ["p.yaml"]  # nothing given: nothing overridden (no use_sim_time)
    assert dict(kw["remappings"]) == {"image": "/flir/image_raw",
                                      "image/compressed": "/flir/image_raw/compressed"}
    assert kw["namespace"] == "cam0" and kw["name"] == "fgsgt_tracker"
    assert kw["arguments"] == ["--ros-args", "--log-level", "info"]

    context.update(use_sim_time="true", log_level="debug", qos_reliability="reliable",
                   qos_depth="10", input_transport="compressed", device="cuda:0",
                   autostart="false")
    (node,) = opaque.function(context)
    assert node.kwargs["parameters"] == ["p.yaml", {
        "use_sim_time": True, "qos_reliability": "reliable", "qos_depth": 10,
        "input_transport": "compressed", "device": "cuda:0", "autostart": False}]
    assert node.kwargs["arguments"][-1] == "debug"
    for bad in ({"use_sim_time": "maybe"}, {"qos_depth": "ten"}, {"log_level": "loud"}):
        with pytest.raises(ValueError):
            opaque.function({**context, **bad})


def test_shipped_params_file_does_not_pin_ros_parameters():
    import yaml

    data = yaml.safe_load((REPO / "config" / "fgsgt.yaml").read_text())
    assert data == {"/**": {"ros__parameters": {}}}  # every line a comment: nothing pinned
    assert "use_sim_time:" not in (REPO / "config" / "fgsgt.yaml").read_text()


def test_launch_file_declares_arguments_and_remaps_the_camera_topic():
    pytest.importorskip("launch", reason="ROS 2 'launch' is not installable from PyPI here")
    pytest.importorskip("launch_ros", reason="ROS 2 'launch_ros' is not installable from PyPI here")
    import importlib.util

    from launch import LaunchContext
    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    spec = importlib.util.spec_from_file_location("fgsgt_launch", REPO / "launch" / "fgsgt.launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ld = module.generate_launch_description()
    names = {a.name for a in ld.entities if isinstance(a, DeclareLaunchArgument)}
    assert names == set(LAUNCH_ARGUMENTS)
    ctx = LaunchContext()
    ctx.launch_configurations.update({**{n: "" for n in LAUNCH_ARGUMENTS}, "log_level": "info",
                                      "namespace": "cam0", "image": "/flir/image_raw",
                                      "params_file": "p.yaml"})
    opaque = next(a for a in ld.entities if isinstance(a, OpaqueFunction))
    node = opaque.execute(ctx)[0]
    remaps = dict(node._Node__remappings)
    assert remaps["image"] == "/flir/image_raw"


# --- start-up in a real process --------------------------------------------------------------

def _start(params, ros_env, tmp_path, expect_exit=True, timeout=90):
    pytest.importorskip("rclpy", reason="rclpy (ROS 2 wheels) not installed: run make setup")
    from fgsgt_ros.ros.client import start_node

    proc = start_node(params, ros_env, log_path=tmp_path / "node.log")
    if expect_exit:
        proc.proc.wait(timeout)
    return proc


def _fatal_lines(log):
    return [line for line in log.splitlines() if line.strip()]


def test_missing_checkpoint_stops_the_node_with_one_clear_line(ros_env, tmp_path):
    proc = _start({"checkpoint": str(tmp_path / "nope.pt")}, ros_env, tmp_path)
    assert proc.proc.returncode != 0
    lines = _fatal_lines(proc.log())
    assert len(lines) == 1, proc.log()
    assert "FATAL" in lines[0] and "nope.pt" in lines[0] and "not found" in lines[0]


def test_corrupt_checkpoint_stops_the_node_with_one_clear_line(ros_env, tmp_path):
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(b"this is not a checkpoint" * 10)
    proc = _start({"checkpoint": str(bad)}, ros_env, tmp_path)
    assert proc.proc.returncode != 0
    lines = _fatal_lines(proc.log())
    assert len(lines) == 1 and "corrupt.pt" in lines[0] and "FATAL" in lines[0], proc.log()


def test_checkpoint_of_another_preset_is_refused(ros_env, tmp_path):
    from fgsgt_ros.model.checkpoint import save_checkpoint
    from fgsgt_ros.model.families.fgsgt import build_model, get_preset

    cfg = get_preset("siamrpnpp_tiny")
    path = tmp_path / "baseline.pt"
    save_checkpoint(path, build_model(cfg), cfg)
    proc = _start({"checkpoint": str(path), "model_preset": "fgsgt_tiny"}, ros_env, tmp_path)
    assert proc.proc.returncode != 0
    lines = _fatal_lines(proc.log())
    assert len(lines) == 1 and "siamrpnpp_tiny" in lines[0] and "fgsgt_tiny" in lines[0], \
        proc.log()


@pytest.mark.parametrize("params,text", [
    ({"input_transport": "ffmpeg"}, "input_transport='ffmpeg' is not one of raw, compressed"),
    ({"tracker.lost_threshold": 0.9}, "recover_threshold must be >= lost_threshold"),
    ({"thermal.polarity": "rainbow"}, "thermal.polarity='rainbow'"),
    ({"qos_depth": 0}, "qos_depth"),
    ({"runtime": "tensorrt"}, "runtime='tensorrt' is not one of auto, torch, onnx"),
    ({"tracker.lr": "fast"}, "tracker.lr"),
])
def test_invalid_parameter_stops_the_node_with_one_clear_line(ros_env, tmp_path, params, text):
    proc = _start({"checkpoint": "csrt", **params}, ros_env, tmp_path)
    assert proc.proc.returncode != 0
    lines = _fatal_lines(proc.log())
    assert len(lines) == 1 and text in lines[0], proc.log()


def test_onnx_runtime_is_selectable_in_the_node(ros_env, tmp_path):
    pytest.importorskip("onnxruntime", reason="onnxruntime not installed")
    if not __import__("fgsgt_ros.weights").weights.default_checkpoint().is_file():
        pytest.skip("needs the shipped checkpoint")
    proc = _start({"runtime": "onnx", "num_threads": 1}, ros_env, tmp_path, expect_exit=False)
    try:
        end = time.monotonic() + 120
        while "tracking with" not in proc.log() and proc.alive() and time.monotonic() < end:
            time.sleep(0.2)
        assert proc.alive() and "runtime onnx" in proc.log(), proc.log()
    finally:
        assert proc.stop() == 0


def test_absent_cuda_device_falls_back_to_cpu_with_a_warning(ros_env, tmp_path):
    import torch

    if torch.cuda.is_available() and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    model = "" if __import__("fgsgt_ros.weights").weights.default_checkpoint().is_file() else "csrt"
    proc = _start({"checkpoint": model, "device": "cuda:7", "precision": "fp16"}, ros_env,
                  tmp_path, expect_exit=False)
    try:
        end = time.monotonic() + 60
        while "tracking with" not in proc.log() and proc.alive() and time.monotonic() < end:
            time.sleep(0.2)
        log = proc.log()
        assert proc.alive(), log
        assert "cuda:7" in log and "falling back to CPU" in log
        assert "on cpu (fp32)" in log
    finally:
        assert proc.stop() == 0


def test_checkpoint_calibrated_thresholds_are_the_defaults_and_parameters_override_them(
        ros_env, tmp_path):
    """A checkpoint's calibrated LOST thresholds (fgsgt calibrate --write) are what the node uses
    unless a parameter says otherwise; the parameters (ros2 param get) show the values in use."""
    pytest.importorskip("rclpy", reason="rclpy (ROS 2 wheels) not installed: run make setup")
    from fgsgt_ros.model.checkpoint import save_checkpoint
    from fgsgt_ros.model.families.fgsgt import build_model, get_preset
    from fgsgt_ros.ros.client import TrackerClient, start_node
    from fgsgt_ros.tracker.config import TrackerConfig

    default = TrackerConfig()
    calibrated = {"lost_threshold": round(default.lost_threshold + 0.231, 3),
                  "recover_threshold": round(default.recover_threshold + 0.277, 3)}
    cfg = get_preset("fgsgt_tiny")
    path = tmp_path / "calibrated.pt"
    save_checkpoint(path, build_model(cfg), cfg, extra={"tracker_config": calibrated})
    explicit = round(calibrated["lost_threshold"] - 0.1, 3)
    runs = {"plain": ({"checkpoint": str(path)}, calibrated["lost_threshold"]),
            "override": ({"checkpoint": str(path), "tracker.lost_threshold": explicit}, explicit)}
    procs = {ns: start_node(params, ros_env, namespace="/" + ns, log_path=tmp_path / f"{ns}.log")
             for ns, (params, _) in runs.items()}
    client = None
    try:
        client = TrackerClient(domain_id=int(ros_env["ROS_DOMAIN_ID"]), record=(),
                               diagnostics=False)
        for ns, (_, lost) in runs.items():
            proc = procs[ns]
            end = time.monotonic() + 60
            while "tracking with" not in proc.log() and proc.alive() and time.monotonic() < end:
                time.sleep(0.2)
            assert proc.alive() and "tracking with" in proc.log(), proc.log()
            values = client.get_parameters(
                ["tracker.lost_threshold", "tracker.recover_threshold", "tracker.lost_frames"],
                node_name=f"/{ns}/fgsgt_tracker", timeout=30)
            assert values["tracker.lost_threshold"] == lost
            assert values["tracker.recover_threshold"] == calibrated["recover_threshold"]
            assert values["tracker.lost_frames"] == default.lost_frames  # not in the checkpoint
            assert (f"LOST below {lost:g}, recovered at {calibrated['recover_threshold']:g} "
                    "(defaults") in proc.log() and "from the checkpoint" in proc.log()
    finally:
        if client is not None:
            client.close()
        for proc in procs.values():
            assert proc.stop() == 0
