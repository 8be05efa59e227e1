"""Coverage on the demo city: cameras over fire lanes and roads, hydrants, service centres
(pgRouting and the straight-line fallback), and the coverage-gaps layer over HTTP."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from analytics import coverage
from geodata.accounts.viewer import Viewer
from geodata.engine import get_engine
from geodata.settings import Settings, get_settings
from geodata.spatial_sql import WEDGE_SQL
from layers import engine
from layers.query import LayerQuery
from layers.registry import get_layer
from tests.conftest import api_client, sql_rows

ANALYST = Viewer(role="analyst")
ADMIN = Viewer(role="admin")
TAGS = ["elderly_alone", "disabled", "left_behind_child", "needs_care"]


def _one(url: str, sql: str, **params):
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql), params).one()


@pytest.fixture(scope="module")
def settings(demo_url) -> Settings:
    return Settings(database_url=demo_url)


def test_fire_lane_coverage_matches_the_union_of_all_wedges(demo_url, settings):
    length, covered, untouched, lanes = _one(
        demo_url,
        f"""WITH u AS (SELECT ST_Union({WEDGE_SQL}) AS g FROM device t WHERE t.kind = 'camera')
        SELECT sum(ST_Length(l.geom::geography)),
               sum(ST_Length(ST_Intersection(l.geom, u.g)::geography)),
               count(*) FILTER (WHERE NOT ST_Intersects(l.geom, u.g)), count(*)
        FROM facility l, u WHERE l.kind = 'fire_lane'""",
    )
    got = coverage.camera_coverage(demo_url, ANALYST, settings, "fire_lanes", gaps=True)
    assert got.lines == lanes and got.uncovered_lines == untouched
    assert got.length_m == pytest.approx(length, abs=0.5)
    assert got.covered_m == pytest.approx(covered, abs=0.5)
    assert 0 < got.share < 1 and got.share == pytest.approx(covered / length, abs=1e-4)
    gap_m = sum(f["properties"]["uncovered_m"] for f in got.gaps)
    assert gap_m == pytest.approx(length - covered, abs=1.0)
    assert {f["properties"]["kind"] for f in got.gaps} == {"fire_lane"}


def test_road_coverage_counts_every_road(demo_url, settings):
    roads, length = _one(demo_url, "SELECT count(*), sum(ST_Length(geom::geography)) FROM road")
    got = coverage.camera_coverage(demo_url, ANALYST, settings, "roads")
    assert got.lines == roads > 0 and got.length_m == pytest.approx(length, abs=0.5)
    assert 0 < got.covered_m < got.length_m and got.gaps == []


def test_a_scoped_viewer_covers_only_its_areas_lanes(demo_url, settings):
    street = _one(demo_url, "SELECT id FROM area WHERE level = 'street' ORDER BY id LIMIT 1")[0]
    (lanes,) = _one(
        demo_url,
        """WITH RECURSIVE sub AS (SELECT id FROM area WHERE id = :a
           UNION SELECT a.id FROM area a JOIN sub ON a.parent_id = sub.id)
        SELECT count(*) FROM facility
        WHERE kind = 'fire_lane' AND area_id IN (SELECT id FROM sub)""",
        a=street,
    )
    scoped = coverage.camera_coverage(demo_url, Viewer("leader", (street,)), settings)
    whole = coverage.camera_coverage(demo_url, ANALYST, settings)
    assert scoped.lines == lanes and 0 < lanes < whole.lines


def test_hydrant_gaps_match_brute_force(demo_url, settings):
    with get_engine(demo_url).connect() as conn:
        expected = set(
            conn.execute(
                text(
                    """SELECT b.id FROM building b WHERE coalesce((
                    SELECT min(ST_Distance(b.geom::geography, h.geom::geography))
                    FROM facility h WHERE h.kind = 'hydrant'), 1e9) > 60"""
                )
            ).scalars()
        )
    got = coverage.hydrant_gaps(demo_url, ANALYST, settings, distance_m=60)
    assert {f["properties"]["building_id"] for f in got.features} == expected
    assert got.beyond == len(expected) > 0 and got.buildings > got.beyond
    # distances are rounded to 0.1 m: a building 60.03 m away shows 60.0
    assert all(f["properties"]["nearest_hydrant_m"] >= 60 for f in got.features)
    assert coverage.hydrant_gaps(demo_url, ANALYST, settings).distance_m == 150.0


def _care_homes(url: str) -> int:
    return _one(
        url,
        """SELECT count(DISTINCT r.house_id) FROM resident r WHERE r.status = 'active'
        AND r.house_id IS NOT NULL AND r.care_tags && CAST(:t AS varchar[])""",
        t=TAGS,
    )[0]


CARE_PER_BUILDING = """SELECT h.building_id, count(DISTINCT h.id), count(*)
    FROM resident r JOIN house h ON h.id = r.house_id
    WHERE r.status = 'active' AND r.care_tags && CAST(:t AS varchar[]) GROUP BY 1"""


def test_service_centres_walk_the_road_network_with_pgrouting(demo_url, settings):
    got = coverage.service_gaps(demo_url, ADMIN, settings, distance_m=400)
    assert got.method == "network" and "pgRouting" in got.reason
    assert _one(demo_url, "SELECT count(*) FROM pg_extension WHERE extname = 'pgrouting'")[0] == 1
    assert got.homes == _care_homes(demo_url) > 0
    assert 0 < got.homes_beyond < got.homes and got.people_beyond >= got.homes_beyond


def test_counts_only_viewers_get_whole_buildings_and_totals_of_what_is_shown(demo_url, settings):
    """docs/privacy.md: a building with a home beyond the walk counts whole (a distance must
    not cut it), groups under 5 are withheld, and every total is the sum of the shown ones."""
    per_building = {b: (h, n) for b, h, n in sql_rows(demo_url, CARE_PER_BUILDING, t=TAGS)}
    got = coverage.service_gaps(demo_url, ANALYST, settings, distance_m=400)
    shown = {b: hn for b, hn in per_building.items() if hn[1] >= 5}
    assert (got.homes, got.people) == tuple(sum(v[i] for v in shown.values()) for i in (0, 1))
    listed = {f["properties"]["building_id"]: f["properties"] for f in got.features}
    assert listed and all(
        (p["homes"], p["people"]) == per_building[b] and p["people"] >= 5 for b, p in listed.items()
    )
    assert got.people_beyond == sum(p["people"] for p in listed.values())
    assert got.homes_beyond == sum(p["homes"] for p in listed.values())


def test_walking_is_never_shorter_than_the_straight_line(demo_url, settings, monkeypatch):
    network = coverage.service_gaps(demo_url, ADMIN, settings, distance_m=400)
    monkeypatch.setattr(coverage, "ensure_pgrouting", lambda url: "pgRouting is not available (x)")
    straight = coverage.service_gaps(demo_url, ADMIN, settings, distance_m=400)
    assert straight.method == "straight_line" and straight.reason.startswith("pgRouting is not")
    assert network.homes == straight.homes
    assert network.homes_beyond >= straight.homes_beyond
    (beyond,) = _one(
        demo_url,
        """SELECT count(*) FROM house h WHERE h.id IN (
            SELECT r.house_id FROM resident r WHERE r.status = 'active'
            AND r.care_tags && CAST(:t AS varchar[]))
        AND coalesce((SELECT min(ST_Distance(h.geom::geography, c.geom::geography))
                      FROM facility c WHERE c.kind = 'service_centre'), 1e9) > 400""",
        t=TAGS,
    )
    assert straight.homes_beyond == beyond


def test_without_roads_the_answer_says_straight_line(store_url):
    got = coverage.service_gaps(store_url, ANALYST, Settings(database_url=store_url))
    assert (got.method, got.reason) == ("straight_line", "no roads are loaded")
    assert got.homes == 0 and got.distance_m == 1000.0


@pytest.fixture(scope="module")
def client(demo_url):
    return api_client(demo_url, "analyst", max_features=5000)


def test_coverage_gaps_layer_serves_uncovered_parts_in_view(client, demo_url, settings):
    box = _one(demo_url, "SELECT ST_Extent(geom)::geometry::box2d::text FROM facility")[0]
    minx, miny, maxx, maxy = (float(v) for v in box[4:-1].replace(" ", ",").split(","))
    bbox = f"{minx},{miny},{maxx},{maxy}"
    response = client.get(f"/api/layers/coverage_gaps?bbox={bbox}&zoom=15&of=fire_lanes")
    assert response.status_code == 200, response.data[:300]
    body = json.loads(response.data)
    direct = coverage.camera_coverage(
        demo_url, ANALYST, settings, "fire_lanes", (minx, miny, maxx, maxy), gaps=True
    )
    assert body["coverage"]["share"] == direct.share and body["coverage"]["of"] == ["fire_lanes"]
    assert body["count"] == len(direct.gaps) > 0
    assert {f["properties"]["kind"] for f in body["features"]} == {"fire_lane"}
    assert all(f["geometry"]["type"] in ("LineString", "MultiLineString") for f in body["features"])


# --- the precomputed gaps (migration 0010) -------------------------------------------------------


def _extent(url: str) -> tuple[float, float, float, float]:
    box = _one(url, "SELECT ST_Extent(geom)::geometry::box2d::text FROM road")[0]
    minx, miny, maxx, maxy = (float(v) for v in box[4:-1].replace(" ", ",").split(","))
    return minx, miny, maxx, maxy


def _layer(url: str, viewer: Viewer, bbox: tuple[float, float, float, float]):
    layer = get_layer("coverage_gaps")
    args = {"bbox": ",".join(str(v) for v in bbox), "zoom": "15"}
    query = LayerQuery.from_args(layer, args, 5000)
    return engine.answer(url, layer, query, viewer, get_settings())


def _live(url: str, viewer: Viewer, settings: Settings, bbox) -> list[dict]:
    return [
        f
        for kind in coverage.LINES
        for f in coverage.camera_coverage(url, viewer, settings, kind, bbox, gaps=True).gaps
    ]


def _touch(url: str, sql: str) -> None:
    with get_engine(url).begin() as conn:
        conn.execute(text(sql))


def _version(url: str) -> int:
    return _one(url, "SELECT version FROM coverage_gap_state")[0]


def test_refresh_stores_every_line_and_the_layer_reads_the_same_answer(demo_url, settings):
    state, counts = coverage.refresh_gaps(demo_url)
    lanes, roads = _one(
        demo_url,
        "SELECT (SELECT count(*) FROM facility WHERE kind = 'fire_lane'), "
        "(SELECT count(*) FROM road)",
    )
    assert counts == {"fire_lanes": lanes, "roads": roads} and state.fresh
    assert _one(demo_url, "SELECT count(*) FROM coverage_gap")[0] == lanes + roads
    bbox = _extent(demo_url)
    answer = _layer(demo_url, ANALYST, bbox)
    live = _live(demo_url, ANALYST, settings, bbox)
    assert answer.meta["coverage"]["precomputed"] is True and "note" not in answer.meta
    assert len(live) == answer.meta["count"] > 0
    # the stored answer is the live one to the byte (same geometry, same JSON)
    assert answer.features_json == json.dumps(live, ensure_ascii=False, separators=(",", ":"))


def test_stored_gaps_equal_the_union_of_all_wedges(demo_url):
    coverage.refresh_gaps(demo_url)
    (worst,) = _one(
        demo_url,
        f"""WITH u AS (SELECT ST_Union({WEDGE_SQL}) AS g FROM device t WHERE t.kind = 'camera')
        SELECT max(abs(g.covered_m - ST_Length(ST_Intersection(r.geom, u.g)::geography)))
        FROM coverage_gap g JOIN road r ON g.kind = 'roads' AND r.id = g.line_id, u""",
    )
    assert worst < 0.01


def test_a_view_counts_cameras_beyond_it_that_see_a_line_crossing_it(demo_url, settings):
    """A road crossing the edge of a small view is covered by cameras outside it, too."""
    (lon, lat) = _one(
        demo_url,
        "SELECT ST_X(ST_Centroid(ST_Extent(geom))), ST_Y(ST_Centroid(ST_Extent(geom))) FROM road",
    )
    bbox = (lon - 0.002, lat - 0.002, lon + 0.002, lat + 0.002)
    whole = {
        f["id"]: f["properties"]["uncovered_m"] for f in _live(demo_url, ANALYST, settings, None)
    }
    small = _live(demo_url, ANALYST, settings, bbox)
    assert small and all(f["properties"]["uncovered_m"] == whole[f["id"]] for f in small)


def test_a_camera_change_makes_the_layer_say_so_and_compute_live(demo_url, settings):
    coverage.refresh_gaps(demo_url)
    camera, heading = _one(
        demo_url,
        "SELECT id, heading FROM device WHERE kind = 'camera' AND fov < 360 ORDER BY id LIMIT 1",
    )
    before = _version(demo_url)
    _touch(demo_url, "UPDATE device SET status = status, last_value = 1 WHERE kind = 'smoke'")
    assert _version(demo_url) == before  # readings and status do not touch coverage
    bbox = _extent(demo_url)
    stored = _layer(demo_url, ANALYST, bbox)
    try:
        _touch(
            demo_url, f"UPDATE device SET heading = mod({heading} + 180, 360) WHERE id = {camera}"
        )
        assert _version(demo_url) == before + 1
        stale = _layer(demo_url, ANALYST, bbox)
        assert stale.meta["coverage"]["precomputed"] is False
        assert "analytics coverage --refresh" in stale.meta["note"]["en"]
        moved = _live(demo_url, ANALYST, settings, bbox)
        assert json.loads(stale.features_json) == moved
        assert stale.features_json != stored.features_json  # the turned camera sees elsewhere
        coverage.refresh_gaps(demo_url)
        again = _layer(demo_url, ANALYST, bbox)
        assert again.meta["coverage"]["precomputed"] is True
        assert again.features_json == stale.features_json
    finally:
        _touch(demo_url, f"UPDATE device SET heading = {heading} WHERE id = {camera}")
        coverage.refresh_gaps(demo_url)
    assert _layer(demo_url, ANALYST, bbox).features_json == stored.features_json


def test_the_twins_background_loop_refreshes_stale_gaps_only(demo_url):
    from twin.service import refresh_derived

    coverage.refresh_gaps(demo_url)
    camera, heading = _one(
        demo_url, "SELECT id, heading FROM device WHERE kind = 'camera' ORDER BY id LIMIT 1"
    )
    assert coverage.refresh_if_stale(demo_url) is False  # nothing changed: nothing done
    try:
        _touch(
            demo_url, f"UPDATE device SET heading = mod({heading} + 90, 360) WHERE id = {camera}"
        )
        refresh_derived(demo_url, Settings(database_url=demo_url, forecast_refresh_hours=0))
        with get_engine(demo_url).connect() as conn:
            assert coverage.gap_state(conn).fresh
    finally:
        _touch(demo_url, f"UPDATE device SET heading = {heading} WHERE id = {camera}")
        coverage.refresh_gaps(demo_url)


def test_a_scoped_viewer_sees_only_its_areas_gaps_from_the_stored_answer(demo_url, settings):
    coverage.refresh_gaps(demo_url)
    street = _one(demo_url, "SELECT id FROM area WHERE level = 'street' ORDER BY id LIMIT 1")[0]
    with get_engine(demo_url).connect() as conn:
        mine = set(
            conn.execute(
                text(
                    """WITH RECURSIVE sub AS (SELECT id FROM area WHERE id = :a
                    UNION SELECT a.id FROM area a JOIN sub ON a.parent_id = sub.id)
                    SELECT 'fire_lanes-' || id FROM facility
                    WHERE kind = 'fire_lane' AND area_id IN (SELECT id FROM sub)
                    UNION SELECT 'roads-' || id FROM road WHERE area_id IN (SELECT id FROM sub)"""
                ),
                {"a": street},
            ).scalars()
        )
    viewer = Viewer("leader", (street,))
    bbox = _extent(demo_url)
    answer = _layer(demo_url, viewer, bbox)
    got = json.loads(answer.features_json)
    assert answer.meta["coverage"]["precomputed"] is True
    assert got and {f["id"] for f in got} <= mine
    assert got == _live(demo_url, viewer, settings, bbox)
    assert len(got) < _layer(demo_url, ANALYST, bbox).meta["count"]


def test_the_coverage_command_refreshes_and_reports(demo_url, monkeypatch, capsys):
    from analytics.__main__ import main
    from geodata.settings import get_settings

    _touch(demo_url, "UPDATE road SET geom = geom WHERE id = (SELECT min(id) FROM road)")
    monkeypatch.setenv("DATABASE_URL", demo_url)
    get_settings.cache_clear()
    try:
        assert main(["coverage"]) == 1
        assert "STALE" in capsys.readouterr().out
        assert main(["coverage", "--refresh"]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    (lanes,) = _one(demo_url, "SELECT count(*) FROM facility WHERE kind = 'fire_lane'")
    assert f"{lanes:,} fire lanes" in out and "current" in out


def test_a_store_reset_leaves_the_gaps_stale_not_missing(conn):
    conn.execute(text("DELETE FROM coverage_gap_state"))
    emptied = coverage.gap_state(conn)
    assert emptied is not None and not emptied.fresh and emptied.refreshed_at is None
    conn.execute(text("TRUNCATE road"))  # the trigger brings the state row back, stale
    state = coverage.gap_state(conn)
    assert state is not None and state.version == 1 and not state.fresh
    assert state.changed_at is not None
