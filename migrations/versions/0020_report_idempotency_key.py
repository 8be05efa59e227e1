"""Idempotent reports from the grid worker's form: ``report_key`` (form key → incident).

Each report form carries a key made when the form is shown; the first submit with a key makes
the incident and stores the key with its id, later submits with the same key (a double tap, a
retried request) get that incident back.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_key",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.BigInteger(), sa.ForeignKey("event.id", ondelete="CASCADE")),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("report_key")
