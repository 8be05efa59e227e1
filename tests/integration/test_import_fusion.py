"""Re-imports update; records of one thing from different sources fuse into one entity."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import shapely
from shapely import affinity
from sqlalchemy import text

from geodata.engine import get_engine
from geodata.ingest import import_file
from geodata.privacy import hash_id_number, id_check_digit
from geodata.settings import Settings
from tests.conftest import _fresh_database, shared_data
from tests.integration.import_support import emptied

HEFEI = (117.25, 31.84)


@pytest.fixture(scope="module")
def db(cluster) -> Iterator[str]:
    with _fresh_database(cluster, "import_fusion") as url:
        yield url


@pytest.fixture
def url(db) -> str:
    return emptied(db)


def rows(url: str, sql: str, **params) -> list[tuple]:
    with get_engine(url).connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def geojson(path, features: list[tuple[dict, object]]) -> None:
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": p, "geometry": shapely.geometry.mapping(g)}
                    for p, g in features
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )


def id_number(serial: int) -> str:
    first17 = f"34010419800101{serial:03d}"
    return first17 + id_check_digit(first17)


def test_reimport_same_file_updates_without_duplicates(url):
    path = shared_data("hefei-buildings", "hefei_buildings_mars3d_wgs84.geojson")
    first = import_file(url, path, "buildings", Settings())
    again = import_file(url, path, "buildings", Settings())
    assert first.counts["inserted"] == 23_193
    assert (again.counts["inserted"], again.counts["updated"]) == (0, 23_193)
    assert rows(url, "SELECT count(*), count(DISTINCT (source, source_id)) FROM building") == [
        (23_193, 23_193)
    ]
    assert any("hash of its attributes" in n for n in again.notes)
    assert rows(url, "SELECT count(*) FROM import_run WHERE layer = 'buildings'") == [(2,)]


def test_second_source_with_overlapping_footprints_merges(url, tmp_path):
    x, y = HEFEI
    boxes = [shapely.box(x + i * 0.001, y, x + i * 0.001 + 0.0005, y + 0.0005) for i in range(5)]
    geojson(tmp_path / "housing.geojson",
            [({"id": f"H{i}", "name": f"楼{i}"}, b) for i, b in enumerate(boxes)])  # fmt: skip
    # the fire brigade's survey: the same 4 buildings shifted ~5 m, plus one of its own
    shifted = [affinity.translate(b, 0.00005, 0.0) for b in boxes[:4]]
    other = shapely.box(x, y + 0.01, x + 0.0005, y + 0.0105)
    features = [({"id": f"F{i}", "floors": 6}, b) for i, b in enumerate(shifted)]
    geojson(tmp_path / "fire.geojson", [*features, ({"id": "F9", "floors": 3}, other)])

    import_file(url, tmp_path / "housing.geojson", "buildings", Settings())
    report = import_file(url, tmp_path / "fire.geojson", "buildings", Settings())
    assert (report.counts["merged"], report.counts["inserted"]) == (4, 1)
    assert rows(url, "SELECT count(*) FROM building") == [(6,)]
    links = rows(
        url,
        "SELECT b.source_id, l.source, l.source_id, l.matched_by FROM source_link l "
        "JOIN building b ON b.id = l.entity_id ORDER BY l.source_id",
    )
    assert links == [(f"H{i}", "fire", f"F{i}", "footprint_overlap") for i in range(4)]
    # the merged entity keeps housing's geometry and name and gains the fire brigade's floors
    assert rows(url, "SELECT name, floors FROM building WHERE source_id = 'H0'") == [("楼0", 6)]

    again = import_file(url, tmp_path / "fire.geojson", "buildings", Settings())
    assert (again.counts["inserted"], again.counts["updated"], again.counts["merged"]) == (0, 5, 0)
    assert rows(url, "SELECT count(*) FROM building") == [(6,)]
    assert rows(url, "SELECT count(*) FROM source_link") == [(4,)]


def test_residents_with_the_same_id_number_merge(url, tmp_path):
    x, y = HEFEI
    police = tmp_path / "police.csv"
    police.write_text(
        "id,姓名,身份证号,lon,lat\n"
        f"P1,张伟,{id_number(1)},{x},{y}\nP2,李娜,{id_number(2)},{x + 0.001},{y}\n",
        encoding="utf-8",
    )
    civil = tmp_path / "civil.csv"
    civil.write_text(
        "id,name,id_number,phone,lon,lat,hukou\n"
        f"C7,张伟,{id_number(1)},13800001111,{x},{y},户籍\n"
        f"C8,王芳,{id_number(3)},13900002222,{x},{y + 0.001},流动\n",
        encoding="utf-8",
    )
    settings = Settings()
    first = import_file(url, police, "residents", settings)
    assert first.counts["inserted"] == 2
    # sex and birth year come from the ID number; the clear number is stored nowhere
    assert rows(url, "SELECT sex, birth_year FROM resident WHERE source_id = 'P2'") == [("F", 1980)]
    report = import_file(url, civil, "residents", settings)
    assert (report.counts["merged"], report.counts["inserted"]) == (1, 1)
    assert rows(url, "SELECT count(*) FROM resident") == [(3,)]
    assert rows(
        url,
        "SELECT r.source_id, i.name, i.phone, i.id_hash FROM resident r "
        "JOIN resident_identity i ON i.resident_id = r.id WHERE r.source_id = 'P1'",
    ) == [("P1", "张伟", "13800001111", hash_id_number(id_number(1), settings.privacy.id_hash_key))]
    assert rows(url, "SELECT source, source_id, matched_by FROM source_link") == [
        ("civil", "C7", "id_hash")
    ]
    dump = rows(url, "SELECT string_agg(t::text, ' ') FROM resident_identity t")[0][0]
    assert id_number(1) not in dump and id_number(3) not in dump
    # the map's resident counts were refreshed by the import
    assert rows(url, "SELECT sum(n)::int FROM resident_stats") == [(3,)]


def test_devices_with_the_same_serial_merge(url, tmp_path):
    x, y = HEFEI
    a = tmp_path / "vendor.csv"
    a.write_text(f"id,kind,serial,lon,lat\nV1,camera,SN-001,{x},{y}\nV2,smoke,SN-002,{x},{y}\n")
    b = tmp_path / "property.csv"
    b.write_text(f"id,kind,serial,model,lon,lat\nPX,camera,SN-001,HK-2,{x},{y}\n")
    import_file(url, a, "devices", Settings())
    report = import_file(url, b, "devices", Settings())
    assert report.counts["merged"] == 1
    assert rows(url, "SELECT count(*) FROM device") == [(2,)]
    assert rows(url, "SELECT source_id, model FROM device WHERE serial = 'SN-001'") == [
        ("V1", "HK-2")
    ]
    assert rows(url, "SELECT source, source_id, matched_by FROM source_link") == [
        ("property", "PX", "serial")
    ]
    again = import_file(url, b, "devices", Settings())
    assert (again.counts["updated"], again.counts["inserted"]) == (1, 0)
