"""When each API token was last used: ``api_token_use`` (token → last use).

A table of its own rather than a column of ``api_token``: the identity triggers of migration
0014 notify every process to forget its remembered identities whenever an ``api_token`` row
is updated, and a token's use is written about once a minute while it is used. Writes are
throttled per process and by the upsert's own condition (see
:func:`geodata.accounts.tokens.note_use`).

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_token_use",
        sa.Column(
            "token_id",
            sa.BigInteger(),
            sa.ForeignKey("api_token.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("api_token_use")
