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

import contextlib
import fcntl
import hashlib
import logging
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from geodata.errors import StoreError

DB_USER = "onemap"
FALLBACK_ROOT = Path("/var/lib/onemap")
PID_FILE = "postmaster.pid"
REVIVE_LOCK = "pg.revive.lock"
"""In the data folder: held while one process revives the cluster (several app processes may
watch the same one)."""
PROC = Path("/proc")
REVIVE_WAITS_S = (0.0, 0.5, 1.0, 2.0, 4.0)
"""Waits before each try of :meth:`EmbeddedStore.revive` (about 7.5 s in all)."""
REVIVE_START_TIMEOUT_S = 30
"""How long one start after a crash may take (crash recovery replays the WAL first)."""
LEFTOVER_GRACE_S = 2.0
"""How long the processes left behind by a dead postmaster get to quit before a start."""

log = logging.getLogger("onemap.store")


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


def _serves(pid: int, data_dir: Path, owner: int) -> bool:
    """True when process ``pid`` runs (not a zombie) as user ``owner`` in ``data_dir`` (the
    folder every PostgreSQL server process works in). Reads /proc only: no subprocess."""
    if not PROC.is_dir():  # no /proc: only whether the pid runs at all
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        state = (PROC / str(pid) / "stat").read_text().rpartition(")")[2].split()[0]
        if state in ("Z", "X") or (PROC / str(pid)).stat().st_uid != owner:
            return False
        return os.readlink(PROC / str(pid) / "cwd") == str(data_dir)
    except (OSError, IndexError):
        return False


def _pids_in(data_dir: Path, owner: int) -> list[int]:
    """Every running process of ``owner`` working in ``data_dir``."""
    if not PROC.is_dir():
        return []
    pids = (int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit())
    return [pid for pid in pids if pid != os.getpid() and _serves(pid, data_dir, owner)]


def _wait(stop: threading.Event | None, seconds: float) -> bool:
    """Sleep ``seconds``, or until ``stop`` is set; True when it was set."""
    if stop is None:
        time.sleep(seconds)
        return False
    return stop.wait(seconds)


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
        """Whether the server runs, as ``pg_ctl status`` says (spawns a process: see
        :meth:`alive` for a cheap check)."""
        if not (self.data_dir / PID_FILE).exists():
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
        self._launch(60)
        self.started_here = True
        self._ensure_database()

    def _launch(self, wait_s: int) -> None:
        """``pg_ctl start``, waiting up to ``wait_s`` seconds for connections to be accepted."""
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
            str(wait_s),
            "start",
            timeout=wait_s + 30,
        )

    # --- supervision ---------------------------------------------------------------------------
    def postmaster_pid(self) -> int | None:
        """The pid ``postmaster.pid`` names (None: no such file, or not readable yet)."""
        try:
            first = (self.data_dir / PID_FILE).read_text().split("\n", 1)[0].strip()
        except OSError:
            return None
        return int(first) if first.isdigit() else None

    def _owner(self) -> int:
        return self.data_dir.stat().st_uid

    def alive(self) -> bool:
        """Whether the postmaster ``postmaster.pid`` names still runs: a process of the
        cluster's owner, not a zombie, working in this data folder (a pid reused by another
        process does not count). A few reads of /proc, cheap enough to call every second."""
        pid = self.postmaster_pid()
        try:
            return pid is not None and _serves(pid, self.data_dir, self._owner())
        except OSError:
            return False

    def leftovers(self) -> list[int]:
        """Processes of this cluster still running without a postmaster (backends and
        background workers finishing after it died); they keep its shared memory attached,
        so a new postmaster would refuse to start."""
        if self.alive():
            return []
        return _pids_in(self.data_dir, self._owner())

    def _quit_leftovers(self) -> None:
        """Ask the processes a dead postmaster left to quit (SIGQUIT, as the postmaster itself
        does after a crash) and wait up to :data:`LEFTOVER_GRACE_S` for them."""
        pids = self.leftovers()
        if not pids:
            return
        log.warning(
            "embedded PostgreSQL: %d process(es) outlived the postmaster, quitting", len(pids)
        )
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + LEFTOVER_GRACE_S
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.05)

    def _clear_stale_pid_file(self) -> None:
        """Remove ``postmaster.pid`` when the pid it names is not this cluster's postmaster
        (PostgreSQL itself refuses to start when that pid was reused by another process of its
        user, such as a backend of another cluster)."""
        pid = self.postmaster_pid()
        if pid is not None and not self.alive():
            (self.data_dir / PID_FILE).unlink(missing_ok=True)
            log.info("embedded PostgreSQL: removed the stale postmaster.pid (pid %s)", pid)

    def _server_log_reason(self) -> str:
        """The server log's last FATAL/PANIC line (why a start failed), else ''."""
        try:
            with open(self.log_file, "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return next((ln for ln in reversed(lines) if "FATAL" in ln or "PANIC" in ln), "")[-300:]

    @contextlib.contextmanager
    def _revive_lock(self) -> Iterator[None]:
        """Held by one process at a time (the others wait, then find the server running)."""
        with open(self.root / REVIVE_LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def revive(self, stop: threading.Event | None = None) -> bool:
        """Start the server again after its postmaster died; False when it runs (nothing to
        do, or another process revived it meanwhile), True when this call started it.

        Before each try: the processes the dead postmaster left are asked to quit, and a stale
        ``postmaster.pid`` is removed, all under a lock file of the data folder (several app
        processes may watch one cluster). A try that fails (shared memory still attached by a
        dying backend, say) is logged and retried after :data:`REVIVE_WAITS_S`; when every try
        failed, :class:`StoreError` says why. ``stop`` set: give up (returns False). Who owns
        the server (:attr:`started_here`) does not change."""
        last = ""
        for attempt, wait in enumerate(REVIVE_WAITS_S, start=1):
            if _wait(stop, wait):
                return False
            try:
                with self._revive_lock():
                    if self.alive():
                        return False
                    self._quit_leftovers()
                    self._clear_stale_pid_file()
                    self._launch(REVIVE_START_TIMEOUT_S)
                    return True
            except (StoreError, subprocess.TimeoutExpired) as exc:
                last = self._server_log_reason() or str(exc)
                tries = len(REVIVE_WAITS_S)
                log.warning(
                    "embedded PostgreSQL did not start (try %d of %d): %s", attempt, tries, last
                )
        raise StoreError(f"the embedded PostgreSQL did not start again: {last}")

    def _running_port(self) -> int:
        """The port the running server listens on (line 4 of postmaster.pid)."""
        lines = (self.data_dir / PID_FILE).read_text().splitlines()
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
