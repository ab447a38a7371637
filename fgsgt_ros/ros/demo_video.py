"""The demo's videos (``make demo``, ``fgsgt_ros.ros.demo``): each frame after AGC, upscaled and
annotated with what the node published (box, state, score) and the ground truth, and the node's
saliency over the frame; H.264 through PyAV where it is installed, else MPEG-4 part 2 through
OpenCV (``codec_note`` says which)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

GT_COLOUR = (255, 128, 0)  # BGR: blue-ish, distinct from the node's green/red states
BOX_COLOURS = {"TRACKING": (0, 220, 0), "LOST": (0, 0, 255), "IDLE": (200, 200, 200)}
VIDEO_WIDTH = 640  # output width the frames are upscaled to before drawing (--scale 0)
VIDEO_FPS = 15.0


class DemoError(Exception):
    """A problem the user can fix; one line, exit code 2."""


class _AvWriter:
    """H.264 (yuv420p, browser-playable) MP4 through PyAV; ``write`` takes BGR uint8 frames."""

    codec_note = "H.264 (PyAV)"

    def __init__(self, path: Path, fps: float, size) -> None:
        import av

        self.path = path
        self._av = av
        self._out = av.open(str(path), "w", options={"movflags": "+faststart"})
        self._stream = self._out.add_stream("h264", rate=int(round(fps)))
        self._stream.width, self._stream.height = size
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": "20", "preset": "veryfast"}

    def write(self, frame: np.ndarray) -> None:
        vf = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="bgr24")
        for packet in self._stream.encode(vf):
            self._out.mux(packet)

    def release(self) -> None:
        for packet in self._stream.encode():
            self._out.mux(packet)
        self._out.close()


class _CvWriter:
    """Fallback without PyAV: OpenCV's MPEG-4 part 2 (plays in VLC/ffplay, not in browsers)."""

    codec_note = "MPEG-4 part 2 (OpenCV; `pip install av` for browser-playable H.264)"

    def __init__(self, path: Path, fps: float, size) -> None:
        import cv2

        self.path = path
        self._w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        if not self._w.isOpened():
            raise DemoError(f"cannot write a video to {path}")

    def write(self, frame: np.ndarray) -> None:
        self._w.write(frame)

    def release(self) -> None:
        self._w.release()


def open_video_writer(path: Path, fps: float, size):
    """An H.264 writer (PyAV) for ``path``, or OpenCV's MPEG-4 part 2 when PyAV is missing."""
    try:
        import av  # noqa: F401
    except ImportError:
        return _CvWriter(path, fps, size)
    return _AvWriter(path, fps, size)


def _text(img: np.ndarray, text: str, org, scale: float, colour=(255, 255, 255)) -> None:
    """Text on a dark box (legible on any thermal background); ``org`` is its bottom-left."""
    import cv2

    thick = max(1, int(round(scale * 1.5)))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x, y = org
    pad = max(2, int(4 * scale))
    x0, y0 = max(0, x - pad), max(0, y - th - pad)
    x1, y1 = min(img.shape[1], x + tw + pad), min(img.shape[0], y + base + pad)
    img[y0:y1, x0:x1] = (img[y0:y1, x0:x1] * 0.35).astype(img.dtype)
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)


def _rect(img: np.ndarray, box, k: float, colour, thickness: int) -> None:
    import cv2

    x, y, w, h = np.asarray(box, dtype=np.float64) * k
    cv2.rectangle(img, (int(round(x)), int(round(y))), (int(round(x + w)), int(round(y + h))),
                  colour, thickness, cv2.LINE_AA)


def annotate(frame: np.ndarray, k: int, index: int, total: int, box, state: Optional[str],
             score: Optional[float], gt_box=None, dropped: bool = False,
             legend: Optional[str] = None, temperature: Optional[str] = None) -> np.ndarray:
    """Upscale an 8-bit frame by ``k`` first, then draw at that size: ground truth (blue), the
    node's published box (green), the frame/state/score text and, when given, the target's
    temperature under the box."""
    import cv2

    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    h, w = frame.shape[:2]
    big = cv2.resize(frame, (w * k, h * k), interpolation=cv2.INTER_CUBIC)
    scale = max(0.5, big.shape[1] / 900.0)
    line = max(2, int(round(big.shape[1] / 320)))
    if gt_box is not None and np.isfinite(gt_box).all():
        _rect(big, gt_box, k, GT_COLOUR, max(1, line - 1))
    if box is not None and np.isfinite(box).all():
        _rect(big, box, k, BOX_COLOURS.get(state or "TRACKING", (0, 220, 0)), line)
        if temperature:
            x, y, bw, bh = np.asarray(box, dtype=np.float64) * k
            ty = int(y + bh + 22 * scale) if y + bh + 30 * scale < big.shape[0] else int(y - 6)
            _text(big, temperature, (int(max(4, x)), max(int(20 * scale), ty)), scale * 0.7,
                  BOX_COLOURS["TRACKING"])
    pad = int(12 * scale)
    top = int(34 * scale)
    label = f"frame {index + 1}/{total}"
    if dropped:
        label += "  (dropped by the node: newer frame first)"
    elif state:
        label += f"  {state}" + (f"  score {score:.2f}" if score is not None else "")
    _text(big, label, (pad, top), scale, BOX_COLOURS.get(state or "", (255, 255, 255)))
    if legend is None:
        legend = "green: node's box   blue: ground truth" if gt_box is not None \
            else "green: node's box"
    _text(big, legend, (pad, big.shape[0] - pad), scale * 0.8)
    return big


def _frames(source: Path):
    """The source's frames in publishing order (as the player reads them)."""
    from fgsgt_ros.ros.player import PlayerError, open_source

    try:
        _kind, frames = open_source(source)
    except PlayerError as exc:
        raise DemoError(f"cannot re-read {source} for the video: {exc}") from None
    for image, _recorded in frames:
        yield image


def write_videos(out: Path, source: Path, n: int, boxes: np.ndarray, processed: np.ndarray,
                  sal_by_i, status_by_i, gt, scale: int, decode) -> Tuple[List[Path], str]:
    """tracking.mp4 (+ saliency.mp4): the source frames after AGC (the node's default settings),
    annotated at output size with what the node published. Returns (paths, codec note)."""
    import cv2

    from fgsgt_ros.tracker.thermal import ThermalPreprocessor

    agc = ThermalPreprocessor()
    writer = sal_writer = None
    k = 1
    held_state, held_score = None, None
    # the still: the frame a third of the way in that the node tracked (else the middle one)
    tracked = [i for i, st in status_by_i.items() if st.state_name == "TRACKING" and processed[i]]
    still = min(tracked, key=lambda i: abs(i - n // 3)) if tracked else n // 2
    try:
        for i, raw in enumerate(_frames(source)):
            if i >= n:
                break
            frame = agc(raw)
            if writer is None:
                h, w = frame.shape[:2]
                k = scale or max(1, round(VIDEO_WIDTH / w))
                size = ((w * k) // 2 * 2, (h * k) // 2 * 2)  # H.264 yuv420p: even sides
                writer = open_video_writer(out / "tracking.mp4", VIDEO_FPS, size)
                if sal_by_i:
                    sal_writer = open_video_writer(out / "saliency.mp4", VIDEO_FPS, size)
            st = status_by_i.get(i)
            if st is not None:
                held_state, held_score = st.state_name, float(st.score)
            g = gt[i] if gt is not None and i < len(gt) else None
            temp = None
            if st is not None and getattr(st, "temperature_valid", False):
                temp = f"{st.target_max_c:.1f} C"
                if np.isfinite(st.background_c):
                    temp += f" (background {st.background_c:.1f} C)"
            big = annotate(frame, k, i, n, boxes[i] if processed[i] else None, held_state,
                           held_score, g, dropped=not processed[i] and i > 0, temperature=temp)
            writer.write(big[:size[1], :size[0]])
            if i == still:
                cv2.imwrite(str(out / "frame.png"), big[:size[1], :size[0]])
            if sal_writer is not None:
                base = frame if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
                if i in sal_by_i:
                    sal = decode(sal_by_i[i])
                    if sal.dtype != np.uint8:
                        sal = (np.clip(sal, 0, 1) * 255).astype(np.uint8)
                    heat = cv2.applyColorMap(sal, cv2.COLORMAP_JET)
                    base = cv2.addWeighted(base, 0.5, heat, 0.5, 0)
                sbig = annotate(base, k, i, n, None, held_state, held_score, None,
                                dropped=i not in sal_by_i and i > 0,
                                legend="node's saliency map (red: high) over the frame")
                sal_writer.write(sbig[:size[1], :size[0]])
    finally:
        for wr in (writer, sal_writer):
            if wr is not None:
                wr.release()
    if writer is None:
        return [], "none"
    return [writer.path] + ([sal_writer.path] if sal_writer else []), writer.codec_note
