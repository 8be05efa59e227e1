"""NIJ measures and error measures on hand-made data: exact values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analytics.metrics import hit_rate, mae, n_flagged, pai, poisson_deviance, top_cells


def test_top_cells_breaks_ties_by_lower_index():
    assert top_cells(np.array([1.0, 3.0, 3.0, 0.0, 3.0]), 2).tolist() == [1, 2]


def test_hit_rate_and_pai_exact():
    # 20 cells: 5% of the area is 1 cell, 10% is 2 cells
    scores = np.zeros(20)
    scores[[4, 7]] = [5.0, 2.0]
    actual = np.zeros(20)
    actual[[4, 7, 9]] = [3, 1, 4]  # 8 incidents
    assert n_flagged(20, 0.05) == 1
    assert hit_rate(scores, actual, 0.05) == pytest.approx(3 / 8)
    assert pai(scores, actual, 0.05) == pytest.approx((3 / 8) / (1 / 20))  # 7.5
    assert hit_rate(scores, actual, 0.10) == pytest.approx(4 / 8)
    assert pai(scores, actual, 0.10) == pytest.approx((4 / 8) / (2 / 20))  # 5.0


def test_at_least_one_cell_is_flagged():
    assert n_flagged(30, 0.01) == 1
    assert pai(np.array([1.0, 0, 0]), np.array([1, 1, 0]), 0.01) == pytest.approx(0.5 / (1 / 3))


def test_no_incidents_gives_nan():
    assert math.isnan(hit_rate(np.ones(4), np.zeros(4), 0.05))


def test_mae_and_deviance_exact():
    pred, actual = np.array([1.0, 2.0]), np.array([0.0, 4.0])
    assert mae(pred, actual) == pytest.approx(1.5)
    expected = (2 * (0 - (0 - 1)) + 2 * (4 * math.log(2) - 2)) / 2
    assert poisson_deviance(pred, actual) == pytest.approx(expected)
    assert poisson_deviance(actual, actual) == pytest.approx(0.0, abs=1e-2)
