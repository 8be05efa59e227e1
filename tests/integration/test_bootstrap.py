"""`make run`'s set-up: an empty store gets the schema and the demo; a filled one is reused."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from analytics.coverage import gap_state
from geodata.demo.accounts import DEMO_ACCOUNTS
from geodata.engine import get_engine
from geodata.settings import Settings
from geodata.store import drop_database, feature_counts, recreate_database
from twin.bootstrap import prepare

SMALL = 0.15


@pytest.fixture
def fresh_url(cluster):
    name = f"onemap_test_bootstrap_{os.getpid()}"
    url = recreate_database(cluster.url(), name)
    yield url
    get_engine(url).dispose()
    drop_database(cluster.url(), name)


def test_prepare_builds_the_demo_once_then_reuses_the_store(fresh_url):
    settings = Settings(database_url=fresh_url, demo_scale=SMALL, demo_seed=3)
    messages: list[str] = []
    store = prepare(settings, progress=messages.append)
    first = feature_counts(store.url)
    assert first["area"] > 0 and first["resident"] > 0
    assert any("building the demo city" in m for m in messages)
    with get_engine(store.url).connect() as conn:
        roles = dict(conn.execute(text("SELECT username, role FROM account")).all())
    assert roles == {u: role for u, (role, _name) in DEMO_ACCOUNTS.items()}
    printed = [m.split() for m in messages if m.startswith("  ") and len(m.split()) == 3]
    assert {p[0]: p[1] for p in printed} == roles  # name, role and password on the console
    with get_engine(store.url).connect() as conn:
        assert gap_state(conn).fresh  # camera coverage gaps precomputed for the map
        stored = conn.execute(text("SELECT count(*) FROM coverage_gap")).scalar_one()
        lines = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM road) + "
                "(SELECT count(*) FROM facility WHERE kind = 'fire_lane')"
            )
        ).scalar_one()
    assert stored == lines > 0
    runs = "SELECT count(*) FROM forecast_run"
    with get_engine(store.url).connect() as conn:
        assert conn.execute(text(runs)).scalar_one() == 1  # the risk layer has a forecast
        assert conn.execute(text("SELECT count(*) FROM forecast")).scalar_one() > 0

    messages.clear()
    again = prepare(settings, progress=messages.append)
    assert feature_counts(again.url) == first
    assert not any("building the demo city" in m for m in messages)
    with get_engine(again.url).connect() as conn:
        assert conn.execute(text(runs)).scalar_one() == 1  # not recomputed at each start
