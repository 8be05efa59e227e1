"""Assessment without a recursive query or a sort of every group.

- ``area_unit``: every area with itself and each of its ancestors (up by ``parent_id``, else the
  covering ``area_id``), with the ancestor's level. A statement-level trigger on ``area``
  rebuilds it (areas are thousands of rows), so the assessment joins a plain table (a recursive
  query keeps PostgreSQL from planning in parallel).
- ``onemap_close_bin(status, reported_at, closed_at)``: the time-to-close histogram bin of a
  closed incident (edges ``onemap_close_bin_edges()``, about 4.4 % apart; NULL when not closed
  or closed before it was reported). The assessment by department, category or for all counts
  incidents per bin in a parallel aggregate, then sorts only the rows of the bins that hold its
  median and 90th percentile: bins choose rows, they never change a figure. Inlinable SQL
  functions, so the queries and the statistics below name the same expression.
- Statistics on event (department, category, bin): without them the planner takes the bin for
  a column of a million values and never aggregates per worker.
- A partial index on event_log (event_id, at) covering the escalations and reopenings: the
  assessment reads them without visiting the log's pages.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BINS_PER_DOUBLING = 16
DOUBLINGS = 30
"""Edges 0 s, 1 s, 2^(1/16) s … 2^30 s (34 years): interval input keeps whole seconds in int32."""


def _edges() -> str:
    """The bin edges as an interval[] literal (microsecond precision, strictly increasing)."""
    micros = [0]
    for k in range(BINS_PER_DOUBLING * DOUBLINGS + 1):
        us = round(2 ** (k / BINS_PER_DOUBLING) * 1_000_000)
        if us > micros[-1]:
            micros.append(us)
    return (
        "{" + ",".join(f'"{us // 1_000_000}.{us % 1_000_000:06d} seconds"' for us in micros) + "}"
    )


CLOSE_BIN = f"""
CREATE OR REPLACE FUNCTION onemap_close_bin_edges() RETURNS interval[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT '{_edges()}'::interval[] $$;
CREATE OR REPLACE FUNCTION onemap_close_bin(status text, reported_at timestamptz,
                                            closed_at timestamptz)
RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN status = 'closed' AND closed_at >= reported_at
                THEN width_bucket(closed_at - reported_at, onemap_close_bin_edges()) END
$$"""
"""Bin ``b`` holds times in ``[edges[b], edges[b + 1])`` (the last one has no upper edge)."""

REBUILD = """
CREATE OR REPLACE FUNCTION onemap_area_unit_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- one rebuild at a time: a second one waits, then sees the first one's rows
    LOCK TABLE area_unit IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM area_unit;
    INSERT INTO area_unit (area_id, unit, level)
    WITH RECURSIVE up(area_id, unit) AS (
        SELECT id, id FROM area
        UNION
        SELECT up.area_id, COALESCE(a.parent_id, a.area_id)
        FROM up JOIN area a ON a.id = up.unit
        WHERE COALESCE(a.parent_id, a.area_id) IS NOT NULL
    )
    SELECT up.area_id, up.unit, p.level FROM up JOIN area p ON p.id = up.unit;
END $$"""
"""Rebuilds area_unit from area (UNION: a cycle of parents ends instead of looping)."""

REFRESH = """
CREATE OR REPLACE FUNCTION onemap_area_unit_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM onemap_area_unit_rebuild();
    RETURN NULL;
END $$"""
"""The trigger: once per statement that changes areas, never per row."""

TRIGGER = (
    "CREATE TRIGGER area_unit_refresh AFTER INSERT OR DELETE OR TRUNCATE "
    "OR UPDATE OF id, parent_id, area_id, level, loc ON area "
    "FOR EACH STATEMENT EXECUTE FUNCTION onemap_area_unit_refresh()"
)

LOGGED = sa.text("action IN ('escalate', 'reopen')")

STATISTICS = (
    "CREATE STATISTICS event_assessment_groups (ndistinct) ON department, category, "
    "(onemap_close_bin(status, reported_at, closed_at)) FROM event"
)


def upgrade() -> None:
    op.create_table(
        "area_unit",
        sa.Column("area_id", sa.BigInteger, nullable=False),
        sa.Column(
            "unit",
            sa.BigInteger,
            nullable=False,
            comment="the area itself or one of its ancestors",
        ),
        sa.Column("level", sa.String(16), nullable=False, comment="the unit's level"),
        sa.PrimaryKeyConstraint("area_id", "unit", name=op.f("pk_area_unit")),
    )
    op.create_index("ix_area_unit_level_unit", "area_unit", ["level", "unit", "area_id"])
    op.execute(REBUILD)
    op.execute(REFRESH)
    op.execute(TRIGGER)
    op.execute("SELECT onemap_area_unit_rebuild()")
    op.execute(CLOSE_BIN)
    op.execute(STATISTICS)
    op.execute("ANALYZE event")
    op.create_index(
        "ix_event_log_escalate_reopen_event_at",
        "event_log",
        ["event_id", "at"],
        postgresql_include=["action"],
        postgresql_where=LOGGED,
    )


def downgrade() -> None:
    op.drop_index("ix_event_log_escalate_reopen_event_at", table_name="event_log")
    op.execute("DROP STATISTICS IF EXISTS event_assessment_groups")
    op.execute("DROP FUNCTION IF EXISTS onemap_close_bin(text, timestamptz, timestamptz)")
    op.execute("DROP FUNCTION IF EXISTS onemap_close_bin_edges()")
    op.execute("DROP TRIGGER IF EXISTS area_unit_refresh ON area")
    op.execute("DROP FUNCTION IF EXISTS onemap_area_unit_refresh()")
    op.execute("DROP FUNCTION IF EXISTS onemap_area_unit_rebuild()")
    op.drop_index("ix_area_unit_level_unit", table_name="area_unit")
    op.drop_table("area_unit")
