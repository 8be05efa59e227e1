"""The camera field-of-view wedge as one SQL function, shared by the map, coverage and questions.

``onemap_camera_wedge(geom, loc, heading, fov, range_m)``: the polygon a camera sees — a circle of
``range_m`` metres when ``fov`` is 360°, a sector of 12 steps otherwise, the stored geometry when
any of heading, fov or range is unknown. It was an SQL text spliced into three modules (one
rewriting the alias with a regular expression); the expression is unchanged.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WEDGE_STEPS = 12


def upgrade() -> None:
    op.execute(
        f"""CREATE OR REPLACE FUNCTION onemap_camera_wedge(
    geom geometry, loc geometry, heading double precision, fov double precision,
    range_m double precision) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE
  WHEN heading IS NULL OR fov IS NULL OR range_m IS NULL THEN geom
  WHEN fov >= 360 THEN ST_Buffer(loc::geography, range_m, 'quad_segs=6')::geometry
  ELSE ST_MakePolygon(ST_MakeLine(
    ARRAY[loc]
    || ARRAY(
        SELECT ST_Project(loc::geography, range_m,
                          radians(heading - fov / 2 + fov * i / {WEDGE_STEPS}.0))::geometry
        FROM generate_series(0, {WEDGE_STEPS}) AS i)
    || ARRAY[loc]))
END
$$"""
    )


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION IF EXISTS onemap_camera_wedge("
        "geometry, geometry, double precision, double precision, double precision)"
    )
