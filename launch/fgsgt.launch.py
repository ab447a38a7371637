"""Launch the fgsgt_tracker node for one camera.

    ros2 launch fgsgt_ros fgsgt.launch.py image:=/flir/image_raw namespace:=cam0
    ros2 launch fgsgt_ros fgsgt.launch.py image:=/flir/image_raw device:=cuda:0 \
        checkpoint:=/path/to/model.pt params_file:=/path/to/my_params.yaml
    ros2 launch fgsgt_ros fgsgt.launch.py image:=/flir/image_raw use_sim_time:=true   # bag replay

Arguments:
  namespace        namespace of the node and of its relative topics/services (one per camera)
  image            camera topic to track on; remapped onto the node's 'image' input (and
                   '<image>/compressed' onto 'image/compressed' for input_transport:=compressed).
                   Clicks in rqt_image_view on this topic arrive on '<image>_mouse_left'.
  params_file      parameters YAML (default: the package's config/fgsgt.yaml)
  use_sim_time     true/false; empty = not set here (false, or a parent launch's SetParameter)
  log_level        the node's log level (debug, info, warn, error, fatal)
  device           overrides the 'device' parameter (auto, cpu, cuda:N)
  checkpoint       overrides the 'checkpoint' parameter (path or shipped name)
  input_transport  overrides 'input_transport' (raw, compressed)
  qos_reliability  overrides 'qos_reliability' (best_effort, reliable)
  qos_depth        overrides 'qos_depth' (keep last N)
  autostart        overrides 'autostart' (false: a lifecycle manager configures and activates it)

Parameter defaults live in the node's dataclasses; an override is only passed to the node when its
argument is given here (empty = params file / default), so this file never restates a default and
never undoes a value set elsewhere.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

#: launch argument -> (parameter type, description); passed as a parameter only when non-empty.
OVERRIDES = {
    "device": (str, "auto, cpu or cuda:N"),
    "checkpoint": (str, "model checkpoint path or shipped name"),
    "input_transport": (str, "raw or compressed"),
    "qos_reliability": (str, "input QoS: best_effort or reliable"),
    "qos_depth": (int, "input QoS history depth"),
    "use_sim_time": (bool, "use /clock (bag replay with --clock, simulation)"),
    "autostart": (bool, "configure and activate at start-up (false: a lifecycle manager does)"),
}
LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")


def _convert(name: str, kind, text: str):
    if kind is bool:
        low = text.strip().lower()
        if low not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"launch argument {name}:={text!r} is not true or false")
        return low in ("true", "1", "yes")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"launch argument {name}:={text!r} is not an integer") from None
    return text


def _tracker_node(context, *args, **kwargs):
    image = LaunchConfiguration("image").perform(context)
    params = [LaunchConfiguration("params_file").perform(context)]
    overrides = {}
    for name, (kind, _desc) in OVERRIDES.items():
        value = LaunchConfiguration(name).perform(context)
        if value.strip():
            overrides[name] = _convert(name, kind, value)
    if overrides:
        params.append(overrides)
    log_level = LaunchConfiguration("log_level").perform(context).strip().lower()
    if log_level not in LOG_LEVELS:
        raise ValueError(f"launch argument log_level:={log_level!r} is not one of "
                         f"{', '.join(LOG_LEVELS)}")
    return [Node(
        package="fgsgt_ros",
        executable="fgsgt_tracker",
        name="fgsgt_tracker",
        namespace=LaunchConfiguration("namespace").perform(context),
        parameters=params,
        remappings=[("image", image), ("image/compressed", image.rstrip("/") + "/compressed")],
        arguments=["--ros-args", "--log-level", log_level],
        output="screen",
        emulate_tty=True,
    )]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("namespace", default_value="",
                              description="namespace of the tracker (one per camera)"),
        DeclareLaunchArgument("image", default_value="image",
                              description="camera image topic to track on"),
        DeclareLaunchArgument(
            "params_file",
            default_value=PathJoinSubstitution([FindPackageShare("fgsgt_ros"), "config",
                                                "fgsgt.yaml"]),
            description="parameters YAML file"),
        DeclareLaunchArgument("log_level", default_value="info",
                              description="log level: " + ", ".join(LOG_LEVELS)),
        *[DeclareLaunchArgument(name, default_value="",
                                description=f"{desc} (empty: from params_file / the default)")
          for name, (_kind, desc) in OVERRIDES.items()],
        OpaqueFunction(function=_tracker_node),
    ])
