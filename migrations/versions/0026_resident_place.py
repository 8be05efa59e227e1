"""The distinct places of active residents (``resident_place``: building, area, point).

A counts-only analyst question picks the buildings with an active resident in a place (near an
incident, inside a polygon): at 9.4 million residents about 33 residents share each point, and
measuring every resident took 6 s for "elderly living alone within 300 m of a gas alarm". The
distances are measured to the places instead (the same buildings are picked); the people are
still counted from ``resident``. Refreshed with ``resident_stats`` by the writers of residents
(``geodata.store.refresh_resident_stats``).

Revision ID: 0026
Revises: 0025
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESIDENT_PLACE = """
CREATE MATERIALIZED VIEW resident_place AS
SELECT row_number() OVER (ORDER BY building_id, area_id, ST_X(geom), ST_Y(geom)) AS id,
       building_id, area_id, geom
FROM (
    SELECT DISTINCT h.building_id, t.area_id, t.geom
    FROM resident t JOIN house h ON h.id = t.house_id
    WHERE t.status = 'active'
) AS places
"""


def upgrade() -> None:
    op.execute(RESIDENT_PLACE)
    op.execute("CREATE UNIQUE INDEX ux_resident_place_id ON resident_place (id)")
    op.execute("CREATE INDEX ix_resident_place_geom ON resident_place USING gist (geom)")
    op.execute("CREATE INDEX ix_resident_place_area_id ON resident_place (area_id)")


def downgrade() -> None:
    op.execute("DROP MATERIALIZED VIEW IF EXISTS resident_place")
