"""OGC collection extents: estimated or cached, yet containing every feature the viewer sees,
following a far insert within the cache rule, and scoped for a grid worker."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app import create_app
from geodata.demo import build_demo
from geodata.engine import get_engine
from geodata.settings import Settings
from tests.conftest import (
    DEMO_TEST_ANCHOR,
    DEMO_TEST_SCALE,
    DEMO_TEST_SEED,
    _fresh_database,
    api_token,
    signed_in,
    until,
)
from tests.integration.test_ogc_api import COLLECTION_SQL


@pytest.fixture(scope="module")
def url(cluster):
    """A demo city of its own: the far insert would widen the shared one's GiST extents."""
    with _fresh_database(cluster, "ogc_extents") as url:
        build_demo(url, scale=DEMO_TEST_SCALE, seed=DEMO_TEST_SEED, anchor=DEMO_TEST_ANCHOR)
        yield url


@pytest.fixture(scope="module")
def app(url):
    return create_app(Settings(database_url=url), url)


def _client(app, url, role="planner", areas=()):
    return signed_in(app.server.test_client(), api_token(url, role, areas))


def _extents(client) -> dict[str, list[float]]:
    body = client.get("/ogc/collections").get_json()
    return {
        c["id"]: c["extent"]["spatial"]["bbox"][0] for c in body["collections"] if "extent" in c
    }


def _exact(url: str, sql: str) -> list[float]:
    where = f"id IN ({sql})"
    query = f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM {sql.split(' FROM ')[1].split()[0]} WHERE {where}) x"  # noqa: E501
    with get_engine(url).connect() as conn:
        return list(conn.execute(text(query)).one())


def _contains(outer: list[float], inner: list[float]) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and outer[2] >= inner[2]
        and outer[3] >= inner[3]
    )


def _copy_far(url: str, table: str, where: str) -> None:
    """A copy of one row of ``table`` moved to (119.5, 33.5), keys cleared; stats flushed."""
    with get_engine(url).begin() as conn:
        columns = conn.execute(
            text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = :t AND column_name <> 'id' AND is_generated = 'NEVER' "
                "ORDER BY ordinal_position"
            ),
            {"t": table},
        ).scalars()
        cleared = {"serial"}
        names = [c for c in columns]
        picks = [
            "ST_SetSRID(ST_MakePoint(119.5, 33.5), 4326)"
            if c == "geom"
            else "source_id || '-far'"
            if c == "source_id"
            else ("NULL" if c in cleared else f'"{c}"')
            for c in names
        ]
        cols = ", ".join(f'"{c}"' for c in names)
        conn.execute(
            text(
                f"INSERT INTO {table} ({cols}) SELECT {', '.join(picks)} FROM {table} "
                f"WHERE {where} LIMIT 1"
            )
        )
        conn.execute(text("SELECT pg_stat_force_next_flush()"))


def test_every_extent_contains_every_feature_and_is_close(app, url):
    extents = _extents(_client(app, url))
    assert set(COLLECTION_SQL) <= set(extents)
    for collection, sql in COLLECTION_SQL.items():
        exact = _exact(url, sql)
        assert _contains(extents[collection], exact), collection
        assert all(abs(a - b) < 1e-3 for a, b in zip(extents[collection], exact, strict=True))


def test_a_far_house_is_in_the_listing_and_the_document_at_once(app, url):
    client = _client(app, url)
    before = client.get("/ogc/collections/houses").get_json()["extent"]["spatial"]["bbox"][0]
    assert before[2] < 119
    _copy_far(url, "house", "true")
    doc = client.get("/ogc/collections/houses").get_json()["extent"]["spatial"]["bbox"][0]
    assert doc[2] >= 119.5 and doc[3] >= 33.5 and doc[0] == pytest.approx(before[0], abs=1e-6)
    assert _extents(client)["houses"][2] >= 119.5


def test_a_far_camera_shows_once_the_statistics_count_it(app, url):
    client = _client(app, url)
    assert _extents(client)["cameras"][2] < 119  # now cached
    _copy_far(url, "device", "kind = 'camera'")
    assert until(lambda: _extents(client)["cameras"][2] >= 119.5, 12)


def test_a_grid_worker_sees_the_extent_of_their_grids_only(app, url):
    with get_engine(url).connect() as conn:
        grid_id, code = conn.execute(
            text("SELECT id, code FROM area WHERE level = 'grid' ORDER BY id LIMIT 1")
        ).one()
    city = _extents(_client(app, url))
    for _ in range(2):  # computed, then from the cache: the same scoped answer
        scoped = _extents(_client(app, url, "grid_worker", (code,)))
        exact = _exact(url, f"SELECT id FROM house WHERE area_id = {grid_id}")
        assert scoped["houses"] == pytest.approx(exact, abs=1e-9)
        assert not _contains(scoped["houses"], city["houses"])
