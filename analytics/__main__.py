"""Analytics command line: ``python -m analytics backtest --events PATH_OR_LAYER …``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

# Column names tried, in order, per field of an events CSV (Boston: Long, Lat, OCCURRED_ON_DATE).
CSV_COLUMNS = {
    "lon": ("lon", "longitude", "long", "lng", "x"),
    "lat": ("lat", "latitude", "y"),
    "time": ("time", "occurred_on_date", "reported_at", "opened", "requested_datetime", "date"),
    "category": ("category", "offense_description", "service_name", "type"),
}
STORE_LAYERS = {"events": "event", "event": "event"}


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


def read_events_layer(layer: str) -> pd.DataFrame:
    """Events (lon, lat, time, category) of a store layer, read through geodata."""
    from geodata.engine import get_engine
    from geodata.settings import get_settings
    from geodata.store import open_store

    table = STORE_LAYERS[layer]
    store = open_store(get_settings())
    sql = f"SELECT ST_X(loc) AS lon, ST_Y(loc) AS lat, reported_at AS time, category FROM {table}"
    with get_engine(store.url).connect() as conn:
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
    from analytics.backtest import format_table, run_backtest

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
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
