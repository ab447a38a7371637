"""SiamFFN training loss: SiamBAN's balanced classification loss plus the regression loss, with
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
"""

from __future__ import annotations

from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from .loss import check_targets, select_cross_entropy
from .points import iou_ltrb
from .siamffn import SiamFFNConfig


def csrl_terms(ce: torch.Tensor, iou: torch.Tensor, detach_weight: bool = False) -> torch.Tensor:
    """Per-positive CSRL regression part exp(-CE) * (1 - IoU) (Eq. 8 without its CE term)."""
    w = torch.exp(-ce)
    if detach_weight:
        w = w.detach()
    return w * (1.0 - iou)


class SiamFFNLoss(nn.Module):
    """``loss_fn(outputs, targets) -> {'total', 'cls', 'reg', 'iou'}``.

    outputs: ``SiamFFNNet.forward_train`` dict (cls (B, 2, S, S), ltrb (B, 4, S, S) px).
    targets (``fgsgt_ros.data.targets_siamffn``): label_cls (B, S*S) long in {-1, 0, 1},
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
