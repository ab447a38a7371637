"""Success / precision / normalised-precision plots as PNG (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

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


#: Colours of the first trackers (matplotlib's tab10), in the order the trackers were given.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")


def tracker_styles(names) -> Dict[str, Tuple[str, str]]:
    """{tracker: (colour, linestyle)} by the trackers' order (as given to ``fgsgt eval``), so a
    tracker keeps its colour in every plot of a run whatever its rank; after 10, dashed lines."""
    return {n: (PALETTE[i % len(PALETTE)], "-" if i < len(PALETTE) else "--")
            for i, n in enumerate(names)}


def write_plots(overall: Dict[str, Dict[str, object]], out_dir: Path, title: str = "") -> List[Path]:
    """One PNG per metric with a curve per tracker, legend sorted by score; a tracker has the same
    colour in every plot (``tracker_styles``). Returns the paths."""
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    styles = tracker_styles(list(overall))

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for curve_key, score_key, xs, xlabel, ylabel, name, fname, tag in _PLOTS:
        fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
        entries = [(n, m) for n, m in overall.items() if m.get(curve_key) is not None]
        entries.sort(key=lambda nm: -np.nan_to_num(nm[1][score_key], nan=-1))
        for n, m in entries:
            colour, linestyle = styles[n]
            ax.plot(xs, np.asarray(m[curve_key]), linewidth=2, color=colour, linestyle=linestyle,
                    label=f"{n} [{tag} {m[score_key]:.3f}]")
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
