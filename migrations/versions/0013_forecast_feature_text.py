"""Each H3 forecast row's GeoJSON feature text, written when the run is stored.

``forecast.feature``: the complete feature the ``risk_forecast`` layer answers for the cell
(hexagon geometry, ``id`` and properties, ``level`` against the largest expected count of the
row's run slice), so the layer joins texts in SQL instead of writing them per request. Grid
rows keep NULL (their polygons are simplified per zoom). Rows of runs stored before this
migration keep NULL too, not backfilled: the layer writes their features as before.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "forecast",
        sa.Column(
            "feature",
            sa.Text,
            nullable=True,
            comment="GeoJSON feature of an H3 row as the layer serves it (NULL: grid, older run)",
        ),
    )


def downgrade() -> None:
    op.drop_column("forecast", "feature")
