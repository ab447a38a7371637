"""MMNet: the multi-task matching network of "Multi-Task Driven Feature Models for Thermal Infrared
Tracking" (Liu et al., AAAI 2020), in pure PyTorch.

Parts (the paper's Fig. 1 and 2):

- **Shared backbone** (``backbones.alexnet.AlexNetNoPad``): AlexNet without any padding (SiamFC geometry, total stride 8):
  conv1 (stride 2) + max-pool, conv2 + max-pool, conv3, conv4, conv5; BatchNorm + ReLU after conv1-4,
  conv5 is linear. 127 px exemplar -> 6x6 conv5 / 10x10 conv3; 255 px search -> 22x22 / 26x26.
- **Discriminative matching** (eq. 1): CFNet-style correlation-filter block ``sigma`` on the exemplar's
  conv5 features, then cross-correlation with the search conv5 features, a learned scale and bias;
  logistic loss on the score map (eq. 2).
- **Classification branch** (eq. 3): global average pooling of the exemplar's conv5 features, a 1x1
  convolution to the number of object classes, cross-entropy. Training only: the inference graph
  (``template_kernels`` / ``track_with_kernels``) never runs it ("pruned at test time").
- **Fine-grained matching** (eq. 4): the fine-grained aware module ``omega`` (eq. 5) on conv3 of both
  crops, the CF block on the exemplar side, cross-correlation, logistic loss. ``omega`` = 1x1 conv of
  the concatenated outputs of the holistic correlation module (eq. 6: two large-kernel convolutions,
  two deconvolutions, a sigmoid map re-weighting the features) and the pixel-level correlation module
  (eq. 7-9: non-local attention softmax(Wq x . Wk x) applied to Wg x, added back with a learned scale).
- **Score** (eq. 11): the sum of the two matching maps. Total loss (eq. 10):
  lambda1 L_dis + lambda2 L_cls + lambda3 L_fin with lambda1 = lambda2 = lambda3 = 1.

The correlation-filter block solves, per exemplar, the ridge regression of CFNet / KCF with a linear
kernel over all cyclic shifts u of the (cosine-windowed) feature map x with C channels and n = H W
positions::

    w = argmin_w (1/n) sum_u (sum_c <w_c, x_c(. + u)> - y(u))^2 + lambda_abs ||w||^2

whose exact solution is, in the Fourier domain, alpha^ = y^ / (k^ + n lambda_abs),
k^ = sum_c |x^_c|^2, w^_c = conj(alpha^) x^_c. ``lambda_abs = cf_lambda * E / n`` with E the feature
energy sum_c,p x_c(p)^2 (= the mean of k^), so the regularisation is invariant to the feature scale.
The 2-D DFTs are real matrix products with fixed cosine/sine matrices (no complex tensors, no FFT
op), so the template path exports to ONNX and runs on CPU and CUDA alike.

Presets (``PRESETS``):

- ``mmnet``: the paper's size (AlexNet without padding, 96-256-384-384-256 channels with its
  two-tower groups, 127/255 px crops, 17x17 score map) with all four parts;
- ``mmnet_tiny``: the same geometry (127/255 px, stride 8, 17x17 scores) with a 7x7 conv1 and
  16-32-64-64-48 channels: about the per-frame cost of ``fgsgt_tiny`` (one search crop), so it
  trains on the same CPU budget;
- the ablation rows of the paper's Table 1 at both sizes (``<size>_dis``: discriminative matching
  only; ``_cls``: + classification branch; ``_hc``: + fine-grained matching with the holistic
  correlation module only; ``_pc``: + fine-grained matching with the pixel-level module only; the
  plain name is the full model).

Loss: ``fgsgt_ros.model.losses.MMNetLoss``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..backbones.alexnet import AlexNetNoPad
from ..config import config_from_dict

#: Object classes of the generated training data, in the order of the classification logits: the
#: shapes the synthetic generator draws targets from (``fgsgt_ros.data.synth.SHAPES``; a test keeps
#: the two equal). A checkpoint stores its own list.
GENERATOR_CLASSES: Tuple[str, ...] = ("ellipse", "person", "animal", "vehicle", "blob")


@dataclass(frozen=True)
class MMNetBackboneConfig:
    """AlexNet without padding. ``channels`` of conv1..conv5, ``kernels`` their kernel sizes,
    ``groups`` their convolution groups (AlexNet's two-tower split: 1, 2, 1, 2, 2)."""

    channels: Tuple[int, int, int, int, int] = (96, 256, 384, 384, 256)
    kernels: Tuple[int, int, int, int, int] = (11, 5, 3, 3, 3)
    groups: Tuple[int, int, int, int, int] = (1, 2, 1, 2, 2)

    def __post_init__(self):
        for name in ("channels", "kernels", "groups"):
            if len(getattr(self, name)) != 5:
                raise ValueError(f"backbone {name} needs 5 values (conv1..conv5)")
        prev = 3
        for c, g in zip(self.channels, self.groups):
            if c % g or (prev % g and prev != 3):
                raise ValueError(f"backbone channels {self.channels} not divisible by groups {self.groups}")
            prev = c


@dataclass(frozen=True)
class MMNetConfig:
    """One MMNet variant. ``classification``, ``fine_holistic`` and ``fine_pixel`` switch the
    paper's ablation components (the discriminative branch is always there); the fine-grained
    branch exists when either of its modules is on."""

    name: str = "mmnet"
    exemplar_size: int = 127
    instance_size: int = 255
    stride: int = 8                      # total stride of the backbone (conv1 2 x pool 2 x pool 2)
    backbone: MMNetBackboneConfig = field(default_factory=MMNetBackboneConfig)
    classification: bool = True
    classes: Tuple[str, ...] = GENERATOR_CLASSES
    fine_holistic: bool = True
    fine_pixel: bool = True
    holistic_kernel: int = 7             # the two large-kernel convolutions of eq. 6
    holistic_reduction: int = 4          # their channels = conv3 channels / reduction
    pixel_reduction: int = 8             # Wq / Wk channels = conv3 channels / reduction
    pixel_scale_init: float = 0.1        # delta of eq. 9 (learned); non-zero so Wq, Wk, Wg get gradients
    cf_lambda: float = 0.1               # CF ridge regularisation, relative to the feature energy
    cf_sigma: float = 0.5                # desired CF response: Gaussian sigma in feature cells
    cf_window: bool = True               # cosine window on the exemplar features before the CF
    score_scale_init: float = 8.0        # learned adjust of each matching map: a * corr + b
    score_bias_init: float = -4.0
    label_radius: float = 16.0           # positives: score cells within this many search-crop px
    loss_dis: float = 1.0                # lambda1
    loss_cls: float = 1.0                # lambda2
    loss_fin: float = 1.0                # lambda3

    def __post_init__(self):
        if self.exemplar_size < 1 or self.instance_size <= self.exemplar_size:
            raise ValueError("instance_size must be larger than exemplar_size")
        if (self.instance_size - self.exemplar_size) % self.stride:
            raise ValueError(f"instance_size - exemplar_size must be a multiple of the stride "
                             f"{self.stride} (the score map is centred on the search crop)")
        if self.classification and not self.classes:
            raise ValueError("the classification branch needs at least one class")
        if self.cf_lambda <= 0 or self.cf_sigma <= 0:
            raise ValueError("cf_lambda and cf_sigma must be > 0")

    @property
    def fine(self) -> bool:
        return self.fine_holistic or self.fine_pixel

    @property
    def score_size(self) -> int:
        return (self.instance_size - self.exemplar_size) // self.stride + 1

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: Dict[str, Any]) -> "MMNetConfig":
        return config_from_dict(MMNetConfig, d)


# ---------------------------------------------------------------------------------------------
# correlation-filter block


def _dft_matrices(n: int) -> Tuple[torch.Tensor, torch.Tensor]:
    k = np.arange(n)
    ang = 2.0 * math.pi * np.outer(k, k) / n
    return torch.from_numpy(np.cos(ang)), torch.from_numpy(np.sin(ang))  # float64


def _hann(n: int) -> np.ndarray:
    """Cosine window without zero ends (a Hann window of n + 2 points, ends dropped)."""
    return np.hanning(n + 2)[1:-1]


def cf_solve(x: torch.Tensor, y_re: torch.Tensor, y_im: torch.Tensor, reg: torch.Tensor,
             dft_h: Tuple[torch.Tensor, torch.Tensor], dft_w: Tuple[torch.Tensor, torch.Tensor]
             ) -> torch.Tensor:
    """Closed-form multi-channel correlation filter (the module docstring's ridge regression).

    x: (B, C, H, W) features; y_re, y_im: (H, W) DFT of the desired response; reg: (B, 1, 1, 1)
    the term n * lambda_abs added to k^; dft_h / dft_w: (cos, sin) DFT matrices of sizes H and W.
    Returns the filter w (B, C, H, W) with r(u) = sum_c,p w_c(p) x_c(p + u) ~ y(u).
    """
    ch, sh = dft_h
    cw, sw = dft_w
    n = x.shape[-1] * x.shape[-2]
    a = torch.matmul(ch, x)                       # (C_h X) over rows
    b = torch.matmul(sh, x)
    x_re = torch.matmul(a, cw) - torch.matmul(b, sw)      # X^ = (Ch - i Sh) X (Cw - i Sw)
    x_im = -(torch.matmul(a, sw) + torch.matmul(b, cw))
    k = (x_re * x_re + x_im * x_im).sum(1, keepdim=True) + reg       # (B, 1, H, W), real
    a_re, a_im = y_re / k, y_im / k                                   # alpha^ = y^ / (k^ + reg)
    w_re = a_re * x_re + a_im * x_im                                  # conj(alpha^) x^
    w_im = a_re * x_im - a_im * x_re
    p = torch.matmul(ch, w_re) - torch.matmul(sh, w_im)               # (Ch + i Sh) W^
    q = torch.matmul(ch, w_im) + torch.matmul(sh, w_re)
    return (torch.matmul(p, cw) - torch.matmul(q, sw)) / n            # real part of ... (Cw + i Sw)


class CFBlock(nn.Module):
    """sigma(.) of eq. 1 / 4: the CF template learned in closed form from exemplar features of a
    fixed size (H, W). Differentiable (end-to-end training as in CFNet) and exportable."""

    def __init__(self, size_hw: Tuple[int, int], cf_lambda: float, sigma: float, window: bool):
        super().__init__()
        h, w = size_hw
        self.cf_lambda = float(cf_lambda)
        ch, sh = (m.float() for m in _dft_matrices(h))
        cw, sw = (m.float() for m in _dft_matrices(w))
        self.register_buffer("ch", ch, persistent=False)
        self.register_buffer("sh", sh, persistent=False)
        self.register_buffer("cw", cw, persistent=False)
        self.register_buffer("sw", sw, persistent=False)
        # desired response: Gaussian peaked at zero shift (circularly wrapped)
        dy = np.minimum(np.arange(h), h - np.arange(h))
        dx = np.minimum(np.arange(w), w - np.arange(w))
        y = np.exp(-(dy[:, None] ** 2 + dx[None, :] ** 2) / (2.0 * sigma ** 2))
        y_hat = np.fft.fft2(y)
        self.register_buffer("y_re", torch.from_numpy(y_hat.real).float(), persistent=False)
        self.register_buffer("y_im", torch.from_numpy(y_hat.imag).float(), persistent=False)
        win = np.outer(_hann(h), _hann(w)) if window else np.ones((h, w))
        self.register_buffer("window", torch.from_numpy(win).float(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.window
        energy = (x * x).sum(dim=(1, 2, 3), keepdim=True)       # = mean of k^ over frequencies
        reg = self.cf_lambda * energy + 1e-6
        return cf_solve(x, self.y_re, self.y_im, reg, (self.ch, self.sh), (self.cw, self.sw))


def xcorr(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Cross-correlation of search features x (N, C, H, W) with kernel (K, C, h, w) -> (N, 1, ., .):
    one kernel per search item (K == N), or one kernel for all items (K == 1, e.g. a scale pyramid)."""
    if kernel.shape[0] == 1:
        return F.conv2d(x, kernel)
    n, c, h, w = x.shape
    out = F.conv2d(x.reshape(1, n * c, h, w), kernel, groups=n)
    return out.reshape(n, 1, out.shape[-2], out.shape[-1])


# ---------------------------------------------------------------------------------------------
# fine-grained aware module


class HolisticCorrelation(nn.Module):
    """phi_h (eq. 6): X * sigmoid(W X), W = two large-kernel stride-2 convolutions (encoder) and two
    stride-2 deconvolutions (decoder) down to one channel; the map is cropped back to H x W."""

    def __init__(self, channels: int, kernel: int, reduction: int):
        super().__init__()
        mid = max(4, channels // reduction)
        pad = kernel // 2
        self.enc1 = nn.Conv2d(channels, mid, kernel, stride=2, padding=pad)
        self.enc2 = nn.Conv2d(mid, mid, kernel, stride=2, padding=pad)
        self.dec1 = nn.ConvTranspose2d(mid, mid, 4, stride=2, padding=1)
        self.dec2 = nn.ConvTranspose2d(mid, 1, 4, stride=2, padding=1)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        a = F.relu(self.enc1(x))
        a = F.relu(self.enc2(a))
        a = F.relu(self.dec1(a))
        a = self.dec2(a)
        oy, ox = (a.shape[-2] - h) // 2, (a.shape[-1] - w) // 2
        return torch.sigmoid(a[..., oy:oy + h, ox:ox + w])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.attention(x)


class PixelCorrelation(nn.Module):
    """phi_p (eq. 7-9): X + delta * S_p, S_p = (Wg X) softmax_j(Wq x_i . Wk x_j)^T (non-local)."""

    def __init__(self, channels: int, reduction: int, scale_init: float):
        super().__init__()
        inner = max(4, channels // reduction)
        self.query = nn.Conv2d(channels, inner, 1)
        self.key = nn.Conv2d(channels, inner, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.delta = nn.Parameter(torch.tensor(float(scale_init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2)                         # (B, c', N)
        k = self.key(x).flatten(2)
        v = self.value(x).flatten(2)                         # (B, C, N)
        s = torch.softmax(torch.bmm(q.transpose(1, 2), k), dim=-1)   # (B, N_i, N_j)
        sp = torch.bmm(v, s.transpose(1, 2)).reshape(b, c, h, w)      # sum_j s_ij Wg x_j
        return x + self.delta * sp


class FineGrainedAware(nn.Module):
    """omega (eq. 5): f_c(phi_h(X), phi_p(X)) = 1x1 conv of the concatenation (of the enabled modules)."""

    def __init__(self, channels: int, cfg: MMNetConfig):
        super().__init__()
        self.holistic = (HolisticCorrelation(channels, cfg.holistic_kernel, cfg.holistic_reduction)
                         if cfg.fine_holistic else None)
        self.pixel = (PixelCorrelation(channels, cfg.pixel_reduction, cfg.pixel_scale_init)
                      if cfg.fine_pixel else None)
        n = int(cfg.fine_holistic) + int(cfg.fine_pixel)
        self.fuse = nn.Conv2d(n * channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = []
        if self.holistic is not None:
            parts.append(self.holistic(x))
        if self.pixel is not None:
            parts.append(self.pixel(x))
        return self.fuse(torch.cat(parts, 1) if len(parts) > 1 else parts[0])


# ---------------------------------------------------------------------------------------------
# network



def feature_sizes(cfg: MMNetConfig, size: int) -> Tuple[int, int]:
    """(conv3, conv5) side for an input of ``size`` px."""
    k = cfg.backbone.kernels
    s = (size - k[0]) // 2 + 1
    s = (s - 3) // 2 + 1
    s = s - k[1] + 1
    s = (s - 3) // 2 + 1
    s3 = s - k[2] + 1
    s5 = s3 - k[3] + 1 - k[4] + 1
    return s3, s5


class MMNet(nn.Module):
    """The multi-task matching network. Inference: ``template_kernels(z) -> (w_dis[, w_fin])``
    (CF templates), ``track_with_kernels(x, *k) -> (score,)`` with score (N, 1, S, S) = the summed
    matching logits (eq. 11). Training: ``forward_train(z, x)`` -> {'dis', 'fin', 'cls_logits'}."""

    def __init__(self, cfg: MMNetConfig):
        super().__init__()
        self.cfg = cfg
        # the network is named ``features`` (not ``backbone``): the trainer's backbone freezing
        # schedule is for pretrained ResNets; MMNet trains every layer from scratch
        self.features = AlexNetNoPad(cfg.backbone)
        z3, z5 = feature_sizes(cfg, cfg.exemplar_size)
        x3, x5 = feature_sizes(cfg, cfg.instance_size)
        if z5 < 1 or x5 - z5 + 1 != cfg.score_size:
            raise ValueError(f"{cfg.name}: exemplar {cfg.exemplar_size} / instance {cfg.instance_size} "
                             f"give conv5 maps {z5} / {x5}, not a {cfg.score_size}x{cfg.score_size} score map")
        c3, c5 = cfg.backbone.channels[2], cfg.backbone.channels[4]
        self.cf_dis = CFBlock((z5, z5), cfg.cf_lambda, cfg.cf_sigma, cfg.cf_window)
        self.adjust_dis = nn.Parameter(torch.tensor([cfg.score_scale_init, cfg.score_bias_init]))
        if cfg.fine:
            self.fanet = FineGrainedAware(c3, cfg)
            self.cf_fin = CFBlock((z3, z3), cfg.cf_lambda, cfg.cf_sigma, cfg.cf_window)
            self.adjust_fin = nn.Parameter(torch.tensor([cfg.score_scale_init, cfg.score_bias_init]))
        else:
            self.fanet = None
        if cfg.classification:
            self.classifier = nn.Conv2d(c5, len(cfg.classes), 1)   # after global average pooling
        else:
            self.classifier = None
        self._kernels: Optional[Tuple[torch.Tensor, ...]] = None

    # -- inference (exported) path: no classification branch
    def template_kernels(self, z: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        f3, f5 = self.features(z)
        kernels = (self.cf_dis(f5),)
        if self.fanet is not None:
            kernels = kernels + (self.cf_fin(self.fanet(f3)),)
        return kernels

    def _match(self, f3: torch.Tensor, f5: torch.Tensor, kernels) -> Dict[str, torch.Tensor]:
        a = self.adjust_dis
        out = {"dis": xcorr(f5, kernels[0]) * a[0] + a[1]}
        if self.fanet is not None:
            b = self.adjust_fin
            out["fin"] = xcorr(self.fanet(f3), kernels[1]) * b[0] + b[1]
        return out

    def track_with_kernels(self, x: torch.Tensor, *kernels: torch.Tensor) -> Tuple[torch.Tensor]:
        f3, f5 = self.features(x)
        maps = self._match(f3, f5, kernels)
        score = maps["dis"] + maps["fin"] if "fin" in maps else maps["dis"]
        return (score,)

    def template(self, z: torch.Tensor) -> None:
        """Compute and cache the CF templates of exemplar batch z."""
        self._kernels = tuple(self.template_kernels(z))

    def track(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """Score map(s) of search crop(s) x (N crops share a batch-1 template) -> (score,)."""
        if self._kernels is None:
            raise RuntimeError("MMNet.track() called before template()")
        return self.track_with_kernels(x, *self._kernels)

    def forward(self, x: torch.Tensor, *kernels: torch.Tensor) -> Tuple[torch.Tensor]:
        return self.track_with_kernels(x, *kernels)

    def export_metadata(self) -> Dict[str, Any]:
        """ONNX metadata entries of this family (``fgsgt_ros.model.export`` hook): how the score
        map is read (SiamFC decoding; no boxes are regressed)."""
        cfg = self.cfg
        return {"decoding": {
            "type": "siamfc_score_map",
            "stride": cfg.stride, "score_size": cfg.score_size,
            "outputs": ["score"],
            "score": "score (N, 1, S, S): logits of the summed discriminative and fine-grained "
                     "matching maps (eq. 11 of the MMNet paper); sigmoid gives the confidence",
            "cells": "cell (row, col) is stride * (col - (S-1)/2), stride * (row - (S-1)/2) "
                     "search-crop pixels from the crop centre (x right, y down)",
            "size": "no box regression: SiamFC scale pyramid, the search crop is taken at several "
                    "scales of s_x (batch of crops against the same kernels), the best-scoring "
                    "scale updates the size (fgsgt_ros.tracker.siamfc)",
            "classification_branch": "training only, not in the graphs",
        }}

    # -- training path
    def forward_train(self, z: torch.Tensor, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        z3, z5 = self.features(z)
        x3, x5 = self.features(x)
        kernels = (self.cf_dis(z5),)
        if self.fanet is not None:
            kernels = kernels + (self.cf_fin(self.fanet(z3)),)
        out = self._match(x3, x5, kernels)
        if self.classifier is not None:
            out["cls_logits"] = self.classifier(z5.mean(dim=(2, 3), keepdim=True)).flatten(1)
        return out


# ---------------------------------------------------------------------------------------------
# presets


_TINY_BACKBONE = MMNetBackboneConfig(channels=(16, 32, 64, 64, 48), kernels=(7, 5, 3, 3, 3),
                                     groups=(1, 1, 1, 1, 1))


def _rows(base: MMNetConfig):
    """The ablation rows of Table 1 for one size: Dis, +Cls, +Fine-Hc, +Fine-Pc, all."""
    n = base.name
    return {
        f"{n}_dis": replace(base, name=f"{n}_dis", classification=False, fine_holistic=False,
                            fine_pixel=False),
        f"{n}_cls": replace(base, name=f"{n}_cls", fine_holistic=False, fine_pixel=False),
        f"{n}_hc": replace(base, name=f"{n}_hc", fine_pixel=False),
        f"{n}_pc": replace(base, name=f"{n}_pc", fine_holistic=False),
        n: base,
    }


PRESETS = {}
PRESETS.update(_rows(MMNetConfig(name="mmnet")))
PRESETS.update(_rows(MMNetConfig(name="mmnet_tiny", backbone=_TINY_BACKBONE)))
