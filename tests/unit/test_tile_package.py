"""layers.tile_package and the pmtiles:/mbtiles: base maps: packages the tests write."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from pmtiles.convert import mbtiles_to_pmtiles
from pmtiles.tile import Compression

from geodata.settings import Settings
from layers import basemaps
from layers.tile_package import (
    MBTilesPackage,
    PMTilesPackage,
    TileAddressError,
    TilePackageError,
    open_package,
    tile_address,
)
from tests.tile_packages import ATTRIBUTION, block, extent, tile_png, write_mbtiles, write_pmtiles

TILES = [(0, 0, 0), *block(117.283, 31.861, 12, 1)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("packages")


@pytest.fixture(scope="module")
def pmtiles_file(folder):
    return write_pmtiles(folder / "test.pmtiles", TILES)


@pytest.fixture(scope="module")
def mbtiles_file(folder):
    return write_mbtiles(folder / "test.mbtiles", TILES)


@pytest.mark.parametrize("kind", ["pmtiles", "mbtiles"])
def test_every_tile_reads_back_its_own_bytes(kind, pmtiles_file, mbtiles_file):
    package = (PMTilesPackage if kind == "pmtiles" else MBTilesPackage)(
        pmtiles_file if kind == "pmtiles" else mbtiles_file
    )
    for tile in TILES:
        assert package.tile(*tile) == tile_png(*tile), tile
    z, x, y = TILES[1]
    assert package.tile(z, x + 5, y) is None  # inside the grid, not in the package
    assert package.tile(5, 0, 0) is None  # a zoom the package lacks


@pytest.mark.parametrize("kind", ["pmtiles", "mbtiles"])
def test_info_from_the_package(kind, pmtiles_file, mbtiles_file):
    path = pmtiles_file if kind == "pmtiles" else mbtiles_file
    info = open_package(kind, str(path)).info
    assert (info.format, info.min_zoom, info.max_zoom) == ("png", 0, 12)
    assert info.attribution == ATTRIBUTION
    assert info.bounds is not None
    assert info.bounds == pytest.approx(extent(TILES), abs=1e-6)


def test_mbtiles_rows_count_from_the_south(mbtiles_file):
    """The TMS flip: the tile at XYZ row y is stored at row 2^z - 1 - y."""
    z, x, y = TILES[1]
    with sqlite3.connect(mbtiles_file) as db:
        stored = db.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
            (z, x, (1 << z) - 1 - y),
        ).fetchone()[0]
    db.close()
    assert stored == tile_png(z, x, y) != tile_png(z, x, (1 << z) - 1 - y)
    assert MBTilesPackage(mbtiles_file).tile(z, x, y) == stored


def test_converted_package_serves_the_same_tiles(mbtiles_file, folder):
    """The README's route: an MBTiles export converted with the pmtiles package."""
    converted = folder / "converted.pmtiles"
    mbtiles_to_pmtiles(str(mbtiles_file), str(converted), 99)
    package = PMTilesPackage(converted)
    assert [package.tile(*t) for t in TILES] == [tile_png(*t) for t in TILES]
    assert package.info.attribution == ATTRIBUTION


def test_mbtiles_reads_from_many_threads(mbtiles_file):
    package = MBTilesPackage(mbtiles_file)
    wrong: list[tuple[int, int, int]] = []

    def read() -> None:
        for _ in range(20):
            wrong.extend(t for t in TILES if package.tile(*t) != tile_png(*t))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


@pytest.mark.parametrize(
    ("z", "x", "y"),
    [
        ("31", "0", "0"),
        ("2", "4", "0"),
        ("2", "0", "4"),
        ("-1", "0", "0"),
        ("1", "-0", "0"),
        ("99999999999999999999", "0", "0"),
        ("3", "99999999999999999999", "0"),
        ("a", "0", "0"),
        ("1", "", "0"),
        ("1", "0", "１"),  # a full-width digit: str.isdigit says yes, int() would take it
    ],
)
def test_bad_addresses_are_refused(z, x, y):
    with pytest.raises(TileAddressError):
        tile_address(z, x, y)


def test_good_addresses():
    assert tile_address("0", "0", "0") == (0, 0, 0)
    assert tile_address("30", str((1 << 30) - 1), "7") == (30, (1 << 30) - 1, 7)


def test_the_provider_points_at_the_apps_own_route(pmtiles_file, mbtiles_file):
    tiles = basemaps.provider(f"pmtiles:{pmtiles_file}")
    assert tiles is not None
    assert tiles.url == "/tiles/base/{z}/{x}/{y}.png"
    assert (tiles.min_zoom, tiles.max_zoom, tiles.attribution) == (0, 12, ATTRIBUTION)
    same = basemaps.package(f"mbtiles:{mbtiles_file}")
    assert same is basemaps.package(f"mbtiles:{mbtiles_file}")  # opened once per process
    assert basemaps.package("osm") is None and basemaps.package("own") is None


def test_readable_errors_at_start_up(folder):
    missing = folder / "nowhere.pmtiles"
    with pytest.raises(basemaps.BasemapError, match="no such file") as caught:
        basemaps.check_basemap(Settings(basemap=f"pmtiles:{missing}"))
    assert str(missing) in str(caught.value)
    text_file = folder / "notes.pmtiles"
    text_file.write_text("not a tile package\n" * 20)
    with pytest.raises(basemaps.BasemapError, match="not a PMTiles v3 file"):
        basemaps.check_basemap(Settings(basemap=f"pmtiles:{text_file}"))
    with pytest.raises(basemaps.BasemapError, match="not an MBTiles file"):
        basemaps.check_basemap(Settings(basemap=f"mbtiles:{text_file}"))
    empty = folder / "empty.pmtiles"
    empty.write_bytes(b"")
    with pytest.raises(basemaps.BasemapError, match="not a PMTiles v3 file"):
        basemaps.check_basemap(Settings(basemap=f"pmtiles:{empty}"))
    with pytest.raises(basemaps.BasemapError, match="pmtiles:PATH or mbtiles:PATH"):
        basemaps.check_basemap(Settings(basemap="geotiff:/x"))


def test_vector_packages_are_refused_with_the_reason(folder):
    vector = write_mbtiles(folder / "vector.mbtiles", [(0, 0, 0)], tile_format="pbf")
    with pytest.raises(TilePackageError, match="'pbf' tiles; the map draws png, jpg or webp"):
        MBTilesPackage(vector)


def test_brotli_compressed_tiles_are_refused_with_the_reason(folder, pmtiles_file):
    """Images are stored as they are; a package compressing them again says so at start-up."""
    data = bytearray(pmtiles_file.read_bytes())
    data[98] = Compression.BROTLI.value  # the header's tile compression byte
    odd = folder / "brotli.pmtiles"
    odd.write_bytes(bytes(data))
    with pytest.raises(TilePackageError, match="BROTLI-compressed tiles"):
        PMTilesPackage(odd)


def test_gzip_compressed_tiles_are_served_as_images(folder):
    package = PMTilesPackage(write_pmtiles(folder / "gzip.pmtiles", TILES, gzipped=True))
    assert [package.tile(*t) for t in TILES] == [tile_png(*t) for t in TILES]
