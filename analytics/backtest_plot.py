"""The backtest's hit-rate curves as a PNG: share of incidents caught against share of area
flagged, one curve per method (mean over the test origins).

Drawn with matplotlib (Agg, no pyplot: no global figure state), as the assessment report.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter


def curve_points(curve: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(share of area flagged, share of incidents caught) of one curve over ``k = 0 … n``."""
    n = len(curve) - 1
    return np.arange(n + 1) / max(n, 1), np.asarray(curve, dtype=float)


def curves_figure(curves: dict[str, np.ndarray], title: str, published: str) -> Figure:
    """One line per method (the published one thicker), plus the random-flagging diagonal."""
    fig = Figure(figsize=(7.5, 5.5), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for name, curve in curves.items():
        x, y = curve_points(curve)
        label = f"{name} (published)" if name == published else name
        wide = name == published  # drawn under the others: a method equal to it stays visible
        ax.plot(x, y, label=label, linewidth=3.0 if wide else 1.3, zorder=1 if wide else 2)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="random")
    ax.set_xlabel("share of area flagged (highest-scoring cells first)")
    ax.set_ylabel("share of incidents caught")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def write_curves_png(
    curves: dict[str, np.ndarray], path: str | Path, title: str, published: str = "model"
) -> Path:
    """Write :func:`curves_figure` to ``path`` (PNG)."""
    path = Path(path)
    curves_figure(curves, title, published).savefig(path, format="png")
    return path
