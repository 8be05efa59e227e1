"""Partial indexes on devices in alarm: the wall's alarm tile (by area) and map layer (by bbox)
no longer scan every device.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_ALARM = sa.text("status = 'alarm'")


def upgrade() -> None:
    op.create_index("ix_device_alarm_area", "device", ["area_id"], postgresql_where=IN_ALARM)
    op.create_index(
        "ix_device_alarm_geom",
        "device",
        ["geom"],
        postgresql_using="gist",
        postgresql_where=IN_ALARM,
    )


def downgrade() -> None:
    op.drop_index("ix_device_alarm_geom", table_name="device")
    op.drop_index("ix_device_alarm_area", table_name="device")
