"""The command wall's server callbacks, called as the Dash renderer calls them: figures for the
caller's scope against independent SQL, refusal for roles that may not open /wall, drill-down
limited to the scope, and no personal identifiers or incident titles in what they send."""

from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from analytics.wall_kpis import figures, kpis
from app import create_app
from geodata.accounts.viewer import Viewer
from geodata.engine import get_engine
from geodata.settings import Settings
from tests.conftest import api_token, signed_in

OPEN = "('reported', 'dispatched', 'accepted', 'in_progress')"
LEADER = Viewer("leader")
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


@pytest.fixture(scope="module")
def app(demo_url, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("wall_data")
    return create_app(Settings(database_url=demo_url, data_dir=data_dir), demo_url)


@pytest.fixture(scope="module")
def districts(demo_url) -> list[tuple[int, str]]:
    """The districts (id, code), busiest first by open incidents, then by all incidents (the
    demo's detail lies in a few of Hefei's nine districts)."""
    sql = (
        f"SELECT a.id, a.code FROM area a LEFT JOIN event e ON ST_Intersects(e.loc, a.geom) "
        "WHERE a.level = 'district' GROUP BY a.id "
        f"ORDER BY count(e.id) FILTER (WHERE e.status IN {OPEN}) DESC, count(e.id) DESC, a.id"
    )
    with get_engine(demo_url).connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql)).all()]


def _open_in(url: str, area: int | None) -> int:
    sql = f"SELECT count(*) FROM event e WHERE status IN {OPEN}"
    if area is not None:
        sql += " AND ST_Intersects(e.loc, (SELECT geom FROM area WHERE id = :a))"
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql), {"a": area}).scalar_one()


class Wall:
    """The wall's two server callbacks over HTTP, as one client."""

    def __init__(self, client) -> None:
        self.client = client
        deps = client.get("/_dash-dependencies").get_json()
        server = [d for d in deps if d.get("clientside_function") is None]
        self.refresh = next(d for d in server if "wall-kpi-open.children" in d["output"])
        self.select = next(d for d in server if "wall-crumbs.children" in d["output"])

    def _post(self, spec: dict, inputs: list, state: list, changed: str) -> dict | None:
        outputs = []
        for part in spec["output"].strip(".").split("..."):
            cid, prop = part.rsplit(".", 1)
            outputs.append(
                {"id": json.loads(cid) if cid.startswith("{") else cid, "property": prop}
            )
        body = {"output": spec["output"], "outputs": outputs, "inputs": inputs, "state": state,
                "changedPropIds": [changed]}  # fmt: skip
        response = self.client.post("/_dash-update-component", json=body)
        if response.status_code == 204:
            return None
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["response"]

    def figures(self, area: int | None) -> dict | None:
        inputs = [
            {"id": "wall-area", "property": "data", "value": {"id": area}},
            {"id": "wall-tick", "property": "data", "value": 1},
            {"id": "lang-switch", "property": "value", "value": "zh"},
        ]
        return self._post(self.refresh, inputs, [], "wall-tick.data")

    def click(self, area: int) -> dict | None:
        layer = {"type": "wall-layer", "layer": "areas"}
        inputs = [
            {"id": layer, "property": "clickData", "value": {"id": area}},
            [],
            {"id": "lang-switch", "property": "value", "value": "zh"},
        ]
        state = [{"id": "wall-area", "property": "data", "value": {"id": None}}]
        changed = json.dumps(layer, separators=(",", ":"), sort_keys=True) + ".clickData"
        return self._post(self.select, inputs, state, changed)


def _wall(app, url: str, role: str, areas: tuple[str, ...] = ()) -> Wall:
    return Wall(signed_in(app.server.test_client(), api_token(url, role, areas)))


def _open_tile(response: dict) -> int:
    return int(response["wall-kpi-open"]["children"].replace(",", ""))


def test_leader_sees_the_city_and_drills_into_any_district(app, demo_url, districts):
    wall = _wall(app, demo_url, "leader")
    assert _open_tile(wall.figures(None)) == _open_in(demo_url, None)
    district = districts[0][0]
    assert _open_tile(wall.figures(district)) == _open_in(demo_url, district)
    selected = wall.click(district)
    assert selected["wall-area"]["data"]["id"] == district
    assert selected["wall-area"]["data"]["child"] == "streets"
    assert selected["wall-map"]["viewport"]["bounds"]
    # the breadcrumb ends with the district's modelled population
    with get_engine(demo_url).connect() as conn:
        population = conn.execute(
            text("SELECT population FROM area WHERE id = :a"), {"a": district}
        ).scalar_one()
    label, figure = selected["wall-crumbs"]["children"][-1]["props"]["children"]
    assert population > 100_000
    assert (label["props"]["children"], figure) == ("常住人口（估算）", f" {population:,}")


def test_scoped_leader_sees_only_their_district(app, demo_url, districts):
    # mine: a district with detail but fewer open incidents; other: the busiest
    (other, _), (mine, code) = districts[0], districts[1]
    assert _open_in(demo_url, other) > 0
    wall = _wall(app, demo_url, "leader", (code,))
    assert _open_in(demo_url, None) > _open_in(demo_url, mine)  # the scope is a real limit
    assert _open_tile(wall.figures(None)) == _open_in(demo_url, mine)
    assert _open_tile(wall.figures(other)) == 0  # another district's figures: nothing
    assert wall.click(other) is None  # no drilling out of the scope
    assert wall.click(mine)["wall-area"]["data"]["id"] == mine


@pytest.mark.parametrize("role", ["grid_worker", "planner", "analyst"])
def test_other_roles_get_no_wall_data(app, demo_url, districts, role):
    with get_engine(demo_url).connect() as conn:
        grid = conn.execute(text("SELECT code FROM area WHERE level = 'grid' LIMIT 1")).scalar()
    wall = _wall(app, demo_url, role, (grid,) if role == "grid_worker" else ())
    assert wall.figures(None) is None
    assert wall.click(districts[0][0]) is None
    page = wall.client.get("/wall", headers={"Accept": "text/html"})
    assert page.status_code == 403


def test_no_personal_identifiers_or_titles(app, demo_url):
    wall = _wall(app, demo_url, "leader")
    sent = json.dumps(wall.figures(None), ensure_ascii=False)
    with get_engine(demo_url).connect() as conn:
        titles = conn.execute(
            text("SELECT title FROM event ORDER BY reported_at DESC, id DESC LIMIT 10")
        ).scalars()
        names = conn.execute(text("SELECT name FROM resident_identity LIMIT 200")).scalars()
        assert not [t for t in titles if t in sent]
        assert not [n for n in names if n and len(n) > 1 and n in sent]
    assert not PHONE.search(sent) and not ID_NUMBER.search(sent)
    assert "wall-ticker" in sent and "data-id" in sent  # the ticker was sent and checked


def test_drilling_into_a_county_reaches_its_real_street_offices(app, demo_url):
    """A county outside the detailed core: its modelled street offices and towns, with their
    official codes, are what the wall draws next (asked for at the streets layer's zoom)."""
    wall = _wall(app, demo_url, "leader")
    with get_engine(demo_url).connect() as conn:
        county, x0, y0, x1, y1 = conn.execute(
            text(
                "SELECT id, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
                "FROM area WHERE code = '340122'"
            )
        ).one()
        codes = set(
            conn.execute(
                text("SELECT code FROM area WHERE parent_id = :c"), {"c": county}
            ).scalars()
        )
    assert len(codes) == 20 and "340122100" in codes  # 店埠镇, the county seat
    selected = wall.click(county)
    assert selected["wall-area"]["data"]["child"] == "streets"
    body = wall.client.get(
        f"/api/layers/streets?bbox={x0},{y0},{x1},{y1}&zoom=11&area={county}"
    ).get_json()
    assert {f["properties"]["code"] for f in body["features"]} == codes


def _with_class(node: object, css: str) -> list[dict]:
    """The components (as sent) under ``node`` whose classes include ``css``."""
    if isinstance(node, list):
        return [found for child in node for found in _with_class(child, css)]
    if not isinstance(node, dict) or "props" not in node:
        return []
    props = node["props"]
    mine = [node] if css in (props.get("className") or "").split() else []
    return mine + _with_class(props.get("children"), css)


def test_the_trend_is_sent_as_plain_bars_of_the_days_counts(app, demo_url):
    """The refresh sends the trend chart as children of its panel (plain elements, no figure,
    nothing scale-dependent: a 4K wall scales it in CSS): 30 days, each day's bars carrying the
    counts of the wall's own trend query, and no wall-scale store or rescaling callback left."""
    wall = _wall(app, demo_url, "leader")
    deps = wall.client.get("/_dash-dependencies").get_json()
    assert "wall-trend.children" in wall.refresh["output"].split("...")
    assert not [
        d for d in deps if "wall-scale" in json.dumps(d) or "wall-trend.figure" in d["output"]
    ]
    chart = wall.figures(None)["wall-trend"]["children"]
    days = _with_class(chart, "wall-bar-day")
    trend = figures(demo_url, LEADER, None, sql_now(demo_url), ZoneInfo("Asia/Shanghai")).trend
    assert len(days) == len(trend) == 30
    sent = [
        tuple(int(_with_class(day, f"wall-bar-{kind}")[0]["props"]["data-value"])
              for kind in ("received", "closed"))
        for day in days
    ]  # fmt: skip
    assert sent == [(d.received, d.closed) for d in trend]
    assert sum(r for r, _ in sent) > 0 and sum(c for _, c in sent) > 0


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York"])
def test_the_closure_rates_from_the_trend_scan_equal_their_own_query(demo_url, districts, zone):
    """The wall's figures take today's and the 30 days' received/closed counts from the trend's
    scan of those days: the same numbers as the KPI query's own window, for the city and a
    district, in the city's zone and another."""
    now = sql_now(demo_url)
    for area in (None, districts[0][0]):
        shown = figures(demo_url, LEADER, area, now, ZoneInfo(zone))
        with get_engine(demo_url).connect() as conn:
            alone = kpis(conn, LEADER, area, now, ZoneInfo(zone))
        assert shown.kpis == alone
        assert shown.kpis.received_30d == sum(d.received for d in shown.trend) > 0


def sql_now(url: str) -> datetime:
    """The store's clock (the demo's incidents are dated by it)."""
    with get_engine(url).connect() as conn:
        return conn.execute(text("SELECT now()")).scalar_one()
