"""The assessment report (监督考核报告) of one period and grouping: the CSV of
:func:`analytics.assessment.assess` rows and one figure with three charts, as PNG or PDF.

- **ranking**: the chosen measure per unit, best first (the best :data:`CHART_UNITS` units; the
  CSV holds them all), drawn as horizontal bars; units without a value (e.g. an on-time rate
  where no incident had a due time) get no bar and a "–" label.
- **received vs closed**: per day, week or month (:func:`trend_period`, in the city's time zone)
  the incidents received and how many of those are closed now (the cohort of the period, as the
  assessment counts them — not what was closed during the period). The trend counts every
  incident of the period, category and scope, also one outside every unit of an area level (none
  in the demo city), which the ranking leaves out; with no unit in the ranking it is empty.
- **time to close**: the median and 90th percentile hours of the same periods.

Drawn with matplotlib (Agg, no pyplot: no global figure state). Chinese labels need a CJK font
(:func:`cjk_font`); without one the report is drawn in English and names that would need it are
replaced by the unit's id (areas) or rank position, so nothing is drawn as empty boxes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter
from sqlalchemy import text

from analytics.assessment import AREA_LEVELS, DEFAULT_RANK, RANK_BY, assess, to_csv, trend
from geodata import city_time
from geodata.engine import get_engine

CHART_UNITS = 30
"""Units drawn in the ranking chart (best first)."""
GROUPS = ("grid", "street", "district", "department")
"""Groupings offered by the page and the command line."""
MEASURES = tuple(RANK_BY)
RATES = frozenset(
    {"on_time_rate", "closure_rate", "escalation_rate", "reopen_rate", "after_photo_rate"}
)

CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "AR PL UMing CN",
)
CJK_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
"""Font families with Chinese glyphs, and files of the Debian packages that ship them (added to
matplotlib's font list when its cache predates the package)."""

LABELS: dict[str, dict[str, str]] = {
    "title": {"zh": "监督考核报告", "en": "Assessment report"},
    "by.grid": {"zh": "网格", "en": "grid"},
    "by.street": {"zh": "街道", "en": "street office"},
    "by.district": {"zh": "区", "en": "district"},
    "by.department": {"zh": "处置部门", "en": "department"},
    "by.community": {"zh": "社区", "en": "community"},
    "by.category": {"zh": "事件类别", "en": "category"},
    "by.all": {"zh": "全部", "en": "all"},
    "per": {"zh": "按{by}", "en": "per {by}"},
    "category": {"zh": "类别", "en": "category"},
    "ranking": {"zh": "排名：{measure}", "en": "Ranking: {measure}"},
    "ranking_more": {"zh": "（前 {n} / 共 {total}）", "en": " (best {n} of {total})"},
    "trend": {"zh": "受理与办结", "en": "Received and closed"},
    "received": {"zh": "受理", "en": "received"},
    "closed": {"zh": "其中已办结", "en": "of which closed"},
    "hours": {"zh": "办结时长（小时）", "en": "Time to close (hours)"},
    "median": {"zh": "中位数", "en": "median"},
    "p90": {"zh": "90% 分位", "en": "90th percentile"},
    "none": {"zh": "（未指定）", "en": "(none)"},
    "empty": {"zh": "本时段无事件", "en": "No incidents in the period"},
    "m.on_time_rate": {"zh": "按期办结率", "en": "on-time rate"},
    "m.closure_rate": {"zh": "办结率", "en": "closure rate"},
    "m.median_hours": {"zh": "办结时长中位数（小时）", "en": "median hours to close"},
    "m.p90_hours": {"zh": "办结时长 90% 分位（小时）", "en": "90th percentile hours to close"},
    "m.escalation_rate": {"zh": "上报率", "en": "escalation rate"},
    "m.reopen_rate": {"zh": "重办率", "en": "reopen rate"},
    "m.after_photo_rate": {"zh": "办结附处置后照片率", "en": "closures with an after-photo"},
    "m.received": {"zh": "受理量", "en": "incidents received"},
}


@dataclass
class Report:
    """The figures of one report: ranking rows (``assess``) and trend rows (``trend``, all units
    together), for incidents received in ``[start, end)``."""

    by: str
    start: datetime
    end: datetime
    measure: str
    period: str
    rows: list[dict]
    trend: list[dict]
    category: str | None = None
    areas: tuple[int, ...] | None = None
    tz: str = city_time.DEFAULT_ZONE
    """The city's zone (``ONEMAP_TIMEZONE``): of the dates, the trend's periods, the CSV times."""


def day_range(
    first: date, last: date, tz: str = city_time.DEFAULT_ZONE
) -> tuple[datetime, datetime]:
    """``[first 00:00, last + 1 day 00:00)`` in zone ``tz``: the period of two inclusive dates
    (the city's days: midnight local time, not UTC)."""
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    zone = city_time.zone(tz)
    start = datetime.combine(first, time(), zone)
    return start, datetime.combine(last + timedelta(days=1), time(), zone)


def latest_day(url: str, today: date | None = None, tz: str = city_time.DEFAULT_ZONE) -> date:
    """The last day of the presets ("last 30 days …"): today in zone ``tz``, or the local day of
    the newest incident when the store's history ends earlier (the demo city, an archive)."""
    today = today or datetime.now(city_time.zone(tz)).date()
    with get_engine(url).connect() as conn:
        newest = conn.execute(text("SELECT max(reported_at) FROM event")).scalar_one()
    return today if newest is None else min(today, city_time.local(newest, tz).date())


def trend_period(start: datetime, end: datetime) -> str:
    """Days for up to 45 days, weeks up to 200 days, months beyond."""
    days = (end - start).total_seconds() / 86_400
    return "day" if days <= 45 else "week" if days <= 200 else "month"


def build_report(
    url: str,
    by: str,
    start: datetime,
    end: datetime,
    *,
    category: str | None = None,
    measure: str | None = None,
    areas: Sequence[int] | None = None,
    period: str | None = None,
    tz: str = city_time.DEFAULT_ZONE,
) -> Report:
    """Query the ranking (by ``measure``, else the assessment's default order) and the trend
    (periods starting at local midnight in zone ``tz``)."""
    if by not in (*AREA_LEVELS, "department", "category", "all"):
        raise ValueError(f"unknown grouping {by!r}")
    if measure is not None and measure not in RANK_BY:
        raise ValueError(f"unknown measure {measure!r}; one of {MEASURES}")
    rank_by = (measure,) if measure else DEFAULT_RANK
    scope = None if areas is None else tuple(int(a) for a in areas)
    period = period or trend_period(start, end)
    rows = assess(url, by, start, end, category=category, rank_by=rank_by, areas=scope)
    periods = []
    if rows:  # no unit of the level (e.g. a district for a street's leader): no trend either
        periods = trend(url, start, end, period=period, category=category, tz=tz, areas=scope)
    return Report(by, start, end, rank_by[0], period, rows, periods, category, scope, tz)


CSV_PERIOD = ("period_start", "period_end")
"""The CSV's first columns: the period ``[start, end)`` as ISO 8601 with the city's offset."""


def report_csv(report: Report) -> str:
    """The ranking rows as CSV (:func:`analytics.assessment.to_csv`), each led by the period
    (:data:`CSV_PERIOD`, e.g. ``2026-10-01T00:00:00+08:00``); files are written with a UTF-8
    byte-order mark, which spreadsheet programs need to read Chinese names."""
    period = dict(zip(CSV_PERIOD, (city_time.iso(report.start, report.tz),
                                   city_time.iso(report.end, report.tz)), strict=True))  # fmt: skip
    return to_csv([period | row for row in report.rows])


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs, or None."""
    for attempt in range(2):
        names = {f.name for f in font_manager.fontManager.ttflist}
        found = next((name for name in CJK_FAMILIES if name in names), None)
        if found or attempt:
            return found
        for path in CJK_FILES:  # installed after matplotlib cached its font list
            if Path(path).exists():
                font_manager.fontManager.addfont(path)
    return None


def _text(key: str, lang: str, **values: object) -> str:
    return LABELS[key][lang].format(**values)


def _unit_label(row: dict, position: int, by: str, cjk: bool) -> str:
    """``rank. name`` (the unit's id, or its position, when the name needs a missing font)."""
    label = row["name"] if row.get("name") is not None else row["unit"]
    label = _text("none", "zh" if cjk else "en") if label is None else str(label)
    if not (cjk or label.isascii()):
        label = f"#{row['unit']}" if by in AREA_LEVELS else f"#{position}"
    return f"{row['rank']}. {label}"


def _format(measure: str, value: float | None) -> str:
    if value is None:
        return "–"
    if measure in RATES:
        return f"{value:.0%}"
    return f"{value:,.0f}" if measure == "received" else f"{value:,.1f}"


def figure(report: Report, lang: str = "zh") -> Figure:
    """The three charts of the report on one figure (English when no CJK font is installed)."""
    family = cjk_font()
    lang = lang if lang in ("zh", "en") and family else "en"
    units = report.rows[:CHART_UNITS]
    height = max(7.0, 2.2 + 0.28 * len(units))
    fig = Figure(figsize=(15, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    # Text properties (matplotlib's **kwargs of text): the font family list
    font: dict[str, Any] = {"family": [family, "DejaVu Sans"] if family else ["DejaVu Sans"]}
    grid = fig.add_gridspec(2, 2, width_ratios=(1.1, 1))
    rank_ax = fig.add_subplot(grid[:, 0])
    trend_ax = fig.add_subplot(grid[0, 1])
    hours_ax = fig.add_subplot(grid[1, 1])
    by = _text("per", lang, by=_text(f"by.{report.by}", lang))
    last = city_time.local(report.end, report.tz) - timedelta(microseconds=1)
    when = f"{city_time.local(report.start, report.tz):%Y-%m-%d} – {last:%Y-%m-%d}"
    what = f" · {_text('category', lang)} {report.category}" if report.category else ""
    fig.suptitle(f"{_text('title', lang)} · {by} · {when}{what}", fontsize=15, **font)

    labels = [_unit_label(r, i + 1, report.by, family is not None) for i, r in enumerate(units)]
    values = [r[report.measure] for r in units]
    positions = list(range(len(units)))
    drawn = [0.0 if v is None else float(v) for v in values]
    rank_ax.barh(positions, drawn, color="#2563eb")
    rank_ax.set_yticks(positions, labels, fontsize=9, **font)
    rank_ax.invert_yaxis()
    top = max(drawn, default=0.0) or 1.0
    for y, value in zip(positions, values, strict=True):
        x = 0.0 if value is None else float(value)
        rank_ax.text(x + top * 0.01, y, _format(report.measure, value), va="center", fontsize=8)
    if report.measure in RATES:
        rank_ax.set_xlim(0, 1.12)
        rank_ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    else:
        rank_ax.set_xlim(0, top * 1.15)
    title = _text("ranking", lang, measure=_text(f"m.{report.measure}", lang))
    if len(report.rows) > len(units):
        title += _text("ranking_more", lang, n=len(units), total=len(report.rows))
    rank_ax.set_title(title, fontsize=12, **font)
    if not units:
        rank_ax.text(0.5, 0.5, _text("empty", lang), ha="center", transform=rank_ax.transAxes,
                     **font)  # fmt: skip

    buckets = [r["bucket"] for r in report.trend]
    received = [r["received"] for r in report.trend]
    closed = [r["closed"] for r in report.trend]
    width = {"day": 0.8, "week": 5.0, "month": 24.0, "quarter": 70.0, "year": 300.0}
    trend_ax.bar(buckets, received, width=width.get(report.period, 0.8), align="edge",
                 color="#93c5fd", label=_text("received", lang))  # fmt: skip
    trend_ax.plot(buckets, closed, color="#0f766e", marker="o", markersize=3,
                  label=_text("closed", lang))  # fmt: skip
    trend_ax.set_title(_text("trend", lang), fontsize=12, **font)
    trend_ax.legend(prop={"family": font["family"], "size": 9})
    trend_ax.set_ylim(bottom=0)

    median = [r["median_hours"] for r in report.trend]
    p90 = [r["p90_hours"] for r in report.trend]
    nan = float("nan")
    hours_ax.plot(buckets, [nan if v is None else v for v in median], color="#2563eb",
                  marker="o", markersize=3, label=_text("median", lang))  # fmt: skip
    hours_ax.plot(buckets, [nan if v is None else v for v in p90], color="#dc2626",
                  marker="o", markersize=3, label=_text("p90", lang))  # fmt: skip
    hours_ax.set_title(_text("hours", lang), fontsize=12, **font)
    hours_ax.legend(prop={"family": font["family"], "size": 9})
    hours_ax.set_ylim(bottom=0)
    for ax in (trend_ax, hours_ax):
        ax.tick_params(axis="x", labelsize=8, labelrotation=30)
        ax.grid(axis="y", color="#e5e7eb")
    return fig


def render(report: Report, fmt: str = "png", lang: str = "zh") -> bytes:
    """The report's figure as PNG or PDF bytes."""
    if fmt not in ("png", "pdf"):
        raise ValueError(f"unknown format {fmt!r}; png or pdf")
    out = io.BytesIO()
    figure(report, lang).savefig(out, format=fmt, dpi=100)
    return out.getvalue()


def write_report(
    report: Report,
    *,
    csv_path: Path | None = None,
    png_path: Path | None = None,
    pdf_path: Path | None = None,
    lang: str = "zh",
) -> list[Path]:
    """Write the asked files; returns their paths."""
    written = []
    if csv_path is not None:
        csv_path.write_text(report_csv(report), encoding="utf-8-sig")
        written.append(csv_path)
    for path, fmt in ((png_path, "png"), (pdf_path, "pdf")):
        if path is not None:
            path.write_bytes(render(report, fmt, lang))
            written.append(path)
    return written
