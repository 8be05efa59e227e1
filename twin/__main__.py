"""The live twin's command line: ``python -m twin COMMAND``.

``gateway add NAME [--devices-of-area CODE]`` creates a gateway (or gives it a new key), prints
the key once — only hashes of it are stored — and assigns it the devices of an area that have no
gateway yet; ``gateway list``; ``gateway disable NAME``. ``add`` and ``disable`` write the
embedded broker's accounts again and make the running broker of this data folder reload them
(the gateway logs in to MQTT as NAME with its key as password). Feature modules beside this one add
their own subcommands through ``register(subparsers, settings)`` (see ``COMMAND_MODULES``):
``outreach`` (:mod:`twin.outreach_cli`), ``open311 hide|show ID`` (:mod:`twin.open311_cli`),
``steps --since DATE`` (:mod:`twin.steps_csv`: the incident steps with account ids, as CSV).
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType
from typing import cast

from sqlalchemy import CursorResult, text

from geodata import secret_keys
from geodata.engine import session_scope
from geodata.secret_keys import DefaultSecret
from geodata.settings import Settings, get_settings
from geodata.store import open_store
from twin import open311_cli, outreach_cli, steps_csv
from twin.broker import EmbeddedBroker
from twin.gateways import add_gateway

COMMAND_MODULES: tuple[ModuleType, ...] = (outreach_cli, open311_cli, steps_csv)


def sync_broker(settings: Settings, store_url: str) -> None:
    """Bring the embedded broker's accounts in step with the store (say what happened)."""
    if settings.mqtt.url:
        print(
            "note: ONEMAP_MQTT_URL names an external broker: create or remove the gateway's "
            "account there (user = gateway name, password = its key)",
            file=sys.stderr,
        )
        return
    pid = EmbeddedBroker.from_settings(settings, store_url).sync()
    print(
        f"broker accounts written; running broker (pid {pid}) reloaded them"
        if pid
        else "broker accounts written; no broker of this data folder runs (read at its start)",
        file=sys.stderr,
    )


def cmd_gateway_add(settings: Settings, args: argparse.Namespace) -> int:
    store = open_store(settings)
    try:
        with session_scope(store.url) as session:
            gid, key, assigned = add_gateway(session, args.name, args.devices_of_area)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"gateway {args.name} (id {gid}); devices assigned: {assigned}", file=sys.stderr)
    sync_broker(settings, store.url)
    print(
        f"key (shown once, store it in the gateway): MQTT password of user {args.name!r}, "
        "or the X-Gateway-Key header over HTTP",
        file=sys.stderr,
    )
    print(key)
    return 0


def cmd_gateway_list(settings: Settings, _args: argparse.Namespace) -> int:
    store = open_store(settings)
    with session_scope(store.url) as session:
        rows = session.execute(
            text(
                "SELECT g.id, g.name, g.active, g.broker_hash IS NOT NULL AS mqtt, "
                "count(d.id) AS devices FROM gateway g "
                "LEFT JOIN device d ON d.gateway_id = g.id GROUP BY g.id ORDER BY g.name"
            )
        ).all()
    for r in rows:
        state = "active" if r.active else "disabled"
        account = "" if r.mqtt else "  no broker account: rotate its key (gateway add NAME)"
        print(f"{r.id:>6}  {r.name:<32} {state:<9} {r.devices:>8}{account}")
    return 0


def cmd_gateway_disable(settings: Settings, args: argparse.Namespace) -> int:
    store = open_store(settings)
    with session_scope(store.url) as session:
        n = cast(  # Session.execute is typed Result; a text() UPDATE's result is a CursorResult
            CursorResult,
            session.execute(
                text("UPDATE gateway SET active = false WHERE name = :n"), {"n": args.name}
            ),
        ).rowcount
    if not n:
        print(f"error: no gateway {args.name!r}", file=sys.stderr)
        return 2
    print(f"gateway {args.name} disabled")
    sync_broker(settings, store.url)
    return 0


def parser(settings: Settings) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m twin", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    gw = sub.add_parser("gateway", help="device gateways and their keys").add_subparsers(
        dest="action", required=True
    )
    add = gw.add_parser("add", help="create a gateway (or rotate its key); prints the key once")
    add.add_argument("name")
    add.add_argument("--devices-of-area", metavar="CODE", help="assign this area's devices")
    add.set_defaults(fn=cmd_gateway_add)
    gw.add_parser("list", help="gateways and their device counts").set_defaults(fn=cmd_gateway_list)
    dis = gw.add_parser("disable", help="refuse a gateway's key from now on")
    dis.add_argument("name")
    dis.set_defaults(fn=cmd_gateway_disable)
    for module in COMMAND_MODULES:
        module.register(sub, settings)
    return p


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    args = parser(settings).parse_args(argv)
    try:
        return args.fn(secret_keys.for_command(settings, args), args)
    except DefaultSecret as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
