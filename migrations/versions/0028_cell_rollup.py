"""Per-cell rollups of the zoomed-out map (issue 15): ``event_cell`` (incidents per UTC day, UTC
month and over all time, per stored ``h3_r7``/``h3_r9`` pair, with their severity sum) and
``feature_cell`` (rows of device, organization, facility, building per kind and stored cell
pair), kept exact by statement-level triggers with transition tables (INSERT, UPDATE, DELETE,
TRUNCATE; COPY fires them too) and back-filled here.

Both cells of a row are kept because the layers derive resolutions 5..7 from ``h3_r7`` and 8
from ``h3_r9`` (:func:`geodata.cells.cell_sql`): a rollup keyed by one of them could not give the
other's counts. Readers: :mod:`geodata.rollup`.

Revision ID: 0028
Revises: 0027
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FEATURE_SOURCES = {"device": "kind", "organization": "kind", "facility": "kind", "building": None}
"""Tables counted in ``feature_cell`` and the column their ``kind`` is (None: one kind '')."""

EVENT_KEYS = """CROSS JOIN LATERAL (VALUES
    ('day', (d.reported_at AT TIME ZONE 'UTC')::date),
    ('month', date_trunc('month', d.reported_at AT TIME ZONE 'UTC')::date),
    ('all', '-infinity'::date)) AS k(span, start)"""
"""The three rollup rows an incident counts in (its UTC day, its UTC month, all time)."""

EVENT_FUNCTION = f"""
CREATE FUNCTION onemap_event_cell_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO event_cell AS c (span, start, h3_r7, h3_r9, n, s)
    SELECT k.span, k.start, d.h3_r7, d.h3_r9, count(*), sum(d.severity)
    FROM new_rows AS d {EVENT_KEYS}
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
          SELECT reported_at, h3_r7, h3_r9, -1, -severity::int FROM old_rows) AS d {EVENT_KEYS}
    GROUP BY 1, 2, 3, 4 HAVING sum(d.n) <> 0 OR sum(d.s) <> 0 ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT pk_event_cell
    DO UPDATE SET n = c.n + excluded.n, s = c.s + excluded.s;
  ELSE
    INSERT INTO event_cell AS c (span, start, h3_r7, h3_r9, n, s)
    SELECT k.span, k.start, d.h3_r7, d.h3_r9, -count(*), -sum(d.severity)
    FROM old_rows AS d {EVENT_KEYS}
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT pk_event_cell
    DO UPDATE SET n = c.n + excluded.n, s = c.s + excluded.s;
  END IF;
  DELETE FROM event_cell AS c
  USING (SELECT DISTINCT k.span, k.start, d.h3_r7, d.h3_r9 FROM old_rows AS d {EVENT_KEYS}) AS o
  WHERE c.n = 0 AND (c.span, c.start, c.h3_r7, c.h3_r9) = (o.span, o.start, o.h3_r7, o.h3_r9);
  RETURN NULL;
END
$fn$;
"""

FEATURE_FUNCTION = """
CREATE FUNCTION onemap_feature_cell_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  cls text := CASE WHEN TG_NARGS > 0 THEN format('d.%I::text', TG_ARGV[0]) ELSE '''''' END;
  upsert text := 'INSERT INTO feature_cell AS c (source, kind, h3_r7, h3_r9, n) '
    || 'SELECT %L, ' || cls || ', d.h3_r7, d.h3_r9, sum(d.n) FROM (%s) AS d '
    || 'GROUP BY 2, 3, 4 HAVING sum(d.n) <> 0 ORDER BY 2, 3, 4 '
    || 'ON CONFLICT ON CONSTRAINT pk_feature_cell DO UPDATE SET n = c.n + excluded.n';
BEGIN
  IF TG_OP = 'INSERT' THEN
    EXECUTE format(upsert, TG_TABLE_NAME, 'SELECT *, 1 AS n FROM new_rows');
    RETURN NULL;
  ELSIF TG_OP = 'UPDATE' THEN
    EXECUTE format(upsert, TG_TABLE_NAME,
      'SELECT *, 1 AS n FROM new_rows UNION ALL SELECT *, -1 FROM old_rows');
  ELSE
    EXECUTE format(upsert, TG_TABLE_NAME, 'SELECT *, -1 AS n FROM old_rows');
  END IF;
  EXECUTE format('DELETE FROM feature_cell AS c USING (SELECT DISTINCT %L AS source, '
    || cls || ' AS kind, d.h3_r7, d.h3_r9 FROM old_rows AS d) AS o WHERE c.n = 0 '
    || 'AND (c.source, c.kind, c.h3_r7, c.h3_r9) = (o.source, o.kind, o.h3_r7, o.h3_r9)',
    TG_TABLE_NAME);
  RETURN NULL;
END
$fn$;
"""

TRUNCATE_FUNCTION = """
CREATE FUNCTION onemap_cell_truncate() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_TABLE_NAME = 'event' THEN
    DELETE FROM event_cell;
  ELSE
    DELETE FROM feature_cell WHERE source = TG_TABLE_NAME;
  END IF;
  RETURN NULL;
END
$fn$;
"""


def _triggers(table: str, function: str, args: str = "") -> list[str]:
    call = f"EXECUTE FUNCTION {function}({args})"
    return [
        f"CREATE TRIGGER {table}_cell_insert AFTER INSERT ON {table} "
        f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT {call}",
        f"CREATE TRIGGER {table}_cell_update AFTER UPDATE ON {table} "
        f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT {call}",
        f"CREATE TRIGGER {table}_cell_delete AFTER DELETE ON {table} "
        f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT {call}",
        f"CREATE TRIGGER {table}_cell_truncate AFTER TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION onemap_cell_truncate()",
    ]


def upgrade() -> None:
    op.create_table(
        "event_cell",
        sa.Column("span", sa.String(8), nullable=False, comment="day, month or all"),
        sa.Column("start", sa.Date(), nullable=False, comment="UTC day or month; -infinity: all"),
        sa.Column("h3_r7", sa.BigInteger(), nullable=False),
        sa.Column("h3_r9", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False, comment="incidents"),
        sa.Column("s", sa.BigInteger(), nullable=False, comment="sum of their severity"),
        sa.CheckConstraint("span IN ('day', 'month', 'all')", name=op.f("ck_event_cell_span")),
    )
    op.create_table(
        "feature_cell",
        sa.Column("source", sa.String(32), nullable=False, comment="the table counted"),
        sa.Column("kind", sa.String(64), nullable=False, comment="its kind ('' if none)"),
        sa.Column("h3_r7", sa.BigInteger(), nullable=False),
        sa.Column("h3_r9", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    # the counts ride in the primary keys' indexes: reads are index-only scans
    op.execute(
        "ALTER TABLE event_cell ADD CONSTRAINT pk_event_cell "
        "PRIMARY KEY (span, start, h3_r7, h3_r9) INCLUDE (n, s)"
    )
    op.execute(
        "ALTER TABLE feature_cell ADD CONSTRAINT pk_feature_cell "
        "PRIMARY KEY (source, kind, h3_r7, h3_r9) INCLUDE (n)"
    )
    # the back-fill, in key order (a period's rows then sit on few pages), before the triggers
    # exist and under a lock that keeps writers out
    op.execute("LOCK TABLE event, device, organization, facility, building IN SHARE MODE")
    op.execute(
        f"""INSERT INTO event_cell (span, start, h3_r7, h3_r9, n, s)
SELECT k.span, k.start, d.h3_r7, d.h3_r9, count(*), sum(d.severity)
FROM event AS d {EVENT_KEYS} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"""
    )
    for table, column in FEATURE_SOURCES.items():
        cls = f"d.{column}::text" if column else "''"
        op.execute(
            f"""INSERT INTO feature_cell (source, kind, h3_r7, h3_r9, n)
SELECT '{table}', {cls}, d.h3_r7, d.h3_r9, count(*) FROM {table} AS d
GROUP BY 2, 3, 4 ORDER BY 2, 3, 4"""
        )
    op.execute(EVENT_FUNCTION)
    op.execute(FEATURE_FUNCTION)
    op.execute(TRUNCATE_FUNCTION)
    for stmt in _triggers("event", "onemap_event_cell_apply"):
        op.execute(stmt)
    for table, column in FEATURE_SOURCES.items():
        for stmt in _triggers(table, "onemap_feature_cell_apply", f"'{column}'" if column else ""):
            op.execute(stmt)
    op.execute("ANALYZE event_cell")
    op.execute("ANALYZE feature_cell")


def downgrade() -> None:
    for table in ("event", *FEATURE_SOURCES):
        for what in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_cell_{what} ON {table}")
    for function in (
        "onemap_event_cell_apply",
        "onemap_feature_cell_apply",
        "onemap_cell_truncate",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.drop_table("feature_cell")
    op.drop_table("event_cell")
