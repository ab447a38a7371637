"""What every Siamese network of the project shares (FGSGT/SiamRPN++, SiamFFN, IBFP).

- The inference protocol: ``template_kernels(z) -> tuple`` and ``track_with_kernels(x, *k)`` are
  the exportable pair each network defines; ``template(z)`` / ``track(x)`` are the stateful
  convenience on top (the kernels cached for one target) and ``forward`` is the track graph.
- The from-scratch initialisation: Kaiming (fan-out) convolutions, BatchNorm 1 / 0, zero biases,
  then each sub-module's own ``init_special`` (small head outputs, neutral attention, priors).
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn as nn


class SiameseNet(nn.Module):
    #: layer types that get the Kaiming initialisation
    kaiming_types: Tuple[type, ...] = (nn.Conv2d,)

    def __init__(self) -> None:
        super().__init__()
        self._kernels: Optional[Tuple[torch.Tensor, ...]] = None

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, self.kaiming_types):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if m is not self and hasattr(m, "init_special"):
                m.init_special()

    def template(self, z: torch.Tensor) -> None:
        """Compute and cache the template kernels for batch z.shape[0]."""
        self._kernels = tuple(self.template_kernels(z))

    def track(self, x: torch.Tensor):
        """Run a search crop against the cached kernels (the network's track outputs)."""
        if self._kernels is None:
            raise RuntimeError(f"{type(self).__name__}.track() called before template()")
        return self.track_with_kernels(x, *self._kernels)

    def forward(self, x: torch.Tensor, *kernels: torch.Tensor):
        return self.track_with_kernels(x, *kernels)
