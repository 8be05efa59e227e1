"""Online base-map tile providers — opt-in only (``ONEMAP_BASEMAP``; default ``own``).

``own`` draws the base map from our own data (areas, roads, buildings) and requests nothing
from another origin. The others fetch tiles from the internet when chosen:

- ``osm``: OpenStreetMap (WGS84 web mercator).
- ``tianditu``: 天地图 vector tiles, needs ``ONEMAP_TIANDITU_KEY`` (CGCS2000 ≈ WGS84 at map
  scale: no offset).
- ``amap``: 高德 tiles are drawn in GCJ-02, ~500 m off our WGS84 data in Hefei. The map shifts
  the tile pane by the GCJ-02 offset at the city centre (:func:`gcj_shift`); across one city the
  offset varies by a few metres, so features and tiles agree to about that.
- ``custom``: any ``{z}/{x}/{y}`` template (``ONEMAP_BASEMAP_URL``), e.g. an intranet server.

And offline, from the app's own origin: ``pmtiles:PATH`` or ``mbtiles:PATH`` names a raster tile
package (:mod:`layers.tile_package`) the app serves at :data:`TILE_ROUTE`; its zooms, bounds and
attribution come from the package.
"""

from __future__ import annotations

from dataclasses import dataclass

from geodata.crs import wgs84_to_gcj02
from geodata.settings import Settings
from layers.tile_package import KINDS, Bounds, TilePackage, TilePackageError, open_package

TILE_ROUTE = "/tiles/base"
"""Path (below the app's base path) the offline package's tiles are served at."""


@dataclass(frozen=True)
class TileProvider:
    """A raster tile source: URL template, attribution, subdomains, and its datum."""

    url: str
    attribution: str
    subdomains: str = "abc"
    datum: str = "wgs84"
    max_zoom: int = 19
    min_zoom: int = 0
    bounds: Bounds | None = None


PROVIDERS: dict[str, TileProvider] = {
    "osm": TileProvider(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "© OpenStreetMap contributors"
    ),
    "tianditu": TileProvider(
        "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
        "&TILECOL={x}&tk={key}",
        "© 天地图",
        subdomains="01234567",
        max_zoom=18,
    ),
    "amap": TileProvider(
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
        "&x={x}&y={y}&z={z}",
        "© 高德地图",
        subdomains="1234",
        datum="gcj02",
        max_zoom=18,
    ),
}


class BasemapError(ValueError):
    """The base-map settings do not describe a usable provider."""


def provider(name: str, url: str | None = None, key: str | None = None) -> TileProvider | None:
    """The tile provider chosen by the settings (None: our own data only)."""
    if name == "own":
        return None
    if name.partition(":")[0] in KINDS:
        return _package_provider(name)
    if name == "custom":
        if not url:
            raise BasemapError("ONEMAP_BASEMAP=custom needs ONEMAP_BASEMAP_URL ({z}/{x}/{y})")
        return TileProvider(url, "", subdomains="")
    if name not in PROVIDERS:
        raise BasemapError(
            f"unknown base map {name!r}; choose own, custom, {', '.join(PROVIDERS)}, "
            "pmtiles:PATH or mbtiles:PATH"
        )
    chosen = PROVIDERS[name]
    if "{key}" in chosen.url:
        if not key:
            raise BasemapError(f"base map {name!r} needs a key (ONEMAP_TIANDITU_KEY)")
        chosen = TileProvider(
            chosen.url.replace("{key}", key),
            chosen.attribution,
            chosen.subdomains,
            chosen.datum,
            chosen.max_zoom,
        )
    return chosen


def check_basemap(settings: Settings) -> None:
    """At start-up: :class:`BasemapError` with the reason when the base-map settings are not
    usable (unknown name, missing key, a tile package that is missing or not a package)."""
    web = settings.web
    provider(web.basemap, web.basemap_url, web.tianditu_key)


def package(name: str) -> TilePackage | None:
    """The offline tile package ``name`` (``pmtiles:PATH``/``mbtiles:PATH``) names, opened once
    per process; None for any other base map."""
    kind, colon, path = name.partition(":")
    if not colon or kind not in KINDS:
        return None
    try:
        return open_package(kind, path)
    except TilePackageError as exc:
        raise BasemapError(str(exc)) from exc


def _package_provider(name: str) -> TileProvider:
    found = package(name)
    if found is None:
        raise BasemapError(f"ONEMAP_BASEMAP={name!r}: write pmtiles:PATH or mbtiles:PATH")
    info = found.info
    return TileProvider(
        f"{TILE_ROUTE}/{{z}}/{{x}}/{{y}}.{info.format}",
        info.attribution,
        subdomains="",
        max_zoom=info.max_zoom,
        min_zoom=info.min_zoom,
        bounds=info.bounds,
    )


def gcj_shift(tiles: TileProvider | None, lon: float, lat: float) -> dict[str, float] | None:
    """Degrees to move GCJ-02 tiles by so they sit on WGS84 data near ``lon, lat``."""
    if tiles is None or tiles.datum != "gcj02":
        return None
    glon, glat = wgs84_to_gcj02(lon, lat)
    return {"lon": lon, "lat": lat, "gcj_lon": float(glon), "gcj_lat": float(glat)}
