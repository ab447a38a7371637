"""Launch the fgsgt_tracker node for one camera.

    ros2 launch fgsgt_ros fgsgt.launch.py image:=/flir/image_raw namespace:=cam0
    ros2 launch fgsgt_ros fgsgt.launch.py image:=/flir/image_raw device:=cuda:0 \
        checkpoint:=/path/to/model.pt params_file:=/path/to/my_params.yaml

Arguments:
  namespace    namespace of the node and of its relative topics/services (one per camera)
  image        camera topic to track on; remapped onto the node's 'image' input (and
               '<image>/compressed' onto 'image/compressed' for input_transport:=compressed)
  params_file  parameters YAML (default: the package's config/fgsgt.yaml)
  device       overrides the 'device' parameter (auto, cpu, cuda:N); empty = params file/default
  checkpoint   overrides the 'checkpoint' parameter; empty = params file/default (shipped model)

Parameter defaults live in the node's dataclasses; device/checkpoint are only passed to the node
when given here, so this file never restates a default.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def _tracker_node(context, *args, **kwargs):
    image = LaunchConfiguration("image").perform(context)
    params = [LaunchConfiguration("params_file").perform(context)]
    overrides = {}
    for name in ("device", "checkpoint"):
        value = LaunchConfiguration(name).perform(context)
        if value:
            overrides[name] = value
    if overrides:
        params.append(overrides)
    return [Node(
        package="fgsgt_ros",
        executable="fgsgt_tracker",
        name="fgsgt_tracker",
        namespace=LaunchConfiguration("namespace").perform(context),
        parameters=params,
        remappings=[("image", image), ("image/compressed", image.rstrip("/") + "/compressed")],
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
        DeclareLaunchArgument("device", default_value="",
                              description="auto, cpu or cuda:N (empty: from params_file)"),
        DeclareLaunchArgument("checkpoint", default_value="",
                              description="model checkpoint path or name (empty: from "
                                          "params_file / the shipped model)"),
        OpaqueFunction(function=_tracker_node),
    ])
