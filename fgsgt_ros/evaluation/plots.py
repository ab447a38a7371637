"""Success / precision / normalised-precision plots as PNG (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import numpy as np

from fgsgt_ros.evaluation.metrics import (NORM_PRECISION_THRESHOLDS, PRECISION_THRESHOLDS,
                                          SUCCESS_THRESHOLDS)

_PLOTS = (
    ("success_curve", "success_auc", SUCCESS_THRESHOLDS, "Overlap threshold (IoU)", "Success rate",
     "Success plot of OPE", "success_plot.png", "AUC"),
    ("precision_curve", "precision_20", PRECISION_THRESHOLDS, "Location error threshold (px)",
     "Precision", "Precision plot of OPE", "precision_plot.png", "@20px"),
    ("norm_precision_curve", "norm_precision_20", NORM_PRECISION_THRESHOLDS,
     "Normalised location error threshold", "Normalised precision",
     "Normalised precision plot of OPE", "norm_precision_plot.png", "@0.20"),
)


def write_plots(overall: Dict[str, Dict[str, object]], out_dir: Path, title: str = "") -> List[Path]:
    """One PNG per metric with a curve per tracker, legend sorted by score. Returns the paths."""
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for curve_key, score_key, xs, xlabel, ylabel, name, fname, tag in _PLOTS:
        fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
        entries = [(n, m) for n, m in overall.items() if m.get(curve_key) is not None]
        entries.sort(key=lambda nm: -np.nan_to_num(nm[1][score_key], nan=-1))
        for i, (n, m) in enumerate(entries):
            ax.plot(xs, np.asarray(m[curve_key]), linewidth=2,
                    linestyle="-" if i < 7 else "--", label=f"{n} [{tag} {m[score_key]:.3f}]")
        ax.set(xlabel=xlabel, ylabel=ylabel, xlim=(xs[0], xs[-1]), ylim=(0, 1.02),
               title=f"{name}{' - ' + title if title else ''}")
        ax.grid(True, alpha=0.3)
        if entries:
            ax.legend(loc="lower left" if curve_key == "success_curve" else "lower right",
                      fontsize=8)
        fig.tight_layout()
        path = out_dir / fname
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths
