"""sensor_msgs <-> numpy conversions, written here because cv_bridge is not available.

Why our own: cv_bridge maps mono16 -> mono8 with a fixed 255/65535 scale (14-bit thermal frames come
out black) and refuses 16UC1 -> bgr8; a thermal node must keep the raw radiometric counts and leave
scaling to the thermal preprocessor (AGC).

Decoding functions take any object with the message's fields (duck typing), so they are testable
without ROS; every malformed input raises ``ConversionError`` with a one-line reason that the node
logs (throttled) and counts in its diagnostics.

Returned arrays: ``(H, W)`` for one channel, ``(H, W, 3)`` in BGR order for colour; dtype uint8,
uint16 or float32 exactly as sent (no scaling).
"""

from __future__ import annotations

import sys
from typing import Dict, Tuple

import numpy as np

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

# Guard against absurd headers (a corrupted height/width would otherwise ask for gigabytes).
MAX_PIXELS = 64 * 1024 * 1024

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_SYSTEM_BIG_ENDIAN = sys.byteorder == "big"


class ConversionError(ValueError):
    """A message that cannot be turned into an image; the message says why in one line."""


def _as_buffer(data) -> memoryview:
    # rclpy gives uint8[] as array.array('B'); tests may pass bytes or lists.
    try:
        return memoryview(data).cast("B")
    except TypeError:
        return memoryview(bytes(data))


def image_to_array(msg) -> np.ndarray:
    """Decode a sensor_msgs/Image (honouring ``step`` and ``is_bigendian``) into a numpy array.

    Raises ConversionError for unsupported encodings, zero size, a step smaller than a row, or a
    data length that differs from ``step * height``.
    """
    encoding = str(msg.encoding)
    if encoding not in ENCODINGS:
        raise ConversionError(
            f"unsupported encoding '{encoding}' (supported: {', '.join(SUPPORTED_ENCODINGS)})")
    dtype, channels, is_rgb = ENCODINGS[encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise ConversionError(f"zero-size image {width}x{height} ({encoding})")
    if height * width > MAX_PIXELS:
        raise ConversionError(f"image {width}x{height} is larger than {MAX_PIXELS} pixels")
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise ConversionError(
            f"step {step} is smaller than width*bytes per pixel = {row_bytes} "
            f"({width}x{height} {encoding})")
    buf = _as_buffer(msg.data)
    expected = step * height
    if len(buf) != expected:
        kind = "truncated data" if len(buf) < expected else "data size mismatch"
        raise ConversionError(
            f"{kind}: {len(buf)} bytes but step*height = {step}*{height} = {expected} "
            f"({width}x{height} {encoding})")
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


def compressed_to_array(msg) -> np.ndarray:
    """Decode a sensor_msgs/CompressedImage (8- or 16-bit PNG, JPEG) with cv2.imdecode.

    Handles ``compressedDepth`` payloads (a 12-byte config header before the PNG). Colour comes back
    BGR (cv2's order, whatever the format string says), alpha is dropped.
    """
    import cv2

    buf = _as_buffer(msg.data)
    fmt = str(getattr(msg, "format", ""))
    if len(buf) == 0:
        raise ConversionError(f"empty compressed image (format '{fmt}')")
    payload = np.frombuffer(buf, dtype=np.uint8)
    if "compresseddepth" in fmt.lower() and bytes(payload[12:20]) == _PNG_MAGIC:
        payload = payload[12:]
    image = cv2.imdecode(payload, cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise ConversionError(
            f"cannot decode compressed image ({len(buf)} bytes, format '{fmt}'): corrupt or "
            f"not PNG/JPEG")
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.dtype not in (np.uint8, np.uint16, np.float32):
        raise ConversionError(f"compressed image decodes to unsupported dtype {image.dtype}")
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
