"""``outreach EVENT_ID [--radius M] [--csv PATH] [--send]``: the call list for an incident.

Usable on its own (``python -m twin.outreach_cli 42 --csv calls.csv``) or as a subcommand of
``python -m twin`` through :func:`register` (same convention as ``geodata``'s command modules).
Every list produced is audited under the OS user running the command.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from geodata import secret_keys
from geodata.engine import session_scope
from geodata.secret_keys import DefaultSecret
from geodata.settings import Settings, get_settings
from geodata.store import open_store
from twin.outreach import OutreachError, outreach_list, record_send, send_to_provider, to_csv


def cmd_outreach(settings: Settings, args: argparse.Namespace) -> int:
    """List (and optionally write or send) the residents to contact about one incident."""
    if args.send and not settings.outreach.webhook_url:
        print("error: --send needs ONEMAP_OUTREACH_WEBHOOK_URL", file=sys.stderr)
        return 2
    actor = f"cli:{getpass.getuser()}"
    store = open_store(settings)
    try:
        with session_scope(store.url) as session:
            rows = outreach_list(session, args.event_id, actor, args.radius, client="cli")
            if args.csv:
                Path(args.csv).write_bytes(to_csv(rows))
            if args.send:
                assert settings.outreach.webhook_url  # checked above
                result = send_to_provider(
                    rows,
                    settings.outreach.webhook_url,
                    event_id=args.event_id,
                    secret=settings.outreach.webhook_secret,
                    timeout=settings.outreach.timeout_s,
                    retries=settings.outreach.retries,
                )
                record_send(session, args.event_id, actor, settings.outreach.webhook_url, result)
    except OutreachError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    vulnerable = sum(1 for r in rows if r.care_tags)
    print(f"incident {args.event_id}: {len(rows)} residents ({vulnerable} with care tags)")
    if args.csv:
        print(f"written: {args.csv}")
    if args.send:
        print(f"sent: HTTP {result.status} after {result.attempts} attempt(s)")
    return 0


def add_arguments(p: argparse.ArgumentParser, settings: Settings) -> None:
    p.add_argument("event_id", type=int, help="incident id")
    p.add_argument(
        "--radius",
        type=float,
        default=settings.outreach.radius_m,
        help=f"metres around the incident (default {settings.outreach.radius_m:g})",
    )
    p.add_argument("--csv", metavar="PATH", help="write the list as CSV (names and phones)")
    p.add_argument("--send", action="store_true", help="post the list to the provider webhook")
    p.set_defaults(fn=cmd_outreach, needs_secrets=True)


def register(subparsers: argparse._SubParsersAction, settings: Settings) -> None:
    """Add the ``outreach`` subcommand to a ``python -m twin`` parser."""
    add_arguments(
        subparsers.add_parser("outreach", help="residents to call about an incident"), settings
    )


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    p = argparse.ArgumentParser(prog="python -m twin.outreach_cli", description=__doc__)
    add_arguments(p, settings)
    args = p.parse_args(argv)
    try:
        return args.fn(secret_keys.for_command(settings, args), args)
    except DefaultSecret as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
