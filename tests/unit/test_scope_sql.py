"""The scope rules' SQL, written once: the area subtree and the map's spatial clauses."""

from __future__ import annotations

from geodata.area_subtree import PARENT_OR_COVER, roots, subtree_cte, subtree_ids, subtree_sql
from geodata.conditions import Conditions
from geodata.spatial_sql import area_clause, scope_clause


def test_map_clauses_over_a_row_keep_its_point_and_geometry():
    assert scope_clause("t.loc", "t.geom") == (
        "EXISTS (SELECT 1 FROM area s WHERE s.id = ANY(:scope) "
        "AND (ST_Intersects(s.geom, t.loc) OR ST_Intersects(t.geom, s.loc)))"
    )
    assert area_clause("t.loc") == (
        "ST_Intersects(t.loc, (SELECT sel.geom FROM area sel WHERE sel.id = :area))"
    )


def test_map_clauses_over_a_point():
    assert scope_clause("a.loc") == (
        "EXISTS (SELECT 1 FROM area s WHERE s.id = ANY(:scope) AND ST_Intersects(s.geom, a.loc))"
    )


def test_roots_bind_in_the_callers_style():
    many = roots("pyformat", "id", (3, 1))
    assert (many.sql, many.params) == ("id = ANY(%(id)s)", {"id": [3, 1]})
    one = roots("named", "code", "340104")
    assert (one.sql, one.params) == ("code = :code", {"code": "340104"})


def test_subtree_walks_the_declared_parent_unless_told_otherwise():
    assert "JOIN sub ON a.parent_id = sub.id" in subtree_cte("id = :id")
    assert f"JOIN sub ON {PARENT_OR_COVER} = sub.id" in subtree_sql("id = :id", PARENT_OR_COVER)
    assert subtree_sql("id = :id").endswith(" SELECT id FROM sub ORDER BY id")


def test_subtree_ids_runs_the_start_condition_with_its_parameters():
    seen = []

    def execute(sql, params):
        seen.append((sql, params))
        return [(1,), (4,)]

    assert subtree_ids(execute, roots("named", "id", 1)) == [1, 4]
    assert seen == [(subtree_sql("id = :id"), {"id": 1})]


def test_and_sql_appends_clauses():
    where = Conditions()
    assert where.and_sql == ""
    where.add("a = :a", a=1)
    where.add("b")
    assert where.and_sql == " AND a = :a AND b"
