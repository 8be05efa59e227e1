"""Forecast skill measures: MAE, Poisson deviance, and the NIJ hit rate and PAI.

The NIJ Real-Time Crime Forecasting Challenge flags the highest-risk share of the study area and
scores how many of the next period's incidents fall in it. Here every cell of the study region
counts as one unit of area (H3 cells of one resolution are near-equal in area), so flagging
``frac`` of the area means flagging ``round(frac * n_cells)`` cells (at least one).
"""

from __future__ import annotations

import numpy as np

AREA_FRACTIONS = (0.01, 0.05, 0.10)
DEVIANCE_FLOOR = 1e-3  # predictions below this count as this in the deviance (log of zero)


def n_flagged(n_cells: int, frac: float) -> int:
    """How many cells make up ``frac`` of a region of ``n_cells`` equal cells (at least one)."""
    return max(1, round(frac * n_cells))


def top_cells(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` highest scores; ties go to the lower index (deterministic)."""
    order = np.lexsort((np.arange(len(scores)), -np.asarray(scores, dtype=float)))
    return order[:n]


def hit_rate(scores: np.ndarray, actual: np.ndarray, frac: float) -> float:
    """Share of the incidents that fall in the top ``frac`` of the area (NaN without incidents)."""
    total = float(np.sum(actual))
    if total <= 0:
        return float("nan")
    flagged = top_cells(scores, n_flagged(len(scores), frac))
    return float(np.sum(np.asarray(actual)[flagged])) / total


def pai(scores: np.ndarray, actual: np.ndarray, frac: float) -> float:
    """Predictive Accuracy Index: (hits / incidents) / (flagged area / total area)."""
    n = len(scores)
    return hit_rate(scores, actual, frac) / (n_flagged(n, frac) / n)


def mae(pred: np.ndarray, actual: np.ndarray) -> float:
    """Mean absolute error of expected counts."""
    return float(np.mean(np.abs(np.asarray(pred, dtype=float) - np.asarray(actual, dtype=float))))


def poisson_deviance(pred: np.ndarray, actual: np.ndarray) -> float:
    """Mean Poisson deviance, with predictions floored at :data:`DEVIANCE_FLOOR`."""
    mu = np.maximum(np.asarray(pred, dtype=float), DEVIANCE_FLOOR)
    y = np.asarray(actual, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogy = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(np.mean(2.0 * (ylogy - (y - mu))))


def score_period(pred: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """All measures for one forecast period over the cells of the study region."""
    row = {"mae": mae(pred, actual), "deviance": poisson_deviance(pred, actual)}
    for frac in AREA_FRACTIONS:
        pct = round(frac * 100)
        row[f"hit@{pct}%"] = hit_rate(pred, actual, frac)
        row[f"pai@{pct}%"] = pai(pred, actual, frac)
    return row


def hit_curve(scores: np.ndarray, actual: np.ndarray) -> np.ndarray | None:
    """Share of the incidents caught by flagging the ``k`` highest-scoring cells, for
    ``k = 0 … n`` (ties as :func:`top_cells`); None without incidents."""
    total = float(np.sum(actual))
    if total <= 0:
        return None
    order = top_cells(scores, len(scores))
    caught = np.cumsum(np.asarray(actual, dtype=float)[order]) / total
    return np.concatenate([[0.0], caught])
