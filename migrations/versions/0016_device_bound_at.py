"""``device.bound_at``: when a device was bound to its gateway by ``twin gateway add
--devices-of-area`` or the simulator's assignment. The offline rule gives a device with no reading
since then a grace period (``twin_offline_grace_minutes``) instead of judging it by an old register
time. NULL for devices created already bound (judged as before).

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "device",
        sa.Column(
            "bound_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="when the gateway commands bound it to its gateway (offline grace)",
        ),
    )


def downgrade() -> None:
    op.drop_column("device", "bound_at")
