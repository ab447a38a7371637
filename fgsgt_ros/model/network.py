"""FGSGTNet: the Siamese network (backbone + FGPCB + fusion, neck, RRSPN, three DW-Corr heads).

Inputs are float tensors (B, 3, H, W) with raw 0..255 pixel values (no mean/std), grey thermal
replicated to three channels. Inference API (plain tensors only, exportable to ONNX):

    kernels = net.template_kernels(z)            # tuple of 6 tensors (cls/loc kernel per level)
    cls, loc, sal = net.track_with_kernels(x, *kernels)
    net.template(z); cls, loc, sal = net.track(x)   # the same with the kernels cached

With ``cfg.online.enabled`` the track graph has a fourth output, ``feat`` (the neck's last search
feature, for the tracker's online branch).

cls (B, 2A, S, S) logits, loc (B, 4A, S, S) deltas (layout in ``anchors.py``), sal (B, 1, Hs, Ws)
saliency probability covering the search crop: sigmoid(S_N) of RRSPN at conv1 resolution, or, for
models without RRSPN, the foreground probability (max over anchors) placed at the score cells'
positions in an instance_size x instance_size map (zero outside the score grid).
Training uses ``forward_train(z, x) -> dict`` (adds the saliency logits S_0..S_N).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .backbones import build_backbone
from .config import ModelConfig
from .fgpcb import FGPCBRefinement
from .heads import MultiRPN, Neck
from .rrspn import RRSPN, _resize
from .siamese_base import SiameseNet


class FGSGTNet(SiameseNet):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.backbone = build_backbone(cfg)
        chans = self.backbone.channels
        # a pretrained backbone keeps its blocks; FGPCB refines its deepest level instead, at
        # the neck's width (docs/ARCHITECTURE.md, "FGSGT on pretrained backbones")
        self.refine: Optional[FGPCBRefinement] = None
        if cfg.backbone.kind != "resnet" and cfg.fgpcb.enabled:
            fg = cfg.fgpcb
            self.refine = FGPCBRefinement(cfg.head.neck_channels, fg.width, fg.num_blocks, fg.fusion,
                                          fg.fusion_channels, fg.fusion_gate_init,
                                          fg.refine_gate_init, fg.negative_slope)
        self.neck = Neck([chans[i] for i in self.backbone.neck_taps], cfg.head.neck_channels,
                         cfg.head.template_crop)
        self.rrspn: Optional[RRSPN] = None
        if cfg.rrspn.enabled:
            self.rrspn = RRSPN([chans[i] for i in self.backbone.saliency_taps],
                               cfg.rrspn.channels, cfg.rrspn.num_srrb, cfg.rrspn.low_level)
        self.rpn = MultiRPN(3, cfg.head.neck_channels, cfg.head.hidden, cfg.anchor_num)
        self._init_weights()

    # -- init ------------------------------------------------------------------------------

    # -- pure functional form (exported to ONNX) --------------------------------------------
    def _levels(self, feats, template: bool) -> List[torch.Tensor]:
        """The neck's three maps, the deepest refined by FGPCB on a pretrained backbone."""
        levels = self.neck([feats[i] for i in self.backbone.neck_taps], template=template)
        if self.refine is not None:
            levels[-1] = self.refine(levels[-1])
        return levels

    def template_kernels(self, z: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Template branch: backbone -> neck (centre crop) -> per-level cls/loc kernels (6)."""
        return self.rpn.kernels(self._levels(self.backbone(z), template=True))

    def _search(self, x: torch.Tensor, kernels):
        """-> (cls, loc, saliency logits S_0..S_N, the neck's search features)."""
        feats = self.backbone(x)
        xs = self._levels(feats, template=False)
        sal_logits: List[torch.Tensor] = []
        if self.rrspn is not None:
            sal_logits = self.rrspn(*[feats[i] for i in self.backbone.saliency_taps])
            if self.cfg.rrspn.guidance:
                # Saliency guidance (our reading): F' = F * (1 + sigmoid(S_N)).
                g = torch.sigmoid(_resize(sal_logits[-1], xs[0].shape[-2:]))
                xs = [x_ * (1.0 + g) for x_ in xs]
        cls, loc = self.rpn(kernels, xs)
        return cls, loc, sal_logits, xs

    def track_with_kernels(self, x: torch.Tensor, *kernels: torch.Tensor):
        """Search branch against precomputed kernels -> (cls, loc, sal) plain tensors, and the
        neck's last search feature ``feat`` (B, C, F, F) (stride 8, centred on the crop like the
        score map) as a fourth output when ``cfg.online.enabled``: what the tracker's online
        branch learns on."""
        if len(kernels) != 6:
            raise ValueError(f"expected 6 template kernels, got {len(kernels)}")
        if kernels[0].shape[0] != x.shape[0]:
            raise ValueError(f"template kernels are for batch {kernels[0].shape[0]} "
                             f"but the search batch is {x.shape[0]}")
        cls, loc, sal_logits, xs = self._search(x, kernels)
        if sal_logits:
            sal = torch.sigmoid(sal_logits[-1])
        else:
            sal = self.response_saliency(cls)
        if self.cfg.online.enabled:
            return cls, loc, sal, xs[-1]
        return cls, loc, sal

    def response_saliency(self, cls: torch.Tensor) -> torch.Tensor:
        """Foreground probability (max over anchors) laid out over the whole search crop:
        score cell i is centred (i - S//2) * stride px from the crop centre."""
        b, _, s, _ = cls.shape
        a = self.cfg.anchor_num
        fg = F.softmax(cls.view(b, 2, a, s, s), dim=1)[:, 1].amax(dim=1, keepdim=True)
        stride, size = self.cfg.stride, self.cfg.instance_size
        fg = F.interpolate(fg, size=(s * stride, s * stride), mode="bilinear",
                           align_corners=False)
        pad = size - s * stride
        lo = pad // 2
        return F.pad(fg, (lo, pad - lo, lo, pad - lo))

    # -- training -------------------------------------------------------------------------------
    def forward_train(self, z: torch.Tensor, x: torch.Tensor) -> Dict[str, object]:
        """Template + search in one pass -> {'cls', 'loc', 'saliency_logits': [S_0..S_N]}."""
        kernels = self.template_kernels(z)
        cls, loc, sal_logits, _ = self._search(x, kernels)
        return {"cls": cls, "loc": loc, "saliency_logits": sal_logits}


def build_model(cfg: ModelConfig) -> FGSGTNet:
    """Build the network described by ``cfg`` (a ModelConfig, e.g. ``get_preset('fgsgt_tiny')``)."""
    if not isinstance(cfg, ModelConfig):
        raise TypeError(f"build_model expects a ModelConfig, got {type(cfg).__name__}")
    return FGSGTNet(cfg)
