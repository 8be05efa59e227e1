"""Offline base-map tile packages the app serves from its own origin
(``ONEMAP_BASEMAP=pmtiles:PATH`` or ``mbtiles:PATH``).

- PMTiles v3 is read with the ``pmtiles`` library over a read-only memory map (reads are slices
  of the map: safe from any thread).
- MBTiles is SQLite (``metadata`` and ``tiles`` tables, rows counted from the south: the TMS
  y-flip); one read-only connection per package, shared by the server's threads under a lock.

Only raster tiles (PNG, JPEG, WebP) are served: the 2D map's Leaflet ``TileLayer`` draws images.
A package is opened once per process (:func:`open_package`).
"""

from __future__ import annotations

import gzip
import mmap
import sqlite3
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from pmtiles.reader import MemorySource, Reader
from pmtiles.tile import Compression, MagicNumberNotFound, SpecVersionUnsupported, TileType

KINDS = ("pmtiles", "mbtiles")
MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
PMTILES_FORMATS = {TileType.PNG: "png", TileType.JPEG: "jpg", TileType.WEBP: "webp"}
MBTILES_FORMATS = {"png": "png", "jpg": "jpg", "jpeg": "jpg", "webp": "webp"}
MAX_ZOOM = 30
"""Deepest zoom a tile address may name (2^30 tiles a side: well past any real package)."""

Bounds = tuple[float, float, float, float]


class TilePackageError(ValueError):
    """The file is missing, unreadable, or not a raster tile package."""


class TileAddressError(ValueError):
    """``z/x/y`` is not a tile address (not numbers, or outside the zoom's grid)."""


@dataclass(frozen=True)
class PackageInfo:
    """What the map needs to know about a package: image format, zooms, bounds, attribution."""

    format: str
    min_zoom: int
    max_zoom: int
    bounds: Bounds | None
    attribution: str


class TilePackage(Protocol):
    """A raster tile package: its description, and one tile's bytes (None when absent)."""

    info: PackageInfo

    def tile(self, z: int, x: int, y: int) -> bytes | None: ...


def tile_address(z: str, x: str, y: str) -> tuple[int, int, int]:
    """``(z, x, y)`` from the path's text, or :class:`TileAddressError` (bounded before any
    conversion, so huge numbers cost nothing)."""
    for name, text, digits in (("z", z, 2), ("x", x, 10), ("y", y, 10)):
        if not (text.isascii() and text.isdigit() and len(text) <= digits):
            raise TileAddressError(f"{name} must be a whole number of at most {digits} digits")
    zoom, column, row = int(z), int(x), int(y)
    if zoom > MAX_ZOOM:
        raise TileAddressError(f"z must be 0–{MAX_ZOOM}")
    if column >= 1 << zoom or row >= 1 << zoom:
        raise TileAddressError(f"x and y must be 0–{(1 << zoom) - 1} at z={zoom}")
    return zoom, column, row


class PMTilesPackage:
    """A PMTiles v3 file, memory-mapped read-only."""

    def __init__(self, path: Path) -> None:
        try:
            with path.open("rb") as file:
                self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
            self._reader = Reader(MemorySource(self._map))
            header = self._reader.header()
            metadata = self._reader.metadata()
        except (
            MagicNumberNotFound,
            SpecVersionUnsupported,
            ValueError,
            IndexError,
            OSError,
        ) as exc:
            raise TilePackageError(f"{path} is not a PMTiles v3 file ({exc!r})") from exc
        tile_format = PMTILES_FORMATS.get(header["tile_type"])
        if tile_format is None:
            raise TilePackageError(
                f"{path} holds {header['tile_type'].name} tiles; the map draws PNG, JPEG or WebP"
            )
        compression = header["tile_compression"]
        if compression not in (Compression.NONE, Compression.UNKNOWN, Compression.GZIP):
            raise TilePackageError(
                f"{path} holds {compression.name}-compressed tiles; use uncompressed images"
            )
        self._gzipped = compression == Compression.GZIP
        self.info = PackageInfo(
            tile_format,
            header["min_zoom"],
            header["max_zoom"],
            _pmtiles_bounds(header),
            str(metadata.get("attribution", "")) if isinstance(metadata, dict) else "",
        )

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile's bytes, or None."""
        data = self._reader.get(z, x, y)
        if not data:
            return None
        return gzip.decompress(data) if self._gzipped else bytes(data)


def _pmtiles_bounds(header: dict) -> Bounds | None:
    keys = ("min_lon_e7", "min_lat_e7", "max_lon_e7", "max_lat_e7")
    west, south, east, north = (header[key] / 1e7 for key in keys)
    return (west, south, east, north) if west < east and south < north else None


class MBTilesPackage:
    """An MBTiles (SQLite) file, opened read-only; one connection shared under a lock."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
            )
            metadata = dict(self._db.execute("SELECT name, value FROM metadata").fetchall())
            self._db.execute(
                "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles LIMIT 0"
            )
        except sqlite3.DatabaseError as exc:
            raise TilePackageError(f"{path} is not an MBTiles file ({exc})") from exc
        tile_format = MBTILES_FORMATS.get(str(metadata.get("format", "")).lower())
        if tile_format is None:
            raise TilePackageError(
                f"{path} holds {metadata.get('format')!r} tiles; the map draws png, jpg or webp"
            )
        self.info = PackageInfo(
            tile_format,
            _int(metadata.get("minzoom"), 0),
            _int(metadata.get("maxzoom"), 22),
            _mbtiles_bounds(metadata.get("bounds")),
            str(metadata.get("attribution") or ""),
        )

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile's bytes (row counted from the south, as MBTiles stores it), or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? "
                "AND tile_row = ?",
                (z, x, (1 << z) - 1 - y),
            ).fetchone()
        return bytes(row[0]) if row and row[0] else None


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


def _mbtiles_bounds(text: object) -> Bounds | None:
    try:
        west, south, east, north = (float(part) for part in str(text).split(","))
    except ValueError:
        return None
    return (west, south, east, north) if west < east and south < north else None


@lru_cache(maxsize=4)
def open_package(kind: str, path: str) -> TilePackage:
    """The package at ``path`` (``kind`` pmtiles or mbtiles), opened once per process."""
    file = Path(path).expanduser()
    if not path or not file.is_file():
        raise TilePackageError(f"ONEMAP_BASEMAP={kind}:{path}: no such file")
    if kind == "pmtiles":
        return PMTilesPackage(file)
    if kind == "mbtiles":
        return MBTilesPackage(file)
    raise TilePackageError(f"unknown tile package kind {kind!r}; choose {' or '.join(KINDS)}")
