"""The registry of data sources (``data_source``: each department's import source and how often
it should be refreshed) and what each import run did (``import_run``: start, rows written,
outcome, so failed runs are on record too).

Revision ID: 0025
Revises: 0024
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_source",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False, comment="import_run.source of its runs"),
        sa.Column("title_zh", sa.String(128), nullable=False),
        sa.Column("title_en", sa.String(128), nullable=False),
        sa.Column("department", sa.String(128), nullable=False, comment="owning department"),
        sa.Column("area_id", sa.BigInteger(), nullable=True, comment="area its incidents go to"),
        sa.Column("account", sa.String(64), nullable=True, comment="owning account, if any"),
        sa.Column("cadence", postgresql.INTERVAL(), nullable=False, comment="expected update"),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("cadence > interval '0'", name=op.f("ck_data_source_cadence")),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_data_source_area_id_area"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_source")),
        sa.UniqueConstraint("name", name=op.f("uq_data_source_name")),
    )
    op.add_column("import_run", sa.Column("started_at", sa.DateTime(timezone=True)))
    op.add_column("import_run", sa.Column("rows_written", sa.BigInteger()))
    op.add_column(
        "import_run",
        sa.Column("outcome", sa.String(16), server_default="ok", nullable=False),
    )
    op.add_column("import_run", sa.Column("error", sa.String(500)))
    op.create_check_constraint(
        op.f("ck_import_run_outcome"), "import_run", "outcome IN ('ok', 'failed')"
    )
    op.create_index(op.f("ix_import_run_source_at"), "import_run", ["source", "at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_import_run_source_at"), table_name="import_run")
    op.drop_constraint(op.f("ck_import_run_outcome"), "import_run", type_="check")
    for col in ("error", "outcome", "rows_written", "started_at"):
        op.drop_column("import_run", col)
    op.drop_table("data_source")
