"""The embedded store: a local PostgreSQL + PostGIS cluster that OneMap creates, starts and stops.

Used when no ``DATABASE_URL`` is set. The cluster lives in ``<data_dir>/pg`` and listens on
127.0.0.1 only, on its own port (default 54329, so a system PostgreSQL on 5432 is left alone),
with a generated password kept in ``<data_dir>/pg.password`` (mode 600).

PostgreSQL refuses to run as root, so when this process is root the server binaries run as the
``postgres`` system user (``runuser -u postgres --``) and the cluster folder belongs to that user;
if that user cannot reach the project folder (a checkout under /root, say), the cluster goes to
``/var/lib/onemap/<hash of the data folder>/pg`` instead.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from geodata.errors import StoreError

DB_USER = "onemap"
FALLBACK_ROOT = Path("/var/lib/onemap")


def find_pg_bin(preferred: Path | None = None) -> Path:
    """Return the folder holding ``initdb``/``pg_ctl``/``postgres`` (newest installed version)."""
    candidates: list[Path] = []
    if preferred:
        candidates.append(Path(preferred))
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(versions)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent)
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            return c
    raise StoreError(
        "PostgreSQL server binaries not found. Install them "
        "(Debian/Ubuntu: apt-get install postgresql-15-postgis-3) or set DATABASE_URL."
    )


def postgis_available(pg_bin: Path) -> bool:
    """True when the PostGIS extension is installed for the PostgreSQL in ``pg_bin``."""
    pg_config = pg_bin / "pg_config"
    if pg_config.exists():
        share = subprocess.run(
            [str(pg_config), "--sharedir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if share:
            return any(Path(share, "extension").glob("postgis*.control"))
    version = pg_bin.parent.name
    return any(Path(f"/usr/share/postgresql/{version}/extension").glob("postgis*.control"))


def _postgres_can_reach(path: Path) -> bool:
    """True when the ``postgres`` user can traverse to ``path`` (or its nearest existing parent)."""
    existing = path
    while not existing.exists():
        existing = existing.parent
    probe = ["runuser", "-u", "postgres", "--", "test", "-x", str(existing)]
    return subprocess.run(probe, check=False, capture_output=True).returncode == 0


def port_in_use(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """True when something accepts connections on ``host:port`` (within ``timeout`` seconds)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class EmbeddedStore:
    """A PostgreSQL cluster in ``root/pg`` served on 127.0.0.1:``port``."""

    root: Path
    port: int = 54329
    database: str = "onemap"
    pg_bin: Path | None = None
    """PostgreSQL's programs as configured (None: found by :func:`find_pg_bin`)."""
    bin_dir: Path = field(init=False)
    """PostgreSQL's programs as found."""
    started_here: bool = field(default=False, init=False)
    cluster_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        self.bin_dir = find_pg_bin(self.pg_bin)
        self.cluster_dir = self._choose_cluster_dir()

    # --- paths -------------------------------------------------------------------------------
    def _choose_cluster_dir(self) -> Path:
        """``root/pg``; as root, when the postgres user cannot reach ``root`` (a project under
        /root, say), a folder of this project's own under /var/lib/onemap instead."""
        preferred = self.root / "pg"
        if not self._as_root or _postgres_can_reach(self.root):
            return preferred
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:12]
        return FALLBACK_ROOT / digest / "pg"

    @property
    def data_dir(self) -> Path:
        return self.cluster_dir / "data"

    @property
    def password_file(self) -> Path:
        return self.root / "pg.password"

    @property
    def log_file(self) -> Path:
        return self.cluster_dir / "server.log"

    @property
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    # --- running server commands -------------------------------------------------------------
    def _run(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise StoreError(f"{args[0]} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
        return proc

    def _password(self) -> str:
        return self.password_file.read_text().strip()

    def _prepare_owner(self) -> None:
        """As root, hand the cluster folder to ``postgres`` and check it can reach it."""
        if not self._as_root:
            return
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise StoreError(
                "running as root needs the 'postgres' system user (apt-get install postgresql)"
            ) from exc
        os.chown(self.cluster_dir, pw.pw_uid, pw.pw_gid)
        probe = subprocess.run(
            ["runuser", "-u", "postgres", "--", "test", "-w", str(self.cluster_dir)], check=False
        )
        if probe.returncode != 0:
            raise StoreError(
                f"the postgres user cannot write {self.cluster_dir}; set ONEMAP_DATA_DIR to a "
                "folder it can reach"
            )

    # --- lifecycle ---------------------------------------------------------------------------
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists() and self.password_file.exists()

    def init(self) -> None:
        """Create the cluster (once). Safe to call again."""
        if self.initialized():
            return
        if (self.data_dir / "PG_VERSION").exists():
            raise StoreError(
                f"{self.password_file} is missing but a cluster exists in {self.data_dir}; "
                "restore the password file or remove the folder to start afresh"
            )
        if not postgis_available(self.bin_dir):
            raise StoreError(
                f"PostGIS is not installed for {self.bin_dir.parent}: "
                "apt-get install postgresql-15-postgis-3 (or set DATABASE_URL)"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        self.cluster_dir.parent.mkdir(parents=True, exist_ok=True)
        if self.cluster_dir.exists():  # a half-made cluster (no PG_VERSION) from an interrupted run
            shutil.rmtree(self.cluster_dir)
        self.cluster_dir.mkdir(mode=0o700)
        self._prepare_owner()
        password = secrets.token_urlsafe(18)
        pwfile = self.cluster_dir / "initpw"
        pwfile.write_text(password + "\n")
        if self._as_root:
            shutil.chown(pwfile, "postgres", "postgres")
        data = self.data_dir
        try:
            self._run(
                "initdb",
                "-D",
                str(data),
                "-U",
                DB_USER,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with open(data / "postgresql.auto.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n# OneMap embedded store\n"
                "listen_addresses = '127.0.0.1'\n"
                "unix_socket_directories = ''\n"
                "shared_buffers = '512MB'\n"
                "work_mem = '32MB'\n"
                "maintenance_work_mem = '256MB'\n"
                "max_wal_size = '4GB'\n"
                "logging_collector = off\n"
            )
        self.password_file.write_text(password + "\n")
        self.password_file.chmod(0o600)

    def running(self) -> bool:
        if not (self.data_dir / "postmaster.pid").exists():
            return False
        return self._run("pg_ctl", "-D", str(self.data_dir), "status", check=False).returncode == 0

    def start(self) -> None:
        """Create the cluster if needed and start it; reuse it if it is already running."""
        self.init()
        if self.running():
            self.port = self._running_port()
            return
        if port_in_use(self.port):
            raise StoreError(
                f"port {self.port} is taken by another server; "
                "set ONEMAP_EMBEDDED_PORT to a free one"
            )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            f"-p {self.port}",
            "-w",
            "-t",
            "60",
            "start",
        )
        self.started_here = True
        self._ensure_database()

    def _running_port(self) -> int:
        """The port the running server listens on (line 4 of postmaster.pid)."""
        lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else self.port

    def stop(self) -> None:
        """Stop the server (fast shutdown: clean, in-flight transactions rolled back)."""
        if self.running():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        self.started_here = False

    def stop_if_started_here(self) -> None:
        """Stop the server only when this process started it."""
        if self.started_here:
            self.stop()

    # --- connection ----------------------------------------------------------------------------
    def url(self, database: str | None = None) -> str:
        pw = quote(self._password(), safe="")
        return (
            f"postgresql+psycopg://{DB_USER}:{pw}@127.0.0.1:{self.port}/{database or self.database}"
        )

    def _ensure_database(self, database: str | None = None) -> None:
        import psycopg

        name = database or self.database
        conninfo = self.url("postgres").replace("postgresql+psycopg", "postgresql")
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg.connect(conninfo, autocommit=True)
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
