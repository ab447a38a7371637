"""Malformed and hostile input for the tracker node, as a network peer could send it: used by the
fuzz test (test/test_node_fuzz.py) and the fuzz benchmark (bench/bench_fuzz.py).

Every generator is seeded (``numpy.random.Generator``), so a failing run can be replayed. Kinds:

- raw ``sensor_msgs/Image``: ``RAW_KINDS`` (valid frames of several sizes and encodings, unsupported
  and hostile encoding strings, wrong steps, truncated/over-long data, zero and huge sizes, flipped
  endianness, NaN/inf/extreme and constant float frames, odd stamps and frame ids);
- ``sensor_msgs/CompressedImage``: ``COMPRESSED_KINDS`` (valid 16-bit PNG and 8-bit JPEG, empty,
  random and truncated bytes, PNG/JPEG headers that lie about the size, a real PNG bomb, other
  codecs, a codec other than the format string names, hostile format strings);
- ``init_target`` requests and ``init_box`` detections with NaN/inf/huge/negative boxes and odd
  stamps (``hostile_box``).

The message classes are imported on use, so importing this module needs no ROS.
"""

from __future__ import annotations

import struct
import zlib
from typing import Callable, Dict, Tuple

import numpy as np

#: A log line an attacker would like to forge through an unescaped string.
FORGED = "\n[FATAL] [0.000000000] [fgsgt_tracker]: forged by a peer"


def png_with_header(width: int, height: int, bit_depth: int = 16, colour_type: int = 0) -> bytes:
    """A tiny PNG whose IHDR claims ``width`` x ``height`` (valid chunk CRCs, one small IDAT):
    what a decoder reads as a huge image although the message is ~60 bytes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 8))
            + chunk(b"IEND", b""))


def jpeg_with_size(width: int, height: int) -> bytes:
    """A real 8x8 JPEG whose frame header (SOF) is patched to claim ``width`` x ``height``: a
    decompression bomb of a few hundred bytes (libjpeg decodes it to the claimed size)."""
    import cv2

    ok, enc = cv2.imencode(".jpg", np.full((8, 8), 128, np.uint8))
    data = bytearray(enc.tobytes())
    i = 2
    while i + 9 < len(data):
        marker, length = data[i + 1], (data[i + 2] << 8) | data[i + 3]
        if marker in (0xC0, 0xC1, 0xC2):
            data[i + 5:i + 7] = struct.pack(">H", height)
            data[i + 7:i + 9] = struct.pack(">H", width)
            return bytes(data)
        i += 2 + length
    raise RuntimeError("cv2 wrote a JPEG without a SOF0 marker")


def png_bomb(width: int, height: int) -> bytes:
    """A real (decodable) all-zero 16-bit PNG: a few hundred KB that decode to width*height*2."""
    import cv2

    ok, enc = cv2.imencode(".png", np.zeros((height, width), np.uint16),
                           [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return enc.tobytes()


def hostile_box(rng: np.random.Generator) -> Tuple[float, float, float, float]:
    """An (cx, cy, w, h) box from the values that break naive arithmetic."""
    values = (np.nan, np.inf, -np.inf, 1e308, -1e308, 1e30, -1e30, 0.0, -0.0, -5.0, 1e-300,
              5e-324, 2.0 ** 31, 65536.0, 0.5, 1.0, 2.0, 3.0, 80.0, 60.0, 159.9, 119.9, 160.0,
              120.0, 640.0, 512.0, 1e6)
    return tuple(float(values[rng.integers(len(values))]) if rng.random() < 0.7
                 else float(rng.uniform(-50, 700)) for _ in range(4))


def hostile_stamp(rng: np.random.Generator, now_ns: int) -> Tuple[int, int]:
    """(sec, nanosec) for a request stamp: zero, now, far past/future, extremes of the types."""
    choice = rng.integers(7)
    if choice == 0:
        return 0, 0
    if choice == 1:
        return now_ns // 10**9, now_ns % 10**9
    if choice == 2:
        return -(2 ** 31), 0
    if choice == 3:
        return 2 ** 31 - 1, 999_999_999
    if choice == 4:
        return 0, 2 ** 32 - 1  # nanosec beyond a second
    if choice == 5:
        return int(rng.integers(0, 2 ** 31 - 1)), int(rng.integers(0, 10**9))
    return 1, 0


class MessageFactory:
    """Seeded builders of valid and malformed image messages around a valid scene generator.

    ``scene(i)`` must return a valid uint16 (H, W) frame; the factory derives everything else.
    """

    def __init__(self, seed: int, scene: Callable[[int], np.ndarray]) -> None:
        self.rng = np.random.default_rng(seed)
        self.scene = scene
        self.i = 0
        self._png_bomb: bytes = b""

    # --- helpers -----------------------------------------------------------------------------
    def _header(self, frame_id: str = "thermal", stamp: Tuple[int, int] = None):
        from fgsgt_ros.ros.client import make_header

        header = make_header(frame_id=frame_id)
        if stamp is not None:
            header.stamp.sec, header.stamp.nanosec = stamp
        return header

    def _image(self, array: np.ndarray, encoding: str = None, **fields):
        from fgsgt_ros.ros.conversions import array_to_image

        msg = array_to_image(array, self._header(), encoding)
        for key, value in fields.items():
            setattr(msg, key, value)
        return msg

    def _frame(self) -> np.ndarray:
        self.i += 1
        return self.scene(self.i)

    def _random_string(self, n: int) -> str:
        return "".join(chr(c) for c in self.rng.integers(1, 0x2FF, n))

    # --- raw -----------------------------------------------------------------------------------
    def raw(self, kind: str):
        """One sensor_msgs/Image of ``kind`` (see RAW_KINDS)."""
        return RAW_KINDS[kind](self)

    def compressed(self, kind: str):
        """One sensor_msgs/CompressedImage of ``kind`` (see COMPRESSED_KINDS)."""
        from sensor_msgs.msg import CompressedImage

        fmt, data = COMPRESSED_KINDS[kind](self)
        return CompressedImage(header=self._header(), format=fmt, data=data)

    def png16(self, array: np.ndarray) -> bytes:
        import cv2

        return cv2.imencode(".png", array)[1].tobytes()

    def jpeg8(self, array: np.ndarray) -> bytes:
        import cv2

        return cv2.imencode(".jpg", (array >> 6).clip(0, 255).astype(np.uint8))[1].tobytes()

    def png_bomb(self) -> bytes:
        if not self._png_bomb:  # built once: encoding it costs a large temporary array
            self._png_bomb = png_bomb(6000, 6000)
        return self._png_bomb


def _temperature(f: MessageFactory) -> np.ndarray:
    return (f._frame().astype(np.float32) / 100.0 - 10.0).astype(np.float32)


def _nonfinite(f: MessageFactory) -> np.ndarray:
    shape = f.scene(0).shape
    inf = np.where(f.rng.random(shape) < 0.5, np.inf, -np.inf)
    return np.where(f.rng.random(shape) < 0.5, np.nan, inf).astype(np.float32)


def _big_endian_floats(f: MessageFactory):
    msg = f._image(_temperature(f), "32FC1")
    msg.is_bigendian = 1  # little-endian data flagged big-endian: bytes swapped, values +-3e38
    return msg


RAW_KINDS: Dict[str, Callable[[MessageFactory], object]] = {
    "valid_mono16": lambda f: f._image(f._frame()),
    "valid_16UC1": lambda f: f._image(f._frame(), "16UC1"),
    "valid_32FC1": lambda f: f._image(_temperature(f), "32FC1"),
    "valid_bgr8": lambda f: f._image(np.repeat(((f._frame() >> 6).clip(0, 255)).astype(np.uint8)
                                               [..., None], 3, axis=2), "bgr8"),
    "valid_large_mono16": lambda f: f._image(np.tile(f._frame(), (4, 4))),
    "valid_tiny_mono16": lambda f: f._image(f._frame()[:3, :2].copy()),
    "encoding_unsupported": lambda f: _with(f._image(f._frame()), encoding=str(
        ["yuv422", "", "MONO16", "16SC1", "bayer_rggb8", "64FC1"][f.rng.integers(6)])),
    "encoding_injection": lambda f: _with(f._image(f._frame()), encoding="mono16" + FORGED),
    "encoding_long": lambda f: _with(f._image(f._frame()), encoding=f._random_string(20_000)),
    "step_small": lambda f: _with(f._image(f._frame()), step=7),
    "step_huge": lambda f: _with(f._image(f._frame()), step=2 ** 32 - 1),
    "truncated": lambda f: _truncate(f._image(f._frame()), f.rng),
    "overlong": lambda f: _overlong(f._image(f._frame()), f.rng),
    "zero_size": lambda f: _with(f._image(f._frame()), width=0, height=0, data=b""),
    "huge_size": lambda f: _with(f._image(f._frame()), width=2 ** 32 - 1, height=2 ** 32 - 1),
    "huge_area": lambda f: _with(f._image(f._frame()), width=100_000, height=100_000,
                                 step=200_000),
    "bigendian_mono16": lambda f: _with(f._image(f._frame()), is_bigendian=1),
    "bigendian_32FC1": _big_endian_floats,
    "float_extreme": lambda f: f._image(np.linspace(-3e38, 3e38, f.scene(0).size, dtype=np.float32)
                                        .reshape(f.scene(0).shape), "32FC1"),
    "float_nonfinite": lambda f: f._image(_nonfinite(f), "32FC1"),
    "float_constant_huge": lambda f: f._image(
        np.full(f.scene(0).shape, [1e17, -1e20, 3e38][f.rng.integers(3)], np.float32), "32FC1"),
    "constant_mono16": lambda f: f._image(np.full(f.scene(0).shape, f.rng.integers(0, 65536),
                                                  np.uint16)),
    "frame_id_injection": lambda f: _with(f._image(f._frame()),
                                          header=f._header("thermal" + FORGED + "x" * 5000)),
    "stamp_odd": lambda f: _with(f._image(f._frame()),
                                 header=f._header(stamp=hostile_stamp(f.rng, 0))),
}


def _with(msg, **fields):
    for key, value in fields.items():
        setattr(msg, key, value)
    return msg


def _truncate(msg, rng):
    msg.data = bytes(msg.data)[: int(rng.integers(0, len(msg.data)))]
    return msg


def _overlong(msg, rng):
    msg.data = bytes(msg.data) + bytes(int(rng.integers(1, 5000)))
    return msg


def _random_bytes(f: MessageFactory) -> bytes:
    return f.rng.integers(0, 256, int(f.rng.integers(1, 4000)), dtype=np.uint8).tobytes()


def _truncated(data: bytes, rng) -> bytes:
    return data[: int(rng.integers(1, max(2, len(data) - 1)))]


COMPRESSED_KINDS: Dict[str, Callable[[MessageFactory], Tuple[str, bytes]]] = {
    "valid_png16": lambda f: ("mono16; png compressed", f.png16(f._frame())),
    "valid_jpeg8": lambda f: ("mono8; jpeg compressed mono8", f.jpeg8(f._frame())),
    "empty": lambda f: ("mono16; png compressed", b""),
    "random_bytes": lambda f: ("png", _random_bytes(f)),
    "png_magic_garbage": lambda f: ("png", b"\x89PNG\r\n\x1a\n" + _random_bytes(f)),
    "jpeg_magic_garbage": lambda f: ("jpeg", b"\xff\xd8\xff" + _random_bytes(f)),
    "truncated_png": lambda f: ("mono16; png compressed", _truncated(f.png16(f._frame()), f.rng)),
    "truncated_jpeg": lambda f: ("jpeg", _truncated(f.jpeg8(f._frame()), f.rng)),
    "png_lying_header": lambda f: ("mono16; png compressed", png_with_header(
        *[(65535, 65535), (2 ** 31 - 1, 1), (1, 2 ** 31 - 1), (0, 100), (40000, 40000)]
        [f.rng.integers(5)])),
    "jpeg_bomb": lambda f: ("mono8; jpeg compressed mono8", jpeg_with_size(16000, 16000)),
    "png_bomb": lambda f: ("mono16; png compressed", f.png_bomb()),
    "other_codec": lambda f: ("bmp", __import__("cv2").imencode(
        ".bmp", (f._frame() >> 8).astype(np.uint8))[1].tobytes()),
    "codec_mismatch": lambda f: ("mono8; jpeg compressed mono8", f.png16(f._frame())),
    "format_injection": lambda f: ("png" + FORGED + f._random_string(20_000), _random_bytes(f)),
    "compressed_depth_garbage": lambda f: ("16UC1; compressedDepth png",
                                           bytes(12) + png_with_header(65535, 65535)),
}


def init_request(rng: np.random.Generator, now_ns: int):
    """An InitTarget request with a hostile box and stamp."""
    from fgsgt_ros.srv import InitTarget

    req = InitTarget.Request()
    cx, cy, w, h = hostile_box(rng)
    req.box.center.position.x, req.box.center.position.y = cx, cy
    req.box.size_x, req.box.size_y = w, h
    req.stamp.sec, req.stamp.nanosec = hostile_stamp(rng, now_ns)
    return req


def init_box_message(rng: np.random.Generator, now_ns: int):
    """A vision_msgs/Detection2D for ``init_box`` with a hostile box, stamp and strings."""
    from vision_msgs.msg import Detection2D

    det = Detection2D()
    cx, cy, w, h = hostile_box(rng)
    det.bbox.center.position.x, det.bbox.center.position.y = cx, cy
    det.bbox.center.theta = float([0.0, np.nan, 1e308][rng.integers(3)])
    det.bbox.size_x, det.bbox.size_y = w, h
    det.header.stamp.sec, det.header.stamp.nanosec = hostile_stamp(rng, now_ns)
    det.header.frame_id = "thermal" + (FORGED if rng.random() < 0.5 else "")
    det.id = "x" * int(rng.integers(0, 3000))
    return det
