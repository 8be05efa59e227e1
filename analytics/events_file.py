"""Events (lon, lat, time, category) for the backtest and forecast from any file import reads.

The file is opened with the import's readers (:func:`geodata.ingest.readers.open_reader`: CSV,
GeoJSON, GeoPackage, FlatGeobuf, Shapefile, GeoParquet; plain Parquet with coordinate columns
is read with pandas); columns are named with the import's
``--map TARGET=COLUMN`` pairs (targets ``time``, ``category``, and ``lon``/``lat``/``wkt`` for a
CSV's geometry), else found by common names. Coordinates in ``crs`` (the file's own CRS when it
declares one; WGS84 otherwise) — GCJ-02, BD-09 or any EPSG code, projected ones through
pyproj — come out as WGS84 lon/lat. Non-point geometries count at their centroid.

Readings at fixed sites (a sensor network) become events with :func:`read_site_events`: the
readings file (CSV or Parquet, no coordinates) is joined to a sites file the import reads on
the column both share (``--map site=COLUMN``), and every reading above a threshold
(``--exceed COLUMN>VALUE``) is one event at its site — e.g. each station-hour with PM2.5 above
115 µg/m³ (China's "moderately polluted" boundary) in the Beijing air-quality data.
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
from geodata.ingest.readers import Batch, open_reader

TARGETS = ("time", "category", "lon", "lat", "wkt", "site")
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
            rows = located(batch)
            parts.append(
                pd.DataFrame(
                    {
                        "x": rows["x"],
                        "y": rows["y"],
                        "time": rows[time_col],
                        "category": rows[category_col] if category_col else None,
                    }
                )
            )
            bar.update(len(batch.geoms))
    raw = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["x", "y"])
    return _events(raw, source_crs, time_col, path.name)


def located(batch: Batch) -> pd.DataFrame:
    """The rows of a reader's batch that have a geometry: their attributes, and ``x``, ``y``
    of the geometry's centroid (in the file's CRS)."""
    ok = ~pd.isna(batch.geoms)
    pts = shapely.centroid(batch.geoms[ok])
    attrs = batch.attrs[ok].reset_index(drop=True)
    return attrs.assign(x=shapely.get_x(pts), y=shapely.get_y(pts))


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


def parse_exceed(text: str) -> tuple[str, float]:
    """``COLUMN>VALUE`` as (column, threshold); :class:`MappingError` otherwise."""
    column, sep, value = text.rpartition(">")
    try:
        threshold = float(value)
    except ValueError:
        threshold = float("nan")
    if not sep or not column.strip() or threshold != threshold:
        raise MappingError(
            f"--exceed {text}: expected COLUMN>VALUE, e.g. --exceed 'PM2.5>115' (one event per "
            "reading above the value)"
        )
    return column.strip(), threshold


def read_table(path: Path) -> pd.DataFrame:
    """A plain table (CSV or Parquet) of readings, all columns."""
    if path.name.lower().endswith((".parquet", ".geoparquet")):
        return pd.read_parquet(path)
    return pd.read_csv(path)


def read_sites(path: Path, crs: str | None) -> pd.DataFrame:
    """The sites file's attributes plus ``x``, ``y`` (in its CRS) and ``crs``, with the
    import's readers (a CSV's lon/lat columns are found by name)."""
    reader = open_reader(path, "event")
    sites = pd.concat([located(batch) for batch in reader.batches], ignore_index=True)
    sites.attrs["crs"] = parse_crs(crs) if crs else (reader.crs or WGS84)
    return sites


def read_site_events(
    path: str | Path,
    sites_path: str | Path,
    exceed: str,
    mapping: dict[str, str] | None = None,
    crs: str | None = None,
) -> pd.DataFrame:
    """Events of readings at fixed sites: every row of ``path`` whose ``exceed`` column
    (``COLUMN>VALUE``) is above the value, at the position of its site in ``sites_path``
    (joined on ``--map site=COLUMN``, else the one column name both files share)."""
    path, sites_path = Path(path), Path(sites_path)
    mapping = dict(mapping or {})
    readings = read_table(path)
    sites = read_sites(sites_path, crs)
    columns = list(readings.columns)
    check_mapping({k: v for k, v in mapping.items() if k != "site"}, columns, path.name)
    time_col, category_col = _columns(mapping, columns, path.name)
    key = mapping.get("site")
    if key is None:
        shared = [c for c in columns if c in sites.columns and c not in ("x", "y")]
        if len(shared) != 1:
            raise MappingError(
                f"{path.name} and {sites_path.name} share {len(shared)} columns "
                f"({', '.join(map(str, shared)) or 'none'}): name the site column with "
                "--map site=COLUMN"
            )
        key = shared[0]
    for name, frame in ((path.name, readings), (sites_path.name, sites)):
        if key not in frame.columns:
            raise MappingError(f"--map site={key}: {name} has no column {key!r}")
    column, threshold = parse_exceed(exceed)
    if column not in columns:
        raise MappingError(
            f"--exceed {exceed}: {path.name} has no column {column!r} (columns: "
            f"{', '.join(map(str, columns))})"
        )
    above = readings[pd.to_numeric(readings[column], errors="coerce") > threshold]
    unknown = sorted(set(above[key].astype(str)) - set(sites[key].astype(str)))
    if unknown:
        raise MappingError(
            f"{path.name}: {len(unknown)} site(s) not in {sites_path.name} "
            f"(column {key!r}): {', '.join(unknown[:5])}"
        )
    where = sites.assign(_key=sites[key].astype(str)).set_index("_key")
    at = where.loc[above[key].astype(str).to_numpy()]
    raw = pd.DataFrame(
        {
            "x": at["x"].to_numpy(float),
            "y": at["y"].to_numpy(float),
            "time": above[time_col].to_numpy(),
            "category": above[category_col].to_numpy() if category_col else None,
        }
    )
    return _events(raw, sites.attrs["crs"], time_col, path.name)
