"""Analyst questions on the demo city: the three examples against independent SQL, scope,
privacy, read-only execution and the HTTP API (JSON, CSV, 400s)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import InternalError

from analytics import questions
from analytics.question_spec import QuestionError
from analytics.questions import QuestionTimeout, ask
from geodata.accounts.viewer import Viewer
from geodata.privacy import MIN_COUNT
from geodata.settings import Settings
from geodata.spatial_sql import WEDGE_SQL
from tests.conftest import api_client, sql_rows

ANALYST = Viewer(role="analyst")
ADMIN = Viewer(role="admin")
LANES = {
    "layer": "facilities",
    "where": [{"field": "kind", "op": "=", "value": "fire_lane"}],
    "near": [{"layer": "cameras", "distance_m": 0, "mode": "beyond"}],
}


def _tall(distance: float, floors: int = 18) -> dict:
    return {
        "layer": "buildings",
        "where": [{"field": "floors", "op": ">", "value": floors}],
        "near": [
            {
                "layer": "facilities",
                "where": [{"field": "kind", "op": "=", "value": "hydrant"}],
                "distance_m": distance,
                "mode": "beyond",
            }
        ],
    }


def _elderly(until: str, hours: float) -> dict:
    return {
        "layer": "residents",
        "where": [{"field": "care_tags", "op": "has", "value": "elderly_alone"}],
        "near": [
            {
                "layer": "incidents",
                "where": [{"field": "category", "op": "=", "value": "alarm.gas"}],
                "time": {"field": "reported_at", "last_hours": hours, "until": until},
                "distance_m": 300,
            }
        ],
    }


@pytest.fixture(scope="module")
def settings(demo_url) -> Settings:
    return Settings(database_url=demo_url)


@pytest.fixture(scope="module")
def until(demo_url) -> str:
    """Just after the demo city's last gas alarm: its 24 h window holds at least that one."""
    last = sql_rows(demo_url, "SELECT max(reported_at) FROM event WHERE category = 'alarm.gas'")[0][
        0
    ]
    return (last + timedelta(seconds=1)).isoformat()


def _elderly_oracle(url: str, until: str, hours: float, grid: int | None = None) -> dict[int, int]:
    """Elderly people living alone per building within 300 m of a gas alarm in the window,
    by brute force (every pair's geodesic distance, no index margins); with ``grid``, people
    and alarms of that grid only."""
    inside = "AND r.area_id = :g AND e.area_id = :g" if grid is not None else ""
    rows = sql_rows(
        url,
        f"""SELECT h.building_id, count(*) FROM resident r JOIN house h ON h.id = r.house_id
        WHERE r.status = 'active' AND 'elderly_alone' = ANY(r.care_tags) AND EXISTS (
            SELECT 1 FROM event e WHERE e.category = 'alarm.gas'
            AND e.reported_at >= CAST(:until AS timestamptz) - make_interval(hours => :h)
            AND e.reported_at < CAST(:until AS timestamptz) {inside}
            AND ST_Distance(r.geom::geography, e.geom::geography) <= 300)
        GROUP BY 1""",
        until=until,
        h=hours,
        g=grid,
    )
    return dict(rows)


def _counts(answer) -> dict[int, int]:
    return {row[0]: row[2] for row in answer.rows}


def test_elderly_alone_near_a_gas_alarm_in_24_hours_matches_brute_force(demo_url, settings, until):
    expected = _elderly_oracle(demo_url, until, 24)
    assert expected, "the window should hold residents near the last gas alarm"
    admin = ask(demo_url, _elderly(until, 24), ADMIN, settings)
    assert _counts(admin) == expected
    assert admin.meta["people"] == sum(expected.values()) and admin.meta["withheld_groups"] == 0
    feature = admin.features[0]
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert feature["properties"]["count"] == max(expected.values())


def _whole_building_oracle(url: str, until: str, hours: float) -> dict[int, int]:
    """Per building with an active resident within 300 m of a gas alarm in the window, all its
    elderly people living alone (the whole building is the unit: docs/privacy.md)."""
    rows = sql_rows(
        url,
        """WITH picked AS (
            SELECT DISTINCT h.building_id AS b FROM resident r JOIN house h ON h.id = r.house_id
            WHERE r.status = 'active' AND EXISTS (
                SELECT 1 FROM event e WHERE e.category = 'alarm.gas'
                AND e.reported_at >= CAST(:until AS timestamptz) - make_interval(hours => :h)
                AND e.reported_at < CAST(:until AS timestamptz)
                AND ST_Distance(r.geom::geography, e.geom::geography) <= 300))
        SELECT h.building_id, count(*) FROM picked p JOIN house h ON h.building_id = p.b
        JOIN resident r ON r.house_id = h.id
        WHERE r.status = 'active' AND 'elderly_alone' = ANY(r.care_tags) GROUP BY 1""",
        until=until,
        h=hours,
    )
    return dict(rows)


def test_analysts_get_counts_per_whole_building_with_small_groups_withheld(
    demo_url, settings, until
):
    expected = _whole_building_oracle(demo_url, until, 24 * 30)
    shown = {b: n for b, n in expected.items() if n >= MIN_COUNT}
    withheld = len(expected) - len(shown)
    assert shown and withheld, "a month of gas alarms should give large and small groups"
    answer = ask(demo_url, _elderly(until, 24 * 30), ANALYST, settings)
    assert _counts(answer) == shown
    assert answer.meta["withheld_groups"] == withheld and answer.meta["min_count"] == MIN_COUNT
    assert answer.meta["people"] == sum(shown.values())
    assert [c for c, _ in answer.columns] == ["building_id", "building", "count"]
    assert all(
        set(f["properties"]) == {"building_id", "building", "count"} for f in answer.features
    )


def test_analysts_may_not_count_residents_by_narrower_conditions(demo_url, settings, until):
    """Birth-year ranges and combined conditions could be differenced: refused, saying why."""
    spec = _elderly(until, 24)
    spec["where"] = [{"field": "birth_year", "op": "<", "value": 1950}]
    with pytest.raises(QuestionError) as refused:
        ask(demo_url, spec, ANALYST, settings)
    assert refused.value.code == "disclosure" and refused.value.path == "where[0]"
    assert ask(demo_url, spec, ADMIN, settings).meta["min_count"] == 1


def test_a_grid_worker_sees_every_group_of_its_own_grid(demo_url, settings, until):
    """Unsuppressed counts, and only the grid's own people and alarms (incidents elsewhere
    are not the grid worker's to use)."""
    grid = sql_rows(
        demo_url,
        "SELECT area_id FROM event WHERE category = 'alarm.gas' ORDER BY reported_at DESC LIMIT 1",
    )[0][0]
    expected = _elderly_oracle(demo_url, until, 24 * 30, grid)
    everywhere = _elderly_oracle(demo_url, until, 24 * 30)
    assert expected and len(expected) < len(everywhere)
    worker = Viewer(role="grid_worker", area_ids=(grid,))
    answer = ask(demo_url, _elderly(until, 24 * 30), worker, settings)
    assert _counts(answer) == expected
    assert answer.meta["min_count"] == 1 and answer.meta["withheld_groups"] == 0


@pytest.mark.parametrize(("floors", "distance"), [(18, 150), (6, 60)])
def test_tall_buildings_beyond_a_hydrant_match_brute_force(demo_url, settings, floors, distance):
    expected = {
        r[0]
        for r in sql_rows(
            demo_url,
            """SELECT b.id FROM building b WHERE b.floors > :f AND coalesce((
                SELECT min(ST_Distance(b.geom::geography, h.geom::geography))
                FROM facility h WHERE h.kind = 'hydrant'), 1e9) > :d""",
            f=floors,
            d=distance,
        )
    }
    answer = ask(demo_url, _tall(distance, floors), ANALYST, settings)
    assert {row[0] for row in answer.rows} == expected
    assert answer.meta["total"] == len(expected)
    assert all(row[3] > floors for row in answer.rows)  # the floors column
    if floors == 6:
        assert expected, "at 60 m some buildings should be beyond every hydrant"


def test_fire_lanes_no_camera_sees_match_brute_force(demo_url, settings):
    wedges = WEDGE_SQL  # the map's wedge over alias t; cross join every camera, no margins
    expected = {
        r[0]
        for r in sql_rows(
            demo_url,
            f"""SELECT l.id FROM facility l WHERE l.kind = 'fire_lane' AND NOT EXISTS (
                SELECT 1 FROM (SELECT {wedges} AS w FROM device t WHERE t.kind = 'camera') c
                WHERE ST_Intersects(l.geom, c.w))""",
        )
    }
    lanes = sql_rows(demo_url, "SELECT count(*) FROM facility WHERE kind = 'fire_lane'")[0][0]
    assert 0 < len(expected) < lanes
    answer = ask(demo_url, LANES, ANALYST, settings)
    assert {row[0] for row in answer.rows} == expected
    assert all(f["geometry"]["type"] == "LineString" for f in answer.features)


AEDS_NEAR = {
    "layer": "buildings",
    "near": [
        {
            "layer": "facilities",
            "where": [{"field": "kind", "op": "=", "value": "aed"}],
            "distance_m": 80,
        }
    ],
}


@pytest.mark.parametrize("spec", [AEDS_NEAR, LANES], ids=["aeds-within", "cameras-beyond"])
def test_both_search_directions_give_the_same_answer(demo_url, settings, monkeypatch, spec):
    real = questions.context
    answers = []
    for side in (False, True):

        def forced(conn, question, viewer, s, side=side):
            return dataclasses.replace(real(conn, question, viewer, s), by_reference=(side,))

        monkeypatch.setattr(questions, "context", forced)
        answers.append({row[0] for row in ask(demo_url, spec, ANALYST, settings).rows})
    assert answers[0] == answers[1] and answers[0]


HOMES_NEAR_HYDRANTS = {
    "layer": "houses",
    "near": [
        {
            "layer": "facilities",
            "where": [{"field": "kind", "op": "=", "value": "hydrant"}],
            "distance_m": 50,
        }
    ],
}
HYDRANTS_NEAR_HOMES = {
    "layer": "facilities",
    "where": [{"field": "kind", "op": "=", "value": "hydrant"}],
    "near": [{"layer": "houses", "distance_m": 50}],
}


@pytest.mark.parametrize(
    ("spec", "from_reference"), [(HOMES_NEAR_HYDRANTS, True), (HYDRANTS_NEAR_HOMES, False)]
)
def test_past_the_count_cap_the_planners_estimates_pick_the_smaller_side(
    demo_url, settings, monkeypatch, spec, from_reference
):
    """Both sides past the cap (set to 3 here): the side the planner estimates smaller drives
    the search, as the exact counts would have it."""
    monkeypatch.setattr(questions, "SIZE_CAP", 3)
    homes, hydrants = sql_rows(
        demo_url,
        "SELECT (SELECT count(*) FROM house), "
        "(SELECT count(*) FROM facility WHERE kind = 'hydrant')",
    )[0]
    assert homes > 10 * hydrants > 30
    question = questions.parse_question(spec, questions.limits(settings), None)
    with questions.read_only(demo_url, 30) as conn:
        ctx = questions.context(conn, question, ANALYST, settings)
    assert ctx.by_reference == (from_reference,)


def test_a_within_shape_sizes_the_subject_side(demo_url, settings):
    """Homes near hydrants over the city start from the hydrants (fewer); within the box of one
    building the homes there are fewer than the city's hydrants and start the search."""
    box = "(SELECT ST_Expand(geom, 0.0001) AS g FROM building ORDER BY id LIMIT 1)"
    x0, y0, x1, y1, homes, hydrants = sql_rows(
        demo_url,
        f"SELECT ST_XMin(b.g), ST_YMin(b.g), ST_XMax(b.g), ST_YMax(b.g), "
        f"(SELECT count(*) FROM house AS h WHERE ST_Intersects(h.geom, b.g)), "
        f"(SELECT count(*) FROM facility WHERE kind = 'hydrant') FROM {box} AS b",
    )[0]
    assert 0 < homes < hydrants
    limits = questions.limits(settings)
    with questions.read_only(demo_url, 30) as conn:
        city = questions.parse_question(HOMES_NEAR_HYDRANTS, limits, None)
        assert questions.context(conn, city, ANALYST, settings).by_reference == (True,)
        spec = {**HOMES_NEAR_HYDRANTS, "within": {"bbox": [x0, y0, x1, y1]}}
        local = questions.parse_question(spec, limits, None)
        assert questions.context(conn, local, ANALYST, settings).by_reference == (False,)


def test_scope_limits_subjects_to_the_viewers_areas(demo_url, settings):
    street, code = sql_rows(
        demo_url, "SELECT id, code FROM area WHERE level = 'street' ORDER BY id LIMIT 1"
    )[0]
    expected = sql_rows(
        demo_url,
        """WITH RECURSIVE sub AS (SELECT id FROM area WHERE id = :a
           UNION SELECT a.id FROM area a JOIN sub ON a.parent_id = sub.id)
        SELECT count(*) FROM building WHERE floors > 10 AND area_id IN (SELECT id FROM sub)""",
        a=street,
    )[0][0]
    spec = {"layer": "buildings", "where": [{"field": "floors", "op": ">", "value": 10}]}
    scoped = ask(demo_url, spec, Viewer(role="leader", area_ids=(street,)), settings)
    by_code = ask(demo_url, {**spec, "within": {"area": code}}, ANALYST, settings)
    everywhere = ask(demo_url, spec, ANALYST, settings)
    assert scoped.meta["total"] == by_code.meta["total"] == expected
    assert 0 < expected < everywhere.meta["total"]
    assert ask(demo_url, spec, Viewer(role="leader", area_ids=()), settings).meta["total"] == 0


def test_nearest_returns_n_in_order_of_distance(demo_url, settings):
    spec = {
        "layer": "facilities",
        "where": [{"field": "kind", "op": "=", "value": "aed"}],
        "nearest": {"point": [117.283, 31.861], "n": 4},
    }
    answer = ask(demo_url, spec, ANALYST, settings)
    distances = [row[-1] for row in answer.rows]
    expected = sql_rows(
        demo_url,
        """SELECT round(ST_Distance(geom::geography,
               ST_SetSRID(ST_MakePoint(117.283, 31.861), 4326)::geography)::numeric, 1)::float8 d
        FROM facility WHERE kind = 'aed' ORDER BY d LIMIT 4""",
    )
    assert distances == [r[0] for r in expected] and len(distances) == 4


@pytest.mark.parametrize("offset", [(0.0, 0.0), (0.004, -0.002), (-0.003, 0.005)])
def test_nearest_buildings_are_ranked_in_metres_not_degrees(demo_url, settings, offset):
    lon, lat = sql_rows(
        demo_url,
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(loc)) c FROM building) x",
    )[0]
    point = [round(lon + offset[0], 6), round(lat + offset[1], 6)]
    answer = ask(
        demo_url, {"layer": "buildings", "nearest": {"point": point, "n": 8}}, ANALYST, settings
    )
    expected = sql_rows(
        demo_url,
        """SELECT round(ST_Distance(geom::geography,
               ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography)::numeric, 1)::float8 AS d
        FROM building ORDER BY ST_Distance(geom::geography,
               ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography), id LIMIT 8""",
        x=point[0],
        y=point[1],
    )
    assert [row[-1] for row in answer.rows] == [r[0] for r in expected]


def test_questions_run_read_only_with_a_timeout(demo_url, settings):
    with questions.read_only(demo_url, 5) as conn:
        assert conn.execute(text("SHOW transaction_read_only")).scalar_one() == "on"
        assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "5s"
        with pytest.raises(InternalError, match="read-only transaction"):
            conn.execute(text("DELETE FROM building"))
    hurried = Settings(database_url=demo_url, analyze_timeout_s=0.001)
    with pytest.raises(QuestionTimeout, match="longer than"):
        ask(demo_url, LANES, ANALYST, hurried)


# --- over HTTP ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(demo_url):
    return api_client(demo_url, "analyst")


def _post(client, path: str, body: object):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def test_api_answers_json_with_table_and_features(client, demo_url):
    response = _post(client, "/api/analyze", _tall(60, 6))
    assert response.status_code == 200, response.data[:300]
    body = json.loads(response.data)
    assert body["type"] == "FeatureCollection" and body["layer"] == "buildings"
    names = [c["name"] for c in body["table"]["columns"]]
    assert names[:3] == ["id", "name", "use"] and body["table"]["columns"][0]["label"]["zh"]
    assert len(body["features"]) == len(body["table"]["rows"]) == body["count"] > 0
    ids = {row[0] for row in body["table"]["rows"]}
    assert ids == {int(f["id"].split("-")[1]) for f in body["features"]}


def test_api_csv_download_has_the_table_rows(client):
    response = _post(client, "/api/analyze.csv", _tall(60, 6))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:2] == ["id", "name"] and rows[0][-2:] == ["lon", "lat"]
    assert len(rows) - 1 == int(response.headers["X-Feature-Count"]) > 0
    assert all(117 < float(r[-2]) < 118 and 31 < float(r[-1]) < 33 for r in rows[1:])


@pytest.mark.parametrize(
    ("body", "code", "path"),
    [
        ({"layer": "accounts"}, "unknown_layer", "layer"),
        ({"layer": "buildings", "where": [{"field": "password_hash", "value": "x"}]},
         "unknown_field", "where[0].field"),
        ({"layer": "buildings", "where": [{"field": "floors", "op": "; DELETE", "value": 1}]},
         "unknown_operator", "where[0].op"),
        ({"layer": "buildings", "where": [{"field": "floors", "value": "1; DROP TABLE area"}]},
         "bad_value", "where[0].value"),
        ({"layer": "buildings", "near": [{"layer": "facilities", "distance_m": -1}]},
         "bad_value", "near[0].distance_m"),
        ({"layer": "buildings", "within": {"area": "999999999"}}, "unknown_area", "within.area"),
        ("not an object", "bad_spec", "question"),
    ],
)  # fmt: skip
def test_api_refuses_bad_questions_with_400(client, body, code, path):
    response = _post(client, "/api/analyze", body)
    assert response.status_code == 400
    answer = json.loads(response.data)
    assert (answer["code"], answer["path"]) == (code, path) and answer["title"]["zh"]


def test_api_injection_in_free_text_is_only_a_value(client, demo_url):
    before = sql_rows(demo_url, "SELECT count(*) FROM building")[0][0]
    evil = "x'; DROP TABLE building; --"
    body = {"layer": "buildings", "where": [{"field": "name", "value": evil}]}
    response = _post(client, "/api/analyze", body)
    assert response.status_code == 200 and json.loads(response.data)["total"] == 0
    assert sql_rows(demo_url, "SELECT count(*) FROM building")[0][0] == before > 0


def test_api_refuses_a_body_that_is_not_json(client):
    response = client.post("/api/analyze", data="layer=buildings", content_type="text/plain")
    assert response.status_code == 400 and json.loads(response.data)["code"] == "bad_spec"
