"""Click to track without ROS: a clicked pixel becomes the box of the thermal blob under it (warm
or cold, raw 16-bit or 8-bit, small or large, clicked a little off), a fixed square when nothing
stands out, and a clear error for a click outside the frame."""

import cv2
import numpy as np
import pytest

from fgsgt_ros.boxes import iou_xywh
from fgsgt_ros.tracker.click import ClickConfig, ClickError, box_from_click

H, W = 120, 160


def _frame(box=None, delta=900.0, noise=4.0, seed=0, dtype=np.uint16, base=3000.0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    frame = base + 60.0 * xx / W + 30.0 * yy / H + rng.normal(0.0, noise, (H, W))
    if box is not None:
        x, y, w, h = box
        cx, cy = x + w / 2.0, y + h / 2.0
        inside = ((xx + 0.5 - cx) / (w / 2.0)) ** 2 + ((yy + 0.5 - cy) / (h / 2.0)) ** 2 <= 1.0
        frame[inside] += delta
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    if info is not None:
        frame = np.clip(frame, info.min, info.max)
    return frame.astype(dtype)


def _centre(box):
    return box[0] + box[2] / 2.0, box[1] + box[3] / 2.0


@pytest.mark.parametrize("box", [(70, 50, 20, 14), (10, 8, 8, 8), (40, 10, 60, 90),
                                 (140, 100, 20, 20)])
def test_click_on_a_warm_blob_gives_its_box(box):
    result = box_from_click(_frame(box), *_centre(box))
    assert result.method == "blob" and result.polarity == 1
    assert iou_xywh(result.box, np.array(box, float)) > 0.75, result


def test_click_a_few_pixels_off_a_small_target_still_finds_it():
    box = (60, 40, 7, 7)
    cx, cy = _centre(box)
    result = box_from_click(_frame(box), cx + 3.0, cy - 2.5)
    assert result.method == "blob"
    assert iou_xywh(result.box, np.array(box, float)) > 0.5, result


def test_cold_target_and_8bit_display_frames():
    box = (50, 30, 24, 16)
    cold = _frame(box, delta=-700.0)
    result = box_from_click(cold, *_centre(box))
    assert result.method == "blob" and result.polarity == -1
    assert iou_xywh(result.box, np.array(box, float)) > 0.75
    display = _frame(box, delta=120.0, noise=2.0, dtype=np.uint8, base=60.0)
    bgr = cv2.cvtColor(display, cv2.COLOR_GRAY2BGR)
    for image in (display, bgr, display.astype(np.float32)):
        result = box_from_click(image, *_centre(box))
        assert result.method == "blob" and iou_xywh(result.box, np.array(box, float)) > 0.75


def test_target_with_a_hot_spot_gets_the_whole_body():
    box = (40, 30, 40, 30)
    frame = _frame(box, delta=300.0).astype(np.float32)
    frame[42:46, 58:62] += 2000.0  # a small much hotter spot (eyes, exhaust)
    result = box_from_click(frame, *_centre(box))
    assert iou_xywh(result.box, np.array(box, float)) > 0.75, result


def test_click_on_plain_background_falls_back_to_a_square_centred_on_the_click():
    cfg = ClickConfig(fallback_size=20.0)
    result = box_from_click(_frame(None), 80.0, 60.0, cfg)
    assert result.method == "fallback" and result.polarity == 0
    np.testing.assert_allclose(result.box, [70.0, 50.0, 20.0, 20.0])
    assert "no blob" in result.describe()
    # near the border the square is clipped to the frame
    edge = box_from_click(_frame(None), 2.0, 2.0, cfg)
    assert edge.box[0] == 0.0 and edge.box[2] == pytest.approx(12.0)


def test_minimum_size_and_box_inside_the_frame():
    box = (0, 0, 3, 3)
    result = box_from_click(_frame(box, delta=2000.0), 1.5, 1.5, ClickConfig(min_size=6.0))
    x, y, w, h = result.box
    assert x >= 0 and y >= 0 and x + w <= W and y + h <= H and w >= 4.5 and h >= 4.5


@pytest.mark.parametrize("x,y", [(-1.0, 5.0), (5.0, H), (W + 3.0, 2.0), (float("nan"), 3.0),
                                 (float("inf"), 3.0)])
def test_click_outside_the_frame_is_refused(x, y):
    with pytest.raises(ClickError):
        box_from_click(_frame(None), x, y)


def test_invalid_config_is_refused():
    with pytest.raises(ValueError):
        ClickConfig(level=1.5)
    with pytest.raises(ValueError):
        ClickConfig(fallback_size=0)


def test_click_on_a_real_clips_first_target_gives_a_box_on_it(real_clip_dir):
    """The real 16-bit clip's annotated first frame: a click at the box centre outlines it."""
    gt = np.loadtxt(real_clip_dir / "groundtruth_rect.txt", delimiter=",")
    files = sorted((real_clip_dir / "img").iterdir())
    frame = cv2.imread(str(files[0]), cv2.IMREAD_UNCHANGED)
    result = box_from_click(frame, *_centre(gt[0]))
    assert result.method == "blob"
    assert iou_xywh(result.box, gt[0]) > 0.5, (result, gt[0])
