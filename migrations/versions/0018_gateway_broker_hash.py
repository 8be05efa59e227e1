"""``gateway.broker_hash``: the Mosquitto password hash of the gateway's key.

Gateways authenticate to the embedded broker with their name and key. Only the key's SHA-256 was
stored, which Mosquitto cannot check, so ``add_gateway`` now also stores the key's Mosquitto
hash (``$7$`` PBKDF2-SHA512). Gateways created before have NULL here and get no broker account
until their key is rotated (``python -m twin gateway add NAME``).

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "gateway",
        sa.Column(
            "broker_hash",
            sa.String(200),
            nullable=True,
            comment="Mosquitto password hash ($7$) of the key; NULL: no broker account yet",
        ),
    )


def downgrade() -> None:
    op.drop_column("gateway", "broker_hash")
