"""Export one layer to one file: the single code path of the CLI and ``/api/export``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from geodata.accounts.access import audit
from geodata.accounts.viewer import Viewer
from geodata.city_time import DEFAULT_ZONE
from geodata.engine import get_engine
from geodata.exports.provider import TableProvider
from geodata.exports.query import Filters
from geodata.exports.sources import export_layer
from geodata.exports.writers import FORMATS, Format, write
from geodata.output_crs import WGS84_OUT, OutputCrs, check_area_of_use
from geodata.query import FeatureQueryError

AUDITED_TABLES = frozenset({"resident"})
"""Tables whose exports (records of people, even without identifiers) are audited."""


@dataclass(frozen=True)
class ExportResult:
    """What was written: where, how many features, how long it took."""

    path: Path
    layer: str
    format: str
    count: int
    seconds: float
    crs: str = WGS84_OUT.key


def export_format(value: str | None) -> Format:
    """The format called ``value``; :class:`FeatureQueryError` lists the known ones."""
    if not value:
        raise FeatureQueryError("format", f"missing; expected one of {', '.join(FORMATS)}")
    try:
        return FORMATS[value.lower()]
    except KeyError:
        raise FeatureQueryError(
            "format", f"{value!r} is not an export format; expected one of {', '.join(FORMATS)}"
        ) from None


def file_name(layer_id: str, fmt: Format, filters: Filters, crs: OutputCrs = WGS84_OUT) -> str:
    """A download name such as ``buildings_340104.gpkg`` (``…_epsg4548.gpkg``, ``…_gcj02…``
    in another CRS than WGS 84)."""
    parts = [layer_id, filters.area, filters.level, None if crs.is_wgs84 else crs.label]
    return "_".join(p for p in parts if p) + fmt.suffix


def export_layer_to(
    url: str,
    layer_id: str,
    fmt: Format,
    path: Path,
    filters: Filters,
    viewer: Viewer,
    engine: Engine | None = None,
    zone: str = DEFAULT_ZONE,
    crs: OutputCrs = WGS84_OUT,
) -> ExportResult:
    """Write the features of export layer ``layer_id`` that ``viewer`` may take to ``path``
    in ``crs`` (read through ``engine``'s pool when given: heavy work's own,
    :func:`geodata.engine.heavy_engine`); times written as text carry the offset of the city's
    zone ``zone`` (``ONEMAP_TIMEZONE``)."""
    source = export_layer(layer_id)
    provider = TableProvider(url, engine)
    fields = provider.fields(source, viewer)
    started = time.perf_counter()
    if not crs.is_wgs84:
        check_area_of_use(crs, provider.extent(source, viewer))
    with provider.batches(source, filters, viewer, lonlat=fmt.id == "csv") as rows:
        write(rows, source, fields, fmt, Path(path), crs, zone)
    if source.table in AUDITED_TABLES:
        _audit_export(url, viewer, layer_id, fmt.id, filters, rows.count, crs)
    seconds = time.perf_counter() - started
    return ExportResult(Path(path), layer_id, fmt.id, rows.count, seconds, crs.key)


def _audit_export(
    url: str,
    viewer: Viewer,
    layer_id: str,
    fmt: str,
    filters: Filters,
    count: int,
    crs: OutputCrs,
) -> None:
    """An audit row for an export of people's records (who, which layer, filters, how many)."""
    detail: dict[str, object] = {"layer": layer_id, "format": fmt, "rows": count}
    if not crs.is_wgs84:
        detail["crs"] = crs.key
    detail |= {k: str(v) for k, v in vars(filters).items() if v is not None}
    with get_engine(url).begin() as conn:
        audit(conn, viewer, "export", layer_id, detail)
