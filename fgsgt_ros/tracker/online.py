"""The online branch: a small conv net learned per target while tracking (no ROS imports).

IBFP's form, used by the IBFP trackers and, on its own search feature, by FGSGT (``ModelConfig
.online``; the network then returns the neck's last search feature as a fourth output and the
response is mixed into every anchor's foreground probability at its point, see ``OnlineLearner``).

The paper (Pi et al., "Instance-based Feature Pyramid for Visual Object Tracking", after ATOM)
keeps the offline branch on the first-frame template and adds an online branch: four conv layers
(256 hidden channels) on the search crop's deep backbone feature, fitted on the first frame,
updated every 10 frames or when a hard negative appears, supervised with a hinge MSE; its
response is up-sampled to the centre map's size and mixed ``s = 0.3 s_c + 0.7 s_u`` (Eq. 11).

Our choices where the paper is vague (``fgsgt_ros.model.config.OnlineConfig``;
docs/ARCHITECTURE.md):

- **input**: IBFP: the layer3 (stride 16) search feature the network's ``track`` returns as its
  third output (the paper's "layer4"); the response grid is ``points.point_grid(16, S3)`` and
  up-samples exactly onto the stride-8 centre map (bilinear, corners aligned: S = 2 S3 - 1).
  FGSGT: the neck's last (stride 8) search feature, fourth output; its grid is the score grid
  plus the template's border, so the response is centre-cropped onto it;
- **labels / loss**: the offline Gaussian centre label (``ibfp.center_label``) at the target's
  crop position and the same focal hinge MSE (alpha 0.9, gamma 0.1, tau 0.05, squared);
- **first frame**: samples of the first search crop: as is, mirrored, and shifted in 8 directions
  by each of ``init_shifts`` x the crop side (18 samples by default: the branch must not learn
  "the target is at the centre"), kept for the whole sequence, ``init_steps`` Adam steps on them;
- **memory**: the last ``memory`` tracked frames whose mixed score reached ``sample_min_score``
  (feature + label at the box the tracker chose), FIFO; frames while LOST are never added;
- **hard negative**: the mixed score map (before the cosine window) has a second peak, outside
  ``hard_negative_exclusion`` x (w, h) of the chosen point, of at least ``hard_negative_ratio``
  times the chosen score; the frame is added (its label is 0 at the distractor) and an update is
  triggered at once;
- **updates**: ``update_steps`` Adam steps over the whole memory, queued and run at most
  ``max_steps_per_frame`` per frame, so no frame pays a whole update (per-frame time bounded); a
  trigger while an update is still queued merges with it;
- **layers**: a 1x1 projection to ``hidden`` channels, ``layers - 2`` 3x3 convs, a 3x3 conv to
  the map (IBFP: four conv layers, the paper gives no kernel sizes; the shipped FGSGT uses two,
  measured in docs/MODEL_CARD.md);
- **anchors** (FGSGT): the response at a point is mixed into the foreground probability of each
  anchor there (clipped to [0, 1] first: it is regressed, not bounded), written back as logits so
  the decoder is unchanged; a hard negative compares points (the best anchor of each).

The hook interface ``SiameseTracker`` calls (``start``/``refine``/``observe``) is generic: any
object with these three methods can post-process a network's output tuple and learn from the
tracker's decisions.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable, Deque, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from fgsgt_ros.model.config import OnlineConfig
from fgsgt_ros.model.families.ibfp import IBFPLossConfig
from fgsgt_ros.model.losses import focal_hinge_mse
from fgsgt_ros.model.points import center_label, point_grid


class OnlineNet(nn.Module):
    """``layers`` convs (ReLU between): a 1x1 projection C -> hidden (as ATOM's compression
    layer), 3x3 convs hidden -> hidden, and a 3x3 conv to the 1-channel response map."""

    def __init__(self, in_channels: int, hidden: int, layers: int):
        super().__init__()
        mods: List[nn.Module] = []
        c = in_channels
        for i in range(layers - 1):
            k = 1 if i == 0 else 3
            mods += [nn.Conv2d(c, hidden, k, padding=k // 2), nn.ReLU(inplace=True)]
            c = hidden
        mods.append(nn.Conv2d(c, 1, 3, padding=1))
        self.net = nn.Sequential(*mods)

    def forward(self, x):
        return self.net(x)


class _Adam:
    """Minimal Adam (Kingma & Ba) with L2 weight decay over a parameter list. ``torch.optim``'s
    first use imports torch._dynamo, seconds of start-up a tracker should not pay on its first
    target; this is the same update in a few tensor ops."""

    def __init__(self, params, lr: float, weight_decay: float = 0.0,
                 betas=(0.9, 0.999), eps: float = 1e-8) -> None:
        self.params = [p for p in params]
        self.lr, self.wd, self.betas, self.eps = lr, weight_decay, betas, eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1.0 - b1 ** self.t, 1.0 - b2 ** self.t
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            g = p.grad + self.wd * p if self.wd else p.grad
            m.mul_(b1).add_(g, alpha=1.0 - b1)
            v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
            p.addcdiv_(m / c1, (v / c2).sqrt_().add_(self.eps), value=-self.lr)


def _shift(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Translate an image batch by (dx, dy) pixels (content moves right/down), edges replicated."""
    if dx == 0 and dy == 0:
        return x
    h, w = x.shape[-2:]
    p = max(abs(dx), abs(dy))
    padded = F.pad(x, (p, p, p, p), mode="replicate")
    return padded[..., p - dy:p - dy + h, p - dx:p - dx + w].contiguous()


class OnlineLearner:
    """The online branch as a ``SiameseTracker`` hook (see the module docstring).

    Args:
        cfg: ``OnlineConfig``.
        loss_cfg: ``IBFPLossConfig`` (label sigma, hinge loss parameters; IBFP's own, or the
            defaults for a network trained with another loss).
        features: search-crop tensor (1, 3, X, X) -> the network's output tuple (the online branch
            takes its element ``feature_index``); used for the first-frame augmentations.
        score_stride: stride of the score map's point grid (``model_cfg.stride``).
        device: torch device.
        feature_index: position of the search feature in the network's output tuple (IBFP: 2,
            the layer3 feature; FGSGT: 3, the neck's last feature).
        feature_stride: stride of that feature's point grid (IBFP 16, FGSGT 8). Its grid and the
            score map's are both centred on the crop; the response is resampled onto the score
            grid (bilinear with aligned corners, or a centre crop at equal strides).
        scores: what ``outputs[0]`` holds and how the response is mixed into it: ``"map"`` a
            (1, 1, S, S) centre-probability map (IBFP), mixed directly; ``"anchor_logits"``
            (1, 2A, S, S) SiamRPN++ logits (FGSGT), whose foreground probability of every anchor
            at a point is mixed with the point's response and written back as logits.
    """

    SCORE_KINDS = ("map", "anchor_logits")

    def __init__(self, cfg: OnlineConfig, loss_cfg: IBFPLossConfig,
                 features: Callable[[torch.Tensor], tuple], score_stride: float = 8.0,
                 device="cpu", feature_index: int = 2, feature_stride: float = 16.0,
                 scores: str = "map") -> None:
        if scores not in self.SCORE_KINDS:
            raise ValueError(f"scores must be one of {self.SCORE_KINDS}, not {scores!r}")
        self.cfg = cfg
        self.score_stride = float(score_stride)
        self.feature_index = int(feature_index)
        self.feature_stride = float(feature_stride)
        self.scores = scores
        self.loss_cfg = loss_cfg
        self.features = features
        self.device = torch.device(device)
        self.net: Optional[OnlineNet] = None
        self.opt: Optional[_Adam] = None
        self._init_samples: List[Tuple[torch.Tensor, torch.Tensor]] = []
        self._memory: Deque[Tuple[torch.Tensor, torch.Tensor]] = deque(maxlen=max(cfg.memory, 1))
        self._feat: Optional[torch.Tensor] = None
        self._scale = 1.0
        self._pending = 0
        self._frame = 0
        self._points: Optional[np.ndarray] = None       # the feature grid (labels)
        self._score_points: Optional[np.ndarray] = None  # the score grid (hard negatives)
        self._score_size = 0
        #: statistics for benchmarks/tests: steps run, hard negatives seen, update triggers
        self.stats = {"steps": 0, "hard_negatives": 0, "updates": 0, "init_ms": 0.0}

    # ------------------------------------------------------------------ helpers
    def _label(self, box_crop, size: int) -> torch.Tensor:
        if self._points is None or self._points.shape[0] != size * size:
            self._points = point_grid(self.feature_stride, size)
        lab = center_label(box_crop, self._points, self.feature_stride, self.loss_cfg)
        return torch.from_numpy(lab.reshape(1, 1, size, size)).to(self.device)

    def _steps(self, n: int) -> None:
        if n <= 0 or self.net is None:
            return
        samples = self._init_samples + list(self._memory)
        feats = torch.cat([f for f, _ in samples])
        labels = torch.cat([lab for _, lab in samples])
        lc = self.loss_cfg
        with torch.enable_grad():
            self.net.train()
            for _ in range(n):
                per_point, pos = focal_hinge_mse(self.net(feats), labels, lc.alpha, lc.gamma,
                                                 lc.tau, lc.power)
                loss = per_point.sum() / pos.sum().clamp_min(1).to(per_point.dtype)
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                self.opt.step()
            self.net.eval()
        self.stats["steps"] += n
        self.last_loss = float(loss.detach())

    # ------------------------------------------------------------------ hook interface
    def start(self, x: torch.Tensor, outputs, box_crop) -> None:
        """First frame: ``x`` the search crop centred on the target, ``outputs`` the network's
        output for it, ``box_crop`` the target (cx, cy, w, h) in crop pixels from the centre."""
        # the tracker may run under torch.inference_mode (TrackingSession): the branch's weights,
        # samples and updates live outside it (inference tensors cannot enter autograd)
        with torch.inference_mode(False):
            self._start(x, outputs, box_crop)

    def _start(self, x: torch.Tensor, outputs, box_crop) -> None:
        t0 = time.perf_counter()
        cfg = self.cfg
        raw = outputs[self.feature_index].detach().clone()
        # the backbone's features are large (raw 0..255 input): scale them by the first frame's
        # RMS so the branch's optimiser sees O(1) inputs whatever the network
        self._scale = 1.0 / float(raw.pow(2).mean().sqrt().clamp_min(1e-6))
        feat = raw * self._scale
        size = feat.shape[-1]
        g = torch.Generator().manual_seed(cfg.seed)
        self.net = OnlineNet(feat.shape[1], cfg.hidden, cfg.layers)
        with torch.no_grad():
            for p in self.net.parameters():  # deterministic initialisation per target
                if p.dim() > 1:
                    fan_in = p[0].numel()
                    p.copy_(torch.randn(p.shape, generator=g) * (2.0 / fan_in) ** 0.5)
                else:
                    p.zero_()
            last = self.net.net[-1]
            last.weight.mul_(0.1)
        self.net.to(self.device).eval()
        self.opt = _Adam(self.net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        box = np.asarray(box_crop, dtype=np.float64)
        side = x.shape[-1]
        samples = [(feat, self._label(box, size))]
        shifts = []
        for frac in cfg.init_shifts:  # 8 directions per radius
            d = frac * side
            for a in range(8):
                shifts.append((int(round(d * np.cos(a * np.pi / 4))),
                               int(round(d * np.sin(a * np.pi / 4)))))
        with torch.no_grad():
            for dx, dy in shifts:
                f = self.features(_shift(x, dx, dy))[self.feature_index].clone() * self._scale
                samples.append((f, self._label(box + [dx, dy, 0, 0], size)))
            f = self.features(torch.flip(x, dims=[-1]).contiguous())[self.feature_index].clone()
            f = f * self._scale
            samples.append((f, self._label(box * [-1, 1, 1, 1], size)))
        self._init_samples = samples
        self._memory.clear()
        self._pending = 0
        self._frame = 0
        self.stats = {"steps": 0, "hard_negatives": 0, "updates": 0, "init_ms": 0.0}
        self._steps(cfg.init_steps)
        self.stats["init_ms"] = (time.perf_counter() - t0) * 1000.0

    def _on_score_grid(self, r: torch.Tensor, size: int) -> torch.Tensor:
        """The (1, 1, F, F) response resampled onto the S x S score grid (both centred on the
        crop): bilinear with aligned corners when the grids span the same extent, a centre crop
        when they share the stride."""
        f = r.shape[-1]
        if f == size:
            return r
        if abs((f - 1) * self.feature_stride - (size - 1) * self.score_stride) < 1e-6:
            return F.interpolate(r, size=(size, size), mode="bilinear", align_corners=True)
        if self.feature_stride == self.score_stride and f > size and (f - size) % 2 == 0:
            o = (f - size) // 2
            return r[..., o:o + size, o:o + size]
        raise ValueError(f"online response grid {f} (stride {self.feature_stride:g}) does not "
                         f"map onto the {size} x {size} score grid (stride {self.score_stride:g})")

    def refine(self, outputs):
        """Mix the online response into the scores: s = w s_offline + (1 - w) s_online; the
        outputs tuple keeps its layout (``scores`` says how)."""
        if self.net is None:
            return outputs
        head, feat = outputs[0], outputs[self.feature_index]
        with torch.inference_mode(False):
            self._feat = feat.detach().clone() * self._scale
        size = head.shape[-1]
        self._score_size = size
        with torch.no_grad():
            up = self._on_score_grid(self.net(self._feat), size).to(head.dtype)
        w = self.cfg.offline_weight
        if self.scores == "map":
            return (w * head + (1.0 - w) * up,) + tuple(outputs[1:])
        # anchor logits, channel k * A + a = class k of anchor a (fgsgt_ros.model.anchors)
        # in float32 whatever the network ran in (fp16 autocast on CUDA: 1 - 1e-6 would round
        # to 1 and its logit to infinity)
        b, c = head.shape[:2]
        logits = head.float().view(b, 2, c // 2, size, size)
        fg = torch.softmax(logits, dim=1)[:, 1]
        # a probability mixed with a probability: the regressed response can leave [0, 1]
        mixed = (w * fg + (1.0 - w) * up.float().clamp(0.0, 1.0)).clamp(1e-6, 1.0 - 1e-6)
        as_logits = torch.stack([torch.zeros_like(mixed), torch.logit(mixed)], dim=1)
        return (as_logits.view(b, c, size, size).to(head.dtype),) + tuple(outputs[1:])

    def hard_negative(self, score: np.ndarray, points: np.ndarray, best: int,
                      box_crop) -> Optional[int]:
        """Index of a distractor peak (see module docstring) in the (S*S,) score, or None."""
        cfg = self.cfg
        w, h = float(box_crop[2]), float(box_crop[3])
        far = (np.abs(points[:, 0] - points[best, 0]) > cfg.hard_negative_exclusion * w) | \
              (np.abs(points[:, 1] - points[best, 1]) > cfg.hard_negative_exclusion * h)
        if not far.any():
            return None
        idx = np.flatnonzero(far)
        j = int(idx[np.argmax(score[idx])])
        if score[best] > 0 and score[j] >= cfg.hard_negative_ratio * score[best]:
            return j
        return None

    def observe(self, cand, best: int, box_crop, confident: bool) -> None:
        """After the tracker's decision: ``cand`` the decoded candidates of this frame (mixed
        scores), ``best`` the chosen row, ``box_crop`` the chosen box (cx, cy, w, h) in crop
        pixels, ``confident``: the tracker is TRACKING (not searching while LOST)."""
        if self.net is None or self._feat is None:
            return
        with torch.inference_mode(False):
            self._observe(cand, best, box_crop, confident)

    def _trigger(self) -> None:
        """Queue an update; a trigger while one is still pending merges with it (the queue never
        exceeds one update, so frequent hard negatives cannot make it grow)."""
        self._pending = max(self._pending, self.cfg.update_steps)
        self.stats["updates"] += 1

    def _observe(self, cand, best: int, box_crop, confident: bool) -> None:
        cfg = self.cfg
        self._frame += 1
        if confident and cand.score[best] >= cfg.sample_min_score:
            size = self._feat.shape[-1]
            s = self._score_size
            # one score per point (the best of its anchors), rows of every anchor are point-major
            per_point = cand.score.reshape(-1, s * s).max(axis=0)
            if self._score_points is None or len(self._score_points) != s * s:
                self._score_points = point_grid(self.score_stride, s)
            hn = self.hard_negative(per_point, self._score_points, best % (s * s), box_crop)
            if cfg.memory > 0:
                self._memory.append((self._feat, self._label(box_crop, size)))
            if hn is not None:
                self.stats["hard_negatives"] += 1
                self._trigger()
        if self._frame % cfg.update_interval == 0:
            self._trigger()
        n = min(self._pending, cfg.max_steps_per_frame)
        if n:
            self._steps(n)
            self._pending -= n

