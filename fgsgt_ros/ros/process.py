"""The ``fgsgt_tracker`` process (console script ``fgsgt_tracker``, and ``python -m
fgsgt_ros.ros.node``): its command line (``--help`` lists the parameters; ROS arguments follow
``--ros-args``), the glibc malloc tuning, rclpy start-up, the node's autostart (configure +
activate; a failure exits non-zero) and the executor loop until shutdown."""

from __future__ import annotations

import argparse
import sys
import textwrap

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn

from fgsgt_ros.ros import params as P
from fgsgt_ros.ros.logsafe import safe_text
from fgsgt_ros.ros.node import NODE_NAME, TrackerNode
from fgsgt_ros.ros.node_params import ConfigError


def tune_malloc() -> bool:
    """Keep large buffers on the heap instead of fresh mmaps (glibc only).

    Every image message allocates megabyte buffers (conversion, serialisation); glibc serves
    those with mmap/munmap, so each one page-faults its memory in again. Raising the mmap and
    trim thresholds lets freed buffers be reused: publishing a 640x512 bgr8 image got ~3x faster
    here (bench/bench_node.py). Memory stays bounded (trim above 128 MB of free heap).
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(name)
        m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
        ok = libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024)
        ok &= libc.mallopt(m_trim_threshold, 128 * 1024 * 1024)
        ok &= libc.mallopt(m_top_pad, 16 * 1024 * 1024)
        return bool(ok)
    except (OSError, AttributeError):
        return False


def build_parser() -> argparse.ArgumentParser:
    """``fgsgt_tracker --help``: what the node does and its parameters (it takes no other
    arguments; ROS arguments follow ``--ros-args``)."""
    specs = P.all_specs()
    width = max(len(s.name) for s in specs)
    lines = [f"  {s.name:<{width}}  {P._fmt(s.default):<14} {P._APPLIES_TEXT[s.applies]}"
             for s in specs]
    epilog = (
        textwrap.fill(
            "Topics (relative to the namespace): in image (or image/compressed), init_box, "
            "clicks on <input topic>_mouse_left (rqt_image_view); out detections, status, "
            "saliency, debug_image, /diagnostics. Services: init_target (a zero-size box = a "
            "point), reset; lifecycle: change_state, get_state (ros2 lifecycle).", 79)
        + "\n\n" + textwrap.fill(
            "Parameters (default; when a change takes effect), set with -p NAME:=VALUE or "
            "--params-file; details: python -m fgsgt_ros.ros.params --markdown", 79) + "\n"
        + "\n".join(lines) + "\n\nExamples:\n"
        "  fgsgt_tracker --ros-args -r image:=/flir/image_raw -p device:=cuda:0\n"
        "  ros2 launch fgsgt_ros fgsgt.launch.py image:=/flir/image_raw\n"
        "  ros2 lifecycle set /fgsgt_tracker deactivate")
    return argparse.ArgumentParser(
        prog="fgsgt_tracker", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.fill(
            "Thermal-infrared single-object tracker node (ROS 2 lifecycle node: configures and "
            "activates itself unless autostart is false).", 79),
        epilog=epilog)


def main(args=None) -> int:
    from rclpy.utilities import remove_ros_args

    argv = list(sys.argv if args is None else args)
    parser = build_parser()
    try:
        own = remove_ros_args(args=argv)[1:]
    except Exception as exc:  # rclpy's error for a malformed --ros-args section
        parser.error(f"invalid ROS arguments: {safe_text(exc, 300)}")
    # --help (or any argument that is not a ROS one) is answered here, before ROS starts
    parser.parse_args(own)
    tune_malloc()
    rclpy.init(args=argv)
    logger = rclpy.logging.get_logger(NODE_NAME)
    try:
        node = TrackerNode()
    except ConfigError as exc:
        logger.fatal(f"cannot start: {exc}")
        rclpy.try_shutdown()
        return 1
    if node.cfg.autostart:
        node._autostarting = True  # a failed transition is then FATAL and ends the process
        ok = (node.trigger_configure() == TransitionCallbackReturn.SUCCESS
              and node.trigger_activate() == TransitionCallbackReturn.SUCCESS)
        node._autostarting = False
        if not ok:
            node.teardown()
            node.destroy_node()
            rclpy.try_shutdown()
            return 1
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        while rclpy.ok() and not node.finalized.is_set():  # the shutdown transition ends it
            executor.spin_once(timeout_sec=0.5)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        try:
            node.teardown()
        except Exception as exc:  # e.g. handles already gone after Ctrl-C: exit anyway
            logger.warning(f"shutdown: {type(exc).__name__}: {safe_text(exc, 200)}")
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
