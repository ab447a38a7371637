"""sensor_msgs <-> numpy conversions, written here because cv_bridge is not available.

Why our own: cv_bridge maps mono16 -> mono8 with a fixed 255/65535 scale (14-bit thermal frames come
out black) and refuses 16UC1 -> bgr8; a thermal node must keep the raw radiometric counts and leave
scaling to the thermal preprocessor (AGC).

Decoding functions take any object with the message's fields (duck typing), so they are testable
without ROS; every malformed input raises ``ConversionError`` with a one-line reason (untrusted
strings quoted escaped and short) and a fixed ``reason`` code that the node counts in its
diagnostics and throttles its log lines by. Nothing large is allocated before a message is known to
be sane: raw images are checked against ``max_pixels`` and their byte count before the copy, and a
compressed image's PNG/JPEG header is parsed (codec, width, height) and checked against
``max_pixels`` before ``cv2.imdecode`` runs, so a 300-byte "decompression bomb" claiming
16000x16000 pixels is refused without decoding it.

Returned arrays: ``(H, W)`` for one channel, ``(H, W, 3)`` in BGR order for colour; dtype uint8,
uint16 or float32 exactly as sent (no scaling).
"""

from __future__ import annotations

import struct
import sys
from typing import Dict, Optional, Tuple

import numpy as np

from fgsgt_ros.ros.logsafe import safe_text

# encoding -> (dtype, channels, is_rgb). Only what a thermal or ordinary camera sends; the node
# turns colour into the same grey/3-channel input the network expects.
ENCODINGS: Dict[str, Tuple[np.dtype, int, bool]] = {
    "mono8": (np.dtype(np.uint8), 1, False),
    "8UC1": (np.dtype(np.uint8), 1, False),
    "mono16": (np.dtype(np.uint16), 1, False),
    "16UC1": (np.dtype(np.uint16), 1, False),
    "32FC1": (np.dtype(np.float32), 1, False),
    "bgr8": (np.dtype(np.uint8), 3, False),
    "8UC3": (np.dtype(np.uint8), 3, False),
    "rgb8": (np.dtype(np.uint8), 3, True),
}
SUPPORTED_ENCODINGS = ("mono8", "mono16", "16UC1", "32FC1", "bgr8", "rgb8")

# Default pixel limit for one decoded frame (the node's ``max_image_pixels`` parameter): 4096x4096,
# far above any thermal camera, while a refused header never costs a large allocation or a
# seconds-long decode.
MAX_PIXELS = 4096 * 4096

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_SYSTEM_BIG_ENDIAN = sys.byteorder == "big"


class ConversionError(ValueError):
    """A message that cannot be turned into an image; the message says why in one line and
    ``reason`` names the kind of problem (a short fixed code: encoding, size, step, data, pixels,
    format, header, decode) for counting and log throttling."""

    def __init__(self, message: str, reason: str = "malformed") -> None:
        super().__init__(message)
        self.reason = reason


def _as_buffer(data) -> memoryview:
    # rclpy gives uint8[] as array.array('B'); tests may pass bytes or lists.
    try:
        return memoryview(data).cast("B")
    except TypeError:
        return memoryview(bytes(data))


def _dimension(value, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise ConversionError(f"{name} is not an integer: {safe_text(value)}", "size") from None


def image_to_array(msg, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode a sensor_msgs/Image (honouring ``step`` and ``is_bigendian``) into a numpy array.

    Raises ConversionError for unsupported encodings, zero size, more than ``max_pixels`` pixels,
    a step smaller than a row, or a data length that differs from ``step * height``; all checked
    before the pixels are copied.
    """
    encoding = str(msg.encoding)
    if encoding not in ENCODINGS:
        raise ConversionError(
            f"unsupported encoding '{safe_text(encoding)}' (supported: "
            f"{', '.join(SUPPORTED_ENCODINGS)})", "encoding")
    dtype, channels, is_rgb = ENCODINGS[encoding]
    height, width = _dimension(msg.height, "height"), _dimension(msg.width, "width")
    step = _dimension(msg.step, "step")
    if height <= 0 or width <= 0:
        raise ConversionError(f"zero-size image {width}x{height} ({encoding})", "size")
    if height * width > max_pixels:
        raise ConversionError(f"image {width}x{height} is larger than {max_pixels} pixels "
                              f"(max_image_pixels)", "pixels")
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise ConversionError(
            f"step {step} is smaller than width*bytes per pixel = {row_bytes} "
            f"({width}x{height} {encoding})", "step")
    buf = _as_buffer(msg.data)
    expected = step * height
    if len(buf) != expected:
        kind = "truncated data" if len(buf) < expected else "data size mismatch"
        raise ConversionError(
            f"{kind}: {len(buf)} bytes but step*height = {step}*{height} = {expected} "
            f"({width}x{height} {encoding})", "data")
    raw = np.frombuffer(buf, dtype=np.uint8).reshape(height, step)[:, :row_bytes]
    big = bool(msg.is_bigendian)
    view_dtype = dtype.newbyteorder(">" if big else "<") if dtype.itemsize > 1 else dtype
    # .copy() detaches the array from the message buffer (the message may be reused) and makes it
    # contiguous and native-endian.
    image = np.ascontiguousarray(raw).view(view_dtype).astype(dtype, copy=True)
    image = image.reshape(height, width, channels) if channels > 1 else image.reshape(height, width)
    if is_rgb:
        image = image[..., ::-1].copy()
    return image


def _png_size(head: bytes) -> Tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk (always the first chunk)."""
    if len(head) < 24 or head[12:16] != b"IHDR":
        raise ConversionError("PNG without an IHDR header chunk: corrupt or truncated", "header")
    width, height = struct.unpack(">II", head[16:24])
    return width, height


# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic...): C0-CF except DHT
# (C4), JPG (C8) and DAC (CC). Each holds precision, height, width.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: memoryview) -> Tuple[int, int]:
    """(width, height) from the first start-of-frame segment of a JPEG, walking the segments."""
    n, i = len(data), 2
    while i + 4 <= n:
        if data[i] != 0xFF:
            raise ConversionError("JPEG segment without a marker: corrupt", "header")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            break
        length = (data[i + 2] << 8) | data[i + 3]
        if length < 2:
            raise ConversionError("JPEG segment with a bad length: corrupt", "header")
        if marker in _SOF_MARKERS:
            if i + 9 > n:
                break
            height = (data[i + 5] << 8) | data[i + 6]
            width = (data[i + 7] << 8) | data[i + 8]
            return width, height
        i += 2 + length
    raise ConversionError("JPEG without a frame header (SOF): corrupt or truncated", "header")


def _codec_named(fmt: str) -> Optional[str]:
    """'png' or 'jpeg' when the format string names exactly one of them, else None."""
    low = fmt.lower()
    png = "png" in low
    jpeg = "jpeg" in low or "jpg" in low
    return "png" if png and not jpeg else "jpeg" if jpeg and not png else None


def compressed_header(data, fmt: str = "") -> Tuple[str, int, int, int]:
    """(codec, width, height, payload offset) of a compressed image, from its header alone.

    Only PNG and JPEG are accepted (what image_transport's compressed transports send): anything
    else, a codec other than the one the format string names, or a header that cannot be read
    raises ConversionError. ``compressedDepth`` payloads (a 12-byte config header before the PNG)
    are recognised; the offset says where the PNG starts.
    """
    buf = _as_buffer(data)
    offset = 0
    if "compresseddepth" in fmt.lower() and bytes(buf[12:20]) == _PNG_MAGIC:
        offset = 12
    head = bytes(buf[offset:offset + 32])
    try:
        tail = bytes(buf[-64:])
        if head.startswith(_PNG_MAGIC):
            codec = "png"
            width, height = _png_size(head)
            if b"IEND" not in tail:  # libpng would print its own (unthrottled) error line
                raise ConversionError("PNG truncated (no IEND chunk at the end)", "truncated")
        elif head.startswith(_JPEG_MAGIC):
            codec = "jpeg"
            width, height = _jpeg_size(buf[offset:])
            if b"\xff\xd9" not in tail:
                raise ConversionError("JPEG truncated (no end-of-image marker)", "truncated")
        else:
            codec = ""
    except ConversionError as exc:
        raise ConversionError(f"cannot decode compressed image ({len(buf)} bytes): {exc}",
                              exc.reason) from None
    if not codec:
        raise ConversionError(
            f"cannot decode compressed image ({len(buf)} bytes, format '{safe_text(fmt)}'): "
            f"corrupt or not PNG/JPEG", "decode")
    named = _codec_named(fmt)
    if named is not None and named != codec:
        raise ConversionError(f"format '{safe_text(fmt)}' says {named} but the data is {codec}",
                              "format")
    return codec, int(width), int(height), offset


def quiet_decoder_logs() -> None:
    """Silence OpenCV's own decoder warnings (one unthrottled stderr line per corrupt PNG/JPEG, a
    log flood a peer controls); the node logs each refused frame itself, throttled."""
    try:
        import cv2

        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except (ImportError, AttributeError):
        pass


def _last_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[-1] if lines else type(exc).__name__


def compressed_to_array(msg, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode a sensor_msgs/CompressedImage (8- or 16-bit PNG, JPEG) with cv2.imdecode.

    The PNG/JPEG header is checked first (``compressed_header``): zero size or more than
    ``max_pixels`` pixels is refused before anything is decoded. Handles ``compressedDepth``
    payloads. Colour comes back BGR (cv2's order, whatever the format string says), alpha is
    dropped. Every failure, including one inside OpenCV, is a ConversionError.
    """
    import cv2

    buf = _as_buffer(msg.data)
    fmt = str(getattr(msg, "format", ""))
    if len(buf) == 0:
        raise ConversionError(f"empty compressed image (format '{safe_text(fmt)}')", "data")
    codec, width, height, offset = compressed_header(buf, fmt)
    if width <= 0 or height <= 0:
        raise ConversionError(f"{codec} header claims a zero-size image {width}x{height}", "size")
    if width * height > max_pixels:
        raise ConversionError(f"{codec} header claims {width}x{height}, more than {max_pixels} "
                              f"pixels (max_image_pixels)", "pixels")
    payload = np.frombuffer(buf, dtype=np.uint8)[offset:]
    try:
        image = cv2.imdecode(payload, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise ConversionError(f"cannot decode compressed {codec} image ({len(buf)} bytes): "
                              f"{safe_text(_last_line(exc), 120)}",
                              "decode") from None
    if image is None or image.size == 0:
        raise ConversionError(
            f"cannot decode compressed image ({len(buf)} bytes, format '{safe_text(fmt)}'): "
            f"corrupt or not PNG/JPEG", "decode")
    if image.shape[0] * image.shape[1] > max_pixels:  # the header lied (cannot for PNG/JPEG)
        raise ConversionError(f"decoded image {image.shape[1]}x{image.shape[0]} is larger than "
                              f"{max_pixels} pixels", "pixels")
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.dtype not in (np.uint8, np.uint16, np.float32):
        raise ConversionError(f"compressed image decodes to unsupported dtype {image.dtype}",
                              "decode")
    return image


def encoding_for(array: np.ndarray) -> str:
    """The sensor_msgs encoding that represents ``array`` without loss (BGR for colour)."""
    if array.ndim == 2:
        return {np.dtype(np.uint8): "mono8", np.dtype(np.uint16): "mono16",
                np.dtype(np.float32): "32FC1"}.get(array.dtype) or _bad_dtype(array)
    if array.ndim == 3 and array.shape[2] == 3 and array.dtype == np.uint8:
        return "bgr8"
    return _bad_dtype(array)


def _bad_dtype(array: np.ndarray) -> str:
    raise ConversionError(f"no image encoding for array of shape {array.shape} dtype {array.dtype}")


def array_to_image(array: np.ndarray, header=None, encoding: str | None = None):
    """Build a sensor_msgs/Image from ``array`` (little-endian, tightly packed rows)."""
    from sensor_msgs.msg import Image

    array = np.ascontiguousarray(array)
    encoding = encoding or encoding_for(array)
    if encoding not in ENCODINGS:
        raise ConversionError(f"unsupported encoding '{encoding}'")
    dtype, channels, is_rgb = ENCODINGS[encoding]
    if is_rgb:
        array = np.ascontiguousarray(array[..., ::-1])
    array = array.astype(dtype.newbyteorder("<"), copy=False)
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(array.shape[0]), int(array.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = int(msg.width * channels * dtype.itemsize)
    msg.data = array.tobytes()
    return msg


def array_to_compressed(array: np.ndarray, header=None, fmt: str = "png"):
    """Build a sensor_msgs/CompressedImage (PNG keeps 16-bit; JPEG only for 8-bit)."""
    import cv2
    from sensor_msgs.msg import CompressedImage

    ok, encoded = cv2.imencode("." + fmt, array)
    if not ok:
        raise ConversionError(f"cannot encode {array.dtype} {array.shape} as {fmt}")
    msg = CompressedImage()
    if header is not None:
        msg.header = header
    msg.format = f"{encoding_for(array)}; {fmt} compressed"
    msg.data = encoded.tobytes()
    return msg
