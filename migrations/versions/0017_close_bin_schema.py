"""``onemap_close_bin`` names ``public.onemap_close_bin_edges()`` with its schema.

Migration 0012's body called ``onemap_close_bin_edges()`` unqualified. The extended statistics on
``event`` are built on ``onemap_close_bin``, so under the empty ``search_path`` that ``pg_restore``
(and any security-conscious session) uses, planning a query on ``event`` failed with "function
onemap_close_bin_edges() does not exist". Same body otherwise: still an inlinable SQL function
(no ``SET search_path``, which would stop inlining), same results.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLOSE_BIN = """CREATE OR REPLACE FUNCTION onemap_close_bin(status text, reported_at timestamptz,
                                            closed_at timestamptz)
RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN status = 'closed' AND closed_at >= reported_at
                THEN width_bucket(closed_at - reported_at, {edges}) END
$$"""


def upgrade() -> None:
    op.execute(CLOSE_BIN.format(edges="public.onemap_close_bin_edges()"))


def downgrade() -> None:
    op.execute(CLOSE_BIN.format(edges="onemap_close_bin_edges()"))
