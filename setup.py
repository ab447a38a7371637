"""Installs the fgsgt_ros Python package (model, tracker, training, evaluation, ROS adapter).

`pip install .` needs no ROS: the ROS 2 pieces (rclpy, generated interfaces) are only imported by
fgsgt_ros.ros and come either from a ROS 2 installation (colcon workspace) or from `make setup`,
which installs the ros-* wheels and generates the interfaces into the repo's venv.

Dependencies live in requirements/*.txt as version *ranges*, one requirement per line:
  core.txt -> install_requires;  every other file <area>.txt -> extra "<area>"
  (e.g. `pip install .[train,eval]`), and "all" = every extra except ros and test.
Two files are not extras: constraints.txt (the exact pins `make setup` installs the venv with:
`pip install -c requirements/constraints.txt ...`) and ros-workspace.txt (what to pip-install
beside a ROS 2 distribution's own numpy/OpenCV; see README).
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
REQ_DIR = HERE / "requirements"
# Extras that are not plain Python runtime dependencies and stay out of "all": ros (the PyPI ROS 2
# wheels, Linux/Python 3.11 only) and test (tools for `make test`).
NOT_IN_ALL = {"ros", "test"}
# Requirement files that are not extras: the install_requires, the venv lock, the ROS route's list.
NOT_EXTRAS = {"core", "constraints", "ros-workspace"}


def read_requirements(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def read_version() -> str:
    for line in (HERE / "fgsgt_ros" / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise RuntimeError("fgsgt_ros/__init__.py has no __version__")


extras = {
    path.stem: read_requirements(path)
    for path in sorted(REQ_DIR.glob("*.txt"))
    if path.stem not in NOT_EXTRAS
}
extras["all"] = sorted({req for name, reqs in extras.items() if name not in NOT_IN_ALL for req in reqs})


def data_files() -> list[tuple[str, list[str]]]:
    """Launch/config files and the ROS package manifest under share/fgsgt_ros (as colcon does)."""
    out = [("share/fgsgt_ros", ["package.xml"])]
    for folder in ("launch", "config"):
        files = sorted(str(p.relative_to(HERE)) for p in (HERE / folder).glob("*") if p.is_file())
        if files:
            out.append((f"share/fgsgt_ros/{folder}", files))
    return out


setup(
    name="fgsgt_ros",
    version=read_version(),
    description="Thermal-infrared single-object tracking with the FGSGT Siamese network, for ROS 2",
    long_description=(HERE / "README.md").read_text() if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["fgsgt_ros", "fgsgt_ros.*"]),
    package_data={"fgsgt_ros": ["weights/*.pt", "weights/pretrained/*/*", "data/clips/*/*",
                                "data/clips/*/img/*"]},
    include_package_data=True,
    data_files=data_files(),
    install_requires=read_requirements(REQ_DIR / "core.txt"),
    extras_require=extras,
    entry_points={
        "console_scripts": [
            "fgsgt = fgsgt_ros.cli:main",
            "fgsgt_tracker = fgsgt_ros.ros.process:main",
            "fgsgt_player = fgsgt_ros.ros.player:main",
        ],
    },
)
