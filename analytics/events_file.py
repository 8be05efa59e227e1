"""Events (lon, lat, time, category) for the backtest and forecast from any file import reads.

The file is opened with the import's readers (:func:`geodata.ingest.readers.open_reader`: CSV,
GeoJSON, GeoPackage, FlatGeobuf, Shapefile, GeoParquet; plain Parquet with coordinate columns
is read with pandas); columns are named with the import's
``--map TARGET=COLUMN`` pairs (targets ``time``, ``category``, and ``lon``/``lat``/``wkt`` for a
CSV's geometry), else found by common names. Coordinates in ``crs`` (the file's own CRS when it
declares one; WGS84 otherwise) — GCJ-02, BD-09 or any EPSG code, projected ones through
pyproj — come out as WGS84 lon/lat. Non-point geometries count at their centroid.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import shapely
from tqdm import tqdm

from geodata.crs import WGS84, parse_crs, to_wgs84
from geodata.errors import MappingError
from geodata.ingest.csvgeom import LAT_NAMES, LON_NAMES
from geodata.ingest.readers import open_reader

TARGETS = ("time", "category", "lon", "lat", "wkt")
GEOMETRY_TARGETS = ("lon", "lat", "wkt")
# Column names tried, in order, when --map does not name one (Boston: OCCURRED_ON_DATE).
TIME_NAMES = ("time", "occurred_on_date", "reported_at", "opened", "requested_datetime",
              "datetime", "timestamp", "date")  # fmt: skip
CATEGORY_NAMES = ("category", "offense_description", "service_name", "type")


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    """The first column whose trimmed, lower-cased name is among ``names``."""
    lowered: dict[str, str] = {}
    for c in columns:
        lowered.setdefault(str(c).strip().lower(), c)
    return next((lowered[n] for n in names if n in lowered), None)


def check_mapping(mapping: dict[str, str], columns: list[str], name: str) -> None:
    """Raise :class:`MappingError` for an unknown target or a column the file lacks."""
    for target, column in mapping.items():
        if target not in TARGETS:
            raise MappingError(
                f"--map {target}={column}: unknown target {target!r}; the backtest reads "
                f"{', '.join(TARGETS)}"
            )
        if column not in columns:
            raise MappingError(
                f"--map {target}={column}: {name} has no column {column!r} "
                f"(columns: {', '.join(map(str, columns))})"
            )


def _columns(mapping: dict[str, str], columns: list[str], name: str) -> tuple[str, str | None]:
    """The time column (required) and the category column (optional)."""
    time_col = mapping.get("time") or _find(columns, TIME_NAMES)
    if time_col is None:
        raise MappingError(
            f"{name}: no column for time; expected one of {', '.join(TIME_NAMES)}, or name it "
            f"with --map time=COLUMN (columns: {', '.join(map(str, columns))})"
        )
    return time_col, mapping.get("category") or _find(columns, CATEGORY_NAMES)


def parse_times(values: pd.Series, column: str, name: str) -> pd.Series:
    """UTC timestamps of a column; :class:`MappingError` naming it when none is a date."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values, utc=True)
    numeric = len(values) > 0 and pd.to_numeric(values, errors="coerce").notna().mean() > 0.5
    times = pd.to_datetime(values if not numeric else values[:0], utc=True, errors="coerce")
    if len(values) and (numeric or times.notna().sum() == 0):
        raise MappingError(
            f"{name}: column {column!r} (time) holds no dates (e.g. {values.iloc[0]!r}); "
            "name the time column with --map time=COLUMN"
        )
    return times


def read_event_file(
    path: str | Path,
    mapping: dict[str, str] | None = None,
    crs: str | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Events ``lon``, ``lat`` (WGS84), ``time`` (UTC) and ``category`` (None when the file
    has none) of one file; rows without a geometry are left out."""
    path = Path(path)
    mapping = dict(mapping or {})
    if is_plain_parquet(path):
        return read_plain_parquet(path, mapping, crs)
    geometry = {k: v for k, v in mapping.items() if k in GEOMETRY_TARGETS}
    reader = open_reader(path, "event", geometry_columns=geometry)
    check_mapping(mapping, reader.columns, path.name)
    time_col, category_col = _columns(mapping, reader.columns, path.name)
    source_crs = parse_crs(crs) if crs else (reader.crs or WGS84)
    parts = []
    bar = tqdm(total=reader.total, desc=f"read {path.name}", unit=" rows", file=sys.stderr,
               disable=not progress)  # fmt: skip
    with bar:
        for batch in reader.batches:
            geoms = batch.geoms
            ok = ~pd.isna(geoms)
            pts = shapely.centroid(geoms[ok])
            attrs = batch.attrs[ok].reset_index(drop=True)
            parts.append(
                pd.DataFrame(
                    {
                        "x": shapely.get_x(pts),
                        "y": shapely.get_y(pts),
                        "time": attrs[time_col],
                        "category": attrs[category_col] if category_col else None,
                    }
                )
            )
            bar.update(len(geoms))
    raw = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["x", "y"])
    return _events(raw, source_crs, time_col, path.name)


def _events(raw: pd.DataFrame, crs: str, time_col: str, name: str) -> pd.DataFrame:
    """The events of ``raw`` (``x``, ``y`` in ``crs``, ``time``, ``category``) in WGS84."""
    lon, lat = to_wgs84(raw["x"].to_numpy(float), raw["y"].to_numpy(float), crs)
    return pd.DataFrame(
        {
            "lon": lon,
            "lat": lat,
            "time": parse_times(raw["time"], time_col, name),
            "category": raw["category"],
        }
    )


def is_plain_parquet(path: Path) -> bool:
    """A Parquet file without GeoParquet metadata (coordinates in columns)."""
    if not path.name.lower().endswith((".parquet", ".geoparquet")) or not path.exists():
        return False
    return b"geo" not in (pq.read_schema(path).metadata or {})


def read_plain_parquet(path: Path, mapping: dict[str, str], crs: str | None) -> pd.DataFrame:
    """Events of a plain Parquet file: lon/lat columns named by ``--map`` or found by name."""
    columns = pq.read_schema(path).names
    check_mapping(mapping, columns, path.name)
    time_col, category_col = _columns(mapping, columns, path.name)
    lon = mapping.get("lon") or _find(columns, LON_NAMES)
    lat = mapping.get("lat") or _find(columns, LAT_NAMES)
    if lon is None or lat is None:
        raise MappingError(
            f"{path.name}: no lon/lat columns; name them with --map lon=COLUMN --map lat=COLUMN "
            f"(columns: {', '.join(columns)})"
        )
    table = pd.read_parquet(path, columns=list(dict.fromkeys(
        c for c in (lon, lat, time_col, category_col) if c)))  # fmt: skip
    raw = pd.DataFrame(
        {
            "x": pd.to_numeric(table[lon], errors="coerce"),
            "y": pd.to_numeric(table[lat], errors="coerce"),
            "time": table[time_col],
            "category": table[category_col] if category_col else None,
        }
    ).dropna(subset=["x", "y"])
    return _events(
        raw.reset_index(drop=True), parse_crs(crs) if crs else WGS84, time_col, path.name
    )
