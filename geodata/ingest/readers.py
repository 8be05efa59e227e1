"""Streaming readers: every format comes out as :class:`Batch` es of attributes + geometries.

GeoJSON, GeoPackage, FlatGeobuf, (zipped) Shapefile and OpenStreetMap PBF are read through GDAL
(``pyogrio.raw.open_arrow``), GeoParquet through ``pyarrow.parquet.ParquetFile.iter_batches``,
CSV in chunks with pandas. No reader holds more than one batch in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio.raw import open_arrow

from geodata.crs import WGS84, parse_crs
from geodata.errors import CRSError, UnreadableInput
from geodata.ingest import osm
from geodata.ingest.csvgeom import CSVGeometry, csv_geometry

BATCH_ROWS = 50_000
BATCH_BYTES = 2 << 20  # CSV chunks of ~2 MB of text (peak memory is a few times that)
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".fgb", ".shp", ".zip", ".gml", ".kml")


@dataclass
class Batch:
    """Consecutive rows of a file: attributes, geometries (None where missing), row numbers."""

    attrs: pd.DataFrame
    geoms: np.ndarray
    first_row: int
    geom_errors: dict[int, str] = field(default_factory=dict)  # position → reason

    @property
    def rows(self) -> np.ndarray:
        return np.arange(self.first_row, self.first_row + len(self.geoms))


@dataclass
class Reader:
    """An opened input: its columns, declared CRS (None: the file says nothing) and batches."""

    path: Path
    kind: str
    columns: list[str]
    crs: str | None
    batches: Iterator[Batch]
    total: int | None = None
    notes: list[str] = field(default_factory=list)
    skipped: int = 0  # rows of the file that do not belong to the layer (OSM tags)
    degenerate: int = 0  # OSM features cut by the extract's edge (no area or length left)


def detect_kind(path: Path) -> str:
    """``csv``, ``parquet``, ``osm`` or ``vector`` from the file name."""
    name = path.name.lower()
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    if name.endswith((".parquet", ".geoparquet")):
        return "parquet"
    if name.endswith((".osm.pbf", ".pbf", ".osm")):
        return "osm"
    if name.endswith(VECTOR_SUFFIXES):
        return "vector"
    raise UnreadableInput(
        f"{path.name}: unknown file type; expected GeoJSON, GeoPackage, FlatGeobuf, a zipped "
        "Shapefile, CSV with lon/lat or WKT columns, GeoParquet or OpenStreetMap PBF"
    )


def open_reader(
    path: str | Path,
    layer: str,
    *,
    encoding: str | None = None,
    geometry_columns: dict[str, str] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Reader:
    """Open ``path`` for the OneMap ``layer``; ``geometry_columns`` may name CSV lon/lat/wkt."""
    path = Path(path)
    if not path.exists():
        raise UnreadableInput(f"{path}: no such file")
    kind = detect_kind(path)
    if kind == "csv":
        return _csv_reader(path, encoding, geometry_columns or {}, batch_rows)
    if kind == "parquet":
        return _parquet_reader(path, batch_rows)
    if kind == "osm":
        return _osm_reader(path, layer, batch_rows)
    return _ogr_reader(path, encoding, batch_rows)


# --- GDAL ---------------------------------------------------------------------------------------


def _gdal_path(path: Path) -> str:
    if path.suffix.lower() != ".zip":
        return str(path)
    inner = f"/vsizip/{path}"
    try:
        layers = pyogrio.list_layers(inner)
    except Exception as exc:
        raise UnreadableInput(f"{path.name}: cannot open the zip archive ({exc})") from exc
    if len(layers) == 0:
        raise UnreadableInput(f"{path.name}: the zip archive holds no Shapefile or vector layer")
    return inner


def _crs_name(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return parse_crs(value)
    except CRSError:
        return value


def _arrow_batches(
    source: str, name: str, batch_rows: int, **kwargs
) -> tuple[dict, Iterator[tuple[pd.DataFrame, np.ndarray]]]:
    """Open a GDAL layer as Arrow; yield (attributes, WKB array) per batch."""
    try:
        ctx = open_arrow(source, batch_size=batch_rows, use_pyarrow=True, **kwargs)
        meta, reader = ctx.__enter__()
    except Exception as exc:
        raise UnreadableInput(f"{name}: cannot read the file: {_gdal_message(exc)}") from exc

    def gen() -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        geom_col = reader.schema.names[-1]
        try:
            for rb in _guarded(reader, name):
                wkb = rb.column(geom_col).to_numpy(zero_copy_only=False)
                attrs = rb.drop_columns([geom_col]).to_pandas()
                yield attrs, wkb
        finally:
            ctx.__exit__(None, None, None)

    return meta, gen()


def _guarded(reader, name: str):
    it = iter(reader)
    n = 0
    while True:
        try:
            rb = next(it)
        except StopIteration:
            return
        except Exception as exc:
            raise UnreadableInput(
                f"{name}: the file is damaged or truncated after about {n:,} features: "
                f"{_gdal_message(exc)}"
            ) from exc
        n += rb.num_rows
        yield rb


def _gdal_message(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]


def _wkb_geoms(wkb: np.ndarray) -> np.ndarray:
    return shapely.from_wkb(wkb, on_invalid="fix")


def _ogr_reader(path: Path, encoding: str | None, batch_rows: int) -> Reader:
    source = _gdal_path(path)
    try:
        info = pyogrio.read_info(source, encoding=encoding)
    except Exception as exc:
        raise UnreadableInput(f"{path.name}: cannot read the file: {_gdal_message(exc)}") from exc
    meta, gen = _arrow_batches(source, path.name, batch_rows, encoding=encoding)

    def batches() -> Iterator[Batch]:
        row = 1
        for attrs, wkb in gen:
            yield Batch(attrs, _wkb_geoms(wkb), row)
            row += len(wkb)

    total = info.get("features")
    return Reader(
        path, "vector", list(meta["fields"]), _crs_name(meta.get("crs")), batches(),
        total=total if total and total > 0 else None,
    )  # fmt: skip


def _osm_reader(path: Path, layer: str, batch_rows: int) -> Reader:
    plan = osm.plan(layer)
    _meta, gen = _arrow_batches(str(path), path.name, batch_rows, layer=plan.ogr_layer,
                               where=plan.where)  # fmt: skip

    def batches() -> Iterator[Batch]:
        row = 1
        for attrs, wkb in gen:
            frame, keep = osm.prepare(attrs, plan)
            geoms = _wkb_geoms(wkb)
            degenerate = osm.degenerate(geoms, plan)
            reader.degenerate += int((keep & degenerate).sum())
            keep &= ~degenerate
            reader.skipped += int((~keep).sum())
            yield Batch(frame[keep].reset_index(drop=True), geoms[keep], row)
            row += int(keep.sum())

    reader = Reader(path, "osm", osm.columns(plan), WGS84, batches())
    reader.notes.append(f"OpenStreetMap: {plan.describe}")
    return reader


# --- GeoParquet ---------------------------------------------------------------------------------


def _parquet_reader(path: Path, batch_rows: int) -> Reader:
    import pyarrow.parquet as pq
    from pyproj import CRS

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:
        raise UnreadableInput(f"{path.name}: not a readable Parquet file: {exc}") from exc
    geo_raw = (pf.schema_arrow.metadata or {}).get(b"geo")
    if not geo_raw:
        raise UnreadableInput(f"{path.name}: Parquet without GeoParquet 'geo' metadata")
    geo = json.loads(geo_raw)
    geom_col = geo["primary_column"]
    spec = geo["columns"][geom_col]
    if spec.get("encoding", "WKB").upper() != "WKB":
        raise UnreadableInput(
            f"{path.name}: geometry encoding {spec['encoding']!r} is not supported; write WKB"
        )
    crs = WGS84 if "crs" not in spec else None  # GeoParquet: no 'crs' key means OGC:CRS84
    if spec.get("crs"):
        crs = _crs_name(CRS.from_json_dict(spec["crs"]).to_string())
    columns = [n for n in pf.schema_arrow.names if n != geom_col]

    def batches() -> Iterator[Batch]:
        row = 1
        for rb in pf.iter_batches(batch_size=batch_rows):
            wkb = rb.column(geom_col).to_numpy(zero_copy_only=False)
            attrs = rb.drop_columns([geom_col]).to_pandas()
            yield Batch(attrs, _wkb_geoms(wkb), row)
            row += len(wkb)

    return Reader(path, "parquet", columns, crs, batches(), total=pf.metadata.num_rows)


# --- CSV ----------------------------------------------------------------------------------------


def _decode_hint(path: Path) -> str:
    sample = path.open("rb").read(1 << 16)
    for enc in ("gb18030", "big5", "latin-1"):
        try:
            sample.decode(enc)
        except UnicodeDecodeError:
            continue
        return f"it looks like {'GBK/GB18030' if enc == 'gb18030' else enc}: pass --encoding " + (
            "gbk" if enc == "gb18030" else enc
        )
    return "pass --encoding with the file's encoding"


def _rows_per_batch(path: Path, target_bytes: int = BATCH_BYTES) -> int:
    """Rows per CSV chunk so that a chunk holds about ``target_bytes`` of text."""
    with path.open("rb") as fh:
        sample = fh.read(1 << 20)
    lines = max(sample.count(b"\n"), 1)
    return max(1000, target_bytes * lines // max(len(sample), 1))


def _csv_reader(
    path: Path, encoding: str | None, geometry_columns: dict[str, str], batch_rows: int
) -> Reader:
    enc = encoding or "utf-8-sig"
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        header = pd.read_csv(path, nrows=0, encoding=enc, sep=sep).columns.tolist()
    except UnicodeDecodeError as exc:
        raise UnreadableInput(
            f"{path.name}: the header is not {encoding or 'UTF-8'} text; {_decode_hint(path)}"
        ) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, LookupError) as exc:
        raise UnreadableInput(f"{path.name}: cannot read as CSV: {exc}") from exc
    geometry = csv_geometry(header, geometry_columns, path.name)
    batch_rows = min(batch_rows, _rows_per_batch(path))

    def batches() -> Iterator[Batch]:
        row = 1
        chunks = pd.read_csv(
            path, sep=sep, encoding=enc, dtype=str, keep_default_na=False,
            na_values=[""], chunksize=batch_rows,
        )  # fmt: skip
        try:
            for chunk in chunks:
                geoms, errors = geometry.build(chunk)
                yield Batch(chunk.reset_index(drop=True), geoms, row, errors)
                row += len(chunk)
        except UnicodeDecodeError as exc:
            raise UnreadableInput(
                f"{path.name}: row {row:,} or after is not {encoding or 'UTF-8'} text; "
                f"{_decode_hint(path)}"
            ) from exc
        except pd.errors.ParserError as exc:
            raise UnreadableInput(f"{path.name}: malformed CSV after row {row:,}: {exc}") from exc

    reader = Reader(path, "csv", header, None, batches())
    reader.notes.append(geometry.describe())
    return reader


__all__ = ["Batch", "CSVGeometry", "Reader", "open_reader"]
