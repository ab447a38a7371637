"""Training losses: the FGSGT loss (Eq. 11-14) and, for the baseline rows, the SiamRPN++ loss.

    L = lambda_cls * L_cls + lambda_reg * (lambda_l1 * L_1 + lambda_iou * L_IoU)
        + lambda_sal * L_sal                                                        (Eq. 11)
    L_sal = sum_i w_i * BCE(S_i, G)                                                 (Eq. 12)
    L_cls = 0.5 * NLL(positives) + 0.5 * NLL(negatives) over the sampled anchors    (Eq. 13)
    L_reg = positives only, weighted by label_loc_weight (1/#pos): L1 on the deltas
            + linear IoU loss (1 - IoU) of the decoded box against the target box   (Eq. 14)

With ``cfg.loss.iou=False`` and ``saliency='none'`` this is exactly SiamRPN++'s 1.0*cls +
1.2*weighted-L1. Weights and switches live in ``config.LossConfig`` (defaults documented there).
"""

from __future__ import annotations

from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from .anchors import anchor_grid
from .config import ModelConfig


def check_targets(who: str, targets, need) -> None:
    """Every loss's input check: KeyError for a missing target, ValueError for a wrong shape
    (``need``: {name: expected shape})."""
    for key, shape in need.items():
        if key not in targets:
            raise KeyError(f"{who}: missing target {key!r}")
        if tuple(targets[key].shape) != tuple(shape):
            raise ValueError(f"{who}: target {key!r} has shape {tuple(targets[key].shape)}, "
                             f"expected {tuple(shape)}")


def select_cross_entropy(cls: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """0.5 * mean NLL over positive anchors + 0.5 * mean NLL over negative ones (-1 ignored)."""
    b = cls.shape[0]
    logp = F.log_softmax(cls.view(b, 2, -1), dim=1)  # (B, 2, A*S*S), contract layout

    def part(k):
        mask = label == k
        if not bool(mask.any()):
            return logp.sum() * 0.0  # keeps the graph (and device) when a class is absent
        return -logp[:, k][mask].mean()

    return 0.5 * part(1) + 0.5 * part(0)


def weighted_l1(loc: torch.Tensor, label_loc: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """SiamRPN++ weighted L1: sum_anchors w * |delta - target|_1, averaged over the batch."""
    b = loc.shape[0]
    diff = (loc.view(b, 4, -1) - label_loc).abs().sum(dim=1)
    # where(), not a product: targets of zero-weight anchors may be inf/NaN (negative pairs).
    return torch.where(weight > 0, diff * weight, torch.zeros_like(diff)).sum() / b


def decode_deltas(loc: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """(B, 4, N) deltas + (N, 4) cxcywh anchors -> (B, N, 4) cxcywh boxes (anchors.decode)."""
    d = loc.transpose(1, 2)
    cx = d[..., 0] * anchors[:, 2] + anchors[:, 0]
    cy = d[..., 1] * anchors[:, 3] + anchors[:, 1]
    w = torch.exp(d[..., 2].clamp(-4.0, 4.0)) * anchors[:, 2]
    h = torch.exp(d[..., 3].clamp(-4.0, 4.0)) * anchors[:, 3]
    return torch.stack([cx, cy, w, h], dim=-1)


def iou_cxcywh(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of broadcastable (..., 4) cxcywh boxes (continuous coordinates)."""
    ax0, ay0 = a[..., 0] - a[..., 2] / 2, a[..., 1] - a[..., 3] / 2
    ax1, ay1 = a[..., 0] + a[..., 2] / 2, a[..., 1] + a[..., 3] / 2
    bx0, by0 = b[..., 0] - b[..., 2] / 2, b[..., 1] - b[..., 3] / 2
    bx1, by1 = b[..., 0] + b[..., 2] / 2, b[..., 1] + b[..., 3] / 2
    iw = (torch.minimum(ax1, bx1) - torch.maximum(ax0, bx0)).clamp_min(0)
    ih = (torch.minimum(ay1, by1) - torch.maximum(ay0, by0)).clamp_min(0)
    inter = iw * ih
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    return inter / union.clamp_min(1e-6)


class FGSGTLoss(nn.Module):
    """``loss_fn(outputs, targets) -> {'total', 'cls', 'loc_l1'[, 'loc_iou'][, 'saliency']}``.

    outputs: ``FGSGTNet.forward_train`` dict. targets: see the module contract (TEAM_BRIEF):
    label_cls (B, N) long in {-1, 0, 1}, label_loc (B, 4, N), label_loc_weight (B, N),
    saliency (B, 1, Hx, Wx) 0/1 mask in search-crop pixels, target_box (B, 4) cxcywh relative to
    the crop centre (needed for the IoU term only).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.lc = cfg.loss
        anchors = anchor_grid(cfg.stride, cfg.anchor_ratios, cfg.anchor_scales, cfg.score_size)
        self.register_buffer("anchors", torch.from_numpy(anchors), persistent=False)
        n_maps = cfg.rrspn.num_srrb + 1
        w = self.lc.saliency_weights or tuple(1.0 / n_maps for _ in range(n_maps))
        self.saliency_weights = tuple(float(v) for v in w)

    def _check(self, outputs, targets):
        cls = outputs["cls"]
        b = cls.shape[0]
        n = self.anchors.shape[0]
        need = {"label_cls": (b, n), "label_loc": (b, 4, n), "label_loc_weight": (b, n)}
        if self.lc.iou:
            need["target_box"] = (b, 4)
        check_targets("FGSGTLoss", targets, need)
        if self.lc.saliency != "none":
            sal = targets.get("saliency")
            if sal is None or sal.dim() != 4 or sal.shape[:2] != (b, 1):
                raise ValueError("FGSGTLoss: target 'saliency' must be (B, 1, H, W)")
            if not outputs.get("saliency_logits"):
                raise ValueError("FGSGTLoss: saliency supervision needs saliency_logits (RRSPN)")

    def saliency_bce(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """BCE of one saliency logit map against the mask area-resized to its resolution."""
        target = F.adaptive_avg_pool2d(mask.to(logits.dtype), logits.shape[-2:])
        return F.binary_cross_entropy_with_logits(logits, target)

    def forward(self, outputs: Dict, targets: Dict) -> Dict[str, torch.Tensor]:
        self._check(outputs, targets)
        lc = self.lc
        cls, loc = outputs["cls"], outputs["loc"]
        b = cls.shape[0]
        weight = targets["label_loc_weight"].to(loc.dtype)
        out = {"cls": select_cross_entropy(cls, targets["label_cls"]),
               "loc_l1": weighted_l1(loc, targets["label_loc"].to(loc.dtype), weight)}
        reg = lc.lambda_l1 * out["loc_l1"]
        if lc.iou:
            boxes = decode_deltas(loc.view(b, 4, -1), self.anchors.to(loc.device, loc.dtype))
            tbox = targets["target_box"].to(loc.device, loc.dtype)[:, None, :]
            per_anchor = (1.0 - iou_cxcywh(boxes, tbox)) * weight
            out["loc_iou"] = torch.where(weight > 0, per_anchor,
                                         torch.zeros_like(per_anchor)).sum() / b
            reg = reg + lc.lambda_iou * out["loc_iou"]
        total = lc.lambda_cls * out["cls"] + lc.lambda_reg * reg
        if lc.saliency != "none":
            maps = outputs["saliency_logits"]
            mask = targets["saliency"]
            if lc.saliency == "final":
                sal = self.saliency_bce(maps[-1], mask)
            else:
                sal = sum(w * self.saliency_bce(m, mask)
                          for w, m in zip(self.saliency_weights, maps))
            out["saliency"] = sal
            total = total + lc.lambda_sal * sal
        out["total"] = total
        return out
