"""Shared pytest fixtures for fgsgt_ros.

Fixtures any test can use (no import needed):

- ``shared_dir`` / ``real_data_dir`` / ``real_clip_dir`` / ``shared_models_dir``: the project's
  shared data (real 16-bit FLIR Lepton clip ``possum_cp`` under ``shared/data/tir_real_dev``; the
  reference ONNX exports of the pretrained weights under ``shared/models``). Located by
  :func:`find_shared_dir`: ``$FGSGT_SHARED``, then ``../shared`` beside the repo (how CI lays it
  out). Missing data fails under CI (``CI=true``) and skips elsewhere.
- ``torch_threads`` (autouse): torch and OpenMP limited to one thread per test process, so the
  suite does not fight the other users of this 2-core machine.
- ``ros_domain_id``: a ROS domain id reserved for this test alone (an exclusive lock file in the
  temp dir, so concurrent pytest runs on the machine never share a domain). It is also set in
  ``os.environ`` (``ROS_DOMAIN_ID``), so in-process ``rclpy.init()`` uses it.
- ``ros_module_domain_id``: the same reservation held for a whole module (module-scoped nodes).
- ``ros_env``: a copy of the environment for ROS processes of this test: that domain id,
  localhost-only discovery, Fast DDS, unbuffered output. It keeps ``LD_LIBRARY_PATH`` and the
  ros-wheels-bootstrapper guard from this (already bootstrapped) interpreter, so children start
  without re-exec and find the ROS libraries.
- ``ros_process``: a factory ``ros_process(code_or_argv, name=...) -> RosProcess`` that starts
  Python code (a string, run with ``python -c``) or an argv list in its own process with
  ``ros_env``; its output goes to a log file shown on failure, and every process is stopped at
  teardown.
- ``rclpy_context``: an initialised rclpy ``Context`` on ``ros_domain_id`` for in-process nodes
  (``rclpy.node.Node(name, context=ctx)``), shut down at teardown.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence, Union

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# fgsgt_dev (the node harness, fuzzer and replay; not installed) is imported from the checkout
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
REAL_CLIP = "possum_cp"

# Child processes (torch in the node, OpenCV) inherit this: one thread each on this small machine.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


# ---------------------------------------------------------------------------------------------
# Shared data
# ---------------------------------------------------------------------------------------------

def find_shared_dir() -> Optional[Path]:
    """The shared/ folder (docs + data) or None: $FGSGT_SHARED, else ../shared beside the repo."""
    candidates = []
    if os.environ.get("FGSGT_SHARED"):
        candidates.append(Path(os.environ["FGSGT_SHARED"]))
    candidates.append(REPO_ROOT.parent / "shared")
    for cand in candidates:
        if (cand / "data").is_dir():
            return cand.resolve()
    return None


def _missing(what: str) -> None:
    msg = (f"{what} not found: set FGSGT_SHARED to the shared/ folder "
           f"(looked in $FGSGT_SHARED and {REPO_ROOT.parent / 'shared'})")
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    found = find_shared_dir()
    if found is None:
        _missing("shared/ data folder")
    return found


@pytest.fixture(scope="session")
def real_data_dir(shared_dir: Path) -> Path:
    """shared/data/tir_real_dev: real thermal clips (tests and evaluation only, never training)."""
    path = shared_dir / "data" / "tir_real_dev"
    if not path.is_dir():
        _missing(str(path))
    return path


@pytest.fixture(scope="session")
def shared_models_dir(shared_dir: Path) -> Path:
    """shared/models: the pretrained weights' reference exports (NanoTrack's ONNX files)."""
    path = shared_dir / "models"
    if not path.is_dir():
        _missing(str(path))
    return path


@pytest.fixture(scope="session")
def real_clip_dir(real_data_dir: Path) -> Path:
    """The real clip folder: img/%06d.png (16-bit), groundtruth_rect.txt (x,y,w,h, NaN = absent)."""
    path = real_data_dir / REAL_CLIP
    if not (path / "groundtruth_rect.txt").is_file():
        _missing(str(path / "groundtruth_rect.txt"))
    return path


# ---------------------------------------------------------------------------------------------
# CPU threads
# ---------------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def torch_threads() -> Iterator[None]:
    """One torch thread per test (only if the test imported torch: no import cost otherwise)."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------------------------------------
# ROS 2: isolated domains and processes
# ---------------------------------------------------------------------------------------------

# Domain ids 1..100 are all valid for Fast DDS on Linux (0 is the default that a stray ROS
# process would use, so it is left alone).
_DOMAIN_RANGE = range(1, 101)
_LOCK_DIR = Path(tempfile.gettempdir()) / "fgsgt_ros_domain_locks"


class DomainLease:
    """An exclusive, process-crash-safe claim on one ROS domain id (flock on a lock file)."""

    def __init__(self) -> None:
        _LOCK_DIR.mkdir(parents=True, exist_ok=True)
        start = (os.getpid() * 7919 + time.monotonic_ns()) % len(_DOMAIN_RANGE)
        for i in range(len(_DOMAIN_RANGE)):
            domain = _DOMAIN_RANGE[(start + i) % len(_DOMAIN_RANGE)]
            fd = os.open(_LOCK_DIR / f"{domain}.lock", os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.domain_id, self._fd = domain, fd
            return
        raise RuntimeError(f"all ROS domain ids {_DOMAIN_RANGE.start}..{_DOMAIN_RANGE.stop - 1} "
                           "are in use by other test processes")

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)


def make_ros_env(domain_id: int, base: Optional[dict] = None) -> dict:
    """Environment for ROS processes that must see each other and nothing off this machine."""
    env = dict(os.environ if base is None else base)
    env["ROS_DOMAIN_ID"] = str(int(domain_id))
    # Kilted: discovery limited to this host (ROS_LOCALHOST_ONLY is the deprecated spelling).
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env.pop("ROS_LOCALHOST_ONLY", None)
    env.pop("ROS_STATIC_PEERS", None)
    env["RMW_IMPLEMENTATION"] = "rmw_fastrtps_cpp"
    env["PYTHONUNBUFFERED"] = "1"
    env["RCUTILS_COLORIZED_OUTPUT"] = "0"
    return env


@pytest.fixture
def ros_domain_id(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    lease = DomainLease()
    for key, value in make_ros_env(lease.domain_id, base={}).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ROS_LOCALHOST_ONLY", raising=False)
    try:
        yield lease.domain_id
    finally:
        lease.release()


@pytest.fixture(scope="module")
def ros_module_domain_id() -> Iterator[int]:
    """Like ``ros_domain_id`` but held for a whole test module (for module-scoped nodes); it does
    not touch ``os.environ``: pass it on with ``make_ros_env(domain)``/``rclpy.init(domain_id=)``."""
    lease = DomainLease()
    try:
        yield lease.domain_id
    finally:
        lease.release()


@pytest.fixture
def ros_env(ros_domain_id: int) -> dict:
    return make_ros_env(ros_domain_id)


@dataclass
class RosProcess:
    """A child process of a test; ``output()`` reads its combined stdout/stderr log."""

    name: str
    proc: subprocess.Popen
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGINT (rclpy shuts down cleanly), then SIGKILL if it does not exit in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        return self.proc.returncode


@pytest.fixture
def ros_process(ros_env: dict, tmp_path: Path, request: pytest.FixtureRequest):
    """Factory: ``ros_process("python code" | [argv...], name="pub") -> RosProcess``."""
    started: list[RosProcess] = []

    def start(code_or_argv: Union[str, Sequence[str]], name: str = "proc",
              extra_env: Optional[dict] = None) -> RosProcess:
        if isinstance(code_or_argv, str):
            argv = [sys.executable, "-c", code_or_argv]
        else:
            argv = [str(a) for a in code_or_argv]
        env = dict(ros_env)
        env.update(extra_env or {})
        log_path = tmp_path / f"{name}-{len(started)}.log"
        with open(log_path, "w") as log:
            proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, cwd=str(REPO_ROOT))
        rp = RosProcess(name, proc, log_path)
        started.append(rp)
        return rp

    yield start

    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for rp in started:
        code = rp.stop()
        if failed:
            sys.stderr.write(f"\n----- {rp.name} (exit {code}) output -----\n{rp.output()}\n")


@pytest.fixture
def rclpy_context(ros_domain_id: int):
    """An initialised rclpy Context on this test's domain (in-process nodes use context=ctx)."""
    rclpy = pytest.importorskip("rclpy")
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=ros_domain_id)
    try:
        yield ctx
    finally:
        rclpy.shutdown(context=ctx)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item so fixtures can show child logs on failure."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
