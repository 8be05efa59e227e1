"""``area.population``: the resident population (常住人口) of an area, when known.

For the demo city every figure is modelled (an estimate summing to the 2020 census total of
Hefei, see ``geodata/demo/population.py``); imported areas may carry official figures. NULL
when unknown; never negative.

Revision ID: 0023
Revises: 0022
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMMENT = "resident population (常住人口); modelled for demo areas (source 'demo')"


def upgrade() -> None:
    op.add_column("area", sa.Column("population", sa.Integer(), nullable=True, comment=COMMENT))
    op.create_check_constraint(op.f("ck_area_population"), "area", "population >= 0")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_area_population"), "area", type_="check")
    op.drop_column("area", "population")
