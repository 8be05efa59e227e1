"""Moderation of the public Open311 feed: ``event.public_text_hidden`` with who and when.

An officer (a leader in scope, or an admin) can hide a resident's report text from
``/open311/v2/requests`` (FixMyStreet's moderation): the incident keeps its description for the
handlers; the public feed shows none.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "event",
        sa.Column(
            "public_text_hidden",
            sa.Boolean(),
            nullable=False,
            server_default="false",
            comment="an officer hid the description from the public Open311 feed (moderation)",
        ),
    )
    op.add_column(
        "event",
        sa.Column(
            "public_text_hidden_by",
            sa.String(64),
            nullable=True,
            comment="who hid (or last showed again) the public text",
        ),
    )
    op.add_column(
        "event",
        sa.Column(
            "public_text_hidden_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="when the public text was hidden or shown again",
        ),
    )


def downgrade() -> None:
    op.drop_column("event", "public_text_hidden_at")
    op.drop_column("event", "public_text_hidden_by")
    op.drop_column("event", "public_text_hidden")
