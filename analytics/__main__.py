"""Analytics command line: ``python -m analytics backtest --events PATH_OR_LAYER …``,
``python -m analytics forecast [--horizon 7|30] [--cell-res 8|9]`` and
``python -m analytics coverage [--refresh]`` (the precomputed camera coverage gaps) and
``python -m analytics assessment --by grid --from DATE --to DATE [--csv/--png/--pdf PATH]``.

Backtests and forecasts run in-process, or on the Dask cluster named by
``ONEMAP_DASK_SCHEDULER``."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd

from analytics.assessment_report import build_report, day_range, write_report
from analytics.backtest import format_table, run_backtest
from analytics.coverage import gap_state, refresh_gaps
from analytics.forecast_store import ForecastError, run_forecast
from geodata.engine import get_engine
from geodata.replicas import read_replicas
from geodata.settings import get_settings
from geodata.store import open_store

# Column names tried, in order, per field of an events CSV (Boston: Long, Lat, OCCURRED_ON_DATE).
CSV_COLUMNS = {
    "lon": ("lon", "longitude", "long", "lng", "x"),
    "lat": ("lat", "latitude", "y"),
    "time": ("time", "occurred_on_date", "reported_at", "opened", "requested_datetime", "date"),
    "category": ("category", "offense_description", "service_name", "type"),
}
STORE_LAYERS = {"events": "event", "event": "event"}
MEASURES = ("on_time_rate", "closure_rate", "median_hours", "p90_hours", "escalation_rate",
            "reopen_rate", "received")  # fmt: skip
"""What ``assessment --measure`` ranks by (:data:`analytics.assessment.RANK_BY`)."""


def _pick(columns: list[str], names: tuple[str, ...]) -> str | None:
    """The first column whose lower-cased name is among ``names``."""
    lowered = {c.lower().strip(): c for c in columns}
    return next((lowered[n] for n in names if n in lowered), None)


def read_events_csv(path: Path) -> pd.DataFrame:
    """Events (lon, lat, time, category) from a CSV, recognising common column names."""
    raw = pd.read_csv(path, low_memory=False)
    picked = {field: _pick(list(raw.columns), names) for field, names in CSV_COLUMNS.items()}
    missing = [f for f in ("lon", "lat", "time") if picked[f] is None]
    if missing:
        raise SystemExit(
            f"{path}: no column for {', '.join(missing)}; expected one of "
            + "; ".join(f"{f}: {', '.join(CSV_COLUMNS[f])}" for f in missing)
        )
    return pd.DataFrame({f: raw[c] for f, c in picked.items() if c is not None})


def _read_url() -> str:
    """Where this command reads: a healthy hot standby (``ONEMAP_READ_DATABASE_URL``), else
    the store itself."""
    settings = get_settings()
    store = settings.store
    return read_replicas(
        open_store(settings).url, store.read_database_url, store.read_max_lag_s
    ).url()


def read_events_layer(layer: str) -> pd.DataFrame:
    """Events (lon, lat, time, category) of a store layer, read through geodata."""

    table = STORE_LAYERS[layer]
    url = _read_url()
    sql = f"SELECT ST_X(loc) AS lon, ST_Y(loc) AS lat, reported_at AS time, category FROM {table}"
    with get_engine(url).connect() as conn:
        return pd.read_sql_query(sql, conn)


def read_events(source: str) -> pd.DataFrame:
    """Events from a CSV path or a store layer name."""
    if source in STORE_LAYERS:
        return read_events_layer(source)
    path = Path(source)
    if not path.exists():
        raise SystemExit(f"{source}: neither a file nor a store layer ({', '.join(STORE_LAYERS)})")
    return read_events_csv(path)


def cmd_backtest(args: argparse.Namespace) -> int:
    """Run the rolling-origin backtest and print the table."""

    events = read_events(args.events)
    if args.category:
        events = events[events["category"].isin(args.category)]
    started = time.perf_counter()
    result = run_backtest(
        events,
        resolution=args.cell_res,
        horizon_days=args.horizon,
        n_origins=args.origins,
        n_validation=args.validation,
        scheduler=_scheduler(),
    )
    print(
        f"events: {len(events):,}  cells: res {args.cell_res}  horizon: {args.horizon} d  "
        f"test origins: {args.origins}  validation origins: {args.validation}"
    )
    if not result.validation.empty:
        print("\nmodel selection (validation origins, before the test origins):")
        print(format_table(result.validation))
    print(f"\nchosen: {result.chosen.label()}\n")
    print(format_table(result.table))
    print(f"\n({time.perf_counter() - started:.1f} s)")
    return 0


def _scheduler() -> str | None:
    """The Dask scheduler of the settings (None: in-process)."""

    return get_settings().analytics.dask_scheduler


def cmd_forecast(args: argparse.Namespace) -> int:
    """Train on the store's incidents, store a forecast run and print what it holds."""

    store = open_store(get_settings())
    horizons = tuple(args.horizon) if args.horizon else (7, 30)
    started = time.perf_counter()
    try:
        run_id, result = run_forecast(store.url, args.cell_res, horizons, _scheduler())
    except ForecastError as exc:
        raise SystemExit(f"forecast: {exc}") from None
    run = result.run
    print(
        f"forecast run {run_id}: model {run['model_version']}, {run['incidents']:,} incidents "
        f"{run['history_from']:%Y-%m-%d} … {run['origin']:%Y-%m-%d}, H3 r{run['cell_res']}, "
        f"horizons {', '.join(f'{h} d' for h in run['horizons'])}, "
        f"{run['config']['executor']}"
    )
    print(
        f"{len(result.rows):,} rows: {run['config']['region_cells']:,} cells and "
        f"{run['config']['grids']} grids × {len(run['groups'])} category groups "
        f"({', '.join(run['groups'])})"
    )
    totals = result.rows[(result.rows["unit"] == "h3") & (result.rows["category_group"] == "all")]
    for horizon, expected in totals.groupby("horizon_days")["expected"].sum().items():
        print(f"  next {horizon} days: {expected:,.1f} incidents expected in the study region")
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    print(f"({time.perf_counter() - started:.1f} s: {stages})")
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    """Say whether the precomputed coverage gaps are current; with ``--refresh``, recompute."""

    url = open_store(get_settings()).url
    with get_engine(url).connect() as conn:
        state = gap_state(conn)
    if state is None:
        raise SystemExit(
            "coverage: the store has no coverage_gap table; run python -m geodata migrate"
        )
    if args.refresh:
        started = time.perf_counter()
        state, counts = refresh_gaps(url)
        lines = ", ".join(f"{n:,} {kind.replace('_', ' ')}" for kind, n in counts.items())
        print(f"coverage gaps refreshed: {lines} ({time.perf_counter() - started:.1f} s)")
    when = f"{state.refreshed_at:%Y-%m-%d %H:%M:%S %Z}" if state.refreshed_at else "never"
    changed = f"{state.changed_at:%Y-%m-%d %H:%M:%S %Z}" if state.changed_at else "never"
    status = "current" if state.fresh else "STALE (the layer computes live)"
    print(f"precomputed gaps: {status}; refreshed {when}; last camera/line change {changed}")
    return 0 if state.fresh else 1


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def cmd_assessment(args: argparse.Namespace) -> int:
    """Print the assessment ranking of a period and write the asked report files."""

    settings = get_settings()
    tz = settings.city.timezone
    try:
        start, end = day_range(args.date_from, args.date_to, tz)
    except ValueError as exc:
        raise SystemExit(f"assessment: {exc}") from None
    url = _read_url()
    report = build_report(
        url, args.by, start, end, category=args.category, measure=args.measure, tz=tz
    )
    print(
        f"assessment per {args.by}, incidents received {args.date_from} … {args.date_to} "
        f"({tz}){f', category {args.category}' if args.category else ''}: "
        f"{len(report.rows)} units, {sum(r['received'] for r in report.rows):,} incidents"
    )
    for row in report.rows[: args.top]:
        name = row["name"] if row["name"] is not None else row["unit"]
        rate = "–" if row[report.measure] is None else f"{row[report.measure]:.3g}"
        print(f"  {row['rank']:>3}  {name!s:<24} received {row['received']:>6,}  "
              f"{report.measure} {rate}")  # fmt: skip
    written = write_report(
        report, csv_path=args.csv, png_path=args.png, pdf_path=args.pdf, lang=args.lang
    )
    for path in written:
        print(f"wrote {path}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    p = argparse.ArgumentParser(prog="python -m analytics", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    bt = sub.add_parser("backtest", help="rolling-origin backtest: model vs baselines")
    bt.add_argument("--events", required=True, help="CSV path (lon/lat/time) or store layer")
    bt.add_argument("--cell-res", type=int, default=8, choices=(7, 8, 9), help="H3 resolution")
    bt.add_argument("--horizon", type=int, default=7, help="forecast horizon in days")
    bt.add_argument("--origins", type=int, default=52, help="test origins (the last periods)")
    bt.add_argument("--validation", type=int, default=26, help="origins before them for tuning")
    bt.add_argument("--category", action="append", help="keep only this category (repeatable)")
    bt.set_defaults(func=cmd_backtest)
    fc = sub.add_parser("forecast", help="train on the store's incidents and store a forecast")
    fc.add_argument(
        "--horizon",
        type=int,
        action="append",
        choices=(7, 30),
        help="days ahead (repeatable; default: 7 and 30)",
    )
    fc.add_argument("--cell-res", type=int, default=8, choices=(8, 9), help="H3 resolution")
    fc.set_defaults(func=cmd_forecast)
    cv = sub.add_parser("coverage", help="state of the precomputed camera coverage gaps")
    cv.add_argument("--refresh", action="store_true", help="recompute them for every line")
    cv.set_defaults(func=cmd_coverage)
    asm = sub.add_parser("assessment", help="assessment ranking and report (CSV, PNG, PDF)")
    asm.add_argument("--by", required=True, choices=("grid", "street", "district", "department"))
    asm.add_argument("--from", dest="date_from", required=True, type=_date, help="first day")
    asm.add_argument("--to", dest="date_to", required=True, type=_date, help="last day (included)")
    asm.add_argument("--category", help="a category code or group (e.g. fire_safety)")
    asm.add_argument(
        "--measure",
        choices=MEASURES,
        help="rank and chart by this measure (default: on-time, then closure rate, then median)",
    )
    asm.add_argument("--csv", type=Path, help="write the ranking rows as CSV here")
    asm.add_argument("--png", type=Path, help="write the charts as PNG here")
    asm.add_argument("--pdf", type=Path, help="write the charts as PDF here")
    asm.add_argument("--lang", default="zh", choices=("zh", "en"), help="labels of the charts")
    asm.add_argument("--top", type=int, default=10, help="units printed (default 10)")
    asm.set_defaults(func=cmd_assessment)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
