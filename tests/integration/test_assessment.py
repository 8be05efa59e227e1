"""Assessment (监督考核) figures: SF311 cases as an exact oracle, and hand-made logged incidents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import text

from analytics.assessment import COLUMNS, assess, to_csv, trend
from geodata.engine import get_engine
from geodata.ingest import import_file
from geodata.settings import Settings
from tests.conftest import _fresh_database, shared_data

SF_TZ = "America/Los_Angeles"
WIDE = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def sf_url(cluster) -> Iterator[str]:
    """A fresh database holding the SF311 sample as events, ``department`` set from
    Responsible.Agency (the events importer has no department field, so one UPDATE sets it)."""
    path = shared_data("sf311-sample", "sf311_cases_sample_2008_2016.csv")
    sf = Settings(city_extent=(-122.53, 37.69, -122.35, 37.84), city_name="San Francisco")
    with _fresh_database(cluster, "assessment_sf") as url:
        report = import_file(url, path, "events", sf, timezone=SF_TZ,
                             mapping={"id": "CaseID", "title": "Request.Type"})  # fmt: skip
        assert report.counts["inserted"] == 4_984
        df = pd.read_csv(path, usecols=["CaseID", "Responsible.Agency"])
        with get_engine(url).begin() as conn:
            conn.execute(
                text(
                    "UPDATE event e SET department = d.agency "
                    "FROM unnest(CAST(:ids AS text[]), CAST(:agencies AS text[])) "
                    "AS d(id, agency) WHERE e.source_id = d.id"
                ),
                {"ids": df["CaseID"].astype(str).tolist(),
                 "agencies": df["Responsible.Agency"].tolist()},
            )  # fmt: skip
        yield url


def sf_expected(key: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None):
    """Received, closed, closure rate, median and p90 hours per ``key`` straight from the CSV."""
    path = shared_data("sf311-sample", "sf311_cases_sample_2008_2016.csv")
    df = pd.read_csv(path)
    df["opened"] = pd.to_datetime(df["Opened"]).dt.tz_localize(SF_TZ)
    df["closed_at"] = pd.to_datetime(df["Closed"]).dt.tz_localize(SF_TZ)
    if start is not None:
        df = df[(df["opened"] >= start) & (df["opened"] < end)]
    df["is_closed"] = df["Status"].eq("Closed")
    df["secs"] = (df["closed_at"] - df["opened"]).dt.total_seconds()
    timed = df[df["is_closed"] & (df["secs"] >= 0)]
    out = df.groupby(key).agg(received=("CaseID", "size"), closed=("is_closed", "sum"))
    out["closure_rate"] = out["closed"] / out["received"]
    grouped = timed.groupby(key)["secs"]
    out["median_secs"] = grouped.quantile(0.5)
    out["p90_secs"] = grouped.quantile(0.9)
    out["bad_times"] = df[df["is_closed"] & (df["secs"] < 0)].groupby(key).size()
    return out.fillna({"bad_times": 0})


def check_against(rows: list[dict], expected: pd.DataFrame) -> None:
    got = {r["unit"]: r for r in rows}
    assert set(got) == set(expected.index)
    for unit, exp in expected.iterrows():
        row = got[unit]
        assert row["received"] == exp["received"], unit
        assert row["closed"] == exp["closed"], unit
        assert row["closure_rate"] == exp["closure_rate"], unit
        assert row["bad_times"] == exp["bad_times"], unit
        for ours, theirs in (("median_hours", "median_secs"), ("p90_hours", "p90_secs")):
            if pd.isna(exp[theirs]):
                assert row[ours] is None, unit
            else:
                assert row[ours] * 3600 == pytest.approx(exp[theirs], rel=1e-12, abs=1e-6), unit
        assert row["on_time_rate"] is None and row["with_due"] == 0  # 311 cases have no due time
        assert row["escalation_rate"] == 0 and row["reopen_rate"] == 0


def test_sf311_per_category_exact(sf_url):
    rows = assess(sf_url, "category", *WIDE)
    expected = sf_expected("Category")
    assert len(rows) == 26 and expected["received"].sum() == 4_984
    assert expected["closed"].sum() == 4_762 and expected["bad_times"].sum() == 55
    check_against(rows, expected)
    street = next(r for r in rows if r["unit"] == "Street and Sidewalk Cleaning")
    assert street["received"] == 1_758


def test_sf311_per_agency_in_2014_exact(sf_url):
    start, end = pd.Timestamp("2014-01-01", tz=SF_TZ), pd.Timestamp("2015-01-01", tz=SF_TZ)
    rows = assess(sf_url, "department", start.to_pydatetime(), end.to_pydatetime())
    expected = sf_expected("Responsible.Agency", start, end)
    assert 0 < expected["received"].sum() < 4_984
    check_against(rows, expected)


def test_sf311_one_category_and_monthly_trend(sf_url):
    rows = assess(sf_url, "department", *WIDE, category="Graffiti")
    path = shared_data("sf311-sample", "sf311_cases_sample_2008_2016.csv")
    graffiti = pd.read_csv(path).query("Category == 'Graffiti'")
    assert sum(r["received"] for r in rows) == len(graffiti)
    months = trend(sf_url, *WIDE, period="month", tz=SF_TZ)
    opened = pd.to_datetime(pd.read_csv(path)["Opened"])
    per_month = opened.dt.to_period("M").value_counts()
    assert {r["bucket"].strftime("%Y-%m"): r["received"] for r in months} == {
        str(p): n for p, n in per_month.items()
    }
    assert all(r["rank"] == 1 for r in months)


# --- hand-made incidents with logs --------------------------------------------------------------

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture
def hand_url(store_url) -> Iterator[str]:
    """Two grids in one street in one district, with six logged incidents (removed after)."""
    with get_engine(store_url).begin() as conn:
        conn.execute(text("SET LOCAL onemap.area_assigned = 'on'"))
        ids = {}
        tree = (("d", "district", 1, None), ("s", "street", 2, "d"),
                ("g1", "grid", 4, "s"), ("g2", "grid", 4, "s"))  # fmt: skip
        for key, level, depth, parent in tree:
            ids[key] = conn.execute(
                text(
                    "INSERT INTO area (level, depth, name, parent_id, geom, loc, h3_r7, h3_r9) "
                    "VALUES (:level, :depth, :name, :parent, "
                    "ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 4326)), "
                    "ST_SetSRID(ST_MakePoint(0.5, 0.5), 4326), 0, 0) RETURNING id"
                ),
                {"level": level, "depth": depth, "name": f"test-{key}",
                 "parent": ids.get(parent)},
            ).scalar_one()  # fmt: skip
        # (grid, status, closed after h, due after h, department, log actions)
        incidents = [
            ("g1", "closed", 10, 24, "water", ["escalate"]),
            ("g1", "closed", 30, 24, "water", ["reopen"]),
            ("g1", "in_progress", None, 24, "roads", ["escalate", "escalate"]),
            ("g1", "rejected", 2, 24, "roads", []),
            ("g2", "closed", 5, 4, "water", ["escalate", "reopen"]),
            ("g2", "closed", 1, None, "water", []),
        ]
        for i, (grid, status, closed, due, dept, actions) in enumerate(incidents):
            eid = conn.execute(
                text(
                    "INSERT INTO event (category, status, title, reported_at, due_at, closed_at, "
                    "department, area_id, geom, loc, h3_r7, h3_r9) VALUES ('test.hand', :status, "
                    "'t', :rep, :due, :closed, :dept, :area, ST_SetSRID(ST_MakePoint(0.5, 0.5), "
                    "4326), ST_SetSRID(ST_MakePoint(0.5, 0.5), 4326), 0, 0) RETURNING id"
                ),
                {"status": status, "rep": h(i), "due": None if due is None else h(i + due),
                 "closed": None if closed is None else h(i + closed), "dept": dept,
                 "area": ids[grid]},
            ).scalar_one()  # fmt: skip
            for j, action in enumerate(actions):
                conn.execute(
                    text(
                        "INSERT INTO event_log (event_id, at, actor, action) "
                        "VALUES (:e, :at, 'test', :action)"
                    ),
                    {"e": eid, "at": h(i + j + 0.5), "action": action},
                )
    try:
        yield store_url
    finally:
        with get_engine(store_url).begin() as conn:
            conn.execute(text("DELETE FROM event WHERE category = 'test.hand'"))
            conn.execute(text("DELETE FROM area WHERE name LIKE 'test-%'"))


def test_hand_made_rates_per_grid_street_district_and_department(hand_url):
    span = (h(-1), h(100))
    grids = {r["name"]: r for r in assess(hand_url, "grid", *span, category="test")}
    g1, g2 = grids["test-g1"], grids["test-g2"]
    assert (g1["received"], g1["closed"], g1["closure_rate"]) == (4, 2, 0.5)
    assert (g1["with_due"], g1["on_time"], g1["on_time_rate"]) == (4, 1, 0.25)
    assert (g1["escalated"], g1["escalation_rate"], g1["reopened"], g1["reopen_rate"]) == (
        2, 0.5, 1, 0.25)  # fmt: skip
    assert g1["median_hours"] == 20.0 and g1["p90_hours"] == pytest.approx(28.0, abs=1e-9)
    assert (g2["received"], g2["closed"], g2["closure_rate"]) == (2, 2, 1.0)
    assert (g2["with_due"], g2["on_time"], g2["on_time_rate"]) == (1, 0, 0.0)
    assert (g2["escalation_rate"], g2["reopen_rate"]) == (0.5, 0.5)
    assert g2["median_hours"] == 3.0
    assert (g1["rank"], g2["rank"]) == (1, 2)  # on-time rate first
    by_closure = assess(hand_url, "grid", *span, category="test", rank_by=["closure_rate"])
    assert [r["name"] for r in by_closure] == ["test-g2", "test-g1"]
    for level in ("street", "district"):
        (row,) = assess(hand_url, level, *span, category="test")
        assert (row["received"], row["closed"], row["on_time"], row["with_due"]) == (6, 4, 1, 5)
        assert row["escalation_rate"] == 3 / 6 and row["reopen_rate"] == 2 / 6
        assert row["median_hours"] == 7.5  # closes after 10, 30, 5, 1 hours
    depts = {r["unit"]: r for r in assess(hand_url, "department", *span, category="test.hand")}
    assert depts["water"]["received"] == 4 and depts["roads"]["closed"] == 0
    # the period is on reported_at, half-open: incidents 0..2 only
    (first,) = assess(hand_url, "street", h(0), h(3), category="test")
    assert first["received"] == 3
    assert assess(hand_url, "grid", *span, category="tes") == []


def test_csv_report_and_bad_inputs(hand_url):
    rows = assess(hand_url, "grid", h(-1), h(100), category="test")
    report = to_csv(rows).splitlines()
    assert report[0].split(",") == list(COLUMNS)
    assert len(report) == 3
    assert to_csv([]) == ""
    with pytest.raises(ValueError, match="grouping"):
        assess(hand_url, "planet", h(0), h(1))
    with pytest.raises(ValueError, match="rank"):
        assess(hand_url, "grid", h(0), h(1), rank_by=["id; DROP TABLE event"])
    with pytest.raises(ValueError, match="period"):
        trend(hand_url, h(0), h(1), period="fortnight")


# --- the figures are percentile_cont's own, on the demo city -------------------------------------

REFERENCE = """
    WITH RECURSIVE up(id, anc, lvl, n) AS (
        SELECT id, id, level, 0 FROM area
        UNION ALL
        SELECT up.id, p.id, p.level, up.n + 1
        FROM up JOIN area a ON a.id = up.anc
        JOIN area p ON p.id = COALESCE(a.parent_id, a.area_id)
        WHERE up.n < 6
    )
    SELECT {key} AS unit, count(*) AS received,
           percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (
               ORDER BY EXTRACT(EPOCH FROM e.closed_at - e.reported_at)::float8)
               FILTER (WHERE e.status = 'closed' AND e.closed_at >= e.reported_at) AS q
    FROM event e {join}
    WHERE e.reported_at >= :start AND e.reported_at < :end
    GROUP BY 1
"""
"""The plain query the assessment replaced: a recursive walk up the areas and one sort per unit."""

REFERENCE_KEYS = {
    "district": ("up.anc", "JOIN up ON up.id = e.area_id AND up.lvl = 'district'"),
    "grid": ("up.anc", "JOIN up ON up.id = e.area_id AND up.lvl = 'grid'"),
    "department": ("COALESCE(e.department, c.department)",
                   "LEFT JOIN event_category c ON c.code = e.category"),
    "category": ("e.category", ""),
    "all": ("'all'", ""),
}  # fmt: skip


@pytest.mark.parametrize("by", list(REFERENCE_KEYS))
def test_percentiles_are_exactly_percentile_cont(demo_url, by):
    """Per-unit branches (areas) and per-bin counting (the rest) give the very floats of one
    percentile_cont query, unit by unit."""
    with get_engine(demo_url).connect() as conn:
        last = conn.execute(text("SELECT max(reported_at) FROM event")).scalar_one()
        start, end = last - timedelta(days=120), last + timedelta(seconds=1)
        key, join = REFERENCE_KEYS[by]
        sql = text(REFERENCE.format(key=key, join=join))
        expected = {r.unit: r for r in conn.execute(sql, {"start": start, "end": end})}
    rows = assess(demo_url, by, start, end)
    assert {r["unit"] for r in rows} == set(expected) and len(rows) == len(expected)
    assert sum(r["received"] for r in rows) == sum(e.received for e in expected.values())
    timed = 0
    for row in rows:
        q = expected[row["unit"]].q
        assert row["received"] == expected[row["unit"]].received
        if q is None:
            assert row["median_hours"] is None and row["p90_hours"] is None
        else:
            timed += 1
            assert (row["median_hours"], row["p90_hours"]) == (q[0] / 3600.0, q[1] / 3600.0)
    assert timed > 0


# --- area_unit follows the areas ------------------------------------------------------------

CLOSURE = """
    WITH RECURSIVE up(area_id, unit) AS (
        SELECT id, id FROM area
        UNION
        SELECT up.area_id, COALESCE(a.parent_id, a.area_id) FROM up JOIN area a ON a.id = up.unit
        WHERE COALESCE(a.parent_id, a.area_id) IS NOT NULL
    )
    SELECT up.area_id, up.unit, p.level FROM up JOIN area p ON p.id = up.unit
"""


def _add_area(conn, name: str, level: str, depth: int, parent: int | None, box) -> int:
    """An area (its covering area_id assigned by the store's trigger)."""
    return conn.execute(
        text(
            "INSERT INTO area (level, depth, name, parent_id, geom, loc, h3_r7, h3_r9) "
            "VALUES (:level, :depth, :name, :parent, ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, "
            "4326)), ST_SetSRID(ST_MakePoint((:x0 + :x1) / 2, (:y0 + :y1) / 2), 4326), 0, 0) "
            "RETURNING id"
        ),
        {"level": level, "depth": depth, "name": name, "parent": parent,
         "x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3]},
    ).scalar_one()  # fmt: skip


def _units(conn, area_id: int) -> dict[str, int]:
    rows = conn.execute(
        text("SELECT level, unit FROM area_unit WHERE area_id = :a"), {"a": area_id}
    ).all()
    return dict(rows)


def test_area_unit_follows_inserts_reparenting_and_deletes(conn):
    d = _add_area(conn, "u-district", "district", 1, None, (50, 50, 52, 52))
    s1 = _add_area(conn, "u-street-1", "street", 2, d, (50, 50, 51, 52))
    s2 = _add_area(conn, "u-street-2", "street", 2, d, (51, 50, 52, 52))
    g = _add_area(conn, "u-grid", "grid", 4, s1, (50.2, 50.2, 50.4, 50.4))
    # no declared parent: the covering street (assigned spatially) is the parent
    loose = _add_area(conn, "u-loose", "grid", 4, None, (51.5, 51.5, 51.6, 51.6))
    assert _units(conn, g) == {"grid": g, "street": s1, "district": d}
    assert _units(conn, loose) == {"grid": loose, "street": s2, "district": d}
    assert _units(conn, d) == {"district": d}

    conn.execute(text("UPDATE area SET parent_id = :s WHERE id = :g"), {"s": s2, "g": g})
    assert _units(conn, g) == {"grid": g, "street": s2, "district": d}
    # a new level in between: the grid's community, the community under street 1
    c = _add_area(conn, "u-community", "community", 3, s1, (50.1, 50.1, 50.5, 50.5))
    conn.execute(text("UPDATE area SET parent_id = :c WHERE id = :g"), {"c": c, "g": g})
    assert _units(conn, g) == {"grid": g, "community": c, "street": s1, "district": d}

    conn.execute(text("DELETE FROM area WHERE id = :g"), {"g": g})
    assert _units(conn, g) == {}
    assert _units(conn, c) == {"community": c, "street": s1, "district": d}
    assert _units(conn, loose) == {"grid": loose, "street": s2, "district": d}
    stored = set(conn.execute(text("SELECT area_id, unit, level FROM area_unit")).all())
    assert stored == set(conn.execute(text(CLOSURE)).all())


def test_scoped_trend_by_grid_and_a_unit_without_department(hand_url):
    """Per day and grid inside one street's scope; per department with an incident whose
    department is unknown (its own and its category's are both empty)."""
    with get_engine(hand_url).connect() as conn:
        street, g1 = conn.execute(
            text("SELECT (SELECT id FROM area WHERE name = 'test-s'), "
                 "(SELECT id FROM area WHERE name = 'test-g1')")
        ).one()  # fmt: skip
    span, day = (h(-1), h(100)), datetime(2025, 3, 3)  # the one day (naive, as buckets are)
    days = trend(hand_url, *span, period="day", by="grid", category="test", areas=[street])
    assert {(r["bucket"], r["name"]) for r in days} == {
        (day, "test-g1"),
        (day, "test-g2"),
    }
    assert sum(r["received"] for r in days) == 6
    (only,) = trend(hand_url, *span, period="day", by="grid", category="test", areas=[g1])
    assert (only["unit"], only["received"], only["closed"], only["median_hours"]) == (
        g1,
        4,
        2,
        20.0,
    )
    assert trend(hand_url, *span, period="day", by="street", category="test", areas=[g1]) == []

    with get_engine(hand_url).begin() as conn:
        conn.execute(text("UPDATE event SET department = NULL WHERE category = 'test.hand' "
                          "AND department = 'roads'"))  # fmt: skip
    depts = {r["unit"]: r for r in assess(hand_url, "department", *span, category="test")}
    assert set(depts) == {"water", None}
    assert (depts[None]["received"], depts[None]["escalated"]) == (2, 1)
    assert depts[None]["median_hours"] is None  # neither was closed
