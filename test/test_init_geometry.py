"""tracker/init_geometry.py: an init request (centre + size, or a point) -> the box on a frame,
without ROS (the node's init_target, init_box and clicks go through it)."""

import numpy as np
import pytest

from fgsgt_ros.tracker.base import InvalidBoxError
from fgsgt_ros.tracker.click import ClickConfig
from fgsgt_ros.tracker.init_geometry import check_request, target_box


def test_a_box_request_is_centre_and_size_clipped_to_the_frame():
    image = np.zeros((100, 120), np.uint8)
    assert check_request(60.0, 50.0, 20.0, 10.0) is False
    xywh, how = target_box(image, 60.0, 50.0, 20.0, 10.0)
    np.testing.assert_allclose(xywh, [50.0, 45.0, 20.0, 10.0])
    assert how == ""
    clipped, _ = target_box(image, 118.0, 50.0, 20.0, 10.0)  # half of it outside on the right
    np.testing.assert_allclose(clipped, [108.0, 45.0, 12.0, 10.0])


def test_unusable_requests_say_why():
    with pytest.raises(InvalidBoxError, match="not finite"):
        check_request(float("nan"), 3.0, 0.0, 0.0)
    with pytest.raises(InvalidBoxError):
        check_request(10.0, 10.0, -4.0, 5.0)
    with pytest.raises(InvalidBoxError):  # a sliver at the border is no target
        target_box(np.zeros((100, 120), np.uint8), 120.5, 50.0, 2.0, 10.0)


def test_a_point_request_is_the_blob_under_it():
    image = np.full((120, 160), 3000, np.uint16)
    image[40:60, 70:100] = 3600  # a warm 30 x 20 target
    assert check_request(85.0, 50.0, 0.0, 0.0) is True
    xywh, how = target_box(image, 85.0, 50.0, 0.0, 0.0, ClickConfig())
    assert abs(xywh[0] - 70) <= 2 and abs(xywh[1] - 40) <= 2
    assert abs(xywh[2] - 30) <= 3 and abs(xywh[3] - 20) <= 3
    assert how.startswith(" (point (85.0, 50.0): ")
