"""Skip the area-assignment trigger entirely (WHEN clause) for trusted bulk loads.

The trigger function returned early when ``onemap.area_assigned`` was on, but PostgreSQL still
called it for every row; a WHEN condition avoids the call (a measurable share of a bulk load).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FEATURE_TABLES = (
    "area", "road", "building", "house", "resident", "organization", "device", "facility", "event",
)  # fmt: skip


def _create(table: str, when: str) -> None:
    op.execute(f"DROP TRIGGER IF EXISTS {table}_assign_area ON {table}")
    op.execute(
        f"CREATE TRIGGER {table}_assign_area BEFORE INSERT OR UPDATE OF loc, area_id "
        f"ON {table} FOR EACH ROW {when} EXECUTE FUNCTION onemap_assign_area()"
    )


def upgrade() -> None:
    for table in FEATURE_TABLES:
        _create(table, "WHEN (current_setting('onemap.area_assigned', true) IS DISTINCT FROM 'on')")


def downgrade() -> None:
    for table in FEATURE_TABLES:
        _create(table, "")
