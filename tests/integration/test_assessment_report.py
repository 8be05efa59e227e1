"""The assessment report on the demo city: its CSV is the assess() rows, its charts are drawn from
the same numbers, the command line writes the files, and a scoped leader's report holds only the
units of their areas."""

from __future__ import annotations

import csv
import io
import os
import re
import struct
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import text

from analytics import assessment_report as ar
from analytics.assessment import COLUMNS, assess, to_csv, trend
from geodata import city_time
from geodata.engine import get_engine
from geodata.settings import PROJECT_ROOT
from tests.conftest import DEMO_TEST_ANCHOR

CJK = re.compile("[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
FIRST, LAST = date(2026, 8, 1), date(2026, 10, 31)  # the demo's history ends 2026-11-01 (CST)


def period() -> tuple[datetime, datetime]:
    return ar.day_range(FIRST, LAST)


def parse_csv(content: str) -> list[dict]:
    """CSV text back to typed rows (ints, floats, None for empty)."""

    def value(v: str) -> object:
        if v == "":
            return None
        try:
            return int(v)
        except ValueError:
            try:
                return float(v)
            except ValueError:
                return v

    return [{k: value(v) for k, v in row.items()} for row in csv.DictReader(io.StringIO(content))]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def scalar(url: str, sql: str, **params):
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_day_range_and_trend_period():
    start, end = ar.day_range(date(2026, 3, 1), date(2026, 3, 31))
    assert start.isoformat() == "2026-03-01T00:00:00+08:00"
    assert end.isoformat() == "2026-04-01T00:00:00+08:00"  # the last day is included
    assert ar.trend_period(start, end) == "day"
    assert ar.trend_period(*period()) == "week"
    assert ar.trend_period(*ar.day_range(date(2026, 1, 1), date(2026, 10, 31))) == "month"
    with pytest.raises(ValueError, match="before it starts"):
        ar.day_range(date(2026, 3, 2), date(2026, 3, 1))
    with pytest.raises(ValueError, match="measure"):
        ar.build_report("postgresql://unused", "grid", start, end, measure="happiness")


def test_csv_is_the_assess_rows(demo_url):
    report = ar.build_report(demo_url, "grid", *period())
    rows = assess(demo_url, "grid", *period())
    assert len(rows) > 10 and report.rows == rows
    content = ar.report_csv(report)
    times = {"period_start": "2026-08-01T00:00:00+08:00", "period_end": "2026-11-01T00:00:00+08:00"}
    assert content == to_csv([times | r for r in rows])
    parsed = parse_csv(content)
    assert list(parsed[0]) == [*ar.CSV_PERIOD, *COLUMNS]
    assert parsed == [times | {k: r[k] for k in COLUMNS} for r in rows]
    received = scalar(
        demo_url, "SELECT count(*) FROM event WHERE reported_at >= :s AND reported_at < :e",
        s=period()[0], e=period()[1],
    )  # fmt: skip
    assert sum(r["received"] for r in parsed) == received  # every demo incident lies in a grid


def test_the_charts_are_drawn_from_the_report_numbers(demo_url, monkeypatch):
    monkeypatch.setattr(ar, "CHART_UNITS", 10)  # the test city has 16 grids
    report = ar.build_report(demo_url, "grid", *period(), measure="closure_rate")
    assert report.measure == "closure_rate" and report.period == "week"
    fig = ar.figure(report, "zh")
    rank_ax, trend_ax, hours_ax = fig.axes
    shown = report.rows[: ar.CHART_UNITS]
    assert len(report.rows) > ar.CHART_UNITS  # the demo has more grids than the chart shows
    widths = [bar.get_width() for bar in rank_ax.patches]
    assert widths == [r["closure_rate"] for r in shown]
    assert widths == sorted(widths, reverse=True)  # best first
    labels = [t.get_text() for t in rank_ax.get_yticklabels()]
    assert labels == [f"{r['rank']}. {r['name']}" for r in shown]
    assert "排名" in rank_ax.get_title() and f"共 {len(report.rows)}" in rank_ax.get_title()

    weekly = trend(demo_url, *period(), period="week", tz="Asia/Shanghai")
    assert [bar.get_height() for bar in trend_ax.patches] == [w["received"] for w in weekly]
    assert list(trend_ax.lines[0].get_ydata()) == [w["closed"] for w in weekly]
    assert sum(w["received"] for w in weekly) == sum(r["received"] for r in report.rows)
    median, p90 = (list(line.get_ydata()) for line in hours_ax.lines)
    assert median == [w["median_hours"] for w in weekly] and p90 == [w["p90_hours"] for w in weekly]
    assert all(m <= p for m, p in zip(median, p90, strict=True))

    png = ar.render(report, "png")
    width, height = png_size(png)
    assert (width, height) == (1500, 700)
    assert 50_000 < len(png) < 2_000_000
    assert ar.render(report, "pdf")[:5] == b"%PDF-"


def test_chinese_labels_need_a_cjk_font(demo_url, monkeypatch):
    assert ar.cjk_font() is not None  # the system packages install one
    report = ar.build_report(demo_url, "grid", *period())
    monkeypatch.setattr(ar, "cjk_font", lambda: None)
    fig = ar.figure(report, "zh")
    texts = [fig.get_suptitle()] + [ax.get_title() for ax in fig.axes]
    texts += [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert texts[0].startswith("Assessment report · per grid")
    assert not [t for t in texts if CJK.search(t)]  # DejaVu Sans has "·" and "–", not these
    # grid names are Chinese: drawn as the grids' ids, not as boxes
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == [f"{r['rank']}. #{r['unit']}" for r in report.rows]
    unnamed = ar.Report("department", *period(), "received", "week", [
        {"unit": None, "name": None, "received": 3, "rank": 1},
        {"unit": "环卫所", "name": None, "received": 2, "rank": 2},
    ], [])  # fmt: skip
    labels = [t.get_text() for t in ar.figure(unnamed, "zh").axes[0].get_yticklabels()]
    assert labels == ["1. (none)", "2. #2"]


def test_the_command_line_writes_the_report(demo_url, tmp_path):
    paths = {ext: tmp_path / f"report.{ext}" for ext in ("csv", "png", "pdf")}
    done = subprocess.run(
        [sys.executable, "-m", "analytics", "assessment", "--by", "district",
         "--from", FIRST.isoformat(), "--to", LAST.isoformat(), "--category", "environment",
         *(arg for ext, path in paths.items() for arg in (f"--{ext}", str(path)))],
        cwd=PROJECT_ROOT, env={**os.environ, "DATABASE_URL": demo_url},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = assess(demo_url, "district", *period(), category="environment")
    assert len(rows) > 0 and all(r["received"] > 0 for r in rows)
    content = paths["csv"].read_bytes()
    assert content.startswith("\ufeff".encode())  # for spreadsheet programs
    report = ar.build_report(demo_url, "district", *period(), category="environment")
    assert content.decode("utf-8-sig") == ar.report_csv(report)
    assert (
        content.decode("utf-8-sig")
        .splitlines()[1]
        .startswith("2026-08-01T00:00:00+08:00,2026-11-01T00:00:00+08:00,")
    )
    assert png_size(paths["png"].read_bytes())[0] == 1500
    assert paths["pdf"].read_bytes()[:5] == b"%PDF-"
    assert f"{len(rows)} units, {sum(r['received'] for r in rows):,} incidents" in done.stdout
    assert f"wrote {paths['pdf']}" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "analytics", "assessment", "--by", "grid", "--from", "2026-05-02",
         "--to", "2026-05-01"],
        cwd=PROJECT_ROOT, env={**os.environ, "DATABASE_URL": demo_url},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 1 and "ends (2026-05-01) before it starts" in bad.stderr


def test_a_scoped_leader_sees_only_the_units_of_their_area(demo_url):
    with get_engine(demo_url).connect() as conn:
        street, name = conn.execute(
            text(
                "SELECT s.id, s.name FROM area s WHERE s.level = 'street' AND EXISTS "
                "(SELECT 1 FROM area c WHERE c.parent_id = s.id) ORDER BY s.code LIMIT 1"
            )
        ).one()
        inside = set(
            conn.execute(
                text(
                    "WITH RECURSIVE sub(id) AS (SELECT CAST(:s AS bigint) UNION SELECT a.id "
                    "FROM area a JOIN sub ON COALESCE(a.parent_id, a.area_id) = sub.id) "
                    "SELECT id FROM sub"
                ),
                {"s": street},
            ).scalars()
        )
    everything = assess(demo_url, "grid", *period())
    mine = [r for r in everything if r["unit"] in inside]
    assert 0 < len(mine) < len(everything)
    report = ar.build_report(demo_url, "grid", *period(), areas=(street,))
    strip = [{k: v for k, v in r.items() if k != "rank"} for r in report.rows]
    assert strip == [{k: v for k, v in r.items() if k != "rank"} for r in mine]
    assert {r["unit"] for r in parse_csv(ar.report_csv(report))} == {r["unit"] for r in mine}
    received = sum(r["received"] for r in mine)
    assert sum(w["received"] for w in report.trend) == received  # the trend is scoped too
    (own,) = ar.build_report(demo_url, "street", *period(), areas=(street,)).rows
    assert (own["unit"], own["name"], own["received"]) == (street, name, received)
    assert own["rank"] == 1
    outside = ar.build_report(demo_url, "district", *period(), areas=(street,))
    assert outside.rows == [] and outside.trend == []  # the district is not within the street
    depts = ar.build_report(demo_url, "department", *period(), areas=(street,)).rows
    assert sum(r["received"] for r in depts) == received
    assert ar.build_report(demo_url, "grid", *period(), areas=()).rows == []
    fig = ar.figure(report, "zh")
    assert [t.get_text().split(". ", 1)[1] for t in fig.axes[0].get_yticklabels()] == [
        r["name"] for r in mine[: ar.CHART_UNITS]
    ]


def test_presets_end_at_the_newest_incident(demo_url):
    zone = city_time.zone("Asia/Shanghai")
    newest = scalar(demo_url, "SELECT max(reported_at) FROM event").astimezone(zone)
    assert ar.latest_day(demo_url, today=date(2030, 1, 1)) == newest.date()
    anchor_day = DEMO_TEST_ANCHOR.astimezone(zone).date()
    assert anchor_day - timedelta(days=1) <= newest.date() <= anchor_day
    early = newest.date() - timedelta(days=3)
    assert ar.latest_day(demo_url, today=early) == early
    assert isinstance(ar.latest_day(demo_url), date)


def test_cli_help_lists_the_groupings():
    done = subprocess.run(
        [sys.executable, "-m", "analytics", "assessment", "--help"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0
    assert "{grid,street,district,department}" in done.stdout
