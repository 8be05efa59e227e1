"""Live updates: NOTIFY ``onemap_live`` when an incident or a device changes.

Per-row AFTER triggers send a small JSON payload (no personal data: ids, status, level,
severity, category or device kind, lon/lat, area) on insert, on a change of an incident's
status/level/severity, on a change of a device's status, and on delete. NOTIFY is delivered
on commit. Bulk loads skip the per-row triggers entirely (WHEN clause, so the function is not
even called) when ``onemap.bulk = 'on'`` or ``onemap.area_assigned = 'on'`` (set by the demo
loader and the importer); a statement-level trigger then sends one ``{"op": "bulk"}`` message
per statement so open views refetch once.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "onemap_live"
BULK = (
    "(coalesce(current_setting('onemap.bulk', true), '') = 'on'"
    " OR coalesce(current_setting('onemap.area_assigned', true), '') = 'on')"
)
LIVE = f"(NOT {BULK})"

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION onemap_live_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r event;
BEGIN
    r := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    PERFORM pg_notify('{CHANNEL}', json_build_object(
        'kind', 'event', 'op', lower(TG_OP), 'id', r.id, 'status', r.status,
        'level', r.level, 'severity', r.severity, 'category', r.category,
        'lon', round(ST_X(r.loc)::numeric, 6), 'lat', round(ST_Y(r.loc)::numeric, 6),
        'area_id', r.area_id)::text);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION onemap_live_device() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r device;
BEGIN
    r := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    PERFORM pg_notify('{CHANNEL}', json_build_object(
        'kind', 'device', 'op', lower(TG_OP), 'id', r.id, 'status', r.status,
        'device_kind', r.kind,
        'lon', round(ST_X(r.loc)::numeric, 6), 'lat', round(ST_Y(r.loc)::numeric, 6),
        'area_id', r.area_id)::text);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION onemap_live_bulk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', json_build_object(
        'kind', TG_TABLE_NAME, 'op', 'bulk')::text);
    RETURN NULL;
END $$;
"""

TRIGGERS = {
    "event_live_insert": f"AFTER INSERT ON event FOR EACH ROW WHEN {LIVE} "
    "EXECUTE FUNCTION onemap_live_event()",
    "event_live_update": "AFTER UPDATE OF status, level, severity ON event FOR EACH ROW "
    "WHEN ((OLD.status, OLD.level, OLD.severity) IS DISTINCT FROM "
    f"(NEW.status, NEW.level, NEW.severity) AND {LIVE}) "
    "EXECUTE FUNCTION onemap_live_event()",
    "event_live_delete": f"AFTER DELETE ON event FOR EACH ROW WHEN {LIVE} "
    "EXECUTE FUNCTION onemap_live_event()",
    "event_live_bulk": f"AFTER INSERT OR UPDATE OR DELETE ON event FOR EACH STATEMENT "
    f"WHEN {BULK} EXECUTE FUNCTION onemap_live_bulk()",
    "device_live_insert": f"AFTER INSERT ON device FOR EACH ROW WHEN {LIVE} "
    "EXECUTE FUNCTION onemap_live_device()",
    "device_live_update": "AFTER UPDATE OF status ON device FOR EACH ROW "
    f"WHEN (OLD.status IS DISTINCT FROM NEW.status AND {LIVE}) "
    "EXECUTE FUNCTION onemap_live_device()",
    "device_live_delete": f"AFTER DELETE ON device FOR EACH ROW WHEN {LIVE} "
    "EXECUTE FUNCTION onemap_live_device()",
    "device_live_bulk": f"AFTER INSERT OR UPDATE OR DELETE ON device FOR EACH STATEMENT "
    f"WHEN {BULK} EXECUTE FUNCTION onemap_live_bulk()",
}


def _table(trigger: str) -> str:
    return trigger.split("_", 1)[0]


def upgrade() -> None:
    op.execute(FUNCTIONS)
    for name, body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {_table(name)}")
    for function in ("onemap_live_event", "onemap_live_device", "onemap_live_bulk"):
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
