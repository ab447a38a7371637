"""The tracker layer's part of every network family, in one table: ``FAMILY_TRACKERS[family
name](model, model_cfg, tracker_cfg, device, name) -> tracker`` (the tracker interface
``init(image, box)`` / ``update(image) -> TrackResult`` / ``reset()`` / ``state``), and
``make_tracker`` that picks the factory of a network's family (``fgsgt_ros.model.registry``). The
other layers' tables: ``fgsgt_ros.model.registry.FAMILIES`` (config, network, loss) and
``fgsgt_ros.data.targets.FAMILY_TARGETS``.

Every Siamese family runs the one ``SiameseTracker`` (crop geometry, penalties, window, size
smoothing, LOST logic and thermal handling are its own, as for every network family) with the
family's decoding and online hook:

- ``fgsgt`` (``make_fgsgt_tracker``): the SiamRPN++ anchor decoding and, when
  ``model_cfg.online.enabled``, the online branch (``online.OnlineLearner``, IBFP's form) learned
  on the neck's last search feature, which the network then returns as a fourth output;
- ``siamffn`` (``anchor_free_tracker``): the ``AnchorFreeDecoder`` strategy, decoding
  ``(score map, ltrb map[, saliency])`` per point;
- ``ibfp`` (``make_ibfp_tracker``): the shared anchor-free decoding (``decoding.AnchorFreeDecoder``:
  the centre map is a score in [0, 1], clipped; the ltrb map gives one box per point) and, unless
  ``model_cfg.online.enabled`` is off, the online branch (``online.OnlineLearner``) as its
  ``online`` hook. Online on/off: the presets ``ibfp_tiny`` (online) and ``ibfp_tiny_offline``
  (the same weights, shipped as their own checkpoint with their own calibrated LOST thresholds)
  are two tracker names everywhere a tracker is named (``fgsgt eval --trackers``, the node's
  ``checkpoint``);
- ``mmnet``: ``siamfc.SiamFCTracker`` (SiamFC's multi-scale search on the score map).
"""

from __future__ import annotations

from typing import Callable, Dict

from fgsgt_ros.model.families.ibfp import IBFPLossConfig, IBFPNet
from fgsgt_ros.model.registry import family_of
from fgsgt_ros.tracker.decoding import AnchorFreeDecoder
from fgsgt_ros.tracker.online import OnlineLearner
from fgsgt_ros.tracker.siamese import SiameseTracker
from fgsgt_ros.tracker.siamfc import SiamFCTracker

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
    if isinstance(model, IBFPNet):
        return lambda x: (None, None, model.backbone(x)[1])
    return tracker._track


def anchor_free_tracker(model, model_cfg, tracker_cfg=None, device: str = "cpu", name=None,
                        score: str = "auto"):
    """``SiameseTracker`` decoding ``(score map, ltrb map[, saliency])`` outputs per point
    (``decoding.AnchorFreeDecoder``; ``score`` selects the score transform)."""
    return SiameseTracker(model, model_cfg, tracker_cfg, device, name,
                          decoder=AnchorFreeDecoder.from_model_cfg(model_cfg, score=score))


#: family name (``fgsgt_ros.model.registry.FAMILIES``) -> tracker factory
FAMILY_TRACKERS: Dict[str, Callable] = {
    "fgsgt": make_fgsgt_tracker,
    "siamffn": anchor_free_tracker,
    "mmnet": SiamFCTracker,
    "ibfp": make_ibfp_tracker,
}


def make_tracker(model, model_cfg, tracker_cfg=None, device: str = "cpu", name=None):
    """The tracker of ``model_cfg``'s family around ``model`` (see the module docstring)."""
    return FAMILY_TRACKERS[family_of(model_cfg).name](model, model_cfg, tracker_cfg, device, name)
