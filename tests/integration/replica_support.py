"""A real PostgreSQL hot standby of the tests' embedded cluster: ``pg_basebackup -R`` into a
folder of its own, started beside the primary on its own port (54592–54599 when free), stopped
or ``kill -9``-ed by the tests. Used by ``test_read_replicas.py`` and ``bench/multiprocess.py``."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import make_url

from geodata.embedded import EmbeddedStore, port_in_use
from geodata.errors import StoreError

PORTS = range(54592, 54600)


def _free_standby_port() -> int:
    for port in PORTS:
        if not port_in_use(port):
            return port
    raise StoreError("no free port in 54592–54599 for a standby")


class Standby:
    """A streaming replica of ``primary`` (an :class:`EmbeddedStore` that runs)."""

    def __init__(self, primary: EmbeddedStore) -> None:
        self.primary = primary
        self.root = Path(tempfile.mkdtemp(prefix="onemap-standby-"))
        self.data = self.root / "data"
        self.port = _free_standby_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str, timeout: float = 120) -> None:
        cmd = [str(self.primary.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        env = os.environ | {"PGPASSWORD": self.primary.password_file.read_text().strip()}
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise StoreError(f"{args[0]} failed: {done.stderr.strip()[-600:]}")

    def create(self) -> Standby:
        """``pg_basebackup -R`` from the primary, then start it as a hot standby."""
        self._run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "onemap",
            "-D", str(self.data), "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        self.start()
        return self

    def start(self, seconds: float = 20.0) -> None:
        """Start it; after a ``kill -9`` the old backends may hold its shared memory for a
        moment, so a failed start is tried again for up to ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                self._start()
                return
            except StoreError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def _start(self) -> None:
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
            "-o", f"-p {self.port} -c shared_buffers=64MB -c hot_standby=on", "-w", "start",
        )  # fmt: skip

    def url(self, primary_url: str) -> str:
        """``primary_url`` (a database of the primary) on this standby."""
        parsed = make_url(primary_url).set(port=self.port)
        return parsed.render_as_string(hide_password=False)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill9(self) -> None:
        """``kill -9`` the standby's postmaster (its backends then exit on their own)."""
        pid = self.postmaster_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while port_in_use(self.port) and time.monotonic() < deadline:
                time.sleep(0.05)

    def remove(self) -> None:
        """Stop it (if it runs) and delete its folder."""
        if self.postmaster_pid() is not None and port_in_use(self.port):
            with contextlib.suppress(StoreError, subprocess.TimeoutExpired):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.kill9()
        shutil.rmtree(self.root, ignore_errors=True)
