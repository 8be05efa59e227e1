"""``open311 hide ID`` / ``open311 show ID``: moderate a report's text in the public Open311 feed.

A subcommand of ``python -m twin`` (:func:`register`). Whoever runs it on the server acts for
the whole city; the change is logged on the incident as ``cli:<OS user>``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime

from geodata.engine import session_scope
from geodata.settings import Settings
from geodata.store import open_store
from twin.open311_moderation import ModerationError, set_public_text_hidden


def cmd_moderate(settings: Settings, args: argparse.Namespace) -> int:
    """Hide or show the public text of one Open311 request."""
    hidden = args.action == "hide"
    store = open_store(settings)
    try:
        with session_scope(store.url) as session:
            done = set_public_text_hidden(
                session, args.request_id, hidden, f"cli:{getpass.getuser()}", datetime.now(UTC)
            )
    except ModerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state = "hidden from" if done.hidden else "shown again in"
    print(f"Open311 request {done.request_id}: text {state} the public feed")
    return 0


def register(subparsers: argparse._SubParsersAction, settings: Settings) -> None:
    """Add the ``open311`` subcommand (``hide ID``, ``show ID``) to ``python -m twin``."""
    actions = subparsers.add_parser(
        "open311", help="moderate the public Open311 feed"
    ).add_subparsers(dest="action", required=True)
    for action, what in (
        ("hide", "hide a report's text from the public feed"),
        ("show", "publish a hidden report's text again"),
    ):
        p = actions.add_parser(action, help=what)
        p.add_argument("request_id", type=int, help="service_request_id (incident id)")
        p.set_defaults(fn=cmd_moderate)
