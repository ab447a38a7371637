"""TrackingSession: the one per-frame loop (node, eval, calibration): output rule, AGC policy,
bad frames, timing, generic trackers."""

import threading

import numpy as np
import pytest

from fgsgt_ros.boxes import iou_xywh
from fgsgt_ros.tracker.base import InvalidBoxError, TrackResult, TrackState
from fgsgt_ros.tracker.session import ModelLoadError, TrackingSession
from fgsgt_ros.tracker.thermal import BadFrameError, ThermalPreprocessor


def _scene(i, h=120, w=160, dtype=np.float32):
    """Temperatures (deg C): 20 +- noise, a 34 deg target moving 2 px per frame to the right."""
    rng = np.random.default_rng(i)
    t = 20.0 + rng.normal(0, 0.15, (h, w))
    x = 30 + 2 * i
    t[50:66, x:x + 14] = 34.0
    return t.astype(dtype)


def _truth(i):
    return np.array([30 + 2 * i, 50, 14, 16], float)


class Scripted:
    """A minimal tracker: planned states, box = truth; no reset()/state of its own."""

    def __init__(self, states):
        self.states, self.k = states, 0

    def init(self, image, box):
        self.k = 0

    def update(self, image):
        state = self.states[self.k]
        self.k += 1
        return TrackResult(box=np.array([1.0, 2.0, 3.0, 4.0]), score=0.5, state=state)


def test_published_is_the_box_only_while_tracking():
    session = TrackingSession(Scripted([TrackState.TRACKING, TrackState.LOST, TrackState.TRACKING]))
    assert session.state == "IDLE"
    idle = session.step(_scene(0))
    assert idle.state == "IDLE" and idle.box is None and idle.published is None
    session.init(_scene(0), _truth(0))
    results = [session.step(_scene(i)) for i in (1, 2, 3)]
    assert [r.state for r in results] == ["TRACKING", "LOST", "TRACKING"]
    assert results[0].published is not None and results[2].published is not None
    assert results[1].published is None and results[1].box is not None  # own box kept while LOST
    for r in results:
        assert r.times.total_s >= r.times.preprocess_s >= 0 and r.times.track_s >= 0
    session.reset()
    assert session.state == "IDLE" and session.preprocessor.range is None


def test_init_relearns_the_agc_and_a_refused_init_keeps_everything():
    session = TrackingSession("csrt")
    for i in range(5):
        session.step(_scene(i) + 1000.0)  # another scene before the target is chosen
    r = session.init(_scene(5), _truth(5))
    np.testing.assert_array_equal(r.image, ThermalPreprocessor()(_scene(5)))
    before = session.preprocessor.snapshot()
    with pytest.raises(InvalidBoxError):
        session.init(_scene(6), (1e9, 1e9, 5, 5))
    with pytest.raises(BadFrameError):
        session.init(np.full((120, 160), np.nan, np.float32), _truth(6))
    assert session.preprocessor.snapshot() == before and session.state == "TRACKING"
    assert session.init_count == 1


@pytest.mark.parametrize("tracker", ["csrt", "fgsgt"])
def test_poisoning_frames_are_refused_and_tracking_resumes_on_the_next_good_frame(tracker):
    """Issue 15: [-3e38, 3e38] frames, byte-swapped floats, constant 1e17 and all-NaN frames in
    the middle of a moving target: each is refused (nothing published, the tracker does not run,
    the AGC keeps its range) and the target is still followed afterwards."""
    session = TrackingSession(tracker)
    session.init(_scene(0), _truth(0))
    for i in range(1, 6):
        assert session.step(_scene(i)).state == "TRACKING"
    rng = np.random.default_rng(0)
    poison = [rng.uniform(-3e38, 3e38, (120, 160)).astype(np.float32),
              _scene(6).byteswap(),
              np.full((120, 160), 1e17, np.float32),
              np.full((120, 160), np.nan, np.float32)]
    agc_range = session.preprocessor.range
    for frame in poison:
        r = session.step(frame)
        assert r.refused and r.published is None and r.track is None and r.state == "TRACKING"
    assert session.preprocessor.range == agc_range
    ious = [iou_xywh(session.step(_scene(i)).published, _truth(i)) for i in range(6, 30)]
    assert min(ious[-5:]) > 0.5


def test_spec_errors_are_one_line_model_load_errors():
    with pytest.raises(ModelLoadError, match="not found"):
        TrackingSession("fgsgt_tiny:/no/such/file.pt")
    with pytest.raises(ModelLoadError, match="precision"):
        TrackingSession("csrt", precision="fp8")
    with pytest.raises(TypeError, match="update"):
        TrackingSession(object())


def test_shipped_network_session_gives_saliency_on_demand_and_no_autograd():
    session = TrackingSession("fgsgt", device="cpu")
    assert session.model_name and session.tracker_defaults is not None
    session.init(_scene(0), _truth(0))
    r = session.step(_scene(1))
    assert r.track is not None and r.track._saliency is None  # not computed unless read
    sal = r.saliency
    assert sal is None or (sal.shape == (120, 160) and sal.dtype == np.float32)
    # the same frames give the same result through a second session (deterministic on CPU)
    again = TrackingSession("fgsgt", device="cpu")
    again.init(_scene(0), _truth(0))
    np.testing.assert_allclose(again.step(_scene(1)).box, r.box, atol=1e-6)


def test_the_lock_serialises_init_and_step_from_two_threads():
    session = TrackingSession("csrt")
    session.init(_scene(0), _truth(0))
    errors = []

    def worker():
        try:
            for i in range(1, 40):
                session.step(_scene(i))
        except Exception as exc:  # pragma: no cover - the failure being tested for
            errors.append(exc)

    t = threading.Thread(target=worker)
    t.start()
    for i in range(10):
        session.init(_scene(i), _truth(i))
        session.reset()
    t.join()
    assert not errors


def test_from_spec_decides_peer_or_network_once_and_resolves_the_device_once(monkeypatch):
    """One way to a session from a spec: a peer by its name in any case, a network on its
    runtime; an absent CUDA device falls back to the CPU with a warning (the node) or, with
    device_fallback=False, is one line naming what to use (command lines)."""
    from fgsgt_ros import devices, weights

    peer = TrackingSession.from_spec(" CSRT ")
    assert peer.peer == "csrt" and peer.loaded is None and peer.runtime == "opencv"
    monkeypatch.setattr(devices, "_cuda_problem", lambda index: "no CUDA here (test)")
    warnings = []
    fallen = TrackingSession.from_spec("csrt", device="cuda:0", warn=warnings.append)
    assert fallen.device == "cpu" and any("falling back to CPU" in w for w in warnings)
    if not weights.default_checkpoint().is_file():
        pytest.skip("no shipped checkpoint in this checkout")
    with pytest.raises(ModelLoadError, match="'cpu'"):
        TrackingSession.from_spec("fgsgt", device="cuda:0", device_fallback=False)
    network = TrackingSession.from_spec("fgsgt", device="cuda:0", warn=warnings.append)
    from fgsgt_ros.model.runtime import onnx_available
    # the default runtime ("auto") is resolved once, to onnx where it is installed
    assert network.device == "cpu" and network.runtime == ("onnx" if onnx_available() else "torch")
    assert network.loaded is not None and network.calibrated
    with pytest.raises(TypeError):
        TrackingSession.from_spec(object())
