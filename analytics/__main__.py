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
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

import pandas as pd

from analytics.assessment_report import build_report, day_range, write_report
from analytics.backtest import format_table, run_backtest
from analytics.backtest_plot import write_curves_png
from analytics.coverage import gap_state, refresh_gaps
from analytics.events_file import read_event_file, read_site_events
from analytics.forecast_file import forecast_events
from analytics.forecast_store import ForecastError, cell_exposure, run_forecast
from geodata.engine import get_engine
from geodata.errors import OneMapError
from geodata.ingest.mapping import parse_pairs
from geodata.replicas import read_replicas
from geodata.settings import get_settings
from geodata.store import open_store

STORE_LAYERS = {"events": "event", "event": "event"}
MEASURES = ("on_time_rate", "closure_rate", "median_hours", "p90_hours", "escalation_rate",
            "reopen_rate", "received")  # fmt: skip
"""What ``assessment --measure`` ranks by (:data:`analytics.assessment.RANK_BY`)."""


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


def read_events(
    source: str,
    mapping: list[str] | None = None,
    crs: str | None = None,
    sites: str | None = None,
    exceed: str | None = None,
) -> pd.DataFrame:
    """Events from a file (any format import reads, ``--map``/``--crs`` as import), readings
    at fixed ``sites`` above a threshold (``exceed``: ``COLUMN>VALUE``) or a store layer name."""
    if source in STORE_LAYERS:
        return read_events_layer(source)
    path = Path(source)
    if not path.exists():
        raise SystemExit(f"{source}: neither a file nor a store layer ({', '.join(STORE_LAYERS)})")
    if bool(sites) != bool(exceed):
        raise SystemExit("backtest: --sites and --exceed go together (readings at fixed sites)")
    try:
        pairs = parse_pairs(mapping, "--map")
        if sites and exceed:
            return read_site_events(path, sites, exceed, pairs, crs)
        return read_event_file(path, pairs, crs)
    except OneMapError as exc:
        raise SystemExit(f"backtest: {exc}") from None


def store_exposure(source: str) -> Callable[[object, int], pd.DataFrame] | None:
    """The store's exposure per cell (residents, care tags, buildings, devices, facilities)
    when the events are the store's own incidents, else None."""
    return partial(cell_exposure, _read_url()) if source in STORE_LAYERS else None


def cmd_backtest(args: argparse.Namespace) -> int:
    """Run the rolling-origin backtest; print the tables, the published method, the time per
    phase; write the hit-rate curves as PNG when asked."""
    started = time.perf_counter()
    events = read_events(args.events, args.map, args.crs, args.sites, args.exceed)
    read_s = time.perf_counter() - started
    if args.category:
        events = events[events["category"].isin(args.category)]
    result = run_backtest(
        events,
        resolution=args.cell_res,
        horizon_days=args.horizon,
        n_origins=args.origins,
        n_validation=args.validation,
        exposure=store_exposure(args.events),
        scheduler=_scheduler(),
        refit_every=args.refit_every,
        progress=True,
    )
    print(
        f"events: {len(events):,}  cells: {result.n_cells} at res {args.cell_res}  "
        f"periods: {result.n_periods} of {args.horizon} d  test origins: {args.origins}  "
        f"validation origins: {args.validation}  refit every {result.refit_every} origin(s)"
    )
    if result.exposure:
        print(f"exposure from the store: {', '.join(result.exposure)}")
    if not result.validation.empty:
        print("\nmodel selection (validation origins, before the test origins; baselines too):")
        print(format_table(result.validation))
    print(f"\nbest model candidate: {result.chosen.label()}; published: {result.published}\n")
    print(format_table(result.table, mark=result.published))
    if args.png:
        title = f"{Path(args.events).name}: {args.origins} test origins, {args.horizon} d"
        print(f"\nwrote {write_curves_png(result.curves, args.png, title, result.published)}")
    phases = {"read": read_s, **result.seconds}
    print(
        f"\n({time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items())
        + ")"
    )
    return 0


def _scheduler() -> str | None:
    """The Dask scheduler of the settings (None: in-process)."""

    return get_settings().analytics.dask_scheduler


def cmd_forecast_file(args: argparse.Namespace) -> int:
    """Forecast the next period per cell of an event file with the method that validated
    best (a baseline or a model); print the choice, write the cells as CSV."""
    started = time.perf_counter()
    events = read_events(args.events, args.map, args.crs, args.sites, args.exceed)
    horizon = args.horizon[0] if args.horizon else 7
    result = forecast_events(events, args.cell_res, horizon, args.validation)
    print("validation origins (the last periods of the file; baselines too):")
    print(format_table(result.validation))
    cells = result.cells
    print(
        f"\npublished: {result.published}; {len(cells)} cells, "
        f"{cells['start'].iloc[0]:%Y-%m-%d} … {cells['end'].iloc[0]:%Y-%m-%d}: "
        f"{cells['expected'].sum():,.1f} incidents expected"
    )
    if args.out:
        cells.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    print(f"({time.perf_counter() - started:.1f} s)")
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    """Train on the store's incidents, store a forecast run and print what it holds."""
    if args.events:
        return cmd_forecast_file(args)

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


def _site_arguments(p: argparse.ArgumentParser) -> None:
    """``--sites`` and ``--exceed``: readings at fixed sites as events."""
    p.add_argument(
        "--sites",
        help="the events file holds readings at fixed sites: this file gives the sites' "
        "coordinates (joined on the shared column or --map site=COLUMN)",
    )
    p.add_argument(
        "--exceed",
        metavar="COLUMN>VALUE",
        help="with --sites: one event per reading whose COLUMN is above VALUE",
    )


def parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    p = argparse.ArgumentParser(prog="python -m analytics", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    bt = sub.add_parser("backtest", help="rolling-origin backtest: model vs baselines")
    bt.add_argument(
        "--events", required=True, help="event file (CSV, GeoJSON, GPKG, GeoParquet…) or layer"
    )
    bt.add_argument(
        "--map",
        action="append",
        metavar="TARGET=COLUMN",
        help="column of time, category, lon, lat or wkt (repeatable; as python -m geodata import)",
    )
    bt.add_argument(
        "--crs", help="CRS of the coordinates: wgs84, gcj02, bd09 or any EPSG code (EPSG:4548)"
    )
    _site_arguments(bt)
    bt.add_argument("--png", type=Path, help="write the hit-rate curves (every method) here")
    bt.add_argument(
        "--refit-every",
        type=int,
        help="refit the model every N origins (default: 1 up to 156 periods of history, else 4)",
    )
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
    fc.add_argument("--events", help="forecast from this event file instead (nothing stored)")
    fc.add_argument("--map", action="append", metavar="TARGET=COLUMN", help="as for backtest")
    fc.add_argument("--crs", help="CRS of the file's coordinates, as for backtest")
    _site_arguments(fc)
    fc.add_argument("--validation", type=int, default=26, help="origins choosing the method")
    fc.add_argument("--out", type=Path, help="write the cells' forecast here (CSV)")
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
