"""When each API token was last used: noted by the gate for every request carrying a token,
written to the store at most once a minute per token.

Each process remembers when it last wrote a token's use and skips the store within
:data:`~geodata.accounts.tokens.USE_INTERVAL_SECONDS`; the write itself changes nothing when
another process wrote less than that ago (:func:`geodata.accounts.tokens.note_use`). Last use
is a convenience for the token's owner, not a control: a failed write is logged and the
request goes on.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.exc import SQLAlchemyError

from geodata.accounts import token_hash
from geodata.accounts.tokens import USE_INTERVAL_SECONDS, note_use
from geodata.engine import get_engine

log = logging.getLogger(__name__)

MAX_ENTRIES = 10_000
"""More tokens than this in a minute: start again (bounded memory; a few extra writes)."""

_WRITTEN: dict[tuple[str, str], float] = {}
"""``time.monotonic()`` of this process's last write per (store, token hash)."""
_LOCK = threading.Lock()


def _due(key: tuple[str, str]) -> bool:
    """True (and the write counted as done now) when ``key``'s use should be written."""
    now = time.monotonic()
    with _LOCK:
        last = _WRITTEN.get(key)
        if last is not None and now - last < USE_INTERVAL_SECONDS:
            return False
        if len(_WRITTEN) >= MAX_ENTRIES:
            _WRITTEN.clear()
        _WRITTEN[key] = now
        return True


def note(url: str, token: str) -> None:
    """Record a use of ``token`` in the store at ``url`` (at most once a minute)."""
    key = (url, token_hash(token))
    if not _due(key):
        return
    try:
        with get_engine(url).begin() as conn:
            note_use(conn, token)
    except SQLAlchemyError as exc:
        log.warning("token last use not recorded: %s", exc.__class__.__name__)
        with _LOCK:
            _WRITTEN.pop(key, None)
