"""``python -m geodata user …``: manage accounts (add, list, passwd, scope, token, disable).

Passwords are read from standard input (one line) or generated and printed once; they never
appear on the command line, where other users could read them from the process list.
"""

from __future__ import annotations

import argparse
import sys

from geodata import accounts, vocab
from geodata.accounts import tokens
from geodata.accounts.access import CLI_CLIENT, viewer_of
from geodata.engine import get_engine
from geodata.settings import Settings
from geodata.store import open_store


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The password from stdin (``--password-stdin``) or a generated one; ``(pw, generated)``."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    return accounts.new_password(), True


def _run(settings: Settings, action) -> int:
    store = open_store(settings)
    try:
        with get_engine(store.url).begin() as conn:
            action(conn)
    except accounts.AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    password, generated = _password(args)

    def add(conn) -> None:
        accounts.add_account(
            conn, args.username, args.role, password, args.area or [], args.display_name
        )
        print(f"account {args.username} ({args.role}) added")
        if generated:
            print(f"password: {password}")

    return _run(settings, add)


def cmd_list(settings: Settings, _args: argparse.Namespace) -> int:
    def show(conn) -> None:
        for row in accounts.list_accounts(conn):
            state = "active" if row["active"] else "disabled"
            if row["locked_until"]:
                state += f", locked until {row['locked_until']:%Y-%m-%d %H:%M}"
            areas = ",".join(row["areas"]) or "city"
            print(f"{row['username']:<20} {row['role']:<12} {areas:<30} {state}")

    return _run(settings, show)


def cmd_passwd(settings: Settings, args: argparse.Namespace) -> int:
    password, generated = _password(args)

    def change(conn) -> None:
        accounts.set_password(conn, args.username, password)
        print(f"password of {args.username} set; account unlocked, its sessions ended")
        if generated:
            print(f"password: {password}")

    return _run(settings, change)


def cmd_scope(settings: Settings, args: argparse.Namespace) -> int:
    def scope(conn) -> None:
        accounts.set_scope(conn, args.username, args.area or [])
        print(f"{args.username}: areas {', '.join(args.area or []) or 'the whole city'}")

    return _run(settings, scope)


def cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    def issue(conn) -> None:
        identity = accounts.account_identity(conn, args.username)
        owner = viewer_of(identity)
        print(tokens.create_token(conn, owner, args.name, args.days, CLI_CLIENT).value)

    return _run(settings, issue)


def cmd_active(settings: Settings, args: argparse.Namespace) -> int:
    def toggle(conn) -> None:
        accounts.set_active(conn, args.username, args.user_command == "enable")
        print(f"{args.username}: {args.user_command}d")

    return _run(settings, toggle)


def register(subparsers: argparse._SubParsersAction, _settings: Settings) -> None:
    """Add the ``user`` subcommand and its actions."""
    p = subparsers.add_parser("user", help="manage accounts: add, list, passwd, scope, token …")
    sub = p.add_subparsers(dest="user_command", required=True)
    pw = argparse.ArgumentParser(add_help=False)
    pw.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )

    add = sub.add_parser("add", parents=[pw], help="create an account")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=list(vocab.ACCOUNT_ROLES))
    add.add_argument(
        "--area", action="append", help="area code of its scope (repeat; grid workers: grids)"
    )
    add.add_argument("--display-name")
    add.set_defaults(fn=cmd_add)

    sub.add_parser("list", help="every account, its role, areas and state").set_defaults(
        fn=cmd_list
    )
    passwd = sub.add_parser("passwd", parents=[pw], help="set a password (and unlock)")
    passwd.add_argument("username")
    passwd.set_defaults(fn=cmd_passwd)

    scope = sub.add_parser("scope", help="replace the areas an account works in")
    scope.add_argument("username")
    scope.add_argument("--area", action="append", help="area code (repeat); none: whole city")
    scope.set_defaults(fn=cmd_scope)

    token = sub.add_parser("token", help="issue an API token (printed once)")
    token.add_argument("username")
    token.add_argument("--name", required=True, help="what the token is for, e.g. qgis")
    token.add_argument(
        "--days",
        type=float,
        default=tokens.MAX_DAYS,
        help=f"expires after this many days (at most and by default {tokens.MAX_DAYS}); "
        f"at most {tokens.MAX_ACTIVE} active tokens per account",
    )
    token.set_defaults(fn=cmd_token)

    for action in ("disable", "enable"):
        toggle = sub.add_parser(action, help=f"{action} an account")
        toggle.add_argument("username")
        toggle.set_defaults(fn=cmd_active)
