"""Tiny offline base-map packages the tests make: PNG tiles drawn with Pillow, written as PMTiles
(the ``pmtiles`` writer) and as MBTiles (``sqlite3``, rows counted from the south)."""

from __future__ import annotations

import gzip
import io
import math
import sqlite3
from pathlib import Path

from PIL import Image
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import write

Tile = tuple[int, int, int]
ATTRIBUTION = "© 测试底图 Test base map"


def tile_png(z: int, x: int, y: int) -> bytes:
    """A 256 px PNG whose colour encodes its address (every tile's bytes differ)."""
    image = Image.new("RGB", (256, 256), (40 + z * 8, x % 256, y % 256))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def lonlat_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ (web mercator, y from the north) column and row holding ``lon, lat``."""
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """west, south, east, north of a tile in degrees."""
    n = 1 << z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def block(lon: float, lat: float, z: int, radius: int) -> list[Tile]:
    """The tiles of zoom ``z`` within ``radius`` columns and rows of the one holding the point."""
    cx, cy = lonlat_tile(lon, lat, z)
    return [
        (z, x, y)
        for x in range(cx - radius, cx + radius + 1)
        for y in range(cy - radius, cy + radius + 1)
    ]


def extent(tiles: list[Tile]) -> tuple[float, float, float, float]:
    """west, south, east, north covering ``tiles``."""
    boxes = [tile_bounds(*t) for t in tiles]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def write_pmtiles(path: Path, tiles: list[Tile], gzipped: bool = False) -> Path:
    """A PMTiles v3 file of PNG ``tiles`` (each :func:`tile_png`; gzip-compressed on request)."""
    west, south, east, north = extent(tiles)
    zooms = [t[0] for t in tiles]
    with write(str(path)) as writer:
        for tile_id, tile in sorted((zxy_to_tileid(*t), t) for t in tiles):
            data = tile_png(*tile)
            writer.write_tile(tile_id, gzip.compress(data, mtime=0) if gzipped else data)
        header = {
            "tile_type": TileType.PNG,
            "tile_compression": Compression.GZIP if gzipped else Compression.NONE,
            "min_zoom": min(zooms),
            "max_zoom": max(zooms),
            "min_lon_e7": int(west * 1e7),
            "min_lat_e7": int(south * 1e7),
            "max_lon_e7": int(east * 1e7),
            "max_lat_e7": int(north * 1e7),
            "center_zoom": min(zooms),
            "center_lon_e7": int((west + east) / 2 * 1e7),
            "center_lat_e7": int((south + north) / 2 * 1e7),
        }
        writer.finalize(header, {"attribution": ATTRIBUTION, "name": "test"})
    return path


def write_mbtiles(path: Path, tiles: list[Tile], tile_format: str = "png") -> Path:
    """An MBTiles file of ``tiles`` (rows stored TMS-style, counted from the south)."""
    west, south, east, north = extent(tiles)
    zooms = [t[0] for t in tiles]
    metadata = {
        "name": "test",
        "format": tile_format,
        "minzoom": str(min(zooms)),
        "maxzoom": str(max(zooms)),
        "bounds": f"{west},{south},{east},{north}",
        "attribution": ATTRIBUTION,
    }
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE metadata (name text, value text)")
        db.execute(
            "CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, "
            "tile_data blob)"
        )
        db.executemany("INSERT INTO metadata VALUES (?, ?)", metadata.items())
        db.executemany(
            "INSERT INTO tiles VALUES (?, ?, ?, ?)",
            [(z, x, (1 << z) - 1 - y, tile_png(z, x, y)) for z, x, y in tiles],
        )
    db.close()
    return path
