"""Precomputed camera coverage gaps: per fire lane and road, its length, the length inside any
camera's field of view and the uncovered part; a state row whose ``version`` statement-level
triggers bump on every change of cameras, fire lanes or roads, so readers know when the
precomputed result is older than the data (``python -m analytics coverage --refresh``).

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE OR REPLACE FUNCTION onemap_coverage_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO coverage_gap_state (id, version, changed_at) VALUES (1, 1, clock_timestamp())
    ON CONFLICT (id) DO UPDATE
    SET version = coverage_gap_state.version + 1, changed_at = excluded.changed_at;
    RETURN NULL;
END $$"""
"""Marks the precomputed coverage gaps stale (once per statement, never per row; the row comes
back if a reset of the store emptied the table)."""

WATCHED = {
    "device": "kind, loc, geom, heading, fov, range_m",
    "facility": "kind, geom",
    "road": "geom",
}
"""Tables and the columns whose updates change coverage (status and readings do not)."""


def _triggers() -> dict[str, str]:
    triggers = {}
    for table, columns in WATCHED.items():
        triggers[f"{table}_coverage_changed"] = (
            f"AFTER INSERT OR DELETE OR UPDATE OF {columns} ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION onemap_coverage_changed()"
        )
        triggers[f"{table}_coverage_truncated"] = (
            f"AFTER TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION "
            "onemap_coverage_changed()"
        )
    return triggers


def upgrade() -> None:
    op.create_table(
        "coverage_gap",
        sa.Column("kind", sa.String(16), nullable=False, comment="fire_lanes or roads"),
        sa.Column("line_id", sa.BigInteger, nullable=False, comment="facility.id or road.id"),
        sa.Column("length_m", sa.Float, nullable=False, comment="geodesic length of the line"),
        sa.Column("covered_m", sa.Float, nullable=False, comment="length inside any camera's view"),
        sa.Column(
            "geom",
            Geometry(
                srid=4326,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
            comment="the uncovered part (empty when all is covered)",
        ),
        sa.PrimaryKeyConstraint("kind", "line_id", name=op.f("pk_coverage_gap")),
        sa.CheckConstraint("kind IN ('fire_lanes', 'roads')", name=op.f("ck_coverage_gap_kind")),
    )
    op.create_geospatial_index(
        "idx_coverage_gap_geom",
        "coverage_gap",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "coverage_gap_state",
        sa.Column("id", sa.SmallInteger, nullable=False),
        sa.Column(
            "version",
            sa.BigInteger,
            server_default="0",
            nullable=False,
            comment="bumped by every change of cameras, fire lanes or roads",
        ),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "refreshed_version",
            sa.BigInteger,
            nullable=True,
            comment="the version coverage_gap was computed at (NULL: never)",
        ),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_gap_state")),
        sa.CheckConstraint("id = 1", name=op.f("ck_coverage_gap_state_one_row")),
    )
    op.execute("INSERT INTO coverage_gap_state (id, version, changed_at) VALUES (1, 0, now())")
    op.execute(FUNCTION)
    for name, body in _triggers().items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    for name in _triggers():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {name.split('_coverage_')[0]}")
    op.execute("DROP FUNCTION IF EXISTS onemap_coverage_changed()")
    op.drop_table("coverage_gap_state")
    op.drop_geospatial_index(
        "idx_coverage_gap_geom",
        table_name="coverage_gap",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_table("coverage_gap")
