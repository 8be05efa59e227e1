"""File writers: Arrow batches → GeoJSON, GeoPackage, CSV or zipped Shapefile, via GDAL.

All go through ``pyogrio.write_arrow`` (GDAL's Arrow write path: no per-feature Python).

- GeoJSON: RFC 7946 (``RFC7946=YES``): WGS84 lon/lat, no ``crs`` member, polygon exteriors
  counter-clockwise, 7 decimals; the feature ``id`` is our id.
- GeoPackage: one layer named after the export layer, EPSG:4326.
- CSV: UTF-8 with a BOM (so Excel/WPS show Chinese right), geometry as WKT in the first column
  ``WKT``; point layers also get ``lon``/``lat``. Times as ISO 8601 text with the city's offset
  (``2026-12-07T07:30:00+08:00``, zone ``ONEMAP_TIMEZONE``): people open CSV in spreadsheets.
- Other CRSs (:mod:`geodata.output_crs`; the features are transformed by
  :mod:`.reproject`, x = easting/longitude first as GIS files are written): GeoPackage and
  Shapefile (``.prj``) carry the CRS; GeoJSON is written without ``RFC7946`` and with the legacy
  (2008) ``crs`` member ``urn:ogc:def:crs:EPSG::<code>``, which GDAL and QGIS read; CSV names
  its columns after the CRS (``WKT_EPSG4548``, ``easting_epsg4548``/``northing_epsg4548``).
  GCJ-02 is no EPSG CRS: GeoPackage and Shapefile get a custom CRS whose name says GCJ-02;
  GeoJSON, which cannot name a non-EPSG CRS, gets a ``description`` member saying so (GIS
  tools read it as WGS 84: the file is meant for AMap/Tencent map developers only).
- Shapefile: a ``.zip`` (``-o x.zip``; any other path is taken as a folder) holding
  ``<layer>.shp/.shx/.dbf/.prj/.cpg`` (UTF-8) and ``FIELDS.txt``, the field-name mapping
  (dBASE names are ≤ 10 characters, see ``fields.SHAPEFILE_NAMES``). A layer of mixed
  geometries (facilities) becomes one shapefile per kind: ``<layer>_point``, ``_line``,
  ``_polygon``. Times are ISO 8601 text with the city's offset, as in CSV (dBASE has no
  date-time type).
- GeoJSON and GeoPackage keep typed instants in UTC (GDAL writes ``2026-12-06T23:30:00Z``
  text in GeoJSON and a GeoPackage ``DATETIME``, which the GeoPackage standard defines as UTC).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyogrio

from geodata.city_time import DEFAULT_ZONE
from geodata.exports.fields import Field
from geodata.exports.provider import Rows
from geodata.exports.reproject import reproject, wkt_column
from geodata.exports.sources import Source
from geodata.output_crs import GCJ02_NOTE, WGS84_OUT, OutputCrs

DIM_COLUMN = "_dim"
SHAPE_KINDS = (
    (0, "point", "Point"),
    (1, "line", "MultiLineString"),
    (2, "polygon", "MultiPolygon"),
)


@dataclass(frozen=True)
class Format:
    """An export format: its id, file suffix, media type and GDAL driver."""

    id: str
    suffix: str
    media_type: str
    driver: str


FORMATS: dict[str, Format] = {
    f.id: f
    for f in (
        Format("geojson", ".geojson", "application/geo+json", "GeoJSON"),
        Format("gpkg", ".gpkg", "application/geopackage+sqlite3", "GPKG"),
        Format("csv", ".csv", "text/csv; charset=utf-8", "CSV"),
        Format("shp", ".shp.zip", "application/zip", "ESRI Shapefile"),
    )
}


def _mapped(
    reader: pa.RecordBatchReader, fn: Callable[[pa.RecordBatch], pa.RecordBatch]
) -> pa.RecordBatchReader:
    """``reader`` with ``fn`` applied to every batch (schema taken from an empty batch)."""
    schema = fn(pa.RecordBatch.from_pylist([], schema=reader.schema)).schema

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            yield fn(batch)

    return pa.RecordBatchReader.from_batches(schema, batches())


def _iso_times(batch: pa.RecordBatch, zone: str) -> pa.RecordBatch:
    """Timestamps → ``YYYY-MM-DDTHH:MM:SS+08:00`` strings in the IANA zone ``zone`` (for
    formats without date-times)."""
    columns, fields = [], []
    for field, column in zip(batch.schema, batch.columns, strict=True):
        if pa.types.is_timestamp(column.type):
            seconds = column.cast(pa.timestamp("s", tz=zone), safe=False)
            column = pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%S%Ez")
            field = field.with_type(pa.string())
        columns.append(column)
        fields.append(field)
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields))


def _drop(*names: str) -> Callable[[pa.RecordBatch], pa.RecordBatch]:
    def fn(batch: pa.RecordBatch) -> pa.RecordBatch:
        keep = [n for n in batch.schema.names if n not in names]
        return batch.select(keep)

    return fn


def _write(
    reader: pa.RecordBatchReader,
    path: Path,
    layer: str,
    driver: str,
    geometry_type: str,
    crs: OutputCrs,
    **options: object,
) -> None:
    pyogrio.write_arrow(
        reader,
        str(path),
        layer=layer,
        driver=driver,
        geometry_name="geometry",
        geometry_type=geometry_type,
        crs=crs.gdal,
        **options,
    )


def _reader(rows: Rows, crs: OutputCrs) -> pa.RecordBatchReader:
    """The rows in ``crs``, without the geometry-kind column."""

    def fn(batch: pa.RecordBatch) -> pa.RecordBatch:
        return reproject(_drop(DIM_COLUMN)(batch), crs)

    return _mapped(rows.reader(), fn)


def geojson_options(crs: OutputCrs) -> dict[str, str]:
    """GDAL's GeoJSON layer options: RFC 7946 for WGS 84, else the legacy ``crs`` member (or,
    for GCJ-02, a ``description`` saying what the coordinates are)."""
    options = {"ID_FIELD": "id", "COORDINATE_PRECISION": str(crs.digits)}
    if crs.is_wgs84:
        return options | {"RFC7946": "YES"}
    options["RFC7946"] = "NO"
    if crs.epsg is None:
        options["DESCRIPTION"] = GCJ02_NOTE
    return options


def write_geojson(rows: Rows, source: Source, path: Path, crs: OutputCrs) -> None:
    _write(
        _reader(rows, crs),
        path,
        source.id,
        "GeoJSON",
        source.geometry_type,
        crs,
        layer_options=geojson_options(crs),
    )


def write_gpkg(rows: Rows, source: Source, path: Path, crs: OutputCrs) -> None:
    _write(
        _reader(rows, crs),
        path,
        source.id,
        "GPKG",
        source.geometry_type,
        crs,
        dataset_options={"VERSION": "1.2"},
        layer_options={"FID": "id"},
    )


def write_csv(
    rows: Rows, source: Source, path: Path, crs: OutputCrs, zone: str = DEFAULT_ZONE
) -> None:
    def fn(batch: pa.RecordBatch) -> pa.RecordBatch:
        return _iso_times(batch, zone)

    _write(
        _mapped(_reader(rows, crs), fn),
        path,
        source.id,
        "CSV",
        source.geometry_type,
        crs,
        layer_options={
            "GEOMETRY": "AS_WKT",
            "GEOMETRY_NAME": wkt_column(crs),
            "WRITE_BOM": "YES",
        },
    )


def _shp_names(fields: tuple[Field, ...]) -> dict[str, str]:
    return {f.name: f.shp for f in fields}


def _fields_txt(source: Source, fields: tuple[Field, ...], crs: OutputCrs) -> str:
    lines = [
        f"OneMap export of {source.id!r}: Shapefile (dBASE) field -> OneMap field.",
        "dBASE names are limited to 10 characters; times are ISO 8601 text with the city's",
        "UTC offset (2026-12-07T07:30:00+08:00); UTF-8 (.cpg).",
        f"Coordinates: {crs.name} ({crs.key}; see the .prj)."
        + (f" {GCJ02_NOTE}" if crs.epsg is None else ""),
        "",
    ]
    lines += [f"{f.shp:<10} -> {f.name}" for f in fields]
    return "\n".join(lines) + "\n"


def write_shapefiles(
    rows: Rows,
    source: Source,
    fields: tuple[Field, ...],
    folder: Path,
    crs: OutputCrs,
    zone: str = DEFAULT_ZONE,
) -> None:
    """One shapefile per geometry kind of ``source`` into ``folder``, plus ``FIELDS.txt``."""
    names = _shp_names(fields)

    def fn(batch: pa.RecordBatch) -> pa.RecordBatch:
        batch = _iso_times(reproject(batch, crs), zone)
        renamed = [names.get(n, n) for n in batch.schema.names]
        return batch.rename_columns(renamed)

    if source.geometry_type != "Unknown":
        _write(
            _mapped(rows.reader(), fn),
            folder / f"{source.id}.shp",
            source.id,
            "ESRI Shapefile",
            source.geometry_type,
            crs,
            encoding="UTF-8",
        )
    else:
        table = rows.reader().read_all()
        for dim, suffix, geometry_type in SHAPE_KINDS:
            part = table.filter(pc.equal(table[DIM_COLUMN], dim)).drop_columns([DIM_COLUMN])
            if part.num_rows:
                name = f"{source.id}_{suffix}"
                batches = [fn(b) for b in part.to_batches()]
                reader = pa.RecordBatchReader.from_batches(batches[0].schema, batches)
                _write(
                    reader,
                    folder / f"{name}.shp",
                    name,
                    "ESRI Shapefile",
                    geometry_type,
                    crs,
                    encoding="UTF-8",
                )
    (folder / "FIELDS.txt").write_text(_fields_txt(source, fields, crs), encoding="utf-8")


def write(
    rows: Rows,
    source: Source,
    fields: tuple[Field, ...],
    fmt: Format,
    path: Path,
    crs: OutputCrs = WGS84_OUT,
    zone: str = DEFAULT_ZONE,
) -> None:
    """Write ``rows`` of ``source`` as ``fmt`` in ``crs`` to ``path``, replacing it only when
    complete; times as text (CSV, Shapefile) are given in the IANA zone ``zone`` with its
    offset.

    For ``shp`` a path ending in ``.zip`` gets a zip file, any other path a folder.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".onemap-export-", dir=path.parent) as tmp:
        work = Path(tmp)
        if fmt.id == "shp":
            folder = work / "shp"
            folder.mkdir()
            write_shapefiles(rows, source, fields, folder, crs, zone)
            if path.name.endswith(".zip"):
                staged = work / "out.zip"
                with zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
                    for item in sorted(folder.iterdir()):
                        zf.write(item, item.name)
                os.replace(staged, path)
            else:
                path.mkdir(exist_ok=True)
                for item in folder.iterdir():
                    shutil.move(str(item), path / item.name)
            return
        staged = work / f"out{fmt.suffix}"
        if fmt.id == "csv":
            write_csv(rows, source, staged, crs, zone)
        else:
            {"geojson": write_geojson, "gpkg": write_gpkg}[fmt.id](rows, source, staged, crs)
        os.replace(staged, path)
