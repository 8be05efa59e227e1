"""Finer and coarser periods in ``event_cell``, stored area outlines (issue 15).

UTC hours and ISO weeks (Monday) next to
days, months and all time, so a 30-day window of local days reads about six rows per cell (the
partial UTC days at its ends as hours, the rest as days and weeks) and no incident row; and an
index ``(h3_r9, reported_at)`` carrying what the rollup reader's raw parts need, so the view's
edge cells are counted from the index alone.

``start`` becomes a ``timestamp`` (the UTC instant the period starts; ``-infinity`` for all
time) because an hour is not a date. The trigger function of migration 0028 is replaced by one
writing the five periods; hours and weeks are back-filled under a lock that keeps writers out.

``area_shape``: each area's outline as the features layers send it at the whole zooms
:data:`SHAPE_ZOOMS` (``ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, tol), digits)`` for that
zoom's tolerance and digits), rewritten by a row trigger whenever an area's ``geom`` is written;
the 5,000 grids of a zoom-12 view are then read, not simplified. Readers match ``tol`` and
``digits`` exactly and compute what is not stored, so the text is always the computed one.

Revision ID: 0030
Revises: 0029
"""

import math
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = "(d.reported_at AT TIME ZONE 'UTC')"


def event_keys(spans: Sequence[str]) -> str:
    """The rollup rows an incident counts in, of ``spans`` (``start`` as timestamp)."""
    values = {
        "hour": f"('hour', date_trunc('hour', {UTC_TIME}))",
        "day": f"('day', date_trunc('day', {UTC_TIME}))",
        "week": f"('week', date_trunc('week', {UTC_TIME}))",
        "month": f"('month', date_trunc('month', {UTC_TIME}))",
        "all": "('all', '-infinity'::timestamp)",
    }
    rows = ",\n    ".join(values[s] for s in spans)
    return f"CROSS JOIN LATERAL (VALUES\n    {rows}) AS k(span, start)"


OLD_KEYS = """CROSS JOIN LATERAL (VALUES
    ('day', (d.reported_at AT TIME ZONE 'UTC')::date),
    ('month', date_trunc('month', d.reported_at AT TIME ZONE 'UTC')::date),
    ('all', '-infinity'::date)) AS k(span, start)"""
"""Migration 0028's keys (for the downgrade)."""


def event_function(keys: str) -> str:
    """Migration 0028's trigger function with the rollup rows ``keys``."""
    return f"""
CREATE OR REPLACE FUNCTION onemap_event_cell_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO event_cell AS c (span, start, h3_r7, h3_r9, n, s)
    SELECT k.span, k.start, d.h3_r7, d.h3_r9, count(*), sum(d.severity)
    FROM new_rows AS d {keys}
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT pk_event_cell
    DO UPDATE SET n = c.n + excluded.n, s = c.s + excluded.s;
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    INSERT INTO event_cell AS c (span, start, h3_r7, h3_r9, n, s)
    SELECT k.span, k.start, d.h3_r7, d.h3_r9, sum(d.n), sum(d.s)
    FROM (SELECT reported_at, h3_r7, h3_r9, 1 AS n, severity::int AS s FROM new_rows
          UNION ALL
          SELECT reported_at, h3_r7, h3_r9, -1, -severity::int FROM old_rows) AS d {keys}
    GROUP BY 1, 2, 3, 4 HAVING sum(d.n) <> 0 OR sum(d.s) <> 0 ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT pk_event_cell
    DO UPDATE SET n = c.n + excluded.n, s = c.s + excluded.s;
  ELSE
    INSERT INTO event_cell AS c (span, start, h3_r7, h3_r9, n, s)
    SELECT k.span, k.start, d.h3_r7, d.h3_r9, -count(*), -sum(d.severity)
    FROM old_rows AS d {keys}
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT pk_event_cell
    DO UPDATE SET n = c.n + excluded.n, s = c.s + excluded.s;
  END IF;
  DELETE FROM event_cell AS c
  USING (SELECT DISTINCT k.span, k.start, d.h3_r7, d.h3_r9 FROM old_rows AS d {keys}) AS o
  WHERE c.n = 0 AND (c.span, c.start, c.h3_r7, c.h3_r9) = (o.span, o.start, o.h3_r7, o.h3_r9);
  RETURN NULL;
END
$fn$;
"""


EDGE_INDEX = "ix_event_h3_r9_reported_at"
SHAPE_ZOOMS = range(10, 17)
"""Whole zooms whose outlines are stored (below 10 the areas drawn are few; above 16 their
outlines are barely simplified and views hold few)."""


def shape_level(zoom: int) -> tuple[float, int]:
    """The tolerance and digits of ``zoom`` (as :func:`layers.sql.tolerance` and
    :func:`layers.sql.precision` compute them; a level that differs is only never read)."""
    tol = 0.5 * (360.0 / (256.0 * 2.0**zoom))
    return tol, max(1, min(7, math.ceil(-math.log10(tol)) + 1))


def _levels() -> str:
    return ", ".join(
        f"('{tol!r}'::float8, {digits})" for tol, digits in map(shape_level, SHAPE_ZOOMS)
    )


def shapes_sql(rows: str) -> str:
    """The stored outlines of the areas ``rows`` (``id``, ``geom``): one statement for the
    back-fill and the trigger."""
    return f"""INSERT INTO area_shape (area_id, tol, digits, geojson)
  SELECT a.id, l.tol, l.digits, g.text
  FROM {rows} CROSS JOIN (VALUES {_levels()}) AS l(tol, digits)
  CROSS JOIN LATERAL (SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(a.geom, l.tol), l.digits)
                      AS text) AS g
  WHERE g.text IS NOT NULL"""


def shape_function() -> str:
    """The row trigger writing an area's stored outlines."""
    return f"""
CREATE FUNCTION onemap_area_shape_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  DELETE FROM area_shape WHERE area_id = NEW.id;
  {shapes_sql("(SELECT NEW.id, NEW.geom) AS a(id, geom)")};
  RETURN NULL;
END
$fn$;
"""


def upgrade() -> None:
    op.execute("LOCK TABLE event IN SHARE MODE")
    op.execute("ALTER TABLE event_cell DROP CONSTRAINT ck_event_cell_span")
    op.execute(
        "ALTER TABLE event_cell ALTER COLUMN start TYPE timestamp USING start::timestamp, "
        "ADD CONSTRAINT ck_event_cell_span "
        "CHECK (span IN ('hour', 'day', 'week', 'month', 'all'))"
    )
    op.execute("COMMENT ON COLUMN event_cell.span IS 'hour, day, week, month or all'")
    op.execute(
        "COMMENT ON COLUMN event_cell.start IS "
        "'UTC hour, day, week (Monday) or month it starts; -infinity: all'"
    )
    op.execute(event_function(event_keys(("hour", "day", "week", "month", "all"))))
    op.execute(
        f"""INSERT INTO event_cell (span, start, h3_r7, h3_r9, n, s)
SELECT k.span, k.start, d.h3_r7, d.h3_r9, count(*), sum(d.severity)
FROM event AS d {event_keys(("hour", "week"))} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"""
    )
    op.execute(
        f"CREATE INDEX {EDGE_INDEX} ON event (h3_r9, reported_at) INCLUDE (h3_r7, severity, geom)"
    )
    # a period's rows are a few index pages: parallel workers only add their start-up (tens of
    # ms on a busy machine) to a read of ~10 ms
    op.execute("ALTER TABLE event_cell SET (parallel_workers = 0)")
    op.execute("ANALYZE event_cell")
    _create_area_shape()


def _create_area_shape() -> None:
    op.create_table(
        "area_shape",
        sa.Column("area_id", sa.BigInteger(), nullable=False),
        sa.Column("tol", sa.Float(), nullable=False, comment="simplification tolerance (deg)"),
        sa.Column("digits", sa.SmallInteger(), nullable=False, comment="decimal digits"),
        sa.Column("geojson", sa.Text(), nullable=False, comment="the outline's GeoJSON text"),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_area_shape_area_id_area"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("area_id", "tol", "digits", name=op.f("pk_area_shape")),
    )
    op.execute("LOCK TABLE area IN SHARE MODE")
    op.execute(shapes_sql("area AS a") + " ORDER BY 1, 2, 3")
    op.execute(shape_function())
    op.execute(
        "CREATE TRIGGER area_shape_write AFTER INSERT OR UPDATE OF geom ON area "
        "FOR EACH ROW EXECUTE FUNCTION onemap_area_shape_apply()"
    )
    op.execute("ANALYZE area_shape")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS area_shape_write ON area")
    op.execute("DROP FUNCTION IF EXISTS onemap_area_shape_apply()")
    op.drop_table("area_shape")
    op.execute("LOCK TABLE event IN SHARE MODE")
    op.execute(f"DROP INDEX IF EXISTS {EDGE_INDEX}")
    op.execute("ALTER TABLE event_cell RESET (parallel_workers)")
    op.execute("DELETE FROM event_cell WHERE span IN ('hour', 'week')")
    op.execute(event_function(OLD_KEYS))
    op.execute("ALTER TABLE event_cell DROP CONSTRAINT ck_event_cell_span")
    op.execute(
        "ALTER TABLE event_cell ALTER COLUMN start TYPE date USING start::date, "
        "ADD CONSTRAINT ck_event_cell_span CHECK (span IN ('day', 'month', 'all'))"
    )
    op.execute("COMMENT ON COLUMN event_cell.span IS 'day, month or all'")
    op.execute("COMMENT ON COLUMN event_cell.start IS 'UTC day or month; -infinity: all'")
