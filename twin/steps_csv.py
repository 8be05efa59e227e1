"""The incident steps (``event_log``) as CSV, for audits: who did what, when.

``python -m twin steps --since 2026-12-01 [--until …] [--incident ID] > steps.csv`` writes one
row per step with the actor's display name, account id (empty for none) and actor kind
(:data:`geodata.vocab.ACTOR_KINDS`), the action, status and level before and after, and the
note, oldest first, with a UTF-8 byte-order mark so spreadsheet programs read Chinese names.
Run by the operator on the server (it reads the whole store; no page or API serves it).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from datetime import datetime

from sqlalchemy import Connection, text

from geodata.engine import get_engine
from geodata.settings import Settings
from geodata.store import open_store

COLUMNS = ("step_id", "incident_id", "at", "actor", "actor_id", "actor_kind", "action",
           "from_status", "to_status", "from_level", "to_level", "note")  # fmt: skip
SQL = """
SELECT id AS step_id, event_id AS incident_id, at, actor, actor_id, actor_kind, action,
       from_status, to_status, from_level, to_level, note
FROM event_log
WHERE at >= :since AND (CAST(:until AS timestamptz) IS NULL OR at < :until)
  AND (CAST(:incident AS bigint) IS NULL OR event_id = :incident)
ORDER BY at, id
"""


def steps(
    conn: Connection, since: datetime, until: datetime | None = None, incident: int | None = None
) -> list[dict]:
    """The steps logged in ``[since, until)`` (of one incident when given), oldest first."""
    params = {"since": since, "until": until, "incident": incident}
    return [dict(r) for r in conn.execute(text(SQL), params).mappings()]


def to_csv(rows: list[dict]) -> str:
    """The rows as CSV text with a header (times in ISO 8601 with their offset)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: "" if row[k] is None else row[k].isoformat() if k == "at" else row[k]
             for k in COLUMNS}
        )  # fmt: skip
    return out.getvalue()


def _cmd(settings: Settings, args: argparse.Namespace) -> int:
    store = open_store(settings)
    with get_engine(store.url).connect() as conn:
        rows = steps(conn, args.since, args.until, args.incident)
    sys.stdout.write("\ufeff" + to_csv(rows))
    print(f"{len(rows)} steps", file=sys.stderr)
    return 0


def _instant(value: str) -> datetime:
    """An ISO date or date-time; without an offset it is read in UTC+8 (China time)."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else datetime.fromisoformat(value + "+08:00")


def register(sub: argparse._SubParsersAction, _settings: Settings) -> None:
    """The ``steps`` subcommand of ``python -m twin``."""
    p = sub.add_parser("steps", help="incident steps (who did what, when) as CSV")
    p.add_argument("--since", type=_instant, required=True, help="ISO date or date-time")
    p.add_argument("--until", type=_instant, help="ISO date or date-time (exclusive)")
    p.add_argument("--incident", type=int, help="only this incident's steps")
    p.set_defaults(fn=_cmd)
