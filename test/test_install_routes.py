"""The two install routes (README, "Install routes"):

- the venv route (`make setup`) installs every area at the exact versions of the lock
  requirements/constraints.txt;
- the ROS-workspace route uses the *ranges* of requirements/<area>.txt (setup.py's install_requires
  and extras), package.xml's rosdep keys for numpy/OpenCV/tqdm from the distribution, and
  requirements/ros-workspace.txt for what pip adds beside them.

Checked here: every pin lies in its range, setup.py publishes ranges (no pins) and a true
python_requires, the code parses as Python 3.10 (Humble), rosdep keys cover core.txt, the LICENSE
matches the declared licence, and the package's own code, installed (not editable) into a second
venv whose numpy is 1.26 (Jazzy's and Kilted's python3-numpy), imports and tracks exactly as it
does under the venv's numpy 2.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
REQ = REPO / "requirements"
NOT_AREAS = {"constraints", "ros-workspace"}
#: the distribution's python3-numpy on Ubuntu 24.04 (ROS 2 Jazzy, Kilted); FGSGT_TEST_NUMPY=1.23.5
#: tries another (1.23.5 is the oldest numpy with a Python 3.11 wheel; Humble has 1.21.5)
DISTRO_NUMPY = os.environ.get("FGSGT_TEST_NUMPY", "1.26.4")


def _requirements(path: Path):
    out = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            out.append(Requirement(line))
    return out


def _areas():
    return {p.stem: _requirements(p) for p in sorted(REQ.glob("*.txt")) if p.stem not in NOT_AREAS}


def test_every_pin_of_the_lock_lies_in_its_area_range():
    pins = {}
    for req in _requirements(REQ / "constraints.txt"):
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{req} is not an exact pin"
        assert canonicalize_name(req.name) not in pins, f"{req.name} pinned twice"
        pins[canonicalize_name(req.name)] = specs[0].version
    named = set()
    for area, reqs in _areas().items():
        for req in reqs:
            name = canonicalize_name(req.name)
            named.add(name)
            assert not any(s.operator in ("==", "===") for s in req.specifier), \
                f"requirements/{area}.txt pins {req}: pins belong in constraints.txt"
            assert name in pins, f"requirements/{area}.txt: {req.name} has no pin in constraints.txt"
            assert req.specifier.contains(pins[name], prereleases=True), \
                f"constraints.txt pins {req.name}=={pins[name]} outside {area}.txt's {req}"
    assert set(pins) == named, f"pins no area names: {sorted(set(pins) - named)}"


def test_ros_workspace_list_uses_the_area_ranges():
    ranges = {canonicalize_name(r.name): r for reqs in _areas().values() for r in reqs}
    for req in _requirements(REQ / "ros-workspace.txt"):
        name = canonicalize_name(req.name)
        assert name in ranges, f"ros-workspace.txt names {req.name}, which no area file has"
        assert req.specifier == ranges[name].specifier, \
            f"ros-workspace.txt {req} differs from the area range {ranges[name]}"
    names = {canonicalize_name(r.name) for r in _requirements(REQ / "ros-workspace.txt")}
    assert "numpy" not in names and not any("opencv" in n for n in names), \
        "the ROS route must keep the distribution's numpy/OpenCV"


def test_package_xml_rosdep_keys_cover_core_requirements():
    root = ET.parse(REPO / "package.xml").getroot()
    keys = {e.text.strip() for e in root.iter() if e.tag in ("exec_depend", "depend")}
    rosdep = {"numpy": "python3-numpy", "opencv-contrib-python-headless": "python3-opencv",
              "tqdm": "python3-tqdm"}
    pip_route = {canonicalize_name(r.name) for r in _requirements(REQ / "ros-workspace.txt")}
    for req in _requirements(REQ / "core.txt"):
        name = canonicalize_name(req.name)
        if name in rosdep:
            assert rosdep[name] in keys, f"package.xml lacks the rosdep key {rosdep[name]}"
        else:
            assert name in pip_route, f"{req.name}: neither a rosdep key nor in ros-workspace.txt"
    assert root.findtext("license") == "Apache-2.0"


def test_setup_py_publishes_ranges_and_a_true_python_requires(tmp_path):
    r = subprocess.run([sys.executable, "setup.py", "-q", "egg_info", "--egg-base", str(tmp_path)],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    info = next(tmp_path.glob("*.egg-info"))
    requires = (info / "requires.txt").read_text()
    pkg_info = (info / "PKG-INFO").read_text()
    assert "Requires-Python: >=3.10" in pkg_info
    assert "License: Apache-2.0" in pkg_info or "License-Expression: Apache-2.0" in pkg_info
    assert "==" not in requires, requires
    core = requires.split("\n[", 1)[0].split()
    assert sorted(core) == sorted(str(r) for r in _requirements(REQ / "core.txt"))
    sections = {line.strip("[]") for line in requires.splitlines() if line.startswith("[")}
    assert {"constraints", "ros-workspace", "core"}.isdisjoint(sections)
    assert {"eval", "model", "node", "train", "all"} <= sections


def test_code_parses_as_python_3_10():
    """Humble's Python is 3.10 (no 3.10 interpreter here: syntax is what can be checked)."""
    for path in sorted((REPO / "fgsgt_ros").rglob("*.py")):
        ast.parse(path.read_text(), filename=str(path), feature_version=(3, 10))


def test_license_file_is_the_apache_2_0_text():
    text = (REPO / "LICENSE").read_text()
    assert text.lstrip().startswith("Apache License")
    assert "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text


_TRACK = r"""
import json, sys
import numpy, torch
torch.set_num_threads(1)
import fgsgt_ros
from fgsgt_ros.tracker import build_tracker
from fgsgt_ros.tracker.thermal import ThermalPreprocessor
# 16-bit Lepton-like frames with a warm target on a curved path (numpy only: the tracker core,
# not the training extras, is what runs beside the distribution's numpy)
rng = numpy.random.default_rng(3)
yy, xx = numpy.mgrid[0:120, 0:160].astype(numpy.float32)
frames, boxes = [], []
for i in range(10):
    cx, cy = 50 + 6 * i, 60 + 15 * numpy.sin(i / 3)
    blob = ((xx - cx) / 7) ** 2 + ((yy - cy) / 5) ** 2 <= 1
    f = 3000 + 60 * xx / 160 + rng.normal(0, 4, xx.shape) + 700 * blob
    frames.append(numpy.clip(f, 0, 65535).astype(numpy.uint16))
    boxes.append([cx - 7, cy - 5, 14, 10])
out = {"numpy": numpy.__version__, "package": fgsgt_ros.__file__}
for spec in ("fgsgt", "csrt"):
    # PyTorch in both venvs: the numpy versions are compared, not the runtimes ("auto" picks
    # onnxruntime where it imports, and it does not beside numpy 1.26)
    tracker, pre = build_tracker(spec, runtime="torch"), ThermalPreprocessor()
    tracker.init(pre(frames[0]), boxes[0])
    out[spec] = [tracker.update(pre(f)).box.tolist() for f in frames[1:]]
print(json.dumps(out))
"""


def test_package_installs_and_tracks_under_the_distributions_numpy_1_26(tmp_path):
    """A second venv layered over this one (like --system-site-packages over a ROS install),
    with numpy 1.26 of its own; the package is pip-installed from a copy of its sources."""
    base = getattr(sys, "_base_executable", None) or shutil.which("python3.11")
    if not base or not Path(base).exists():
        pytest.skip("no base interpreter to create a second venv from")
    venv = tmp_path / "venv"
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()"
                              "['purelib'])"], capture_output=True, text=True, check=True).stdout
    # the underlay: torch, OpenCV, pip from this venv, after the second venv's own packages
    Path(purelib.strip(), "zz_underlay.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps",
                        f"numpy=={DISTRO_NUMPY}"], capture_output=True, text=True, timeout=300,
                       env=env)
    if r.returncode != 0:
        pytest.skip(f"numpy {DISTRO_NUMPY} not installable here: {r.stderr.strip()[-300:]}")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("setup.py", "README.md", "LICENSE", "MANIFEST.in", "package.xml"):
        shutil.copy2(REPO / name, src / name)
    for name in ("fgsgt_ros", "requirements", "launch", "config"):
        shutil.copytree(REPO / name, src / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                        str(src)], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    # the installed metadata's ranges accept numpy 1.26 (what pip would check)
    r = subprocess.run([str(py), "-c", "import importlib.metadata as m, json; "
                        "print(json.dumps(m.requires('fgsgt_ros')))"],
                       capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    requires = [Requirement(x) for x in json.loads(r.stdout)]
    numpy_req = next(q for q in requires if q.name == "numpy" and q.marker is None)
    assert numpy_req.specifier.contains(DISTRO_NUMPY)

    # the README's ROS-workspace pip command, with the distribution's numpy held: pip installs
    # nothing that replaces numpy (torch and onnxruntime come from the underlay here)
    hold = tmp_path / "hold.txt"
    hold.write_text(f"numpy=={DISTRO_NUMPY}\n")
    r = subprocess.run([str(py), "-m", "pip", "install", "--dry-run", "--quiet", "--report",
                        str(tmp_path / "report.json"), "-r", str(REQ / "ros-workspace.txt"),
                        "-c", str(hold)], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    planned = {canonicalize_name(i["metadata"]["name"]) for i in report.get("install", [])}
    assert "numpy" not in planned and not any("opencv" in n for n in planned), planned

    runs = {}
    for label, python in (("second", py), ("main", Path(sys.executable))):
        r = subprocess.run([str(python), "-c", _TRACK], capture_output=True, text=True,
                           timeout=300, env=env, cwd=tmp_path)
        assert r.returncode == 0, f"{label}: {r.stderr[-3000:]}"
        runs[label] = json.loads(r.stdout.strip().splitlines()[-1])
    second, main = runs["second"], runs["main"]
    assert second["numpy"] == DISTRO_NUMPY and main["numpy"] != DISTRO_NUMPY
    assert Path(second["package"]).is_relative_to(venv), second["package"]
    import numpy as np
    for spec in ("fgsgt", "csrt"):
        assert len(second[spec]) == 9
        np.testing.assert_allclose(second[spec], main[spec], atol=1e-3, err_msg=spec)


def test_docs_and_code_cite_no_machine_or_shared_paths():
    """Users get the repository alone: README, docs, code, benches, launch and config files name
    no shared/ folder or machine path (the tests' conftest locates the CI data, nothing else)."""
    import re

    pattern = re.compile(r"(?<![\w.])shared/|/work/")
    offenders = []
    files = [REPO / "README.md", REPO / "package.xml", REPO / "setup.py", REPO / "Makefile"]
    for folder in ("docs", "fgsgt_ros", "fgsgt_dev", "bench", "release", "launch", "config",
                   "requirements", "tools"):
        files += [p for p in (REPO / folder).rglob("*") if p.is_file()
                  and p.suffix in (".md", ".py", ".txt", ".yaml", ".xml", ".rviz", ".cfg", "")]
    for path in files:
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{n}: {line.strip()[:100]}")
    assert not offenders, "\n".join(offenders)
