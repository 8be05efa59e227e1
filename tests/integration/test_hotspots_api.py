"""The hotspot layer through the API on the demo city: classes, exact counts, legend."""

from __future__ import annotations

import json

import h3
import pytest

from analytics.hotspots import CLASS_INDEX, CLASSES
from tests.conftest import api_client, sql_rows

CITY_BBOX = "117.0,31.6,117.6,32.1"
IN_CITY = "ST_Intersects(geom, ST_MakeEnvelope(117.0, 31.6, 117.6, 32.1, 4326))"
WINDOW = (
    "(reported_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN CAST(:a AS date) AND CAST(:b AS date)"
)
"""The city's days ``a`` to ``b`` (the map's ``time`` dates are Shanghai days)."""


@pytest.fixture(scope="module")
def client(demo_url):
    return api_client(demo_url, max_features=5000)


def _get(client, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200, response.data[:300]
    return json.loads(response.data)


def _window(url: str, days: int) -> tuple[str, str]:
    last = sql_rows(url, "SELECT max(reported_at AT TIME ZONE 'Asia/Shanghai')::date FROM event")
    last = last[0][0]
    first = sql_rows(url, "SELECT CAST(:d AS date) - :n", d=last, n=days - 1)[0][0]
    return first.isoformat(), last.isoformat()


def test_hotspots_are_classed_hexagons_whose_counts_match_sql(client, demo_url):
    first, last = _window(demo_url, 365)
    body = _get(client, f"/api/layers/hotspots?bbox={CITY_BBOX}&zoom=12&time={first}/{last}")
    agg = body["aggregate"]
    assert agg["h3_resolution"] == 8 and agg["method"] == "Getis-Ord Gi*"
    assert body["capped"] is False and body["count"] == agg["study_cells"] > 0
    expected = dict(
        sql_rows(
            demo_url,
            f"SELECT h3_r9, count(*) FROM event WHERE {IN_CITY} AND {WINDOW} GROUP BY 1",
            a=first,
            b=last,
        )
    )
    by_r8: dict[str, int] = {}
    for cell, n in expected.items():
        key = h3.int_to_str(h3.api.basic_int.cell_to_parent(cell, 8))
        by_r8[key] = by_r8.get(key, 0) + n
    got = {f["properties"]["h3"]: f["properties"]["count"] for f in body["features"]}
    assert {k: v for k, v in got.items() if v} == by_r8
    assert sum(got.values()) == agg["incidents"] == sum(expected.values())
    codes = {c.code for c in CLASSES}
    for f in body["features"]:
        p = f["properties"]
        assert f["geometry"]["type"] == "Polygon" and p["class"] in codes
        assert p["level"] == CLASS_INDEX[p["class"]] and p["name"] and p["name_en"]
    assert agg["classes"]["hot99"] + agg["classes"]["hot95"] > 0, agg["classes"]


def test_category_filter_and_resolution_nine(client, demo_url):
    first, last = _window(demo_url, 365)
    path = f"/api/layers/hotspots?bbox={CITY_BBOX}&zoom=12&time={first}/{last}"
    alarms = _get(client, f"{path}&category=alarm&res=9")
    expected = sql_rows(
        demo_url,
        f"SELECT count(*) FROM event WHERE {IN_CITY} AND {WINDOW} "
        "AND (category = 'alarm' OR category LIKE 'alarm.%')",
        a=first,
        b=last,
    )[0][0]
    assert alarms["aggregate"]["h3_resolution"] == 9
    assert sum(f["properties"]["count"] for f in alarms["features"]) == expected > 0
    assert all(h3.get_resolution(f["properties"]["h3"]) == 9 for f in alarms["features"])


def test_classes_do_not_depend_on_the_viewport(client, demo_url):
    first, last = _window(demo_url, 365)
    path = f"/api/layers/hotspots?zoom=14&time={first}/{last}"
    city = _get(client, f"{path}&bbox={CITY_BBOX}")
    hottest = city["features"][0]
    lng, lat = h3.cell_to_latlng(hottest["properties"]["h3"])[::-1]
    near = _get(client, f"{path}&bbox={lng - 0.01},{lat - 0.01},{lng + 0.01},{lat + 0.01}")
    assert near["count"] < city["count"]
    same = {f["id"]: f["properties"]["class"] for f in near["features"]}
    assert same[hottest["id"]] == hottest["properties"]["class"]


def test_the_layer_list_has_the_legend_in_both_languages(client):
    layers = _get(client, "/api/layers")["layers"]
    spec = next(layer for layer in layers if layer["id"] == "hotspots")
    assert spec["group"] == "analysis" and spec["time"] is True
    assert spec["legend"][0]["value"] == "hot99"
    assert all(i["label"]["zh"] and i["label"]["en"] for i in spec["legend"])
    assert {f["param"] for f in spec["filters"]} >= {"res", "category"}
