"""What the export page asks of the store, through the export services (no SQL here).

Layers, fields and rows come from :mod:`geodata.exports` for the viewer: the sources the
role may take, the allow-listed fields (a planner picks a subset, never more), the viewer's
scope. Several layers download as one zip of one file per layer.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import shapely
from shapely.geometry import shape
from sqlalchemy import Engine

from geodata.accounts import access
from geodata.accounts.viewer import Viewer
from geodata.city_time import DEFAULT_ZONE
from geodata.engine import get_engine
from geodata.exports import Filters, export_format, file_name, service
from geodata.exports.fields import Field, allowed_fields
from geodata.exports.provider import TableProvider
from geodata.exports.sources import EXPORT_LAYERS, Source, export_layer
from geodata.exports.writers import write
from geodata.output_crs import WGS84_OUT, OutputCrs
from geodata.query import FeatureQueryError
from geodata.vocab import LEVEL_DEPTH

AREAS = "areas"
"""The export layer of governance areas (the area picker and the outlines on the map)."""
MAX_AREAS = 5000
MAX_PAGE_FEATURES = 250_000
"""Most features one download from the page may hold: the file travels inside a callback
answer (base64); larger exports go through the streamed ``/api/export`` URLs."""


@dataclass(frozen=True)
class AreaItem:
    """One governance area of the picker."""

    id: int
    code: str
    name: str
    name_en: str | None
    level: str
    parent_id: int | None
    geometry: dict


def layers_for(viewer: Viewer) -> tuple[Source, ...]:
    """The export layers ``viewer`` may take (its role is allowed and has fields)."""
    return tuple(
        s
        for s in EXPORT_LAYERS.values()
        if viewer.role in s.roles and allowed_fields(s.table, viewer)
    )


def fields_for(layer_id: str, viewer: Viewer) -> tuple[Field, ...]:
    """The allow-listed fields of ``layer_id`` for ``viewer`` (none if it may not take it)."""
    source = export_layer(layer_id)
    return allowed_fields(source.table, viewer) if source in layers_for(viewer) else ()


def areas(url: str, viewer: Viewer) -> list[AreaItem]:
    """The governance areas the viewer may see, ordered as a tree (parents before children)."""
    source = EXPORT_LAYERS[AREAS]
    if source not in layers_for(viewer):
        return []
    page = TableProvider(url).page(source, Filters(), viewer, MAX_AREAS, 0)
    features = json.loads(page.features)
    # Exports name the area above by its official code: find its id among the areas read.
    by_code = {f["properties"]["code"]: f["id"] for f in features}
    items = [
        AreaItem(
            id=f["id"],
            code=f["properties"]["code"],
            name=f["properties"]["name"],
            name_en=f["properties"].get("name_en"),
            level=f["properties"]["level"],
            parent_id=by_code.get(f["properties"].get("parent_code")),
            geometry=f["geometry"],
        )
        for f in features
    ]
    return tree_order(items)


def tree_order(items: list[AreaItem]) -> list[AreaItem]:
    """``items`` depth-first (children by code under their parent; orphans are roots)."""
    ids = {a.id for a in items}
    children: dict[int | None, list[AreaItem]] = {}
    for item in items:
        parent = item.parent_id if item.parent_id in ids else None
        children.setdefault(parent, []).append(item)
    ordered: list[AreaItem] = []

    def visit(parent: int | None) -> None:
        for child in sorted(children.get(parent, []), key=lambda a: a.code):
            ordered.append(child)
            visit(child.id)

    visit(None)
    return ordered


INDENT = "\u3000"
"""One level of the area tree in a picker (an ideographic space)."""


def area_options(items: list[AreaItem], lang: str) -> list[dict[str, str]]:
    """Dropdown options of the area tree (indented by depth, with the official code)."""
    depth: dict[int, int] = {}
    options = []
    for item in items:
        level = depth.get(item.parent_id, -1) + 1 if item.parent_id is not None else 0
        depth[item.id] = level
        name = item.name_en if lang == "en" and item.name_en else item.name
        options.append({"label": f"{INDENT * level}{name} ({item.code})", "value": item.code})
    return options


def union_extent(items: list[AreaItem]) -> tuple[float, float, float, float] | None:
    """The lon/lat extent of the areas (None when there are none)."""
    if not items:
        return None
    return shapely.union_all([shape(a.geometry) for a in items]).bounds


def detail_extent(items: list[AreaItem]) -> tuple[float, float, float, float] | None:
    """The lon/lat extent of the deepest level among the areas: where the detail is (the
    demo's core of grids, or a scoped viewer's own grids); None when there are none."""
    if not items:
        return None
    deepest = max(LEVEL_DEPTH[a.level] for a in items)
    return union_extent([a for a in items if LEVEL_DEPTH[a.level] == deepest])


def count(url: str, layer_id: str, filters: Filters, viewer: Viewer) -> int:
    """How many features of ``layer_id`` the viewer would export under ``filters``."""
    return TableProvider(url).count(export_layer(layer_id), filters, viewer)


class ChosenFields(TableProvider):
    """The table provider, narrowed to the fields a person picked (within the allow-list)."""

    def __init__(
        self, url: str, chosen: dict[str, list[str]], engine: Engine | None = None
    ) -> None:
        super().__init__(url, engine)
        self.chosen = chosen

    def fields(self, source: Source, viewer: Viewer) -> tuple[Field, ...]:
        """The picked fields of ``source`` among those ``viewer`` may take (in allow-list order)."""
        allowed = super().fields(source, viewer)
        picked = self.chosen.get(source.id)
        if picked is None:
            return allowed
        fields = tuple(f for f in allowed if f.name in set(picked))
        if not fields:
            raise FeatureQueryError("fields", f"choose at least one field of {source.id!r}")
        return fields


@dataclass(frozen=True)
class Download:
    """A file to hand to the browser: name, bytes and how many features per layer."""

    name: str
    content: bytes
    counts: dict[str, int]


def _export_one(
    provider: ChosenFields,
    layer_id: str,
    fmt_id: str,
    folder: Path,
    filters: Filters,
    viewer: Viewer,
    crs: OutputCrs,
    zone: str,
) -> tuple[Path, int]:
    source = export_layer(layer_id)
    fmt = export_format(fmt_id)
    fields = provider.fields(source, viewer)
    path = folder / file_name(layer_id, fmt, filters, crs)
    with provider.batches(source, filters, viewer, lonlat=fmt.id == "csv") as rows:
        write(rows, source, fields, fmt, path, crs, zone)
    if source.table in service.AUDITED_TABLES:
        detail = {"layer": layer_id, "format": fmt.id, "rows": rows.count, "page": "/export"}
        detail["crs"] = crs.key
        detail |= {k: str(v) for k, v in vars(filters).items() if v is not None}
        with get_engine(provider.url).begin() as conn:
            access.audit(conn, viewer, "export", layer_id, detail)
    return path, rows.count


def export(
    url: str,
    layer_ids: list[str],
    fmt_id: str,
    filters: Filters,
    chosen: dict[str, list[str]],
    viewer: Viewer,
    engine: Engine | None = None,
    crs: OutputCrs = WGS84_OUT,
    zone: str = DEFAULT_ZONE,
) -> Download:
    """The chosen layers in ``crs`` as one file (one layer) or a zip of one file per layer,
    read through ``engine``'s pool when given (heavy work's own); times as text in the IANA
    zone ``zone``."""
    if not layer_ids:
        raise FeatureQueryError("layers", "choose at least one layer")
    allowed = {s.id for s in layers_for(viewer)}
    refused = [layer for layer in layer_ids if layer not in allowed]
    if refused:
        raise FeatureQueryError("layers", f"role {viewer.role!r} may not export {refused[0]!r}")
    provider = ChosenFields(url, chosen, engine)
    total = sum(provider.count(export_layer(layer), filters, viewer) for layer in layer_ids)
    if total > MAX_PAGE_FEATURES:
        raise FeatureQueryError(
            "area",
            f"{total:,} features are more than a page download holds ({MAX_PAGE_FEATURES:,}); "
            "narrow the area or use the script URLs below",
        )
    folder = Path(tempfile.mkdtemp(prefix="onemap-export-page-"))
    try:
        written = [
            _export_one(provider, layer, fmt_id, folder, filters, viewer, crs, zone)
            for layer in layer_ids
        ]
        counts = {layer: n for layer, (_, n) in zip(layer_ids, written, strict=True)}
        if len(written) == 1:
            path = written[0][0]
            return Download(path.name, path.read_bytes(), counts)
        bundle = folder / "onemap-export.zip"
        with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, _ in written:
                archive.write(path, path.name)
        return Download(bundle.name, bundle.read_bytes(), counts)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
