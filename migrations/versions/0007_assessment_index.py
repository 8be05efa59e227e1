"""A partial index on event_log for the assessment's escalation and reopen rates.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_event_log_escalate_reopen",
        "event_log",
        ["action", "event_id"],
        unique=False,
        postgresql_where=sa.text("action IN ('escalate', 'reopen')"),
    )


def downgrade() -> None:
    op.drop_index("ix_event_log_escalate_reopen", table_name="event_log")
