"""Backup and restore of the store: one tar archive holding a ``pg_dump`` custom-format dump, the
data folder's files worth keeping, and a manifest to verify both.

``python -m geodata backup -o FILE`` dumps the store in use (embedded or ``DATABASE_URL``) with
the PostgreSQL client programs the embedded store uses, inside one snapshot: the per-table row
counts and checksums of the manifest describe exactly the rows in the dump.
``python -m geodata restore FILE`` checks the archive (members, sha256 of each, format, schema
and server versions), refuses a target store that holds data, then replays the dump and checks
every table's count and checksum in ONE transaction: a truncated, corrupt or tampered archive
changes nothing. Files go back into the data folder only after the store is restored.

Not kept: ``pg.password`` (it belongs to the cluster that made it; a restore target has its own)
and ``mqtt/`` (the broker's conf, port and queue, made again on start).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from geodata.demo.accounts import DEMO_CREDENTIALS
from geodata.embedded import find_pg_bin
from geodata.engine import get_engine, normalize_url
from geodata.errors import OneMapError
from geodata.secret_keys import SECRETS_FILE
from geodata.settings import Settings
from geodata.store import alembic_config, open_store

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DUMP = "store.dump"
DATA_PREFIX = "data/"
KEPT_PATHS: tuple[str, ...] = (DEMO_CREDENTIALS, SECRETS_FILE, "event_photos")
"""Paths under the data folder kept in a backup (files, or folders taken whole) when present."""
SEEDED_TABLES = frozenset({"alembic_version", "coverage_gap_state"})
"""Tables that migrations fill: rows there do not make a store "not empty"."""

# Row text must not depend on the session: same settings when backing up and when verifying.
SESSION_SETTINGS = (
    "SET LOCAL TimeZone = 'UTC'",
    "SET LOCAL DateStyle = 'ISO, YMD'",
    "SET LOCAL IntervalStyle = 'postgres'",
    "SET LOCAL extra_float_digits = 1",
    "SET LOCAL bytea_output = 'hex'",
)

_TABLES_SQL = """
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                        AND d.deptype = 'e')
    ORDER BY c.relname"""
"""The tables of the store (public schema, not partitions, not owned by an extension)."""


class BackupError(OneMapError):
    """A backup cannot be written, or an archive cannot be restored; the message says why and
    what to do. A refused restore changed nothing."""


@dataclass(frozen=True)
class Digest:
    """A table's row count and checksum."""

    rows: int
    checksum: str


def digest_sql(table: str) -> str:
    """SQL giving ``(count, checksum)`` of ``table``: the sum of the first 64 bits of each row's
    md5 (order-independent, so no key is needed and nothing grows with the table)."""
    return (
        "SELECT count(*), coalesce(sum(('x' || left(md5(t::text), 16))::bit(64)::bigint"
        f'::numeric), 0)::text FROM public."{table}" AS t'
    )


def table_digests(conn: Connection) -> dict[str, Digest]:
    """Count and checksum of every table, in the transaction of ``conn``."""
    for statement in SESSION_SETTINGS:
        conn.execute(text(statement))
    tables = conn.execute(text(_TABLES_SQL)).scalars().all()
    out = {}
    for table in tables:
        rows, checksum = conn.execute(text(digest_sql(table))).one()
        out[table] = Digest(int(rows), str(checksum))
    return out


# --- the PostgreSQL client programs ----------------------------------------------------------
def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """``(conninfo without password, environment with PGPASSWORD)`` for the client programs
    (a password on the command line would show in the process list)."""
    parsed = make_url(normalize_url(url))
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _client(settings: Settings, program: str) -> Path:
    path = find_pg_bin(settings.store.pg_bin) / program
    if not path.exists():
        raise BackupError(f"{path} not found: install the PostgreSQL client (postgresql-15)")
    return path


def _run(cmd: list[str], env: dict[str, str], what: str, **kwargs: Any) -> str:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, **kwargs)
    if proc.returncode != 0:
        raise BackupError(f"{what} failed ({proc.returncode}): {proc.stderr.strip()[-1500:]}")
    return proc.stdout


# --- versions --------------------------------------------------------------------------------
def _script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def _versions(conn: Connection) -> dict[str, Any]:
    revision = None
    if conn.execute(text("SELECT to_regclass('public.alembic_version') IS NOT NULL")).scalar():
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    postgis = conn.execute(
        text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
    ).scalar()
    available = conn.execute(
        text("SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'")
    ).scalar()
    return {
        "alembic_revision": revision,
        "postgresql": conn.execute(text("SHOW server_version")).scalar(),
        "postgresql_num": int(conn.execute(text("SHOW server_version_num")).scalar_one()),
        "postgis": postgis,
        "postgis_available": available,
    }


# --- backup ----------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _kept_files(data_dir: Path) -> Iterator[tuple[str, Path]]:
    """``(name in the archive, file)`` of each file worth keeping in the data folder."""
    for rel in KEPT_PATHS:
        path = data_dir / rel
        if path.is_file():
            yield DATA_PREFIX + rel, path
        elif path.is_dir():
            for f in sorted(p for p in path.rglob("*") if p.is_file()):
                yield DATA_PREFIX + f.relative_to(data_dir).as_posix(), f


def backup(settings: Settings, out: Path) -> dict[str, Any]:
    """Write the archive of the store in use and the data folder's kept files to ``out``;
    return its manifest."""
    with _store_url(settings) as url:
        return _backup(settings, url, Path(out))


@contextmanager
def _store_url(settings: Settings) -> Iterator[str]:
    """The URL of the store in use; an embedded server started for this is stopped after."""
    store = open_store(settings)
    try:
        yield store.url
    finally:
        if store.embedded is not None:
            store.embedded.stop_if_started_here()


def _backup(settings: Settings, url: str, out: Path) -> dict[str, Any]:
    conninfo, env = _libpq(url)
    with tempfile.TemporaryDirectory(prefix="onemap-backup-") as tmp:
        dump = Path(tmp) / DUMP
        with get_engine(url).connect() as plain:
            conn = plain.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            conn.begin()
            # pg_dump and the manifest's counts and checksums read this one snapshot
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            versions = _versions(conn)
            if versions["alembic_revision"] is None:
                raise BackupError("the store has no OneMap schema: nothing to back up")
            cmd = [str(_client(settings, "pg_dump")), "--format=custom", f"--snapshot={snapshot}"]
            _run([*cmd, f"--file={dump}", conninfo], env, "pg_dump")
            tables = table_digests(conn)
            conn.rollback()
        files = {DUMP: dump, **dict(_kept_files(settings.store.data_dir))}
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **{k: v for k, v in versions.items() if k != "postgis_available"},
            "tables": {t: {"rows": d.rows, "checksum": d.checksum} for t, d in tables.items()},
            "files": {name: _sha256(path) for name, path in files.items()},
        }
        manifest_file = Path(tmp) / MANIFEST
        manifest_file.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        partial = out.with_name(out.name + ".partial")
        partial.unlink(missing_ok=True)
        partial.touch(mode=0o600)  # it holds the demo accounts' passwords: owner only
        with tarfile.open(partial, "w") as tar:
            tar.add(manifest_file, MANIFEST)
            for name, path in files.items():
                tar.add(path, name)
        partial.replace(out)  # a crash leaves no half-written archive under the final name
    return manifest


# --- restore ---------------------------------------------------------------------------------
def read_archive(archive: Path, into: Path) -> dict[str, Any]:
    """Extract ``archive`` into ``into`` and check it: manifest, format, every file's sha256.
    Returns the manifest."""
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(f"{archive}: no such file")
    broken = f"{archive} is truncated or corrupt; take another backup (or copy it again)"
    try:
        with tarfile.open(archive, "r") as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"{broken} ({exc})") from exc
    try:
        manifest = json.loads((into / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{broken}: no readable {MANIFEST}") from exc
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(
            f"{archive} is in backup format {manifest.get('format')!r}; this OneMap reads "
            f"format {FORMAT_VERSION}: restore it with the OneMap version that wrote it"
        )
    if not _manifest_well_formed(manifest):
        raise BackupError(f"{broken}: {MANIFEST} lacks fields or has malformed values")
    files = manifest["files"]
    if DUMP not in files:
        raise BackupError(f"{broken}: the manifest lists no {DUMP}")
    for name, expected in files.items():
        parts = Path(name).parts
        if name != DUMP and (not name.startswith(DATA_PREFIX) or ".." in parts or "/" in name[:1]):
            raise BackupError(f"{broken}: the manifest names an unexpected file {name!r}")
        path = into / name
        if not path.is_file():
            raise BackupError(f"{broken}: {name} is missing")
        if _sha256(path) != expected:
            raise BackupError(f"{broken}: {name} does not match its sha256 in the manifest")
    return manifest


def _manifest_well_formed(manifest: dict[str, Any]) -> bool:
    """Whether the manifest has the fields restore reads, of the right types."""
    tables, files = manifest.get("tables"), manifest.get("files")
    if not (isinstance(tables, dict) and isinstance(files, dict) and tables):
        return False
    if not isinstance(manifest.get("postgresql_num"), int):
        return False
    if not all(isinstance(manifest.get(k), str) for k in ("alembic_revision", "postgresql")):
        return False
    for table, d in tables.items():
        if not (isinstance(table, str) and table.replace("_", "").isalnum()):
            return False
        if not (isinstance(d, dict) and isinstance(d.get("rows"), int)):
            return False
        if not (isinstance(d.get("checksum"), str) and d["checksum"].lstrip("-").isdigit()):
            return False
    return all(isinstance(v, str) for v in files.values())


def _check_versions(manifest: dict[str, Any], target: dict[str, Any]) -> None:
    """Refuse an archive this code or the target server cannot take."""
    revision = manifest.get("alembic_revision")
    script = _script_directory()
    known = {rev.revision for rev in script.walk_revisions()}
    if revision not in known:
        raise BackupError(
            f"the archive's schema revision {revision!r} is newer than this OneMap "
            f"(head {script.get_current_head()}): upgrade OneMap, then restore"
        )
    if target["alembic_revision"] not in (None, revision):
        raise BackupError(
            f"the target store is migrated to {target['alembic_revision']} but the archive "
            f"is at {revision}: restore into a new, blank database"
        )
    if manifest["postgresql_num"] // 10000 > target["postgresql_num"] // 10000:
        raise BackupError(
            f"the archive comes from PostgreSQL {manifest['postgresql']}, the target runs "
            f"{target['postgresql']}: restore onto PostgreSQL {manifest['postgresql']} or newer"
        )
    source, here = manifest.get("postgis"), target["postgis"] or target["postgis_available"]
    if source and here and source.split(".")[0] != here.split(".")[0]:
        raise BackupError(
            f"the archive holds PostGIS {source}, the target has PostGIS {here}: "
            "install the same PostGIS major version"
        )


def has_data(conn: Connection) -> list[str]:
    """The tables holding rows (besides those migrations fill): empty means the store is."""
    tables = conn.execute(text(_TABLES_SQL)).scalars().all()
    return [
        t
        for t in tables
        if t not in SEEDED_TABLES
        and conn.execute(text(f'SELECT EXISTS (SELECT 1 FROM public."{t}")')).scalar()
    ]


_NOT_EXTENSION = """NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid}
                                AND d.deptype = 'e')"""
_DROPS = (
    (
        "TABLE",
        "SELECT format('%I.%I', 'public', relname) FROM pg_class WHERE relnamespace = "
        "'public'::regnamespace AND relkind IN ('r', 'p') AND NOT relispartition AND "
        + _NOT_EXTENSION.format(oid="pg_class.oid"),
    ),
    (
        "MATERIALIZED VIEW",
        "SELECT format('%I.%I', 'public', relname) FROM pg_class WHERE relnamespace = "
        "'public'::regnamespace AND relkind = 'm' AND " + _NOT_EXTENSION.format(oid="pg_class.oid"),
    ),
    (
        "VIEW",
        "SELECT format('%I.%I', 'public', relname) FROM pg_class WHERE relnamespace = "
        "'public'::regnamespace AND relkind = 'v' AND " + _NOT_EXTENSION.format(oid="pg_class.oid"),
    ),
    (
        "SEQUENCE",
        "SELECT format('%I.%I', 'public', relname) FROM pg_class WHERE relnamespace = "
        "'public'::regnamespace AND relkind = 'S' AND " + _NOT_EXTENSION.format(oid="pg_class.oid"),
    ),
    (
        "ROUTINE",
        "SELECT format('%I.%I(%s)', 'public', proname, pg_get_function_identity_arguments(oid)) "
        "FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND prokind IN ('f', 'p') AND "
        + _NOT_EXTENSION.format(oid="pg_proc.oid"),
    ),
    (
        "TYPE",
        "SELECT format('%I.%I', 'public', typname) FROM pg_type WHERE typnamespace = "
        "'public'::regnamespace AND typtype IN ('e', 'd', 'r') AND "
        + _NOT_EXTENSION.format(oid="pg_type.oid"),
    ),
)
"""What a migrated but empty store holds besides PostGIS (which stays), by kind, in an order
where CASCADE and IF EXISTS make every drop succeed."""


def _drop_schema_sql(conn: Connection) -> str:
    """SQL dropping OneMap's empty schema from the target (nothing for a blank database), so
    the dump can create it again; it runs in the restore's transaction."""
    lines = []
    for kind, query in _DROPS:
        for name in conn.execute(text(query)).scalars():
            lines.append(f"DROP {kind} IF EXISTS {name} CASCADE;")
    return "\n".join(lines) + "\n"


def _verify_sql(manifest: dict[str, Any]) -> str:
    """SQL that raises (so the restore's transaction rolls back) unless every table's count
    and checksum are the manifest's."""
    # the dump left search_path empty; onemap_close_bin needs public (see _statistics_last)
    lines = [f"{s};" for s in (*SESSION_SETTINGS, "SET LOCAL search_path = public")]
    lines.append(
        "DO $verify$ DECLARE n bigint; c text; BEGIN\n"
        f"  IF (SELECT count(*) FROM ({_TABLES_SQL}) AS t) <> {len(manifest['tables'])} THEN\n"
        "    RAISE EXCEPTION 'onemap-verify: the restored store has other tables than the "
        "manifest';\n  END IF;"
    )
    for table, d in manifest["tables"].items():  # checked by _manifest_well_formed
        rows, checksum = int(d["rows"]), str(d["checksum"])
        lines.append(
            f"  {digest_sql(table)} INTO n, c;\n"
            f"  IF n <> {rows} OR c <> '{checksum}' THEN\n"
            f"    RAISE EXCEPTION 'onemap-verify: table {table} differs from the manifest: "
            f"% rows (manifest {rows}), checksum % (manifest {checksum})', n, c;\n  END IF;"
        )
    lines.append("END $verify$;")
    return "\n".join(lines) + "\n"


def restore(settings: Settings, archive: Path) -> dict[str, Any]:
    """Restore ``archive`` into the store in use, which must hold no data; return the manifest.

    The dump is replayed and verified against the manifest's counts and checksums in one
    transaction (nothing changes if any step fails); then the kept files are written into the
    data folder.
    """
    with _store_url(settings) as url:
        return _restore(settings, url, Path(archive))


def _restore(settings: Settings, url: str, archive: Path) -> dict[str, Any]:
    data_dir = settings.store.data_dir
    with tempfile.TemporaryDirectory(prefix="onemap-restore-") as tmp:
        work = Path(tmp)
        manifest = read_archive(archive, work / "archive")
        with get_engine(url).connect() as conn:
            target = _versions(conn)
            full = has_data(conn)
            prelude_sql = _drop_schema_sql(conn)
            conn.rollback()
        if full:
            raise BackupError(
                f"the target store is not empty ({', '.join(full[:5])} hold rows): restore "
                "only into an empty store (a new database, or a new ONEMAP_DATA_DIR)"
            )
        _check_versions(manifest, target)
        _check_files_free(manifest, data_dir)
        conninfo, env = _libpq(url)
        script = work / "restore.sql"
        pg_restore, dump = str(_client(settings, "pg_restore")), str(work / "archive" / DUMP)
        order = work / "restore.list"
        order.write_text(_statistics_last(_run([pg_restore, "--list", dump], env, "pg_restore")))
        restore_cmd = [pg_restore, "--no-owner", f"--use-list={order}"]
        _run([*restore_cmd, f"--file={script}", dump], env, "pg_restore (reading the dump)")
        prelude, verify = work / "prelude.sql", work / "verify.sql"
        prelude.write_text(prelude_sql)
        verify.write_text(_verify_sql(manifest))
        psql = [str(_client(settings, "psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        try:
            _run(
                [
                    *psql,
                    "--single-transaction",
                    "-f",
                    str(prelude),
                    "-f",
                    str(script),
                    "-f",
                    str(verify),
                    conninfo,
                ],
                env,
                "restore",
            )
        except BackupError as exc:
            raise BackupError(f"nothing was restored: {exc}") from exc
        _write_files(manifest, work / "archive", data_dir)
    return manifest


def _statistics_last(toc: str) -> str:
    """The dump's table of contents with extended statistics moved to the end.

    ``event_assessment_groups`` is on an expression calling ``onemap_close_bin``, whose body
    names ``onemap_close_bin_edges()`` without a schema; the restore runs with an empty
    ``search_path``, so planning any query on ``event`` (foreign key checks, the verification)
    fails while those statistics exist. Created last, after the checks, they do no harm.
    """
    lines = toc.splitlines()
    last = [line for line in lines if _STATISTICS.match(line)]
    return "\n".join([line for line in lines if not _STATISTICS.match(line)] + last) + "\n"


_STATISTICS = re.compile(r"^\d+; \d+ \d+ STATISTICS ")


def _check_files_free(manifest: dict[str, Any], data_dir: Path) -> None:
    """Refuse when a kept file exists in the data folder with other content."""
    for name, sha in manifest["files"].items():
        if not name.startswith(DATA_PREFIX):
            continue
        target = data_dir / name.removeprefix(DATA_PREFIX)
        if target.exists() and (not target.is_file() or _sha256(target) != sha):
            raise BackupError(
                f"{target} exists with other content: move it away, then restore again"
            )


def _write_files(manifest: dict[str, Any], extracted: Path, data_dir: Path) -> None:
    for name in manifest["files"]:
        if not name.startswith(DATA_PREFIX):
            continue
        target = data_dir / name.removeprefix(DATA_PREFIX)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(extracted / name, target)
        if name in (DATA_PREFIX + DEMO_CREDENTIALS, DATA_PREFIX + SECRETS_FILE):
            target.chmod(0o600)


# --- command line ----------------------------------------------------------------------------
def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    manifest = backup(settings, args.output)
    rows = sum(t["rows"] for t in manifest["tables"].values())
    print(
        f"backup written to {args.output}: {len(manifest['tables'])} tables, {rows:,} rows, "
        f"{len(manifest['files']) - 1} data files (schema {manifest['alembic_revision']})"
    )
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    manifest = restore(settings, args.archive)
    rows = sum(t["rows"] for t in manifest["tables"].values())
    print(
        f"restored {args.archive} (made {manifest['created_at']}): {len(manifest['tables'])} "
        f"tables, {rows:,} rows, counts and checksums verified"
    )
    if manifest["alembic_revision"] != _script_directory().get_current_head():
        print("the archive's schema is older than this OneMap: run python -m geodata migrate")
    return 0


def register(sub: argparse._SubParsersAction, _settings: Settings) -> None:
    """Add ``backup`` and ``restore`` to the ``python -m geodata`` command line."""
    b = sub.add_parser("backup", help="write one archive of the store and the data folder")
    b.add_argument("-o", "--output", type=Path, required=True, help="archive file to write")
    b.set_defaults(fn=cmd_backup)
    r = sub.add_parser("restore", help="restore an archive into an empty store, verified")
    r.add_argument("archive", type=Path, help="archive written by `python -m geodata backup`")
    r.set_defaults(fn=cmd_restore)
