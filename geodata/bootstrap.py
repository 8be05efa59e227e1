"""Getting the store ready for the app: open it, migrate it, fill an empty one with the demo."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from geodata.settings import PROJECT_ROOT, Settings
from geodata.store import Store, is_empty, migrate, open_store

DEMO_CREDENTIALS: Path = PROJECT_ROOT / ".onemap" / "demo-accounts.txt"
"""The demo accounts' passwords (owner-readable), printed again on later starts of the demo."""


def prepare(settings: Settings, progress: Callable[[str], None] = print) -> Store:
    """Open the store in use, bring its schema to head, and build the demo city if it is empty."""
    started = time.perf_counter()
    store = open_store(settings)
    try:
        migrate(store.url)
        if is_empty(store.url):
            from geodata.demo import build_demo

            progress(f"empty store: building the demo city (scale {settings.demo_scale:g})")
            build_demo(
                store.url,
                scale=settings.demo_scale,
                seed=settings.demo_seed,
                id_hash_key=settings.id_hash_key,
                progress=progress,
            )
            _demo_accounts(store.url, progress)
        elif store.embedded is not None and DEMO_CREDENTIALS.exists():
            progress(f"demo accounts (user, role, password), from {DEMO_CREDENTIALS.name}:")
            for line in DEMO_CREDENTIALS.read_text().splitlines():
                progress(line)
        _seed_taxonomy(store.url, progress)
    except BaseException:
        store.close()
        raise
    progress(f"store ready in {time.perf_counter() - started:.1f} s")
    return store


def _demo_accounts(url: str, progress: Callable[[str], None]) -> None:
    """Create one account per role and print their credentials (demo mode only)."""
    from geodata.demo.accounts import create_demo_accounts, format_credentials, save_credentials

    credentials = create_demo_accounts(url)
    save_credentials(DEMO_CREDENTIALS, credentials)
    progress("demo accounts (user, role, password) — sign in at /login:")
    for line in format_credentials(credentials):
        progress(line)


def _seed_taxonomy(url: str, progress: Callable[[str], None]) -> None:
    """Insert the default incident categories that are missing (edited rows are kept)."""
    from geodata.engine import get_engine
    from twin.taxonomy import ensure_taxonomy

    with get_engine(url).begin() as conn:
        added = ensure_taxonomy(conn)
    if added:
        progress(f"incident taxonomy: {added} categories added")
