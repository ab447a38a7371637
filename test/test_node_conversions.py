"""Image message decoding used by the node: every camera encoding we accept comes back with the raw
values (no scaling), and every malformed message is refused with a reason (never a crash)."""

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from fgsgt_ros.ros.conversions import ConversionError, compressed_to_array, image_to_array


def _msg(array, encoding, big=False, pad=0):
    """A duck-typed sensor_msgs/Image holding ``array`` with ``pad`` extra bytes per row."""
    a = np.ascontiguousarray(array)
    if big and a.dtype.itemsize > 1:
        a = a.astype(a.dtype.newbyteorder(">"))
    rows = a.reshape(a.shape[0], -1).view(np.uint8)
    rows = np.concatenate([rows, np.zeros((rows.shape[0], pad), np.uint8)], axis=1)
    return SimpleNamespace(height=a.shape[0], width=a.shape[1], encoding=encoding,
                           is_bigendian=int(big), step=rows.shape[1], data=rows.tobytes())


@pytest.mark.parametrize("encoding,dtype,channels", [
    ("mono8", np.uint8, 1), ("mono16", np.uint16, 1), ("16UC1", np.uint16, 1),
    ("32FC1", np.float32, 1), ("bgr8", np.uint8, 3)])
@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("pad", [0, 6])
def test_raw_values_survive_decoding_with_padding_and_endianness(encoding, dtype, channels, big, pad):
    rng = np.random.default_rng(0)
    shape = (7, 5) if channels == 1 else (7, 5, 3)
    hi = 1.0 if dtype == np.float32 else np.iinfo(dtype).max
    array = (rng.random(shape) * hi).astype(dtype)
    out = image_to_array(_msg(array, encoding, big, pad))
    assert out.dtype == dtype and out.shape == shape
    np.testing.assert_array_equal(out, array)


def test_rgb8_comes_back_as_bgr():
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[..., 0] = 200  # red
    out = image_to_array(_msg(rgb, "rgb8"))
    assert (out[..., 2] == 200).all() and (out[..., 0] == 0).all()


def test_fourteen_bit_thermal_is_not_scaled_down():
    # cv_bridge would divide by 257 and turn 14-bit data almost black: we keep the counts.
    array = np.full((4, 4), 9000, np.uint16)
    assert image_to_array(_msg(array, "mono16")).max() == 9000


@pytest.mark.parametrize("mutate,reason", [
    (lambda m: setattr(m, "encoding", "yuv422"), "unsupported encoding"),
    (lambda m: setattr(m, "step", 3), "step"),
    (lambda m: setattr(m, "data", m.data[:-5]), "truncated"),
    (lambda m: setattr(m, "data", m.data + b"xx"), "mismatch"),
    (lambda m: (setattr(m, "height", 0), setattr(m, "data", b"")), "zero-size"),
    (lambda m: setattr(m, "width", 0), "zero-size"),
])
def test_malformed_images_are_refused_with_a_reason(mutate, reason):
    msg = _msg(np.zeros((6, 8), np.uint16), "mono16")
    mutate(msg)
    with pytest.raises(ConversionError, match=reason):
        image_to_array(msg)


@pytest.mark.parametrize("dtype,ext", [(np.uint8, ".png"), (np.uint16, ".png"), (np.uint8, ".jpg")])
def test_compressed_png_and_jpeg_decode_at_full_depth(dtype, ext):
    array = (np.arange(64 * 48).reshape(48, 64) % 250).astype(dtype) * (200 if dtype == np.uint16 else 1)
    ok, enc = cv2.imencode(ext, array)
    out = compressed_to_array(SimpleNamespace(format=ext[1:], data=enc.tobytes()))
    assert out.dtype == dtype and out.shape == array.shape
    if ext == ".png":
        np.testing.assert_array_equal(out, array)


@pytest.mark.parametrize("data", [b"", b"\x89PNG\r\n\x1a\n garbage", bytes(range(256)) * 4])
def test_corrupted_compressed_bytes_are_refused(data):
    with pytest.raises(ConversionError):
        compressed_to_array(SimpleNamespace(format="png", data=data))
