"""Tracker factory of the IBFP family: the one ``SiameseTracker`` with the shared anchor-free
decoding (``decoding.AnchorFreeDecoder``: the centre map is a score in [0, 1], clipped; the ltrb
map gives one box per point) and, unless ``model_cfg.online.enabled`` is off, the online branch
(``online.OnlineLearner``) as its ``online`` hook. Crop geometry, penalties, window, size
smoothing, LOST logic and thermal handling are SiameseTracker's, as for every network family.

Online on/off: the presets ``ibfp_tiny`` (online) and ``ibfp_tiny_offline`` (the same weights,
shipped as their own checkpoint with their own calibrated LOST thresholds) are two tracker names
everywhere a tracker is named (``fgsgt eval --trackers``, the node's ``checkpoint``).
"""

from __future__ import annotations

from fgsgt_ros.tracker.decoding import AnchorFreeDecoder
from fgsgt_ros.tracker.online import OnlineLearner
from fgsgt_ros.tracker.siamese import SiameseTracker


def make_ibfp_tracker(model, model_cfg, tracker_cfg=None, device: str = "cpu", name=None,
                      online=None):
    """``SiameseTracker`` for an IBFP network. ``online``: override ``model_cfg.online.enabled``."""
    # outputs (center, ltrb, feat): no saliency map; the centre map is regressed to a Gaussian
    decoder = AnchorFreeDecoder.from_model_cfg(model_cfg, score="prob", saliency_index=None)
    use_online = model_cfg.online.enabled if online is None else bool(online)
    learner = None
    if use_online:
        learner = OnlineLearner(model_cfg.online, model_cfg.loss, features=None,
                                score_stride=model_cfg.stride, device=device)
    tracker = SiameseTracker(model, model_cfg, tracker_cfg, device, name, decoder=decoder,
                             online=learner)
    if learner is not None:
        learner.features = _features(model, tracker)
    return tracker


def _features(model, tracker):
    """Search crop -> an output tuple whose third element is the layer3 feature, for the online
    branch's first-frame augmentations: the PyTorch backbone alone (cheapest), else (e.g. the
    onnxruntime network) the tracker's own network call, which uses the template kernels wherever
    they are kept (the tracker keeps them itself with ``template_update``)."""
    from fgsgt_ros.model.ibfp import IBFPNet

    if isinstance(model, IBFPNet):
        return lambda x: (None, None, model.backbone(x)[1])
    return tracker._track
