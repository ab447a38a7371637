"""The repo is a real ROS 2 package: `colcon build` in a fresh workspace (this checkout as
src/fgsgt_ros, on top of the venv's ROS 2 wheels as the "underlay") generates the interfaces,
installs the Python package, the `fgsgt_tracker` executable for `ros2 run`, and the share files,
and the installed package imports and works from the workspace alone.

vision_msgs comes from the underlay (the venv, where `make setup` built our declaration in
tools/vision_msgs): inside a real ROS 2 installation it is the distribution's package instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix)
PY_DIR = Path(sysconfig.get_paths()["purelib"]).relative_to(sysconfig.get_paths()["data"])

CHECK_INSTALLED = r"""
import json, os
import fgsgt_ros, fgsgt_ros.boxes
from fgsgt_ros.msg import TrackerStatus
from fgsgt_ros.srv import InitTarget
from ament_index_python.packages import get_package_share_directory, get_package_prefix
from ament_index_python import get_resource
m = TrackerStatus(state=TrackerStatus.STATE_TRACKING, state_name="TRACKING", score=0.5)
print(json.dumps({
    "package": fgsgt_ros.__file__,
    "boxes": fgsgt_ros.boxes.__file__,
    "msg": __import__("fgsgt_ros.msg._tracker_status", fromlist=["x"]).__file__,
    "srv_fields": sorted(InitTarget.Request.get_fields_and_field_types()),
    "share": get_package_share_directory("fgsgt_ros"),
    "prefix": get_package_prefix("fgsgt_ros"),
    "interfaces": sorted(get_resource("rosidl_interfaces", "fgsgt_ros")[0].split()),
    "state": m.state,
}))
"""


@pytest.fixture(scope="module")
def colcon_workspace(tmp_path_factory):
    if shutil.which("colcon", path=str(VENV / "bin")) is None:
        pytest.skip("colcon is not installed in the venv (requirements/test.txt); run `make setup`")
    ws = tmp_path_factory.mktemp("colcon_ws")
    (ws / "src").mkdir()
    (ws / "src" / "fgsgt_ros").symlink_to(REPO, target_is_directory=True)
    env = dict(os.environ)
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["AMENT_PREFIX_PATH"] = str(VENV)
    env["CMAKE_PREFIX_PATH"] = str(VENV)
    env.pop("COLCON_PREFIX_PATH", None)
    cmd = [str(VENV / "bin" / "colcon"), "build", "--event-handlers", "console_direct-",
           "--cmake-args", f"-DPython3_EXECUTABLE={sys.executable}", "-DBUILD_TESTING=OFF"]
    proc = subprocess.run(cmd, cwd=ws, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        logs = "\n".join(p.read_text(errors="replace")[-4000:]
                         for p in sorted((ws / "log").glob("latest_build/fgsgt_ros/stdout_stderr.log")))
        pytest.fail(f"colcon build failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
                    f"{proc.stderr[-3000:]}\n{logs}")
    return ws / "install" / "fgsgt_ros"


def test_colcon_build_installs_executable_share_files_and_interfaces(colcon_workspace):
    prefix = colcon_workspace
    for name in ("fgsgt_tracker", "fgsgt_player"):
        exe = prefix / "lib" / "fgsgt_ros" / name
        assert exe.is_file() and os.access(exe, os.X_OK), f"ros2 run needs lib/fgsgt_ros/{name}"
    assert (prefix / "share" / "fgsgt_ros" / "package.xml").is_file()
    assert (prefix / "share" / "ament_index" / "resource_index" / "packages" / "fgsgt_ros").is_file()
    for iface in ("msg/TrackerStatus.msg", "srv/InitTarget.srv"):
        assert (prefix / "share" / "fgsgt_ros" / iface).is_file()
    for folder in ("launch", "config"):
        src = REPO / folder
        for f in (p for p in src.rglob("*") if p.is_file()) if src.is_dir() else ():
            assert (prefix / "share" / "fgsgt_ros" / f.relative_to(REPO)).is_file(), f
    site = prefix / PY_DIR / "fgsgt_ros"
    assert (site / "__init__.py").read_text() == (REPO / "fgsgt_ros" / "__init__.py").read_text()
    assert (site / "msg" / "_tracker_status.py").is_file()


def test_package_imports_from_the_workspace_install(colcon_workspace):
    prefix = colcon_workspace
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(prefix / PY_DIR), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["LD_LIBRARY_PATH"] = os.pathsep.join([str(prefix / "lib"), env.get("LD_LIBRARY_PATH", "")])
    env["AMENT_PREFIX_PATH"] = os.pathsep.join([str(prefix), str(VENV)])
    out = subprocess.run([sys.executable, "-c", CHECK_INSTALLED], env=env, cwd=str(prefix),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout.strip().splitlines()[-1])
    # Everything (our code and the generated interfaces) from the workspace, not the checkout.
    for key in ("package", "boxes", "msg"):
        assert Path(info[key]).is_relative_to(prefix), (key, info[key])
    assert Path(info["share"]) == prefix / "share" / "fgsgt_ros"
    assert Path(info["prefix"]) == prefix
    assert info["srv_fields"] == ["box", "stamp"]
    assert {"msg/TrackerStatus.msg", "srv/InitTarget.srv"} <= set(info["interfaces"])
    assert info["state"] == 1
