"""The features' text joined in SQL (:func:`layers.providers.features.features_sql`) is byte for
byte what ``json_agg(json_build_object(…))`` wrote before: every feature layer, zoomed in and
out (simplified; areas' outlines read from ``area_shape`` at whole zooms 10–16), capped and not;
and the stored outlines follow every write of an area's geometry."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from geodata.accounts.viewer import Viewer
from geodata.demo import build_demo
from geodata.engine import get_engine
from geodata.query import BBox
from geodata.spatial_sql import WEDGE_SQL
from geodata.vocab import Role
from layers.base import Layer, ProviderName
from layers.providers.features import _order_sql, _properties, features_sql, page_query
from layers.query import LayerQuery
from layers.registry import LAYERS
from layers.sql import precision, tolerance
from tests.conftest import (
    DEMO_TEST_ANCHOR,
    DEMO_TEST_SCALE,
    DEMO_TEST_SEED,
    _fresh_database,
    incident_span,
)

FEATURE_LAYERS = [layer for layer in LAYERS if layer.provider == ProviderName.FEATURES]


def json_agg_sql(layer: Layer, where: str) -> str:
    """The page as it was written before: json objects aggregated by ``json_agg``."""
    geom = WEDGE_SQL if layer.shape == "fov_wedge" else "t.geom"
    return f"""WITH env AS (SELECT ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326) AS g),
hits AS (SELECT t.id, {_order_sql(layer)} AS rank, count(*) OVER () AS total
    FROM "{layer.source}" AS t, env WHERE {where} ORDER BY rank DESC, t.id LIMIT :limit)
SELECT coalesce(max(h.total), 0) AS n,
       COALESCE(json_agg(json_build_object(
           'type', 'Feature', 'id', t.id,
           'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology({geom}, :tol), :digits)::json,
           'properties', json_build_object({_properties(layer)})) ORDER BY h.rank DESC, t.id),
           '[]'::json)::text
FROM hits h JOIN "{layer.source}" AS t ON t.id = h.id"""


@pytest.mark.parametrize("layer", FEATURE_LAYERS, ids=lambda layer: layer.id)
@pytest.mark.parametrize(
    ("zoom", "limit"), [(10, 50), (12, 300), (12.5, 300), (14, 5000), (16, 5000), (18, 3)]
)
def test_feature_text_is_that_of_json_agg(demo_url, layer, zoom, limit):
    x0, y0, x1, y1, _, _ = incident_span(demo_url)
    query = LayerQuery(bbox=BBox(x0, y0, x1, y1), zoom=zoom, limit=limit)
    where, params = page_query(layer, query, Viewer(Role.admin))
    with get_engine(demo_url).connect() as conn:
        new = conn.execute(text(features_sql(layer, where)), params).one()
        old = conn.execute(text(json_agg_sql(layer, where)), params).one()
    assert new == old


def test_an_empty_view_is_an_empty_list(demo_url):
    layer = FEATURE_LAYERS[0]
    query = LayerQuery(bbox=BBox(10.0, 10.0, 10.001, 10.001), zoom=16, limit=10)
    where, params = page_query(layer, query, Viewer(Role.admin))
    with get_engine(demo_url).connect() as conn:
        assert tuple(conn.execute(text(features_sql(layer, where)), params).one()) == (0, "[]")


def stored_levels(url: str) -> set[tuple[float, int]]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(text("SELECT DISTINCT tol, digits FROM area_shape")).all()
    return {(tol, digits) for tol, digits in rows}


def test_stored_outlines_are_those_of_the_layers_zooms(demo_url):
    """Every whole zoom 10..16 is stored with the tolerance and digits the layers compute (a
    level that differed would never be read)."""
    assert stored_levels(demo_url) == {(tolerance(z), precision(z)) for z in range(10, 17)}


def test_stored_outlines_follow_the_areas(cluster):
    """Insert, move (the geometry rewritten), rename (not rewritten), delete: the stored
    outlines are always those computed from the areas' geometry (on a scratch store)."""
    with _fresh_database(cluster, "area_shape") as url:
        build_demo(url, scale=DEMO_TEST_SCALE, seed=DEMO_TEST_SEED, anchor=DEMO_TEST_ANCHOR)
        drift = """SELECT count(*) FROM (
            (SELECT area_id, tol, digits, geojson FROM area_shape
             EXCEPT SELECT a.id, s.tol, s.digits,
                 ST_AsGeoJSON(ST_SimplifyPreserveTopology(a.geom, s.tol), s.digits)
             FROM area AS a JOIN area_shape AS s ON s.area_id = a.id)
            UNION ALL
            (SELECT a.id, l.tol, l.digits, NULL FROM area AS a
             CROSS JOIN (SELECT DISTINCT tol, digits FROM area_shape) AS l
             EXCEPT SELECT area_id, tol, digits, NULL FROM area_shape)) AS d"""
        with get_engine(url).begin() as conn:
            assert conn.execute(text(drift)).scalar() == 0
            grid = conn.execute(text("SELECT id FROM area WHERE level = 'grid' LIMIT 1")).scalar()
            conn.execute(
                text("UPDATE area SET geom = ST_Multi(ST_Buffer(geom, 0.002, 2)) WHERE id = :id"),
                {"id": grid},
            )
            conn.execute(text("UPDATE area SET name = name || '-' WHERE level = 'street'"))
            conn.execute(
                text(
                    "INSERT INTO area (level, depth, name, geom, loc, h3_r7, h3_r9) "
                    "SELECT 'grid', depth, 'new', ST_Multi(ST_Translate(geom, 0.01, 0.01)), "
                    "ST_Translate(loc, 0.01, 0.01), h3_r7, h3_r9 FROM area WHERE id = :id"
                ),
                {"id": grid},
            )
            assert conn.execute(text(drift)).scalar() == 0
            conn.execute(text("DELETE FROM area WHERE level = 'grid' AND name = 'new'"))
            assert conn.execute(text(drift)).scalar() == 0
            n = conn.execute(text("SELECT count(*) FROM area")).scalar()
            assert conn.execute(text("SELECT count(*) FROM area_shape")).scalar() == 7 * n
