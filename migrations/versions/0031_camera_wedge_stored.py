"""Each camera's field-of-view wedge stored on its row, with GiST indexes for the join of
cameras and fire lanes (issue 15).

``device.fov_wedge`` is a generated column: ``onemap_camera_wedge(geom, loc, heading, fov,
range_m)`` (migration 0015) for cameras, NULL for other devices. PostgreSQL recomputes it on
every insert and update, so it cannot drift from the function. The analyst question "fire lanes
no camera sees" built all 32,000 wedges per query (about half its 1.5 s at full size); with the
stored wedge and its index the join is index-driven. A partial GiST index over the fire lanes
alone (40,000 of 172,000 facilities) makes each camera's probe of the lanes cheaper still: the
whole-table index visits about four times the entries and fetches three other facilities per
lane found.

The function's body now names PostGIS's functions and types with their schema (as 0017 did for
``onemap_close_bin``): ``pg_restore`` fills ``device`` under an empty ``search_path``, and the
generated column calls the function for every camera it restores. Same body otherwise, same
results.

Adding the column rewrites ``device`` (about a million rows at full size) under an exclusive
lock. If ``onemap_camera_wedge`` is ever redefined (or an upgrade of PostGIS changes its
geodesy), the stored wedges must be recomputed: ``UPDATE device SET heading = heading WHERE
kind = 'camera'`` does it.

Revision ID: 0031
Revises: 0030
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WEDGE = "CASE WHEN kind = 'camera' THEN onemap_camera_wedge(geom, loc, heading, fov, range_m) END"
"""The stored expression (kept equal to ``geodata.models.Device.fov_wedge``)."""

WEDGE_STEPS = 12
FUNCTION = """CREATE OR REPLACE FUNCTION onemap_camera_wedge(
    geom geometry, loc geometry, heading double precision, fov double precision,
    range_m double precision) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE
  WHEN heading IS NULL OR fov IS NULL OR range_m IS NULL THEN geom
  WHEN fov >= 360 THEN {p}ST_Buffer(loc::{p}geography, range_m, 'quad_segs=6')::{p}geometry
  ELSE {p}ST_MakePolygon({p}ST_MakeLine(
    ARRAY[loc]
    || ARRAY(
        SELECT {p}ST_Project(loc::{p}geography, range_m,
                          radians(heading - fov / 2 + fov * i / {steps}.0))::{p}geometry
        FROM generate_series(0, {steps}) AS i)
    || ARRAY[loc]))
END
$$"""
"""Migration 0015's function; ``p`` is the schema prefix of PostGIS's names (0015: none)."""


def upgrade() -> None:
    op.execute(FUNCTION.format(p="public.", steps=WEDGE_STEPS))
    op.add_column(
        "device",
        sa.Column(
            "fov_wedge",
            Geometry("GEOMETRY", 4326, spatial_index=False),
            sa.Computed(WEDGE, persisted=True),
            comment="cameras: the field-of-view wedge (generated)",
        ),
    )
    op.create_index(
        "ix_device_fov_wedge",
        "device",
        ["fov_wedge"],
        postgresql_using="gist",
        postgresql_where="kind = 'camera'",
    )
    op.create_index(
        "ix_facility_fire_lane_geom",
        "facility",
        ["geom"],
        postgresql_using="gist",
        postgresql_where="kind = 'fire_lane'",
    )
    op.execute("ANALYZE device")


def downgrade() -> None:
    op.drop_index("ix_facility_fire_lane_geom", table_name="facility")
    op.drop_index("ix_device_fov_wedge", table_name="device")
    op.drop_column("device", "fov_wedge")
    op.execute(FUNCTION.format(p="", steps=WEDGE_STEPS))
