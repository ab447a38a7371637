"""Tracker factory of the FGSGT / SiamRPN++ family: the one ``SiameseTracker`` with the SiamRPN++
anchor decoding and, when ``model_cfg.online.enabled``, the online branch
(``online.OnlineLearner``, IBFP's form) learned on the neck's last search feature, which the
network then returns as a fourth output. Crop geometry, penalties, window, size smoothing, LOST
logic and thermal handling are SiameseTracker's, as for every network family.
"""

from __future__ import annotations

from fgsgt_ros.model.ibfp import IBFPLossConfig
from fgsgt_ros.tracker.online import OnlineLearner
from fgsgt_ros.tracker.siamese import SiameseTracker

#: position of the search feature in FGSGTNet's track outputs (cls, loc, sal, feat)
FEATURE_INDEX = 3


def make_fgsgt_tracker(model, model_cfg, tracker_cfg=None, device: str = "cpu", name=None):
    """``SiameseTracker`` for an FGSGT-family network, online branch as configured."""
    learner = None
    online = model_cfg.online
    if online.enabled:
        # the hinge loss and Gaussian labels of IBFP's branch, with their default settings:
        # the network itself was trained with the SiamRPN++ losses
        learner = OnlineLearner(online, IBFPLossConfig(), features=None,
                                score_stride=model_cfg.stride, device=device,
                                feature_index=FEATURE_INDEX, feature_stride=model_cfg.stride,
                                scores="anchor_logits")
    tracker = SiameseTracker(model, model_cfg, tracker_cfg, device, name, online=learner)
    if learner is not None:
        learner.features = tracker._track  # first-frame augmentations through the same call
    return tracker
