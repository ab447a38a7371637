"""A hand-built "oracle" network with the FGSGTNet template()/track() interface (tests only).

cls: normalised cross-correlation (cv2 TM_CCOEFF_NORMED) of the template's central patch with the
search crop at two template scales (1 and 1/2, so the coarser LOST-mode crop still matches), read
at each anchor position and turned into a foreground logit; loc: the regression of every anchor
towards the bright blob found by thresholding the search crop halfway between the template's
target and background levels; sal: that threshold mask. Nothing here knows the true box.
"""

from types import SimpleNamespace

import cv2
import numpy as np
import torch

from fgsgt_ros.model.anchors import anchor_grid, encode

ORACLE_CFG = SimpleNamespace(name="oracle", exemplar_size=127, instance_size=255, stride=8,
                             anchor_ratios=(0.33, 0.5, 1.0, 2.0, 3.0), anchor_scales=(8.0,),
                             score_size=25)


class OracleNet:
    def __init__(self, cfg=ORACLE_CFG, half_patch: int = 40):
        self.cfg = cfg
        self.half = half_patch
        self.anchors = anchor_grid(cfg.stride, cfg.anchor_ratios, cfg.anchor_scales, cfg.score_size)
        self.calls = 0

    def to(self, device):
        return self

    def eval(self):
        return self

    def template(self, z: torch.Tensor) -> None:
        g = z[0].mean(0).numpy().astype(np.float32)
        c, r = g.shape[0] // 2, self.half
        self.patch = g[c - r:c + r + 1, c - r:c + r + 1].copy()
        self.fg_level = float(np.median(g[c - 3:c + 4, c - 3:c + 4]))
        self.bg_level = float(np.median(np.concatenate([g[:8].ravel(), g[-8:].ravel()])))

    def _ncc_at_anchors(self, x: np.ndarray) -> np.ndarray:
        s, stride, centre = self.cfg.score_size, self.cfg.stride, x.shape[0] // 2
        offsets = (np.arange(s) - s // 2) * stride
        best = np.full((s, s), -1.0, np.float32)
        for factor in (1.0, 0.5):
            p = self.patch if factor == 1.0 else cv2.resize(self.patch, None, fx=0.5, fy=0.5,
                                                            interpolation=cv2.INTER_AREA)
            resp = cv2.matchTemplate(x, p, cv2.TM_CCOEFF_NORMED)
            half = p.shape[0] // 2
            idx = centre + offsets - half
            ok = (idx >= 0) & (idx < resp.shape[0])
            sub = np.full((s, s), -1.0, np.float32)
            sub[np.ix_(ok, ok)] = resp[np.ix_(idx[ok], idx[ok])]
            best = np.maximum(best, np.nan_to_num(sub, nan=-1.0))
        return best

    def track(self, x: torch.Tensor):
        self.calls += 1
        g = x[0].mean(0).numpy().astype(np.float32)
        ncc = self._ncc_at_anchors(g)
        n_anchor = len(self.cfg.anchor_ratios) * len(self.cfg.anchor_scales)
        s = self.cfg.score_size
        fg_logit = 10.0 * (ncc - 0.45)
        cls = torch.zeros(1, 2 * n_anchor, s, s)
        cls[0, n_anchor:] = torch.from_numpy(fg_logit)[None]
        # blob box relative to the crop centre
        thr = 0.5 * (self.fg_level + self.bg_level)
        mask = (g > thr).astype(np.uint8) if self.fg_level > self.bg_level else (g < thr).astype(np.uint8)
        n, labels, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
        loc = np.zeros((4, len(self.anchors)), np.float32)
        if n > 1:
            k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
            x0, y0, w, h = stats[k, :4].astype(np.float64)
            c = g.shape[0] / 2.0
            box = np.array([x0 + w / 2 - c, y0 + h / 2 - c, w, h])
            loc = encode(box, self.anchors).astype(np.float32)
        loc_t = torch.from_numpy(loc.reshape(4 * n_anchor, s, s).copy())[None]
        sal = cv2.resize(mask.astype(np.float32), (32, 32), interpolation=cv2.INTER_AREA)
        return cls, loc_t, torch.from_numpy(sal)[None, None]


def scene(width=200, height=160, box=None, bg=50, fg=200, noise=3.0, seed=0):
    """uint8 grey frame with a bright rectangle at ``box`` (xywh ints) or none."""
    rng = np.random.default_rng(seed)
    img = np.clip(rng.normal(bg, noise, (height, width)), 0, 255)
    if box is not None:
        x, y, w, h = (int(round(v)) for v in box)
        img[max(y, 0):y + h, max(x, 0):x + w] = fg
    return img.astype(np.uint8)


def test_oracle_scores_peak_at_the_target_and_regress_its_box():
    """Sanity of the test oracle itself: template on a centred target, search with the target
    shifted by 16 px right: the best anchor sits 2 cells right of the centre and regresses the box."""
    img = scene(255, 255, (127 - 30 + 16, 127 - 20, 60, 40), seed=1)
    z = scene(127, 127, (63 - 30, 63 - 20, 60, 40), seed=2)
    net = OracleNet()
    to_t = lambda a: torch.from_numpy(a).float()[None, None].expand(1, 3, -1, -1)
    net.template(to_t(z))
    cls, loc, sal = net.track(to_t(img))
    s = ORACLE_CFG.score_size
    fg = cls[0, 5:].mean(0)
    r, c = divmod(int(torch.argmax(fg)), s)
    assert (r, c) == (s // 2, s // 2 + 2)
    from fgsgt_ros.model.anchors import decode
    boxes = decode(loc[0].reshape(4, -1).numpy().astype(np.float64), net.anchors.astype(np.float64))
    np.testing.assert_allclose(boxes[0], [15.5, -0.5, 60, 40], atol=0.6)
    assert sal.shape == (1, 1, 32, 32) and float(sal.max()) == 1.0
