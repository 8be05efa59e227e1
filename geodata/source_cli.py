"""``python -m geodata source add|list``: register data sources and see their freshness."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from geodata import city_time, sources
from geodata.engine import session_scope
from geodata.settings import Settings
from geodata.store import migrate, open_store


def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    """Add or update one source."""
    store = open_store(settings)
    migrate(store.url)
    spec = sources.SourceSpec(
        name=args.name,
        title_zh=args.title_zh or args.name,
        title_en=args.title_en or args.name,
        department=args.department,
        cadence=sources.parse_cadence(args.cadence),
        area_code=args.area,
        account=args.account,
        active=not args.inactive,
    )
    with session_scope(store.url) as session:
        source_id = sources.register(session, spec)
    print(f"source {spec.name} (id {source_id}): every {spec.cadence}, owner {spec.department}")
    return 0


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    """One line per active source: last import (city time), rows, cadence, status."""
    store = open_store(settings)
    migrate(store.url)
    grace = timedelta(hours=settings.rules.source_grace_hours)
    with session_scope(store.url) as session:
        rows = sources.freshness(session, datetime.now(UTC), grace)
    for r in rows:
        last = city_time.fmt(r.last_import, settings.city.timezone, city_time.SECOND)
        status = "OVERDUE" if r.overdue else "current"
        print(f"{r.name}\t{r.department}\tevery {r.cadence}\tlast {last or '-'}\t"
              f"rows {r.last_rows or 0}\t{status}")  # fmt: skip
    return 0


def register(subparsers, settings: Settings) -> None:
    """Add the ``source`` subcommand (``add``, ``list``)."""
    p = subparsers.add_parser("source", help="data sources: who supplies what, how often")
    sub = p.add_subparsers(dest="source_command", required=True)
    add = sub.add_parser("add", help="register a data source, or update it")
    add.add_argument("name", help="the name imports give with --source")
    add.add_argument("--title-zh")
    add.add_argument("--title-en")
    add.add_argument("--department", required=True, help="owning department")
    add.add_argument("--cadence", required=True, help="daily, weekly, monthly, quarterly, <n>d")
    add.add_argument("--area", help="code of the area its overdue incidents go to")
    add.add_argument("--account", help="owning account name")
    add.add_argument("--inactive", action="store_true", help="keep it registered, not judged")
    add.set_defaults(fn=cmd_add)
    sub.add_parser("list", help="each active source's freshness").set_defaults(fn=cmd_list)
