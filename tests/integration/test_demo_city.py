"""The demo city in a real PostGIS: partitions, households, area assignment, H3 cells,
population structure, privacy, incidents, and refusal to build into a non-empty store."""

from __future__ import annotations

import h3
import pytest
import shapely
from sqlalchemy import text

from geodata import vocab
from geodata.cells import representative_points
from geodata.demo import build_demo
from geodata.engine import get_engine
from geodata.errors import DemoError
from geodata.store import feature_counts
from tests.conftest import DEMO_TEST_ANCHOR

FEATURE_TABLES = (
    "road", "building", "house", "resident", "organization", "device", "facility", "event",
)  # fmt: skip
REF_YEAR = DEMO_TEST_ANCHOR.year


def scalar(url: str, sql: str, **params):
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def rows(url: str, sql: str, **params):
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql), params).all()


def test_hierarchy_shape(demo_url):
    levels = dict(rows(demo_url, "SELECT level, count(*) FROM area GROUP BY level"))
    assert levels["city"] == 1 and levels["district"] == 9
    assert levels["grid"] >= 10 and levels["community"] >= 4 and levels["street"] == 138
    names = dict(rows(demo_url, "SELECT code, name FROM area WHERE level = 'district'"))
    assert names == {
        "340102": "瑶海区", "340103": "庐阳区", "340104": "蜀山区", "340111": "包河区",
        "340121": "长丰县", "340122": "肥东县", "340123": "肥西县", "340124": "庐江县",
        "340181": "巢湖市",
    }  # fmt: skip
    # street offices carry official 9-digit codes of their district (统计用区划代码)
    assert (
        scalar(
            demo_url,
            """
        SELECT count(*) FROM area s JOIN area d ON d.id = s.parent_id
        WHERE s.level = 'street' AND (length(s.code) <> 9 OR left(s.code, 6) <> d.code)""",
        )
        == 0
    )
    assert (
        scalar(demo_url, "SELECT name FROM area WHERE code = '340103010'") == "双岗街道"
    )  # fmt: skip
    # codes extend the parent's; all areas are valid MultiPolygons in SRID 4326
    assert (
        scalar(
            demo_url,
            """
        SELECT count(*) FROM area c JOIN area p ON p.id = c.parent_id
        WHERE left(c.code, length(p.code)) <> p.code AND p.level <> 'city'""",
        )
        == 0
    )
    assert (
        scalar(
            demo_url,
            """
        SELECT count(*) FROM area WHERE GeometryType(geom) <> 'MULTIPOLYGON'
            OR ST_SRID(geom) <> 4326 OR NOT ST_IsValid(geom)""",
        )
        == 0
    )


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_each_level_partitions_its_parent(demo_url, depth):
    overlap = scalar(
        demo_url,
        """
        SELECT coalesce(sum(ST_Area(ST_Intersection(ST_Transform(a.geom, 32650),
                                                    ST_Transform(b.geom, 32650)))), 0)
        FROM area a JOIN area b ON a.parent_id = b.parent_id AND a.id < b.id AND a.geom && b.geom
        WHERE a.depth = :d""",
        d=depth,
    )
    assert overlap < 1.0, f"children at depth {depth} overlap by {overlap:.3f} m²"
    worst = rows(
        demo_url,
        """
        WITH u AS (SELECT parent_id, ST_Union(ST_Transform(geom, 32650)) AS g
                   FROM area WHERE depth = :d GROUP BY parent_id)
        SELECT ST_Area(ST_Intersection(u.g, ST_Transform(p.geom, 32650)))
                   / ST_Area(ST_Transform(p.geom, 32650)),
               ST_Area(ST_Difference(u.g, ST_Transform(p.geom, 32650)))
        FROM u JOIN area p ON p.id = u.parent_id""",
        d=depth,
    )
    # every parent has children, but street offices outside the detailed core have none
    parents = scalar(
        demo_url,
        """
        SELECT count(*) FROM area p WHERE p.depth = :d
          AND (p.level <> 'street' OR EXISTS (SELECT 1 FROM area g JOIN area c ON c.id = g.parent_id
                                               WHERE c.parent_id = p.id))""",
        d=depth - 1,
    )
    assert len(worst) == parents
    assert min(r[0] for r in worst) >= 0.999
    assert max(r[1] for r in worst) < 1.0  # children stay inside their parent


def test_modelled_populations_sum_to_their_parent_and_the_census(demo_url):
    assert scalar(demo_url, "SELECT population FROM area WHERE level = 'city'") == 9_369_881
    assert scalar(demo_url, "SELECT count(*) FROM area WHERE population IS NULL") == 0
    mismatched = rows(
        demo_url,
        """
        SELECT p.code, p.population, sum(c.population)
        FROM area p JOIN area c ON c.parent_id = p.id
        GROUP BY p.id HAVING sum(c.population) <> p.population""",
    )
    assert mismatched == []
    # the city is Hefei: about 11,470 km² (the committed outline, simplified from AMap's)
    km2 = scalar(demo_url, "SELECT ST_Area(geom::geography) / 1e6 FROM area WHERE level = 'city'")
    assert 11_300 < km2 < 11_600


def test_households_per_grid(demo_url):
    counts = rows(
        demo_url,
        """
        SELECT a.code, count(h.id) FILTER (WHERE h.occupancy <> 'vacant')
        FROM area a LEFT JOIN house h ON h.area_id = a.id
        WHERE a.level = 'grid' GROUP BY a.code""",
    )
    assert counts and all(300 <= n <= 500 for _, n in counts), counts
    # an occupied home has residents, a vacant one has none
    assert (
        scalar(
            demo_url,
            """
        SELECT count(*) FROM house h
        WHERE (h.occupancy = 'vacant') = EXISTS (SELECT 1 FROM resident r WHERE r.house_id = h.id)
        """,
        )
        == 0
    )


@pytest.mark.parametrize("table", ("area", *FEATURE_TABLES))
def test_area_id_is_the_deepest_area_covering_loc(demo_url, table):
    """The bulk loader bypasses the trigger: what it stored must equal what the trigger does."""
    own_level = "AND a.depth < t.depth AND a.id <> t.id" if table == "area" else ""
    mismatches = scalar(
        demo_url,
        f"""
        SELECT count(*) FROM {table} t
        WHERE t.area_id IS DISTINCT FROM (
            SELECT a.id FROM area a WHERE a.geom && t.loc AND ST_Covers(a.geom, t.loc) {own_level}
            ORDER BY a.depth DESC, a.id LIMIT 1)""",
    )
    assert mismatches == 0
    if table not in ("area", "road"):  # strictly inside one grid: no location on a shared edge
        assert (
            scalar(
                demo_url,
                f"""
            SELECT count(*) FROM {table} t WHERE (SELECT count(*) FROM area a
                WHERE a.level = 'grid' AND a.geom && t.loc AND ST_Covers(a.geom, t.loc)) <> 1
            """,
            )
            == 0
        )
    else:
        assert (
            scalar(demo_url, "SELECT count(*) FROM area WHERE area_id IS DISTINCT FROM parent_id")
            == 0
        )


@pytest.mark.parametrize("table", ("area", *FEATURE_TABLES))
def test_loc_and_h3_cells(demo_url, table):
    sample = rows(
        demo_url,
        f"""
        SELECT ST_AsBinary(geom), ST_X(loc), ST_Y(loc), h3_r7, h3_r9, source, source_id
        FROM {table} ORDER BY id LIMIT 300""",
    )
    assert sample
    geoms = shapely.from_wkb([bytes(r[0]) for r in sample])
    locs = representative_points(geoms)
    for r, p in zip(sample, locs, strict=True):
        lon, lat = r[1], r[2]
        assert (p.x, p.y) == (lon, lat)
        assert r[3] == h3.str_to_int(h3.latlng_to_cell(lat, lon, 7))
        assert r[4] == h3.str_to_int(h3.latlng_to_cell(lat, lon, 9))
        assert r[5] == "demo" and r[6].split("-")[0].isalpha()


def test_buildings_do_not_overlap_and_stay_in_their_grid(demo_url):
    assert (
        scalar(
            demo_url,
            """
        SELECT count(*) FROM building a JOIN building b
          ON a.id < b.id AND a.geom && b.geom AND ST_Intersects(a.geom, b.geom)""",
        )
        == 0
    )
    assert (
        scalar(
            demo_url,
            """
        SELECT count(*) FROM building b JOIN area a ON a.id = b.area_id
        WHERE NOT ST_CoveredBy(b.geom, a.geom) OR a.level <> 'grid'""",
        )
        == 0
    )
    bad = scalar(
        demo_url,
        """
        SELECT count(*) FROM building WHERE floors NOT BETWEEN 1 AND 40
            OR abs(height - 3 * floors) > 3 OR year_built NOT BETWEEN 1980 AND 2026""",
    )
    assert bad == 0


def test_roads(demo_url):
    """The street network runs along the grid edges, inside the city, with valid attributes."""
    kinds = dict(rows(demo_url, "SELECT kind, count(*) FROM road GROUP BY kind"))
    assert sum(kinds.values()) > 20
    assert set(kinds) <= set(vocab.ROAD_KINDS)
    assert {"trunk", "primary", "service"} <= set(kinds)  # district axes, compound roads
    outside = scalar(
        demo_url,
        """
        SELECT count(*) FROM road r, area c
        WHERE c.level = 'city' AND NOT ST_CoveredBy(r.geom, ST_Buffer(c.geom, 1e-7))""",
    )
    assert outside == 0
    bad = scalar(
        demo_url,
        """
        SELECT count(*) FROM road WHERE GeometryType(geom) <> 'MULTILINESTRING'
            OR NOT ST_IsValid(geom) OR name IS NULL OR lanes NOT BETWEEN 1 AND 8
            OR (oneway AND kind NOT IN ('tertiary', 'residential'))""",
    )
    assert bad == 0
    # every grid edge between two grids is a road: grid outlines lie on the network
    uncovered = scalar(
        demo_url,
        """
        WITH net AS (SELECT ST_Union(geom) AS g FROM road WHERE kind <> 'service')
        SELECT count(*) FROM area a, net
        WHERE a.level = 'grid'
          AND NOT ST_CoveredBy(ST_Boundary(a.geom), ST_Buffer(net.g, 1e-7))""",
    )
    assert uncovered == 0
    # buildings keep off the roads
    assert (
        scalar(
            demo_url,
            """
        SELECT count(*) FROM building b JOIN road r ON b.geom && r.geom
        WHERE ST_Intersects(b.geom, r.geom)""",
        )
        == 0
    )


def test_density(demo_url):
    """A dense core: grids of about 0.06–0.15 km², ≥ 10,000 residents per km²."""
    n, km2, grids = rows(
        demo_url,
        """
        SELECT (SELECT count(*) FROM resident),
               (SELECT sum(ST_Area(geom::geography)) / 1e6 FROM area WHERE level = 'grid'),
               (SELECT count(*) FROM area WHERE level = 'grid')""",
    )[0]
    assert 0.06 < km2 / grids < 0.15
    assert 10_000 < n / km2 < 20_000


def test_population_structure(demo_url):
    n, young, working, old, size = rows(
        demo_url,
        """
        SELECT count(*),
               avg((:y - birth_year < 15)::int), avg((:y - birth_year BETWEEN 15 AND 59)::int),
               avg((:y - birth_year >= 60)::int),
               count(*)::float / count(DISTINCT house_id)
        FROM resident""",
        y=REF_YEAR,
    )[0]
    young, working, old = float(young), float(working), float(old)
    assert n > 5000
    assert abs(young - 0.18) < 0.03 and abs(working - 0.63) < 0.03 and abs(old - 0.19) < 0.03
    assert 2.4 <= size <= 2.8
    male = scalar(demo_url, "SELECT avg((sex = 'M')::int) FROM resident")
    assert 0.46 < float(male) < 0.54
    disabled = scalar(demo_url, "SELECT avg(('disabled' = ANY(care_tags))::int) FROM resident")
    assert 0.015 < float(disabled) < 0.05


def test_elderly_alone_tag_means_60_plus_living_alone(demo_url):
    mismatches = scalar(
        demo_url,
        """
        WITH hh AS (SELECT house_id, count(*) AS n FROM resident GROUP BY house_id)
        SELECT count(*) FROM resident r JOIN hh USING (house_id)
        WHERE ('elderly_alone' = ANY(r.care_tags)) <> (:y - r.birth_year >= 60 AND hh.n = 1)
        """,
        y=REF_YEAR,
    )
    assert mismatches == 0
    assert (
        scalar(demo_url, "SELECT count(*) FROM resident WHERE 'elderly_alone' = ANY(care_tags)") > 0
    )
    # every elderly person living alone has a door sensor at home
    assert (
        scalar(
            demo_url,
            """
        SELECT count(*) FROM resident r WHERE 'elderly_alone' = ANY(r.care_tags)
          AND NOT EXISTS (SELECT 1 FROM device d WHERE d.kind = 'door' AND d.house_id = r.house_id)
        """,
        )
        == 0
    )


def test_identifiers_only_hashed(demo_url):
    assert scalar(demo_url, "SELECT count(*) FROM resident") == scalar(
        demo_url, "SELECT count(*) FROM resident_identity WHERE id_hash ~ '^[0-9a-f]{64}$'"
    )
    assert scalar(
        demo_url, "SELECT count(DISTINCT id_hash) FROM resident_identity"
    ) > 0.999 * scalar(demo_url, "SELECT count(*) FROM resident_identity")
    id_like = "[0-9]{17}[0-9Xx]"
    for table, cols in {
        "resident_identity": ("name", "phone", "id_hash"),
        "building": ("name", "address"),
        "organization": ("name", "address"),
        "event": ("title", "description"),
        "event_log": ("actor", "note"),
    }.items():
        cond = " OR ".join(f"{c} ~ '{id_like}'" for c in cols if c != "id_hash")
        assert scalar(demo_url, f"SELECT count(*) FROM {table} WHERE {cond}") == 0
    assert (
        scalar(demo_url, "SELECT count(*) FROM resident_identity WHERE phone !~ '^1[3-9][0-9]{9}$'")
        == 0
    )


def test_incidents_are_consistent(demo_url):
    ref = DEMO_TEST_ANCHOR
    n, residents = rows(
        demo_url, "SELECT (SELECT count(*) FROM event), (SELECT count(*) FROM resident)"
    )[0]
    assert 0.06 < n / residents < 0.15
    assert (
        scalar(
            demo_url,
            """
        SELECT count(*) FROM event
        WHERE reported_at >= :ref OR reported_at < :ref - interval '366 days'
           OR due_at <= reported_at
           OR (status IN ('resolved', 'closed')) <> (resolved_at IS NOT NULL)
           OR (status IN ('closed', 'rejected')) <> (closed_at IS NOT NULL)
           OR resolved_at < reported_at OR closed_at < coalesce(resolved_at, reported_at)
           OR closed_at >= :ref""",
            ref=ref,
        )
        == 0
    )
    # the log replays every incident: starts with a report, ends in the current status and level
    assert (
        scalar(
            demo_url,
            """
        SELECT count(*) FROM event e
        WHERE (SELECT action FROM event_log l WHERE l.event_id = e.id ORDER BY at, id LIMIT 1)
                  IS DISTINCT FROM 'report'
           OR (SELECT to_status FROM event_log l WHERE l.event_id = e.id ORDER BY at DESC, id DESC
               LIMIT 1) IS DISTINCT FROM e.status
           OR coalesce((SELECT to_level FROM event_log l WHERE l.event_id = e.id
                        AND to_level IS NOT NULL ORDER BY at DESC, id DESC LIMIT 1), 'grid')
                  IS DISTINCT FROM e.level""",
        )
        == 0
    )
    old = rows(
        demo_url,
        """SELECT avg((status IN ('closed', 'rejected'))::int) FROM event
                            WHERE reported_at < :ref - interval '60 days'""",
        ref=ref,
    )[0][0]
    recent = rows(
        demo_url,
        """SELECT avg((status IN ('closed', 'rejected'))::int) FROM event
                               WHERE reported_at > :ref - interval '2 days'""",
        ref=ref,
    )[0][0]
    # recent incidents are mostly still being handled (a few dozen at the test scale)
    assert float(old) > 0.9 and (recent is None or float(recent) <= 0.6)
    levels = dict(rows(demo_url, "SELECT level, count(*) FROM event GROUP BY level"))
    assert levels.get("street", 0) > 0 and levels["grid"] > levels.get("street", 0)
    # clustered in space: the busiest tenth of the grids hold well over a tenth of incidents
    per_grid = sorted((r[0] for r in rows(demo_url, "SELECT count(*) FROM event GROUP BY area_id")),
                      reverse=True)  # fmt: skip
    top = max(1, len(per_grid) // 10)
    assert sum(per_grid[:top]) / sum(per_grid) > 1.3 * top / len(per_grid)
    # device alarms point at a device of the right kind, at its location
    assert (
        scalar(
            demo_url,
            """
        SELECT count(*) FROM event e LEFT JOIN device d ON d.id = e.device_id
        WHERE e.category LIKE 'alarm.%'
          AND (d.id IS NULL OR d.kind <> split_part(e.category, '.', 2)
               OR NOT ST_Equals(d.loc, e.loc))
        """,
        )
        == 0
    )


def test_things(demo_url):
    kinds = dict(rows(demo_url, "SELECT kind, count(*) FROM device GROUP BY kind"))
    assert {"camera", "smoke", "gas", "door", "water", "access_gate"} <= set(kinds)
    assert (
        scalar(
            demo_url,
            """SELECT count(*) FROM device WHERE kind = 'camera'
                               AND (heading IS NULL OR fov IS NULL OR range_m IS NULL)""",
        )
        == 0
    )
    status = dict(rows(demo_url, "SELECT status, count(*) FROM device GROUP BY status"))
    assert status["online"] > 0.85 * sum(status.values()) and status.get("offline", 0) > 0
    fac = dict(rows(demo_url, "SELECT kind, count(*) FROM facility GROUP BY kind"))
    assert {"hydrant", "fire_lane", "aed", "service_centre", "waste_station"} <= set(fac)
    assert fac["service_centre"] == scalar(
        demo_url, "SELECT count(*) FROM area WHERE level = 'community'"
    )
    assert (
        scalar(
            demo_url,
            """SELECT count(*) FROM facility WHERE kind = 'fire_lane'
                               AND GeometryType(geom) <> 'LINESTRING'""",
        )
        == 0
    )
    orgs = dict(rows(demo_url, "SELECT kind, count(*) FROM organization GROUP BY kind"))
    assert {"property", "shop", "enterprise", "party", "social", "government"} <= set(orgs)


def test_building_into_a_non_empty_store_changes_nothing(demo_url):
    before = feature_counts(demo_url)
    with pytest.raises(DemoError, match="already holds data"):
        build_demo(demo_url, scale=0.25, seed=1)
    assert feature_counts(demo_url) == before
