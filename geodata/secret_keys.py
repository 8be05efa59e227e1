"""The secrets OneMap needs, which are never left at their published defaults.

Three settings are secrets: ``ONEMAP_ID_HASH_KEY`` (the keyed hash of ID numbers),
``ONEMAP_OUTREACH_WEBHOOK_SECRET`` (signs outreach webhook bodies) and ``ONEMAP_SESSION_KEY``
(signs the sign-in form's CSRF token). Their defaults are public strings.

**Demo mode** is the embedded store: no ``DATABASE_URL``, so the store is the data folder's own
PostgreSQL (where ``make run`` builds the demo city). There, a secret left at its default is
replaced by a random one made on the data folder's first start and kept in
``<data_dir>/secrets.json`` (mode 0600, kept in backups), so every start and every command
line on that folder hashes and signs alike. Outside demo mode (``DATABASE_URL`` set: several
app servers may share the store, so the secrets must come from their configuration) a secret
left at its default, or shorter than :data:`MIN_LENGTH`, stops the program with a message
naming it and saying how to set it (:class:`DefaultSecret`); the webhook secret only when a
webhook URL is set (it signs nothing otherwise). A secret set explicitly is always used as
given, and must never be short.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from geodata.errors import OneMapError
from geodata.settings import ENV_PREFIX, GROUPS, Settings

MIN_LENGTH = 32
SECRETS_FILE = "secrets.json"
"""The demo's generated secrets, in the data folder (kept in backups)."""


@dataclass(frozen=True)
class Secret:
    """One secret setting: its flat name and where it lives in :class:`Settings`."""

    flat_name: str
    group: str
    field: str
    used_with: str | None = None
    """A setting of the same group the secret serves (None: always in use); while that one is
    unset the secret signs nothing and a default is not refused."""

    def in_use(self, settings: Settings) -> bool:
        """Whether ``settings`` use this secret at all."""
        group = getattr(settings, self.group)
        return self.used_with is None or bool(getattr(group, self.used_with))

    @property
    def env_name(self) -> str:
        """The environment variable that sets it."""
        return ENV_PREFIX + self.flat_name.upper()

    @property
    def default(self) -> str:
        """The published default (never a secret)."""
        return str(GROUPS[self.group].model_fields[self.field].default)

    def value(self, settings: Settings) -> str:
        """Its value in ``settings``."""
        return str(getattr(getattr(settings, self.group), self.field))


SECRETS: tuple[Secret, ...] = (
    Secret("id_hash_key", "privacy", "id_hash_key"),
    Secret("outreach_webhook_secret", "outreach", "webhook_secret", used_with="webhook_url"),
    Secret("session_key", "login", "session_key"),
)


class DefaultSecret(OneMapError):
    """A secret is left at its published default or is too short outside demo mode."""

    status = 500


def demo_mode(settings: Settings) -> bool:
    """Whether OneMap runs as the demo: on the embedded store (no ``DATABASE_URL``)."""
    return settings.store.database_url is None


def problem(secret: Secret, value: str) -> str | None:
    """Why ``value`` is not acceptable for ``secret`` (None when it is)."""
    if value == secret.default:
        return f"{secret.env_name} is left at its published default"
    if len(value) < MIN_LENGTH:
        return f"{secret.env_name} is {len(value)} characters long (at least {MIN_LENGTH})"
    return None


def how_to_set(problems: list[str]) -> str:
    """The refusal message: what is wrong, and how to set each secret."""
    return (
        "refusing to start with weak secrets (outside demo mode, that is with DATABASE_URL "
        "set, each must be set by you):\n  "
        + "\n  ".join(problems)
        + "\nset each to a random value of at least "
        + f'{MIN_LENGTH} characters, for example\n  export NAME="$(python3 -c '
        "'import secrets; print(secrets.token_urlsafe(32))')\"\n"
        "(keep ONEMAP_ID_HASH_KEY for good: stored ID-number hashes depend on it; "
        "see docs/privacy.md)"
    )


def _generated(data_dir: Path) -> dict[str, str]:
    """The data folder's generated secrets, made (0600) for those it does not hold yet."""
    path = data_dir / SECRETS_FILE
    kept: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = [s.flat_name for s in SECRETS if s.flat_name not in kept]
    if missing:
        kept |= {name: secrets.token_urlsafe(32) for name in missing}
        data_dir.mkdir(parents=True, exist_ok=True)
        fresh = path.with_suffix(".tmp")
        fresh.unlink(missing_ok=True)
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(kept, f, indent=1)
        fresh.replace(path)
    return kept


def _with(settings: Settings, secret: Secret, value: str) -> Settings:
    group = getattr(settings, secret.group).model_copy(update={secret.field: value})
    return settings.model_copy(update={secret.group: group})


def for_command(settings: Settings, args: object) -> Settings:
    """``settings`` made :func:`ready` when the parsed command line ``args`` is of a command
    that uses secrets (its parser ``set_defaults(needs_secrets=True)``)."""
    return ready(settings) if getattr(args, "needs_secrets", False) else settings


def ready(settings: Settings) -> Settings:
    """``settings`` with usable secrets: in demo mode those left at their defaults replaced by
    the data folder's generated ones; raises :class:`DefaultSecret` naming every weak one."""
    if demo_mode(settings):
        generated: dict[str, str] | None = None
        for secret in SECRETS:
            if secret.value(settings) == secret.default:
                generated = generated or _generated(settings.store.data_dir)
                settings = _with(settings, secret, generated[secret.flat_name])
    problems = [p for s in SECRETS if s.in_use(settings) and (p := problem(s, s.value(settings)))]
    if problems:
        raise DefaultSecret(how_to_set(problems))
    return settings
