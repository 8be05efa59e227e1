"""Backtest on the real Boston crime incidents (weekly horizon, a few origins to stay fast)."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.backtest import BASELINES, run_backtest
from analytics.events_file import read_event_file
from analytics.forecast import ModelConfig
from tests.conftest import shared_data

METHODS = ["model", *BASELINES]
MEASURES = ["mae", "deviance", "hit@1%", "pai@1%", "hit@5%", "pai@5%", "hit@10%", "pai@10%"]
CHOSEN = ModelConfig(
    kind="hgb", learning_rate=0.05, max_iter=100, max_leaf_nodes=7, min_samples_leaf=200
)


@pytest.fixture(scope="module")
def result():
    path = shared_data("boston-incidents", "boston_crime_incidents_2023_2025.csv")
    events = read_event_file(path, progress=False)
    assert len(events) == 15_135  # 16,050 rows, 915 without coordinates
    return run_backtest(
        events, resolution=8, horizon_days=7, n_origins=8, n_validation=0, candidates=(CHOSEN,)
    )


def test_table_has_every_method_and_measure(result):
    table = result.table
    assert list(table.index) == METHODS
    assert list(table.columns) == MEASURES
    assert np.isfinite(table.to_numpy()).all()
    assert len(result.scores) == 8 * len(METHODS)


def test_values_in_range(result):
    table = result.table
    for pct, frac in ((1, 0.01), (5, 0.05), (10, 0.10)):
        assert table[f"hit@{pct}%"].between(0, 1).all()
        assert table[f"pai@{pct}%"].between(0, 1 / frac + 1).all()  # n_flagged rounds
    assert (table["hit@1%"] <= table["hit@5%"]).all()
    assert (table["hit@5%"] <= table["hit@10%"]).all()
    assert (table["mae"] > 0).all() and (table["deviance"] > 0).all()


def test_model_against_the_baselines_on_pai_at_5_percent(result):
    # the last 8 weeks: the model (7.496) beats the historical mean (7.263) and both KDEs but
    # not the exponentially weighted count (7.535) or the seasonal naive (7.506); over the 52
    # test origins it is 8.071 against 8.096 for ewm (docs/forecast.md): within noise
    pai5 = result.table["pai@5%"]
    assert pai5["model"] > max(pai5["historical mean"], pai5["kde"], pai5["space-time kde"])
    assert pai5.drop("model").idxmax() == "ewm"
    assert pai5["model"] >= 0.99 * pai5["ewm"]
