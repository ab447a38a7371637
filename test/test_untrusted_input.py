"""What a network peer controls, checked without ROS: compressed-image headers are checked before
decoding (size bombs, lying headers, other codecs), untrusted strings are escaped and short in
logs, the log throttle holds per kind, the frame buffer is bounded in bytes, and a checkpoint
cannot run code when loaded."""

import logging
from types import SimpleNamespace

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from fgsgt_ros.ros.buffers import Frame, FrameRingBuffer  # noqa: E402
from fgsgt_ros.ros.conversions import (ConversionError, compressed_header,  # noqa: E402
                                       compressed_to_array, image_to_array)
from fgsgt_dev.fuzzing import (FORGED, jpeg_with_size, png_bomb,  # noqa: E402
                                   png_with_header)
from fgsgt_ros.ros.logsafe import LogThrottle, safe_text  # noqa: E402


def _compressed(data, fmt="mono16; png compressed"):
    return SimpleNamespace(format=fmt, data=data)


@pytest.mark.parametrize("width,height", [(65535, 65535), (2 ** 31 - 1, 1), (40000, 40000)])
def test_png_header_claiming_a_huge_image_is_refused_before_decoding(width, height):
    data = png_with_header(width, height)
    assert len(data) < 80
    # the old path handed this to cv2.imdecode, which raised cv2.error (and killed the node)
    with pytest.raises(ConversionError, match="more than") as info:
        compressed_to_array(_compressed(data))
    assert info.value.reason == "pixels"


def test_jpeg_decompression_bomb_is_refused_before_decoding():
    data = jpeg_with_size(16000, 16000)
    assert len(data) < 1000
    assert compressed_header(data, "jpeg")[:3] == ("jpeg", 16000, 16000)
    with pytest.raises(ConversionError, match="16000x16000") as info:
        compressed_to_array(_compressed(data, "mono8; jpeg compressed mono8"))
    assert info.value.reason == "pixels"


def test_real_png_bomb_is_refused_and_the_limit_is_configurable():
    data = png_bomb(4200, 4100)  # decodable, 17.2 Mpx: above the default 16 Mpx limit
    assert len(data) < 200_000
    with pytest.raises(ConversionError) as info:
        compressed_to_array(_compressed(data))
    assert info.value.reason == "pixels"
    small = cv2.imencode(".png", np.zeros((100, 200), np.uint16))[1].tobytes()
    assert compressed_to_array(_compressed(small)).shape == (100, 200)
    with pytest.raises(ConversionError, match="more than 10000 pixels"):
        compressed_to_array(_compressed(small), max_pixels=10_000)


def test_raw_image_pixel_limit_is_configurable():
    msg = SimpleNamespace(encoding="mono16", width=200, height=100, step=400, is_bigendian=0,
                          data=bytes(400 * 100))
    assert image_to_array(msg).shape == (100, 200)
    with pytest.raises(ConversionError, match="larger than 10000 pixels") as info:
        image_to_array(msg, max_pixels=10_000)
    assert info.value.reason == "pixels"


@pytest.mark.parametrize("fmt,data,reason", [
    ("bmp", lambda: cv2.imencode(".bmp", np.zeros((8, 8), np.uint8))[1].tobytes(), "decode"),
    ("mono8; jpeg compressed mono8",
     lambda: cv2.imencode(".png", np.zeros((8, 8), np.uint8))[1].tobytes(), "format"),
    ("png", lambda: b"\x89PNG\r\n\x1a\n" + bytes(40), "header"),
    ("jpeg", lambda: b"\xff\xd8\xff\xe0\x00\x02\xff\xd9", "header"),
    ("16UC1; compressedDepth png", lambda: bytes(12) + png_with_header(65535, 65535), "pixels"),
], ids=["other_codec", "codec_mismatch", "png_no_ihdr", "jpeg_no_sof", "compressed_depth_bomb"])
def test_compressed_payloads_other_than_the_named_png_or_jpeg_are_refused(fmt, data, reason):
    with pytest.raises(ConversionError) as info:
        compressed_to_array(_compressed(data(), fmt))
    assert info.value.reason == reason


def test_untrusted_strings_in_errors_are_escaped_and_short():
    encoding = "mono16" + FORGED + "x" * 20_000
    msg = SimpleNamespace(encoding=encoding, width=2, height=2, step=4, is_bigendian=0,
                          data=bytes(8))
    with pytest.raises(ConversionError) as info:
        image_to_array(msg)
    text = str(info.value)
    assert "\n" not in text and "\\n[FATAL]" in text and len(text) < 300
    assert info.value.reason == "encoding"
    with pytest.raises(ConversionError) as info:
        compressed_to_array(_compressed(b"garbage", "png" + FORGED + "y" * 20_000))
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


def test_safe_text():
    assert safe_text("mono16") == "mono16"
    assert safe_text("a\nb\x1b[31m\u2028c") == "a\\nb\\x1b[31m\\u2028c"
    long = safe_text("z" * 10_000, limit=20)
    assert long.startswith("z" * 20) and "(10000 chars)" in long and len(long) < 40
    assert safe_text(b"\x00\xff") == "\\x00\\xff"


def test_log_throttle_holds_per_kind_not_per_text():
    lines, now = [], [0.0]
    throttle = LogThrottle(lines.append, lambda: 2.0, clock=lambda: now[0])
    for k in range(300):  # 300 distinct texts of one kind within the period: one line
        throttle.warn("bad_frame:encoding", f"unsupported encoding '{k}'")
    throttle.warn("bad_frame:step", "step too small")  # another kind still gets its line
    assert len(lines) == 2
    now[0] = 2.5
    throttle.warn("bad_frame:encoding", "again")
    assert len(lines) == 3 and "299 more like this suppressed" in lines[-1]


def test_frame_buffer_is_bounded_in_bytes_and_keeps_the_newest():
    ring = FrameRingBuffer(60, max_bytes=10 * 160 * 120 * 2)
    for k in range(30):
        ring.add(Frame(stamp_ns=k, header=None, image=np.zeros((120, 160), np.uint16)))
    assert len(ring) == 10 and ring.nbytes == 10 * 160 * 120 * 2 and ring.get(29) is not None
    ring.add(Frame(stamp_ns=99, header=None, image=np.zeros((512, 640), np.uint16)))  # > bound
    assert len(ring) == 1 and ring.latest().stamp_ns == 99  # the newest always stays
    ring.add(Frame(stamp_ns=100, header=None, image=np.zeros((120, 160), np.uint16)))
    assert len(ring) == 1 and ring.get(100) is not None and ring.nbytes == 160 * 120 * 2


class _Payload:
    """Pickles to a call of ``logging.getLogger('pwned')``: harmless, but it is code run at load."""

    def __reduce__(self):
        return (logging.getLogger, ("fgsgt_pwned_by_pickle",))


def test_checkpoint_with_a_code_running_pickle_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    from fgsgt_ros.model.checkpoint import CheckpointError, load_checkpoint

    path = tmp_path / "evil.pt"
    torch.save({"format": "fgsgt_ros.model", "version": 1, "payload": _Payload()}, path)
    assert "fgsgt_pwned_by_pickle" not in logging.Logger.manager.loggerDict
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)
    # weights-only unpickling refused the global before calling it
    assert "fgsgt_pwned_by_pickle" not in logging.Logger.manager.loggerDict
    # the payload is live: a full unpickler (what weights_only=False means) runs it
    torch.load(path, map_location="cpu", weights_only=False)
    assert "fgsgt_pwned_by_pickle" in logging.Logger.manager.loggerDict


def test_every_checkpoint_load_in_the_package_is_weights_only():
    """No loader in the package may unpickle arbitrary objects: a checkpoint path is a parameter a
    peer can set (applied on the next configure), so every torch.load must pass weights_only=True
    and nothing may use pickle or numpy's allow_pickle."""
    import ast
    from pathlib import Path

    import fgsgt_ros

    offenders, loads = [], 0
    for path in Path(fgsgt_ros.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
            loads += name.endswith("torch.load")
            if name.endswith("torch.load") and keywords.get("weights_only") != "True":
                offenders.append(f"{path.name}:{node.lineno} {name} without weights_only=True")
            if name in ("pickle.load", "pickle.loads", "dill.load", "joblib.load"):
                offenders.append(f"{path.name}:{node.lineno} {name}")
            if keywords.get("allow_pickle") == "True":
                offenders.append(f"{path.name}:{node.lineno} allow_pickle=True")
    assert loads >= 1  # the scan sees the checkpoint loader
    assert not offenders, offenders
