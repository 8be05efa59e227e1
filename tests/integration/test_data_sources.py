"""Data sources against a real PostGIS: imports are tagged with their source, freshness is
computed in SQL, and an overdue source opens exactly one incident, routed to its owning area."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from geodata.engine import get_engine
from geodata.errors import ImportRejected
from geodata.ingest import import_file
from geodata.models import Event
from geodata.settings import Settings, get_settings
from geodata.sources import SourceError, SourceSpec, freshness, parse_cadence, register
from tests.conftest import _fresh_database
from tests.integration.factories import two_grid_district
from tests.integration.import_support import emptied
from twin.rules import stale_source, sweep
from twin.taxonomy import ensure_taxonomy

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
GRACE = timedelta(hours=24)
SETTINGS = Settings(database_url=None, twin_source_grace_hours=24)
X, Y = 117.25, 31.84


@pytest.fixture(scope="module")
def db(cluster) -> Iterator[str]:
    with _fresh_database(cluster, "data_sources") as url:
        yield url


def _runs(url: str) -> list[dict]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(
            text(
                "SELECT source, layer, rows_written, outcome, started_at <= at AS ordered, "
                "counts->>'inserted' AS inserted FROM import_run ORDER BY id"
            )
        )
        return [dict(r._mapping) for r in rows]


def test_cli_tags_the_import_run_with_its_source_and_rows(db, tmp_path, monkeypatch, capsys):
    from geodata.__main__ import main

    url = emptied(db)
    with get_engine(url).begin() as conn:
        conn.execute(text("TRUNCATE data_source"))
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        add = ["source", "add", "消防设施台账", "--title-en", "Fire facility register"]
        assert main([*add, "--department", "消防救援站", "--cadence", "weekly"]) == 0
        good = tmp_path / "devices.csv"
        good.write_text(f"id,kind,lon,lat\nS1,smoke,{X},{Y}\nS2,smoke,{X + 0.01},{Y}\n")
        args = ["import", str(good), "--layer", "devices", "--quiet"]
        assert main([*args, "--source", "消防设施台账"]) == 0
        bad = tmp_path / "bad.csv"
        bad.write_text(f"id,kind,lon,lat\nS3,toaster,{X},{Y}\n")
        assert main(["import", str(bad), "--layer", "devices", "--source", "消防设施台账"]) == 2
        assert main(["import", str(bad), "--layer", "devices", "--source", "unregistered"]) == 2
        assert main(["source", "list"]) == 0
    finally:
        get_settings.cache_clear()
    assert _runs(url) == [
        {"source": "消防设施台账", "layer": "devices", "rows_written": 2, "outcome": "ok",
         "ordered": True, "inserted": "2"},
        {"source": "消防设施台账", "layer": "devices", "rows_written": 0, "outcome": "failed",
         "ordered": True, "inserted": None},
    ]  # fmt: skip
    listed = capsys.readouterr().out
    assert "消防设施台账\t消防救援站\tevery 7 days, 0:00:00" in listed
    assert listed.rstrip().endswith("rows 2\tcurrent")


def test_import_file_names_the_source_even_without_the_cli(db, tmp_path):
    url = emptied(db)
    path = tmp_path / "x.csv"
    path.write_text(f"id,kind,lon,lat\nS1,camera,{X},{Y}\n")
    with pytest.raises(ImportRejected):
        import_file(url, tmp_path / "missing.csv", "devices", Settings(), source="nowhere")
    import_file(url, path, "devices", Settings(), source="公安人口库")
    assert [(r["source"], r["rows_written"]) for r in _runs(url)] == [("公安人口库", 1)]


def test_cadence_words_and_bad_registrations(session):
    assert parse_cadence("daily") == timedelta(days=1)
    assert parse_cadence("14d") == timedelta(days=14)
    assert parse_cadence("6h") == timedelta(hours=6)
    with pytest.raises(SourceError, match="expected one of daily"):
        parse_cadence("sometimes")
    spec = SourceSpec("x", "x", "x", "dept", timedelta(days=1), area_code="nope")
    with pytest.raises(SourceError, match="area code 'nope'"):
        register(session, spec)


def _source(session, name: str, cadence: timedelta, area_code: str | None = None) -> None:
    register(session, SourceSpec(name, f"{name}库", f"{name} db", "部门", cadence, area_code))
    session.execute(
        text("UPDATE data_source SET created_at = :t WHERE name = :n"),
        {"t": NOW - timedelta(days=400), "n": name},
    )


def _run(session, source: str, at: datetime, rows: int, outcome: str = "ok") -> None:
    session.execute(
        text(
            "INSERT INTO import_run (at, started_at, layer, source, file_name, counts, "
            "rows_written, outcome) VALUES (:at, :at, 'residents', :s, 'f.csv', '{}', :rows, :o)"
        ),
        {"at": at, "s": source, "rows": rows, "o": outcome},
    )


def _stale_city(session) -> dict:
    """Four sources: current daily, overdue weekly (a newer failed run does not count),
    within grace monthly, never imported."""
    areas = two_grid_district(session)
    _source(session, "pop", timedelta(days=1), "T3401020010012")
    _run(session, "pop", NOW - timedelta(hours=5), 1200)
    _run(session, "pop", NOW - timedelta(days=1, hours=5), 1100)
    _source(session, "housing", timedelta(days=7), "T3401020010011")
    _run(session, "housing", NOW - timedelta(days=9), 300)
    _run(session, "housing", NOW - timedelta(days=1), 0, "failed")
    _source(session, "care", timedelta(days=30))
    _run(session, "care", NOW - timedelta(days=30, hours=23), 42)
    _source(session, "fire", timedelta(days=7))
    return areas


def test_freshness_is_overdue_after_cadence_plus_grace(session):
    _stale_city(session)
    rows = {f.name: f for f in freshness(session, NOW, GRACE)}
    assert {n: f.overdue for n, f in rows.items()} == {
        "pop": False, "housing": True, "care": False, "fire": True,
    }  # fmt: skip
    assert rows["pop"].last_import == NOW - timedelta(hours=5)
    assert (rows["pop"].last_rows, rows["pop"].total_rows, rows["pop"].runs) == (1200, 2300, 2)
    assert rows["housing"].last_import == NOW - timedelta(days=9)
    assert (rows["housing"].failed_runs, rows["housing"].last_rows) == (1, 300)
    assert rows["fire"].last_import is None and rows["fire"].runs == 0
    later = {f.name: f.overdue for f in freshness(session, NOW + timedelta(hours=2), GRACE)}
    assert later["care"] is True


def test_one_incident_per_overdue_source_across_sweeps(session):
    ensure_taxonomy(session)
    areas = _stale_city(session)
    first = sweep(session, NOW, SETTINGS)
    second = sweep(session, NOW + timedelta(hours=1), SETTINGS)
    assert len(first) == 2 and second == []
    events = session.scalars(select(Event).where(Event.rule == stale_source.NAME)).all()
    by_subject = {e.subject: e for e in events}
    assert sorted(by_subject) == ["source:fire", "source:housing"]
    housing = by_subject["source:housing"]
    assert housing.severity == 1 and housing.category == "other.data_stale"
    assert housing.title == "数据源逾期未更新：housing库"
    inside = session.execute(
        text("SELECT ST_Covers(a.geom, e.loc) FROM area a, event e WHERE a.id = :a AND e.id = :e"),
        {"a": areas["west"].id, "e": housing.id},
    ).scalar_one()
    assert inside is True
