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
