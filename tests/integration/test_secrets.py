"""Secrets are never their published defaults (:mod:`geodata.secret_keys`).

Facts checked: ``python app.py`` with ``DATABASE_URL`` set (not demo mode) and a secret at its
default or short exits 2 before touching the store, naming each weak secret's variable and how
to set it; the same with good secrets gets past the check; in demo mode (embedded store) the
secrets left at their defaults are generated once per data folder (mode 0600), kept across
restarts and different between folders, an explicit one is used as given; ``geodata import``
refuses like the app; a backup carries the generated secrets and a restore puts them back 0600.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from geodata.backup import backup, restore
from geodata.secret_keys import SECRETS, SECRETS_FILE, DefaultSecret, ready
from geodata.settings import PROJECT_ROOT, Settings
from geodata.store import scratch_database

NOWHERE = "postgresql://nobody@127.0.0.1:9/none"  # never reached: the check comes first
STRONG = {s.env_name: secrets.token_urlsafe(32) for s in SECRETS}


def _env(**values: str) -> dict[str, str]:
    """The environment without any OneMap secret, with ``values``."""
    env = {k: v for k, v in os.environ.items() if k not in STRONG}
    return env | {"DATABASE_URL": NOWHERE, "ONEMAP_PORT": "9"} | values


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def test_the_app_refuses_default_secrets_outside_demo_mode():
    done = _run(["app.py"], _env(ONEMAP_OUTREACH_WEBHOOK_URL="https://calls.example/hook"))
    assert done.returncode == 2
    for secret in SECRETS:
        assert f"{secret.env_name} is left at its published default" in done.stderr
    assert "secrets.token_urlsafe(32)" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_webhook_secret_is_required_only_with_a_webhook():
    strong = {k: v for k, v in STRONG.items() if k != "ONEMAP_OUTREACH_WEBHOOK_SECRET"}
    done = _run(["app.py"], _env(**strong))
    assert "weak secrets" not in done.stderr  # no webhook URL: its secret signs nothing
    hooked = _run(["app.py"], _env(**strong, ONEMAP_OUTREACH_WEBHOOK_URL="https://x.example/h"))
    assert hooked.returncode == 2
    assert "ONEMAP_OUTREACH_WEBHOOK_SECRET is left at its published default" in hooked.stderr


def test_the_app_names_only_the_short_secret():
    env = _env(**STRONG | {"ONEMAP_SESSION_KEY": "too-short"})
    done = _run(["app.py"], env)
    assert done.returncode == 2
    assert "ONEMAP_SESSION_KEY is 9 characters long (at least 32)" in done.stderr
    assert "ONEMAP_ID_HASH_KEY" not in done.stderr.split("set each")[0]


def test_good_secrets_get_past_the_check_to_the_store():
    done = _run(["app.py"], _env(**STRONG))
    assert done.returncode != 0  # the store at NOWHERE cannot be reached …
    assert "weak secrets" not in done.stderr  # … but the secrets were accepted


def test_the_import_command_refuses_like_the_app(tmp_path):
    csv = tmp_path / "people.csv"
    csv.write_text("name,lon,lat\nx,117.2,31.8\n")
    done = _run(["-m", "geodata", "import", str(csv), "--layer", "residents"], _env())
    assert done.returncode == 2
    assert "ONEMAP_ID_HASH_KEY is left at its published default" in done.stderr


def _demo(tmp_path: Path, **values) -> Settings:
    return Settings(database_url=None, data_dir=tmp_path, **values)


def test_demo_mode_generates_secrets_once_per_data_folder(tmp_path, monkeypatch):
    for secret in SECRETS:
        monkeypatch.delenv(secret.env_name, raising=False)
    first = ready(_demo(tmp_path / "a"))
    again = ready(_demo(tmp_path / "a"))
    other = ready(_demo(tmp_path / "b"))
    kept = tmp_path / "a" / SECRETS_FILE
    assert (kept.stat().st_mode & 0o777) == 0o600
    stored = json.loads(kept.read_text())
    for secret in SECRETS:
        value = secret.value(first)
        assert value != secret.default and len(value) >= 32
        assert stored[secret.flat_name] == value == secret.value(again)
        assert secret.value(other) != value
    explicit = ready(_demo(tmp_path / "a", id_hash_key="x" * 40))
    assert explicit.privacy.id_hash_key == "x" * 40
    with pytest.raises(DefaultSecret, match="ONEMAP_ID_HASH_KEY is 5 characters"):
        ready(_demo(tmp_path / "a", id_hash_key="short"))


def test_a_backup_keeps_the_generated_secrets_and_a_restore_puts_them_back(
    tmp_path, monkeypatch, cluster
):
    for secret in SECRETS:
        monkeypatch.delenv(secret.env_name, raising=False)
    source, target, archive = tmp_path / "source", tmp_path / "target", tmp_path / "b.tar"
    made = ready(_demo(source))
    server = os.environ.get("ONEMAP_TEST_DATABASE_URL") or cluster.url()
    with scratch_database(server, f"onemap_test_secrets_src_{os.getpid()}") as url:
        backup(Settings(database_url=url, data_dir=source), archive)
    with tarfile.open(archive) as tar:
        assert f"data/{SECRETS_FILE}" in tar.getnames()
    with scratch_database(server, f"onemap_test_secrets_dst_{os.getpid()}") as url:
        restore(Settings(database_url=url, data_dir=target), archive)
    assert (target / SECRETS_FILE).stat().st_mode & 0o777 == 0o600
    restored = ready(_demo(target))
    assert [s.value(restored) for s in SECRETS] == [s.value(made) for s in SECRETS]
