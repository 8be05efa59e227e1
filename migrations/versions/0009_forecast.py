"""Risk forecast runs and their expected counts per H3 cell and grid (issue 7).

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forecast_run",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cell_res", sa.SmallInteger, nullable=False),
        sa.Column("horizons", postgresql.ARRAY(sa.SmallInteger), nullable=False),
        sa.Column("groups", postgresql.ARRAY(sa.String(64)), nullable=False),
        sa.Column(
            "history_from",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="start of the incident history used",
        ),
        sa.Column(
            "origin",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="end of the history = start of every forecast period",
        ),
        sa.Column("incidents", sa.Integer, nullable=False),
        sa.Column(
            "config",
            postgresql.JSONB,
            nullable=False,
            comment="model, interval and executor of the run",
        ),
        sa.CheckConstraint("cell_res IN (8, 9)", name=op.f("ck_forecast_run_cell_res")),
    )
    op.create_index(op.f("ix_forecast_run_started_at"), "forecast_run", ["started_at"])
    op.create_table(
        "forecast",
        sa.Column(
            "run_id",
            sa.BigInteger,
            sa.ForeignKey(
                "forecast_run.id", ondelete="CASCADE", name=op.f("fk_forecast_run_id_forecast_run")
            ),
            nullable=False,
        ),
        sa.Column("horizon_days", sa.SmallInteger, nullable=False),
        sa.Column(
            "category_group",
            sa.String(64),
            nullable=False,
            comment="event_category.parent, or 'all'",
        ),
        sa.Column("unit", sa.String(8), nullable=False, comment="h3 or grid"),
        sa.Column("unit_id", sa.BigInteger, nullable=False, comment="H3 cell (64-bit) or area.id"),
        sa.Column("lon", sa.Float, nullable=False, comment="centre of the cell or grid"),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("expected", sa.Float, nullable=False),
        sa.Column("low", sa.Integer, nullable=False, comment="lower end of the interval"),
        sa.Column("high", sa.Integer, nullable=False, comment="upper end of the interval"),
        sa.PrimaryKeyConstraint(
            "run_id", "horizon_days", "category_group", "unit", "unit_id", name=op.f("pk_forecast")
        ),
        sa.CheckConstraint("unit IN ('h3', 'grid')", name=op.f("ck_forecast_unit")),
        sa.CheckConstraint("expected >= 0 AND low <= high", name=op.f("ck_forecast_interval")),
    )


def downgrade() -> None:
    op.drop_table("forecast")
    op.drop_table("forecast_run")
