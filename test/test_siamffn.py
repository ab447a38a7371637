"""SiamFFN (feature-fusion Siamese tracker, anchor-free head, CSRL loss) and the anchor-free
geometry/decoding it shares with other per-point heads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fgsgt_ros.model import points as P
from fgsgt_ros.tracker.decoding import AnchorFreeDecoder

torch.set_num_threads(1)


# ------------------------------------------------------------------ anchor-free geometry/decoding
def test_point_grid_is_centred_like_the_anchor_grid():
    from fgsgt_ros.model.anchors import anchor_grid

    pts = P.point_grid(8, 17)
    assert pts.shape == (17 * 17, 2)
    assert np.allclose(pts[8 * 17 + 8], [0.0, 0.0])          # centre point at the crop centre
    assert np.allclose(pts[1] - pts[0], [8.0, 0.0])          # column step = stride in x
    assert np.allclose(pts[17] - pts[0], [0.0, 8.0])         # row step = stride in y
    anchors = anchor_grid(8, (1.0,), (8.0,), 17)
    assert np.allclose(anchors[:, :2], pts)                  # same positions as anchor centres
    even = P.point_grid(4, 4)
    assert np.allclose(even[0], [-6.0, -6.0]) and np.allclose(even[-1], [6.0, 6.0])


@pytest.mark.parametrize("score", ["softmax", "sigmoid", "prob"])
def test_anchor_free_decoding_round_trip(score):
    s, stride = 17, 8
    pts = P.point_grid(stride, s)
    box = np.array([13.5, -7.25, 40.0, 22.0])                 # cx, cy, w, h from the crop centre
    ltrb = P.encode_ltrb(box, pts)                            # (N, 4)
    assert np.allclose(P.decode_ltrb(ltrb, pts), box[None])   # numpy round trip
    ltrb_t = torch.from_numpy(ltrb.T.reshape(1, 4, s, s)).float()
    assert torch.allclose(P.decode_ltrb(ltrb_t.view(4, -1).T, torch.from_numpy(pts).float()),
                          torch.tensor(box, dtype=torch.float32).expand(s * s, 4), atol=1e-4)
    peak = 5 * s + 11
    prob = np.full(s * s, 0.1)
    prob[peak] = 0.9
    if score == "softmax":
        logit = np.log(prob / (1 - prob))
        smap = torch.from_numpy(np.stack([np.zeros_like(logit), logit]).reshape(1, 2, s, s))
    elif score == "sigmoid":
        smap = torch.from_numpy(np.log(prob / (1 - prob)).reshape(1, 1, s, s))
    else:
        smap = torch.from_numpy(prob.reshape(1, 1, s, s))
    cand = AnchorFreeDecoder(stride, score=score)((smap, ltrb_t))
    assert cand.boxes.shape == (s * s, 4) and cand.window.shape == (s * s,)
    assert np.allclose(cand.score, prob, atol=1e-6)
    assert int(np.argmax(cand.score)) == peak
    assert np.allclose(cand.boxes, box[None], atol=1e-3)      # every point decodes the same box
    assert cand.saliency is None
    assert cand.window[(s // 2) * s + s // 2] == cand.window.max()


def test_anchor_free_decoder_rejects_bad_layouts():
    with pytest.raises(ValueError):
        AnchorFreeDecoder(8, score="exp")
    dec = AnchorFreeDecoder(8, score="softmax")
    with pytest.raises(ValueError):
        dec((torch.zeros(1, 1, 5, 5), torch.ones(1, 4, 5, 5)))
    with pytest.raises(ValueError):
        dec((torch.zeros(1, 2, 5, 5), torch.ones(1, 4, 4, 4)))


class _OracleNet:
    """Stand-in network for the tracking loop: finds the bright blob in the search crop and
    reports it through the anchor-free layout (peaked score, exact ltrb at every point)."""

    def __init__(self, stride, score_size):
        self.stride, self.s = stride, score_size
        self.pts = P.point_grid(stride, score_size)

    def template(self, z):
        pass

    def track(self, x):
        img = x[0, 0].numpy()
        ys, xs = np.nonzero(img > 128)
        n = img.shape[0]
        x0, x1 = xs.min() - n / 2, xs.max() + 1 - n / 2
        y0, y1 = ys.min() - n / 2, ys.max() + 1 - n / 2
        box = np.array([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0])
        d = np.hypot(self.pts[:, 0] - box[0], self.pts[:, 1] - box[1])
        prob = np.exp(-(d / self.stride) ** 2) * 0.98 + 0.01
        logit = np.log(prob / (1 - prob)).reshape(1, 1, self.s, self.s)
        ltrb = P.encode_ltrb(box, self.pts).T.reshape(1, 4, self.s, self.s)
        return torch.from_numpy(logit), torch.from_numpy(ltrb)


def test_siamese_tracker_follows_a_target_through_the_anchor_free_decoder():
    """The shared tracking loop with the anchor-free decoder: centre offsets and sizes come back
    in frame pixels (crop geometry + decoding agree)."""
    from types import SimpleNamespace

    from fgsgt_ros.tracker.config import TrackerConfig
    from fgsgt_ros.tracker.siamese import SiameseTracker

    mc = SimpleNamespace(name="oracle", exemplar_size=95, instance_size=191, stride=8)
    tracker = SiameseTracker(_OracleNet(8, 17), mc, TrackerConfig(lr=1.0, penalty_k=0.0),
                             decoder=AnchorFreeDecoder(8, score="sigmoid"))

    def frame(x, y, w=30, h=20):
        img = np.zeros((240, 320), np.uint8)
        img[y:y + h, x:x + w] = 255
        return img

    tracker.init(frame(100, 100), (100, 100, 30, 20))
    for k in range(1, 8):
        res = tracker.update(frame(100 + 6 * k, 100 + 3 * k))
    assert res.state.name == "TRACKING"
    assert np.allclose(res.box, [142, 121, 30, 20], atol=2.0), res.box
