"""An embedded Mosquitto broker on 127.0.0.1, owned by this process (no system service).

Conf, persistence and log live in ``<data_dir>/mqtt/``; the port in use is written to
``<data_dir>/mqtt/port`` while it runs so other processes (the simulator) can find it.

The port is kept with the data folder: chosen at the first start (the configured one, or a free
one when that is 0 or taken) and written to ``<data_dir>/mqtt/kept-port``; every later start
listens on exactly that port, so gateways keep working across restarts. ``mosquitto.pid`` holds
the broker's pid and its owner's; a Mosquitto of this folder left by a crashed run (its command
line names this folder's conf) is stopped before a new one starts. A kept port held by anything
else is an error (:class:`BrokerPortHeld`), never a silent move.

No anonymous clients: gateways log in with their name and key, the app's subscriber as
``onemap-intake``; ``passwords`` and ``acl`` in the folder are written from the store
(:mod:`twin.broker_accounts`) when the broker starts and by :meth:`EmbeddedBroker.sync`, which
also sends SIGHUP to this folder's running Mosquitto so the change is live at once (Mosquitto
2.0.11 then disconnects a connected client whose account is gone). The user name is the client
id (``use_username_as_clientid``), so no client can take over another's session. An external
broker (``mqtt_url``) enforces its own accounts and ACLs.

Durability: Mosquitto 2.0 keeps its queues in memory and writes them to ``mosquitto.db`` at each
autosave. Here it saves after every change (``autosave_on_changes``, interval 1), so what it has
acknowledged to a gateway and not yet handed to the subscriber survives a ``kill -9`` of the
broker, except the messages of the broker loop pass under way when it died (it acknowledges a
message, then saves at the end of the pass). Each save rewrites the whole queue: while the app
is down the queue grows and acknowledgements slow down (about 240 messages/s with 15,000
queued), which is back-pressure on the gateways, not loss.
"""

from __future__ import annotations

import getpass
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from geodata.embedded import port_in_use
from geodata.settings import Settings
from twin import broker_accounts as accounts
from twin import broker_procs as procs

log = logging.getLogger("onemap.twin.broker")


class BrokerPortHeld(RuntimeError):
    """The port kept for this data folder is held by a process that is not its broker."""

    def __init__(self, port: int, pids: list[int], folder: Path, owner: int | None = None) -> None:
        self.port, self.pids = port, pids
        if owner is not None:
            holder = f"this folder's Mosquitto (pid {pids[0]}), run by live process {owner}"
            what = "stop that process first"
        else:
            holder = (
                "pid "
                + ", ".join(f"{p} ({' '.join(procs.cmdline(p) or ['?'])[:80]})" for p in pids)
                if pids
                else "a process whose pid is not visible to this user"
            )
            what = (
                f"stop it, or delete {folder / KEPT_PORT} to choose another port "
                "(then tell the gateways the new one)"
            )
        super().__init__(f"MQTT port {port} kept for {folder} is held by {holder}: {what}")


KEPT_PORT = "kept-port"
PID_FILE = "mosquitto.pid"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(host: str, port: int) -> bool:
    return port_in_use(port, host, timeout=0.2)


class EmbeddedBroker:
    """``mosquitto -c <generated conf>`` on ``127.0.0.1:port`` (``port=0``: a free one)."""

    host = "127.0.0.1"

    def __init__(
        self,
        folder: Path,
        port: int = 0,
        binary: Path = Path("/usr/sbin/mosquitto"),
        *,
        store_url: str | None = None,
        topic: str = "onemap/+/readings",
    ) -> None:
        self.folder = Path(folder)
        self.port = port
        self.binary = Path(binary)
        self.store_url = store_url
        """Where the gateways' accounts come from (None: only the intake account)."""
        self.topic = topic
        self.process: subprocess.Popen | None = None
        self._lock = threading.RLock()
        self._fingerprint: str | None = None
        """The store's accounts digest the files were last written from."""

    @classmethod
    def from_settings(cls, settings: Settings, store_url: str | None = None) -> EmbeddedBroker:
        """The broker ``settings`` describe (``<data_dir>/mqtt``, ``mqtt_port``), its gateway
        accounts read from the store at ``store_url``."""
        return cls(
            settings.store.data_dir / "mqtt",
            settings.mqtt.port,
            settings.mqtt.bin,
            store_url=store_url,
            topic=settings.mqtt.topic,
        )

    @property
    def url(self) -> str:
        """The broker's address, without credentials (safe to log)."""
        return f"mqtt://{self.host}:{self.port}"

    @property
    def intake_url(self) -> str:
        """The broker's address with the intake account's credentials (for the subscriber)."""
        password = accounts.intake_password(self.folder)
        return f"mqtt://{accounts.INTAKE_USER}:{password}@{self.host}:{self.port}"

    def conf_text(self) -> str:
        """The generated mosquitto.conf."""
        lines = [
            f"listener {self.port} {self.host}",
            "allow_anonymous false",
            f"password_file {self.folder / accounts.PASSWORD_FILE}",
            f"acl_file {self.folder / accounts.ACL_FILE}",
            "use_username_as_clientid true",
            "persistence true",
            f"persistence_location {self.folder}/",
            # Save after every change, not every 30 minutes: a queued reading the broker has
            # acknowledged survives its kill -9 (see the module docstring).
            "autosave_on_changes true",
            "autosave_interval 1",
            f"log_dest file {self.folder / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "max_queued_messages 1000000",
            "max_inflight_messages 1000",
            "message_size_limit 8388608",
            "set_tcp_nodelay true",
        ]
        if os.geteuid() == 0:
            lines.append(f"user {getpass.getuser()}")  # do not drop to a 'mosquitto' user
        return "\n".join(lines) + "\n"

    @property
    def conf(self) -> Path:
        """The conf file; its absolute path on the command line marks this folder's broker."""
        return (self.folder / "mosquitto.conf").resolve()

    def kept_port(self) -> int | None:
        """The port kept for this data folder (None before the first start)."""
        try:
            return int((self.folder / KEPT_PORT).read_text().strip())
        except (OSError, ValueError):
            return None

    def _ours(self, pid: int) -> bool:
        argv = procs.cmdline(pid) or []
        return (
            bool(argv)
            and Path(argv[0]).name.startswith("mosquitto")
            and str(self.conf) in argv[1:]
            and not procs.gone(pid)
        )

    def _recorded(self) -> tuple[int | None, int | None]:
        """(broker pid, owner pid) from the pid file."""
        try:
            nums = [int(x) for x in (self.folder / PID_FILE).read_text().split()]
        except (OSError, ValueError):
            return None, None
        return (nums[0] if nums else None), (nums[1] if len(nums) > 1 else None)

    def stop_orphan(self) -> int | None:
        """Stop this folder's Mosquitto left by a crashed run, if any; returns its pid.

        Found through the pid file, or as the holder of the kept port; it must be a mosquitto
        whose command line names this folder's conf. One whose recorded owner still runs (and is
        its parent, and is not this process) is another live app's: :class:`BrokerPortHeld`."""
        pid, owner = self._recorded()
        candidates = [pid] if pid else []
        kept = self.kept_port()
        if kept:
            candidates += procs.listeners(kept)
        for cand in dict.fromkeys(candidates):
            if cand == (self.process.pid if self.process else None) or not self._ours(cand):
                continue
            if cand == pid and owner and owner != os.getpid() and procs.parent(cand) == owner:
                raise BrokerPortHeld(kept or self.port, [cand], self.folder, owner=owner)
            log.warning("stopping Mosquitto pid %s left by a crashed run of %s", cand, self.folder)
            procs.terminate(cand)
            (self.folder / PID_FILE).unlink(missing_ok=True)
            return cand
        if pid is not None:
            (self.folder / PID_FILE).unlink(missing_ok=True)  # stale: not ours, or gone
        return None

    # --- accounts ----------------------------------------------------------------------------
    def write_accounts(self) -> bool:
        """Write the password and ACL files from the store; True if written. When the store
        cannot be read, existing files are kept (or, if there are none, only the intake account
        is written) and False is returned."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.store_url is None:
            accounts.write_files(self.folder, self.topic, accounts.Accounts(()))
            return True
        try:
            fingerprint = accounts.store_fingerprint(self.store_url)
            found = accounts.load_accounts(self.store_url)
        except SQLAlchemyError as exc:
            log.error("broker accounts not read from the store (%s); files kept", exc)
            if not accounts.files_exist(self.folder):
                accounts.write_files(self.folder, self.topic, accounts.Accounts(()))
            return False
        accounts.write_files(self.folder, self.topic, found)
        self._fingerprint = fingerprint
        return True

    def running_pid(self) -> int | None:
        """The pid of this folder's running Mosquitto: the one this object started, else the one
        the pid file names if its command line names this folder's conf."""
        if self.running():
            assert self.process is not None
            return self.process.pid
        pid, _owner = self._recorded()
        return pid if pid is not None and self._ours(pid) else None

    def sync(self) -> int | None:
        """Write the accounts from the store and make this folder's running broker reload them
        (SIGHUP); returns the pid signalled, None when no broker of this folder runs."""
        self.write_accounts()
        pid = self.running_pid()
        if pid is None:
            return None
        try:
            os.kill(pid, signal.SIGHUP)
        except ProcessLookupError:  # exited meanwhile: the next start reads the files
            return None
        return pid

    def resync(self) -> bool:
        """:meth:`sync` if the store's accounts changed since the files were written; True if
        synced. Never raises (the store may be down): failures are logged."""
        if self.store_url is None:
            return False
        try:
            if accounts.store_fingerprint(self.store_url) == self._fingerprint:
                return False
            self.sync()
            log.info("broker accounts written again: gateways changed in the store")
            return True
        except (SQLAlchemyError, OSError) as exc:
            log.warning("broker accounts not checked (%s)", exc)
            return False

    def _choose_port(self) -> int:
        kept = self.kept_port()
        if kept is not None:
            if self.port and self.port != kept:
                log.warning(
                    "MQTT port %s kept for %s (configured: %s)", kept, self.folder, self.port
                )
            if _listening(self.host, kept):
                raise BrokerPortHeld(kept, procs.listeners(kept), self.folder)
            return kept
        if self.port and not _listening(self.host, self.port):
            return self.port
        return _free_port()

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        """Stop an orphan of this folder, write the conf, start Mosquitto on the kept port (the
        first time: the configured or a free one, then kept), and wait until it listens."""
        if not self.binary.exists():
            raise FileNotFoundError(f"mosquitto not found at {self.binary} (apt install mosquitto)")
        with self._lock:
            self._forget()
            self.folder.mkdir(parents=True, exist_ok=True)
            self.stop_orphan()
            self.port = self._choose_port()
            if self._fingerprint is None or not accounts.files_exist(self.folder):
                self.write_accounts()  # a restart keeps the files the watcher keeps current
            self.conf.write_text(self.conf_text())
            self.process = subprocess.Popen(
                [str(self.binary), "-c", str(self.conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            (self.folder / PID_FILE).write_text(f"{self.process.pid}\n{os.getpid()}\n")
            deadline = time.monotonic() + timeout
            while not _listening(self.host, self.port):
                if self.process.poll() is not None:
                    err = (
                        self.process.stderr.read().decode(errors="replace")
                        if self.process.stderr
                        else ""
                    )
                    code = self.process.returncode
                    self.stop()
                    raise RuntimeError(f"mosquitto exited ({code}): {err.strip()}")
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"mosquitto did not listen on {self.port} in {timeout} s")
                time.sleep(0.05)
            (self.folder / "port").write_text(str(self.port))
            if self.kept_port() != self.port:
                (self.folder / KEPT_PORT).write_text(f"{self.port}\n")
            return self

    def _forget(self) -> None:
        """Drop the handle of a process that has exited (closing its pipe)."""
        if self.process is not None and self.process.poll() is not None:
            if self.process.stderr:
                self.process.stderr.close()
            self.process = None

    def died(self) -> bool:
        """The broker this object started exited on its own (not through :meth:`stop`)."""
        proc = self.process
        return proc is not None and proc.poll() is not None

    def revive(self, timeout: float = 10.0) -> bool:
        """Start again, on the same port, if the broker died on its own; True if restarted."""
        with self._lock:
            if not self.died():
                return False
            assert self.process is not None
            log.error(
                "embedded MQTT broker pid %s died (exit %s); restarting on port %s",
                self.process.pid,
                self.process.returncode,
                self.port,
            )
            self.start(timeout)
            return True

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the broker this object started (SIGTERM, then SIGKILL)."""
        with self._lock:
            proc, self.process = self.process, None
            if proc is not None:
                self._stop_process(proc, timeout)

    def _stop_process(self, proc: subprocess.Popen, timeout: float) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if proc.stderr:
            proc.stderr.close()
        (self.folder / "port").unlink(missing_ok=True)
        if self._recorded()[0] == proc.pid:
            (self.folder / PID_FILE).unlink(missing_ok=True)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def port_file_url(settings: Settings) -> str | None:
    """URL of the embedded broker another process of this data dir started, if any."""
    path = settings.store.data_dir / "mqtt" / "port"
    try:
        port = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return f"mqtt://127.0.0.1:{port}" if _listening("127.0.0.1", port) else None
