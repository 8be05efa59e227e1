"""Photos as records (``photo``) and who did a step (``event_log.actor_kind``).

A photo taken while handling an incident is a row: the incident, the log step it came with,
the account that took it, when, the stored (re-encoded, EXIF-free) size, its sha256, the kind
(``before`` 处置前 / ``after`` 处置后), its pixel size and where the file and its thumbnail lie
under the data folder. ``event_log.actor_kind`` says what kind of actor wrote a step
(``account``, ``system``, ``simulated``, ``open311``, ``resident``); ``actor_id`` (since 0001)
names the account when there is one.

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "event_log",
        sa.Column(
            "actor_kind",
            sa.String(16),
            nullable=True,
            comment="account, system, simulated, open311 or resident (migration 0022)",
        ),
    )
    op.create_table(
        "photo",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column(
            "event_id",
            sa.BigInteger(),
            sa.ForeignKey("event.id", ondelete="CASCADE", name="fk_photo_event_id_event"),
            nullable=False,
        ),
        sa.Column(
            "log_id",
            sa.BigInteger(),
            sa.ForeignKey("event_log.id", ondelete="SET NULL", name="fk_photo_log_id_event_log"),
        ),
        sa.Column(
            "account_id",
            sa.BigInteger(),
            sa.ForeignKey("account.id", ondelete="SET NULL", name="fk_photo_account_id_account"),
        ),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False, comment="before / after"),
        sa.Column("size", sa.Integer(), nullable=False, comment="stored bytes"),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(200), nullable=False, comment="under the data folder"),
        sa.Column("thumb_path", sa.String(200), nullable=False),
        sa.CheckConstraint("kind IN ('before', 'after')", name="ck_photo_kind"),
        sa.PrimaryKeyConstraint("id", name="pk_photo"),
    )
    op.create_index("ix_photo_event", "photo", ["event_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_photo_event", table_name="photo")
    op.drop_table("photo")
    op.drop_column("event_log", "actor_kind")
