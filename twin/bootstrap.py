"""Getting the store ready for the app: open it, migrate it, fill an empty one with the demo
city, make sure someone can sign in, seed the incident taxonomy, refresh the camera coverage
gaps and store a first risk forecast.

It sits in ``twin`` because it wires the store (``geodata``) with what builds on it: the
taxonomy the workflow needs and the analysis the map shows (``analytics``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from analytics.coverage import refresh_if_stale
from geodata.demo import build_demo
from geodata.demo.accounts import DEMO_CREDENTIALS, announce_demo_accounts, has_accounts
from geodata.engine import get_engine
from geodata.settings import Settings
from geodata.store import Store, is_empty, migrate, open_store
from twin.taxonomy import ensure_taxonomy


def prepare(settings: Settings, progress: Callable[[str], None] = print) -> Store:
    """Open the store in use, bring its schema to head, and build the demo city if it is empty."""
    started = time.perf_counter()
    store = open_store(settings)
    try:
        migrate(store.url)
        built = is_empty(store.url)
        if built:
            progress(f"empty store: building the demo city (scale {settings.demo.scale:g})")
            build_demo(
                store.url,
                scale=settings.demo.scale,
                seed=settings.demo.seed,
                id_hash_key=settings.privacy.id_hash_key,
                progress=progress,
            )
        credentials = settings.store.data_dir / DEMO_CREDENTIALS if store.embedded else None
        _accounts(store.url, built or credentials is not None, credentials, progress)
        _seed_taxonomy(store.url, progress)
        _refresh_coverage(store.url, progress)
        if built:
            _first_forecast(store.url, settings, progress)
    except BaseException:
        store.close()
        raise
    progress(f"store ready in {time.perf_counter() - started:.1f} s")
    return store


def _accounts(
    url: str, demo: bool, credentials: Path | None, progress: Callable[[str], None]
) -> None:
    """Make sure someone can sign in: in demo mode (a new demo city, or the embedded store) the
    demo accounts, printed (and kept in ``credentials``, if given); otherwise a hint when there
    is no account at all."""
    if has_accounts(url):
        if demo and credentials is not None and credentials.exists():
            progress(f"demo accounts (user, role, password), from {credentials}:")
            for line in credentials.read_text().splitlines():
                progress(line)
    elif demo:
        announce_demo_accounts(url, credentials, progress)
    else:
        progress("no accounts yet: python -m geodata user add NAME --role admin")


def _refresh_coverage(url: str, progress: Callable[[str], None]) -> None:
    """Precompute the camera coverage gaps if cameras, fire lanes or roads changed."""
    started = time.perf_counter()
    if refresh_if_stale(url):
        progress(f"camera coverage gaps: refreshed in {time.perf_counter() - started:.1f} s")


def _first_forecast(url: str, settings: Settings, progress: Callable[[str], None]) -> None:
    """Store a risk forecast for a new demo city, so the risk layer has something to show."""
    started = time.perf_counter()
    # The model libraries (scikit-learn, SciPy) load here, not with the web app: ~1 s at start-up.
    from analytics.forecast_store import refresh_forecast

    run = refresh_forecast(url, timedelta(0), settings.analytics.dask_scheduler)
    if run is not None:
        progress(f"risk forecast run {run} stored in {time.perf_counter() - started:.1f} s")


def _seed_taxonomy(url: str, progress: Callable[[str], None]) -> None:
    """Insert the default incident categories that are missing (edited rows are kept)."""
    with get_engine(url).begin() as conn:
        added = ensure_taxonomy(conn)
    if added:
        progress(f"incident taxonomy: {added} categories added")
