"""The embedded Mosquitto's accounts and ACL, written from the store.

Files in the broker's folder (``<data_dir>/mqtt/``), each readable by its owner only (0600):

- ``intake-password``: the random password of the app's subscriber account ``onemap-intake``,
  made once per folder;
- ``passwords``: ``user:hash`` lines (Mosquitto 2.0 ``$7$`` hashes): the intake account and every
  active gateway whose ``gateway.broker_hash`` is set (a gateway created before broker accounts
  has none until its key is rotated with ``python -m twin gateway add NAME``);
- ``acl``: the intake account may read the readings topics (``mqtt_topic``, e.g.
  ``onemap/+/readings``); each gateway may only write its own topic (the filter's ``+`` replaced
  by its name). Nothing else is granted: no one reads ``#``, no gateway reads anything.

:func:`store_fingerprint` is one cheap query (an md5 over the active accounts) so a running app
can notice a gateway added or disabled by another process and write the files again.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from geodata.engine import get_engine
from twin.gateways import broker_hash, name_problem

log = logging.getLogger("onemap.twin.broker")

INTAKE_USER = "onemap-intake"
INTAKE_PASSWORD_FILE = "intake-password"
PASSWORD_FILE = "passwords"
ACL_FILE = "acl"

ACCOUNTS_SQL = (
    "SELECT name, broker_hash FROM gateway WHERE active AND broker_hash IS NOT NULL ORDER BY name"
)
FINGERPRINT_SQL = (
    "SELECT md5(coalesce(string_agg(name || ':' || coalesce(broker_hash, ''), E'\\n' "
    "ORDER BY name), '')) FROM gateway WHERE active"
)


@dataclass(frozen=True)
class Accounts:
    """The gateways the broker should know, and the active ones it cannot (no broker hash)."""

    gateways: tuple[tuple[str, str], ...]
    without_hash: tuple[str, ...] = ()


def gateway_topic(topic_filter: str, name: str) -> str:
    """The topic gateway ``name`` publishes to: the filter's ``+`` level replaced by the name."""
    return "/".join(name if level == "+" else level for level in topic_filter.split("/"))


def _write_private(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` atomically, readable by the owner only."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(content)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def intake_password(folder: Path) -> str:
    """The intake account's password, made once per folder (mode 0600)."""
    path = folder / INTAKE_PASSWORD_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    password = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(password + "\n")
    return password


def load_accounts(store_url: str) -> Accounts:
    """The active gateways with a broker hash (valid names only), and those without one."""
    with get_engine(store_url).connect() as conn:
        rows = conn.execute(text(ACCOUNTS_SQL)).all()
        missing = conn.execute(
            text("SELECT name FROM gateway WHERE active AND broker_hash IS NULL ORDER BY name")
        ).scalars()
        without = tuple(missing)
    good = []
    for name, hashed in rows:
        problem = name_problem(name)
        if problem is None:
            good.append((name, hashed))
        else:
            log.warning("gateway %r gets no broker account: %s", name, problem)
    return Accounts(tuple(good), without)


def store_fingerprint(store_url: str) -> str:
    """A digest of the active gateways' names and broker hashes (changes when any does)."""
    with get_engine(store_url).connect() as conn:
        return conn.execute(text(FINGERPRINT_SQL)).scalar_one()


def password_text(intake: str, accounts: Accounts) -> str:
    """The password file: the intake account, then one line per gateway."""
    lines = [f"{INTAKE_USER}:{broker_hash(intake)}"]
    lines += [f"{name}:{hashed}" for name, hashed in accounts.gateways]
    return "\n".join(lines) + "\n"


def acl_text(topic_filter: str, accounts: Accounts) -> str:
    """The ACL file: the intake reads the readings filter; each gateway writes its own topic."""
    blocks = [f"user {INTAKE_USER}\ntopic read {topic_filter}\n"]
    blocks += [
        f"user {name}\ntopic write {gateway_topic(topic_filter, name)}\n"
        for name, _ in accounts.gateways
    ]
    return "\n".join(blocks)


def write_files(folder: Path, topic_filter: str, accounts: Accounts) -> None:
    """Write the password and ACL files of ``folder`` for ``accounts`` (mode 0600)."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_private(folder / PASSWORD_FILE, password_text(intake_password(folder), accounts))
    _write_private(folder / ACL_FILE, acl_text(topic_filter, accounts))
    if accounts.without_hash:
        log.warning(
            "active gateways without a broker account (created before broker accounts): %s; "
            "give each a new key with `python -m twin gateway add NAME` to let it use MQTT",
            ", ".join(accounts.without_hash),
        )


def files_exist(folder: Path) -> bool:
    """Both the password and the ACL file are there."""
    return (folder / PASSWORD_FILE).exists() and (folder / ACL_FILE).exists()
