"""An embedded Mosquitto broker on 127.0.0.1, owned by this process (no system service).

Conf, persistence and log live in ``<data_dir>/mqtt/``; the port in use is written to
``<data_dir>/mqtt/port`` so other processes (the simulator) can find it. Anonymous clients are
allowed because the listener is bound to loopback only and gateways are authenticated by the
key inside each message (see :mod:`twin.mqtt`); an external broker (``mqtt_url``) enforces its
own ACLs.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from pathlib import Path

from geodata.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class EmbeddedBroker:
    """``mosquitto -c <generated conf>`` on ``127.0.0.1:port`` (``port=0``: a free one)."""

    host = "127.0.0.1"

    def __init__(
        self, folder: Path, port: int = 0, binary: Path = Path("/usr/sbin/mosquitto")
    ) -> None:
        self.folder = Path(folder)
        self.port = port
        self.binary = Path(binary)
        self.process: subprocess.Popen | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedBroker:
        """The broker ``settings`` describe (``<data_dir>/mqtt``, ``mqtt_port``)."""
        return cls(settings.store.data_dir / "mqtt", settings.mqtt.port, settings.mqtt.bin)

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def conf_text(self) -> str:
        """The generated mosquitto.conf."""
        lines = [
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {self.folder}/",
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

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        """Write the conf, start Mosquitto, and wait until it accepts connections."""
        if not self.binary.exists():
            raise FileNotFoundError(f"mosquitto not found at {self.binary} (apt install mosquitto)")
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.port or _listening(self.host, self.port):
            self.port = _free_port()
        conf = self.folder / "mosquitto.conf"
        conf.write_text(self.conf_text())
        self.process = subprocess.Popen(
            [str(self.binary), "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while not _listening(self.host, self.port):
            if self.process.poll() is not None:
                err = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                raise RuntimeError(f"mosquitto exited ({self.process.returncode}): {err.strip()}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"mosquitto did not listen on {self.port} in {timeout} s")
            time.sleep(0.05)
        (self.folder / "port").write_text(str(self.port))
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the broker this object started (SIGTERM, then SIGKILL)."""
        proc, self.process = self.process, None
        if proc is None:
            return
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
