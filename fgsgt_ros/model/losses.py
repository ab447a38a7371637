"""Training losses of every model family (``registry.FAMILIES`` names each family's), and the
pieces they share (``check_targets``, ``select_cross_entropy``).

FGSGTLoss: the FGSGT loss (Eq. 11-14) and, for the baseline rows, the SiamRPN++ loss.

    L = lambda_cls * L_cls + lambda_reg * (lambda_l1 * L_1 + lambda_iou * L_IoU)
        + lambda_sal * L_sal                                                        (Eq. 11)
    L_sal = sum_i w_i * BCE(S_i, G)                                                 (Eq. 12)
    L_cls = 0.5 * NLL(positives) + 0.5 * NLL(negatives) over the sampled anchors    (Eq. 13)
    L_reg = positives only, weighted by label_loc_weight (1/#pos): L1 on the deltas
            + linear IoU loss (1 - IoU) of the decoded box against the target box   (Eq. 14)

With ``cfg.loss.iou=False`` and ``saliency='none'`` this is exactly SiamRPN++'s 1.0*cls +
1.2*weighted-L1. Weights and switches live in ``families.fgsgt.LossConfig`` (defaults documented
there).

SiamFFNLoss: SiamBAN's balanced classification loss plus the regression loss, with
the Classification Supervised Regression Loss (CSRL, Eq. 6-8 of the SiamFFN paper) or without it.

Per positive point i with classification cross-entropy CE_i = -log p_i and IoU loss
1 - IoU_i (UnitBox IoU of the predicted and target (l, t, r, b) at that point, Eq. 6):

    CSRL:   L_pos,i = CE_i + exp(-CE_i) * (1 - IoU_i)                               (Eq. 8)

    total = lambda_cls * [mean_pos CE + mean_neg CE]
            + lambda_reg * mean_pos [exp(-CE_i) * (1 - IoU_i)]     (CSRL; without: 1 - IoU_i)

With the default weights (1, 1) every positive contributes exactly Eq. 8 (its CE and its weighted
IoU loss 1:1) and the negatives their CE, positives and negatives balanced as in SiamBAN (SiamBAN
weighs them 0.5/0.5; the factor 2 keeps Eq. 8's 1:1 ratio with the regression term, see
``SiamFFNLossConfig``). The 1:1 ratio matters: with exp(-CE) in the gradient, a positive's score is
pulled down by p (1 - p)(1 - IoU) and up by (1 - p), so it always rises, more slowly where the box
is poor. Terms returned: ``cls``, ``reg`` (the regression term as it enters the
total), ``iou`` (mean 1 - IoU over positives, unweighted, for monitoring; not added) and ``total``.

IBFPLoss: the focal hinge MSE on the centre map (Eq. 9, ``focal_hinge_mse``, also the online
branch's loss) + L1 on the ltrb of the points near the centre (Eq. 10, Fig. 5b).

MMNetLoss: Eq. 10 of the MMNet paper, logistic losses of both matching maps + the classification
cross-entropy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .anchors import anchor_grid
from .points import iou_ltrb

if TYPE_CHECKING:
    from .families.fgsgt import ModelConfig
    from .families.ibfp import IBFPConfig
    from .families.mmnet import MMNetConfig
    from .families.siamffn import SiamFFNConfig


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


# ---------------------------------------------------------------------------------------------
# SiamFFN


def csrl_terms(ce: torch.Tensor, iou: torch.Tensor, detach_weight: bool = False) -> torch.Tensor:
    """Per-positive CSRL regression part exp(-CE) * (1 - IoU) (Eq. 8 without its CE term)."""
    w = torch.exp(-ce)
    if detach_weight:
        w = w.detach()
    return w * (1.0 - iou)


class SiamFFNLoss(nn.Module):
    """``loss_fn(outputs, targets) -> {'total', 'cls', 'reg', 'iou'}``.

    outputs: ``SiamFFNNet.forward_train`` dict (cls (B, 2, S, S), ltrb (B, 4, S, S) px).
    targets (``fgsgt_ros.data.targets``): label_cls (B, S*S) long in {-1, 0, 1},
    label_ltrb (B, 4, S*S) crop px (used at positives only).
    """

    def __init__(self, cfg: SiamFFNConfig):
        super().__init__()
        self.cfg = cfg
        self.lc = cfg.loss

    def _check(self, outputs, targets):
        cls = outputs["cls"]
        b, n = cls.shape[0], cls.shape[-1] * cls.shape[-2]
        need = {"label_cls": (b, n), "label_ltrb": (b, 4, n)}
        check_targets("SiamFFNLoss", targets, need)

    def forward(self, outputs: Dict, targets: Dict) -> Dict[str, torch.Tensor]:
        self._check(outputs, targets)
        lc = self.lc
        cls, ltrb = outputs["cls"], outputs["ltrb"]
        b = cls.shape[0]
        label = targets["label_cls"].to(cls.device)
        # select_cross_entropy is 0.5 * (mean_pos + mean_neg)
        out = {"cls": 2.0 * select_cross_entropy(cls, label)}
        pos = label == 1
        if bool(pos.any()):
            logp = F.log_softmax(cls.view(b, 2, -1), dim=1)[:, 1]          # (B, N)
            ce = -logp[pos]                                                  # (P,)
            pred = ltrb.view(b, 4, -1).transpose(1, 2)[pos]                  # (P, 4)
            tgt = targets["label_ltrb"].to(ltrb.device, ltrb.dtype).transpose(1, 2)[pos]
            iou = iou_ltrb(pred, tgt.clamp_min(0.0))
            out["iou"] = (1.0 - iou).mean()
            if lc.csrl:
                out["reg"] = csrl_terms(ce, iou, lc.detach_weight).mean()
            else:
                out["reg"] = out["iou"]
        else:  # only negative pairs in the batch: keep the graph, no regression signal
            zero = ltrb.sum() * 0.0
            out["iou"] = zero
            out["reg"] = zero
        out["total"] = lc.lambda_cls * out["cls"] + lc.lambda_reg * out["reg"]
        return out


# ---------------------------------------------------------------------------------------------
# IBFP


def focal_hinge_mse(score: torch.Tensor, label: torch.Tensor, alpha: float, gamma: float,
                    tau: float, power: float = 2.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-point focal hinge loss of Eq. 9 (elementwise) and the positive mask (label >= tau):
    label >= tau: label^gamma * |s - label|^power; else alpha * max(0, s)^power."""
    pos = label >= tau
    lab = label.clamp_min(1e-12)
    pos_term = lab.pow(gamma) * (score - label).abs().pow(power)
    neg_term = alpha * score.clamp_min(0.0).pow(power)
    return torch.where(pos, pos_term, neg_term), pos


class IBFPLoss(nn.Module):
    """``loss(outputs, targets) -> {'total', 'center', 'reg'}``.

    targets: ``center_label`` (B, 1, S, S) Gaussian, ``ltrb_target`` (B, 4, S, S) crop pixels,
    ``reg_mask`` (B, 1, S, S) 0/1 (the points near the centre; all 0 for negative pairs).
    """

    def __init__(self, cfg: IBFPConfig):
        super().__init__()
        self.cfg = cfg
        self.lc = cfg.loss

    def forward(self, outputs: Dict, targets: Dict) -> Dict[str, torch.Tensor]:
        center, ltrb = outputs["center"], outputs["ltrb"]
        b, _, s, _ = center.shape
        need = {"center_label": (b, 1, s, s), "ltrb_target": (b, 4, s, s), "reg_mask": (b, 1, s, s)}
        check_targets("IBFPLoss", targets, need)
        lc = self.lc
        label = targets["center_label"].to(center.dtype)
        per_point, pos = focal_hinge_mse(center, label, lc.alpha, lc.gamma, lc.tau, lc.power)
        center_loss = per_point.sum() / pos.sum().clamp_min(1).to(center.dtype)
        mask = targets["reg_mask"].to(ltrb.dtype)
        diff = ((ltrb - targets["ltrb_target"].to(ltrb.dtype)).abs() / self.cfg.ltrb_ref).sum(1, keepdim=True)
        reg = torch.where(mask > 0, diff, torch.zeros_like(diff)).sum() / mask.sum().clamp_min(1.0)
        total = lc.lambda_center * center_loss + lc.lambda_reg * reg
        return {"total": total, "center": center_loss, "reg": reg}


# ---------------------------------------------------------------------------------------------
# MMNet


class MMNetLoss(nn.Module):
    """Eq. 10: lambda1 L_dis + lambda2 L_cls + lambda3 L_fin.

    Targets (``fgsgt_ros.data.targets``): ``label`` (B, 1, S, S) in {0, 1} (SiamFC: 1 within
    ``label_radius`` of the target centre), ``label_weight`` (B, 1, S, S) (positives and negatives
    each weigh 1/2 per pair, all-negative maps weigh 1), ``category`` (B,) class index or -1 (unknown
    class, negative pair: ignored). The logistic loss log(1 + exp(-y o)) with y = 2 label - 1 is the
    binary cross-entropy of the logits o."""

    def __init__(self, cfg: MMNetConfig):
        super().__init__()
        self.cfg = cfg

    def _logistic(self, logits, label, weight):
        per = F.binary_cross_entropy_with_logits(logits, label, reduction="none")
        return (per * weight).sum() / max(1, logits.shape[0])

    def forward(self, outputs: Dict[str, torch.Tensor], targets: Dict[str, torch.Tensor]):
        cfg = self.cfg
        label, weight = targets["label"].float(), targets["label_weight"].float()
        losses = {"dis": self._logistic(outputs["dis"], label, weight)}
        total = cfg.loss_dis * losses["dis"]
        if "fin" in outputs:
            losses["fin"] = self._logistic(outputs["fin"], label, weight)
            total = total + cfg.loss_fin * losses["fin"]
        if "cls_logits" in outputs:
            logits = outputs["cls_logits"]
            cat = targets["category"].long().reshape(-1)
            known = cat >= 0
            if bool(known.any()):
                losses["cls"] = F.cross_entropy(logits[known], cat[known])
            else:  # no labelled exemplar in this batch: a zero that keeps the graph
                losses["cls"] = logits.sum() * 0.0
            total = total + cfg.loss_cls * losses["cls"]
        losses["total"] = total
        return losses
