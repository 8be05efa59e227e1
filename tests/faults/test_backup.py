"""Backup and restore against the real PostGIS: the demo city backed up, restored into fresh
databases, identical table by table (checked here independently of the manifest); refusals of a
non-empty target, a truncated archive, a tampered manifest and a newer schema change nothing."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from geodata import accounts
from geodata.backup import MANIFEST, BackupError, backup, restore
from geodata.demo.accounts import DEMO_CREDENTIALS
from geodata.engine import get_engine
from geodata.settings import PROJECT_ROOT, Settings
from geodata.store import drop_database, recreate_database, scratch_database
from tests.conftest import _server_url, sql_scalar, until

TABLES = """
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND c.relname <> 'spatial_ref_sys' ORDER BY 1"""


def independent_digests(url: str) -> dict[str, tuple[int, str | None]]:
    """Per table: row count and md5 of its rows' md5s in sorted order (not the module's sum)."""
    with get_engine(url).connect() as conn, conn.begin():
        conn.execute(text("SET LOCAL TimeZone = 'UTC'"))
        out = {}
        for table in conn.execute(text(TABLES)).scalars():
            out[table] = tuple(
                conn.execute(
                    text(
                        "SELECT count(*), md5(string_agg(h, '' ORDER BY h)) FROM "
                        f'(SELECT md5(t::text) AS h FROM "{table}" t) AS x'
                    )
                ).one()
            )
        return out


def sql_count(url: str, sql: str) -> int:
    return int(sql_scalar(url, sql))


def table_count(url: str) -> int:
    with get_engine(url).connect() as conn:
        return len(conn.execute(text(TABLES)).all())


@pytest.fixture(scope="module")
def server(cluster) -> str:
    return _server_url(cluster)


@pytest.fixture(scope="module")
def source(demo_url, tmp_path_factory) -> tuple[Path, dict, Path]:
    """The demo city backed up with a demo accounts file and one photo in its data folder."""
    data = tmp_path_factory.mktemp("backup_src")
    (data / DEMO_CREDENTIALS).write_text("leader  secret-1\n")
    (data / "event_photos" / "5").mkdir(parents=True)
    (data / "event_photos" / "5" / "a.jpg").write_bytes(b"\xff\xd8\xff" + bytes(range(256)))
    archive = data.parent / "city.tar"
    manifest = backup(Settings(database_url=demo_url, data_dir=data), archive)
    return archive, manifest, data


@pytest.fixture
def blank(server) -> Iterator[str]:
    """A new database with nothing in it (not even PostGIS)."""
    name = f"onemap_test_restore_{os.getpid()}"
    url = recreate_database(server, name)
    yield url
    get_engine(url).dispose()
    drop_database(server, name)


def rewrite(archive: Path, out: Path, change) -> None:
    """Copy ``archive`` to ``out`` with its manifest passed through ``change``."""
    with tarfile.open(archive) as src, tarfile.open(out, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == MANIFEST:
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data))


def test_restore_into_a_blank_database_is_identical(source, demo_url, blank, tmp_path):
    archive, manifest, src_data = source
    expected = independent_digests(demo_url)
    assert expected["resident"][0] > 1000 and expected["building"][0] > 100
    assert {t: d["rows"] for t, d in manifest["tables"].items()} == {
        t: n for t, (n, _) in expected.items()
    }
    assert {"store.dump", "data/demo-accounts.txt", "data/event_photos/5/a.jpg"} == set(
        manifest["files"]
    )

    assert archive.stat().st_mode & 0o077 == 0  # it holds passwords: owner only
    restore(Settings(database_url=blank, data_dir=tmp_path), archive)

    assert independent_digests(blank) == expected
    assert (tmp_path / DEMO_CREDENTIALS).read_text() == "leader  secret-1\n"
    photo = tmp_path / "event_photos" / "5" / "a.jpg"
    assert photo.read_bytes() == (src_data / "event_photos" / "5" / "a.jpg").read_bytes()
    with get_engine(blank).connect() as conn:  # the materialized view is filled again
        assert conn.execute(text("SELECT count(*) FROM resident_stats")).scalar() > 0


def test_restore_into_a_migrated_empty_store(source, demo_url, server, tmp_path):
    archive, _, _ = source
    with scratch_database(server, f"onemap_test_restore_mig_{os.getpid()}") as url:
        restore(Settings(database_url=url, data_dir=tmp_path), archive)
        assert independent_digests(url) == independent_digests(demo_url)


def test_a_backup_taken_during_writes_is_one_consistent_snapshot(source, server, blank, tmp_path):
    """Rows written while the dump runs are either in the dump and the manifest, or in neither:
    the restore checks every table against the manifest in its transaction."""
    archive, _, _ = source
    audit = "SELECT count(*) FROM audit_log"
    with scratch_database(server, f"onemap_test_backup_busy_{os.getpid()}") as busy:
        restore(Settings(database_url=busy, data_dir=tmp_path / "busy"), archive)
        stop, written = threading.Event(), []

        def write() -> None:
            engine = get_engine(busy)
            while not stop.is_set():
                with engine.begin() as conn:
                    conn.execute(
                        text("INSERT INTO audit_log (action, object_type) VALUES ('x', 'test')")
                    )
                written.append(1)

        before = sql_count(busy, audit)
        writer = threading.Thread(target=write)
        writer.start()
        try:
            assert until(lambda: len(written) > 20, 10)
            during = len(written)
            manifest = backup(
                Settings(database_url=busy, data_dir=tmp_path / "busy"), tmp_path / "b.tar"
            )
            assert len(written) > during  # the writer went on while the backup ran
        finally:
            stop.set()
            writer.join(10)
        after = sql_count(busy, audit)
    in_backup = manifest["tables"]["audit_log"]["rows"]
    assert before < in_backup < after
    restore(Settings(database_url=blank, data_dir=tmp_path / "restored"), tmp_path / "b.tar")
    assert sql_count(blank, audit) == in_backup


def test_a_store_with_data_is_refused_and_unchanged(source, server, tmp_path):
    archive, _, _ = source
    with scratch_database(server, f"onemap_test_restore_full_{os.getpid()}") as url:
        with get_engine(url).begin() as conn:
            accounts.ensure_account(conn, "somebody", "analyst", [])
        before = independent_digests(url)
        env = dict(os.environ, DATABASE_URL=url, ONEMAP_DATA_DIR=str(tmp_path))
        proc = subprocess.run(
            [sys.executable, "-m", "geodata", "restore", str(archive)],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2, proc.stderr
        assert "not empty" in proc.stderr and "account" in proc.stderr
        assert independent_digests(url) == before
        assert not (tmp_path / DEMO_CREDENTIALS).exists()


def test_a_truncated_archive_is_refused(source, blank, tmp_path):
    archive, _, _ = source
    cut = tmp_path / "cut.tar"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(BackupError, match="truncated or corrupt"):
        restore(Settings(database_url=blank, data_dir=tmp_path / "data"), cut)
    assert table_count(blank) == 0
    assert not (tmp_path / "data" / DEMO_CREDENTIALS).exists()


def test_a_tampered_checksum_is_refused_and_nothing_restored(source, blank, tmp_path):
    archive, _, _ = source
    tampered = tmp_path / "tampered.tar"

    def change(manifest: dict) -> None:
        digest = manifest["tables"]["building"]
        digest["checksum"] = str(int(digest["checksum"]) + 1)

    rewrite(archive, tampered, change)
    with pytest.raises(BackupError, match="building differs from the manifest"):
        restore(Settings(database_url=blank, data_dir=tmp_path / "data"), tampered)
    assert table_count(blank) == 0
    assert not (tmp_path / "data").exists()


def test_a_newer_schema_is_refused(source, blank, tmp_path):
    archive, _, _ = source
    newer = tmp_path / "newer.tar"
    rewrite(archive, newer, lambda m: m.update(alembic_revision="9999_from_the_future"))
    with pytest.raises(BackupError, match="newer than this OneMap"):
        restore(Settings(database_url=blank, data_dir=tmp_path / "data"), newer)
    assert table_count(blank) == 0


def test_a_malformed_manifest_is_refused(source, blank, tmp_path):
    """A checksum that is not a number (here, SQL) never reaches the store."""
    archive, _, _ = source
    bad = tmp_path / "bad.tar"

    def change(manifest: dict) -> None:
        manifest["tables"]["area"]["checksum"] = "0'; DROP TABLE area; --"

    rewrite(archive, bad, change)
    with pytest.raises(BackupError, match="malformed"):
        restore(Settings(database_url=blank, data_dir=tmp_path / "data"), bad)
    assert table_count(blank) == 0
