"""The store's command line: ``python -m geodata COMMAND`` (db-url, start, stop, demo …)."""

from __future__ import annotations

import argparse
import sys
import time
from types import ModuleType

from geodata import backup, secret_keys, source_cli
from geodata.accounts import cli as accounts_cli
from geodata.demo import build_demo, reset_store
from geodata.demo.accounts import DEMO_CREDENTIALS, announce_demo_accounts
from geodata.errors import OneMapError
from geodata.exports import cli as exports_cli
from geodata.ingest import cli as ingest_cli
from geodata.settings import Settings, get_settings
from geodata.store import embedded_store, feature_counts, migrate, open_store


def _print_counts(counts: dict[str, int]) -> None:
    width = max(map(len, counts))
    for table, n in counts.items():
        print(f"  {table:<{width}}  {n:>12,}")


def cmd_db_url(settings: Settings, _args: argparse.Namespace) -> int:
    """Print the libpq URL of the store in use (starting the embedded store if needed)."""
    store = open_store(settings)
    if store.embedded is not None and store.embedded.started_here:
        print("embedded store started; stop it with: python -m geodata stop", file=sys.stderr)
    print(store.url.replace("postgresql+psycopg://", "postgresql://", 1))
    return 0


def cmd_start(settings: Settings, _args: argparse.Namespace) -> int:
    store = open_store(settings)
    migrate(store.url)
    print(f"store ready: {store.url}")
    return 0


def cmd_stop(settings: Settings, _args: argparse.Namespace) -> int:
    if settings.store.database_url:
        print("DATABASE_URL is set: the external server is not OneMap's to stop", file=sys.stderr)
        return 1
    embedded_store(settings).stop()
    print("embedded store stopped")
    return 0


def cmd_status(settings: Settings, _args: argparse.Namespace) -> int:
    if settings.store.database_url:
        print("external store (DATABASE_URL)")
        return 0
    store = embedded_store(settings)
    state = "running" if store.running() else "stopped"
    created = "created" if store.initialized() else "not created yet"
    print(f"embedded store in {store.cluster_dir}: {created}, {state}, port {store.port}")
    return 0


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    store = open_store(settings)
    migrate(store.url)
    print("schema at head")
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    """Build the demo city (``--reset`` empties the store first)."""
    store = open_store(settings)
    migrate(store.url)
    if args.reset:
        reset_store(store.url)
    started = time.perf_counter()
    counts = build_demo(
        store.url,
        scale=args.scale,
        seed=args.seed,
        id_hash_key=settings.privacy.id_hash_key,
        progress=lambda msg: print(f"  {msg}", flush=True),
        reading_devices=args.reading_devices,
    )
    print(
        f"demo city (scale {args.scale:g}, seed {args.seed}) built in "
        f"{time.perf_counter() - started:.1f} s:"
    )
    _print_counts(counts)
    kept = settings.store.data_dir / DEMO_CREDENTIALS if store.embedded else None
    announce_demo_accounts(store.url, kept, print)
    return 0


def cmd_counts(settings: Settings, _args: argparse.Namespace) -> int:
    _print_counts(feature_counts(open_store(settings).url))
    return 0


# Subcommands that live beside their feature: each module has ``register(subparsers, settings)``
# adding its parser with ``set_defaults(fn=...)`` where fn(settings, args) -> exit code.
COMMAND_MODULES: tuple[ModuleType, ...] = (
    exports_cli,
    ingest_cli,
    source_cli,
    accounts_cli,
    backup,
)


def parser(settings: Settings) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m geodata", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("db-url", help="print the URL of the store in use").set_defaults(fn=cmd_db_url)
    sub.add_parser("start", help="start the embedded store and migrate").set_defaults(fn=cmd_start)
    sub.add_parser("stop", help="stop the embedded store").set_defaults(fn=cmd_stop)
    sub.add_parser("status", help="say where the store is").set_defaults(fn=cmd_status)
    sub.add_parser("migrate", help="bring the schema to head").set_defaults(fn=cmd_migrate)
    sub.add_parser("counts", help="rows per table").set_defaults(fn=cmd_counts)
    demo = sub.add_parser("demo", help="build the deterministic demo city of Hefei")
    demo.add_argument(
        "--scale",
        type=float,
        default=settings.demo.scale,
        help="size multiplier (1 ≈ 66k residents; 142 ≈ 9.4 million, Hefei's full size)",
    )
    demo.add_argument(
        "--reading-devices",
        type=int,
        default=0,
        metavar="N",
        help="also load the last day of readings of N devices, every 20 minutes",
    )
    demo.add_argument("--seed", type=int, default=settings.demo.seed)
    demo.add_argument("--reset", action="store_true", help="empty the store first")
    demo.set_defaults(fn=cmd_demo, needs_secrets=True)
    for module in COMMAND_MODULES:
        module.register(sub, settings)
    return p


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    args = parser(settings).parse_args(argv)
    try:
        return args.fn(secret_keys.for_command(settings, args), args)
    except OneMapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
