"""Point the ROS 2 wheels' exported CMake targets at this interpreter's real include dirs.

The ``ros-*`` wheels on PyPI are built in a manylinux container, and their exported
``*__rosidl_generator_pyExport.cmake`` files name that container's include directories
(``/opt/python/cp311-cp311/include/python3.11`` and the numpy headers below it). CMake refuses
imported targets whose include directories do not exist ("includes non-existent path"), so
generating our own interfaces against them fails. This rewrites those two paths to the running
interpreter's Python headers and numpy headers. Idempotent; only touches files under
``<prefix>/share/*/cmake`` that still contain the container path.

Usage: python tools/patch_ros_wheels.py [PREFIX]   (default: sys.prefix, i.e. the venv)
"""

from __future__ import annotations

import re
import sys
import sysconfig
from pathlib import Path

# /opt/python/cp311-cp311 (the manylinux interpreter prefix the wheels were built with)
_BUILD_PREFIX = re.compile(r"/opt/python/cp3\d+-cp3\d+t?")


def replacements() -> list[tuple[re.Pattern[str], str]]:
    import numpy

    py_include = sysconfig.get_paths()["include"]
    np_include = numpy.get_include()
    for path in (py_include, np_include):
        if not Path(path, "Python.h" if path == py_include else "numpy").exists():
            raise SystemExit(f"patch_ros_wheels: expected headers missing under {path}")
    return [
        (re.compile(_BUILD_PREFIX.pattern + r"/lib/python3\.\d+/site-packages/numpy/_core/include"),
         np_include),
        (re.compile(_BUILD_PREFIX.pattern + r"/include/python3\.\d+t?"), py_include),
    ]


def patch(prefix: Path) -> int:
    subs = replacements()
    changed = 0
    for cmake_file in sorted(prefix.glob("share/*/cmake/*.cmake")):
        text = cmake_file.read_text()
        if not _BUILD_PREFIX.search(text):
            continue
        new = text
        for pattern, repl in subs:
            new = pattern.sub(repl.replace("\\", "\\\\"), new)
        if new != text:
            cmake_file.write_text(new)
            changed += 1
    return changed


def main() -> None:
    prefix = Path(sys.argv[1] if len(sys.argv) > 1 else sys.prefix)
    n = patch(prefix)
    print(f"patch_ros_wheels: patched {n} CMake export file(s) under {prefix}")


if __name__ == "__main__":
    main()
