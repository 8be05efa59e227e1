"""Two app processes behind one store, as a reverse proxy would use them, and the clients that
check they behave as one: sign-in over HTTP, an SSE reader, a probe of who leads.

Process ``a`` starts first (it starts the embedded PostgreSQL and builds the demo city);
``b`` runs on the same data folder and port and attaches to the running cluster. Used by
``tests/faults/test_many_processes.py`` and ``bench/multiprocess.py``.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from geodata.leader import leader_pids
from tests.faults.harness import AppProcess


@dataclass
class Pair:
    """Processes ``a`` and ``b`` on one data folder (one store, one broker)."""

    a: AppProcess
    b: AppProcess

    @classmethod
    def start(cls, data_dir: Path, extra_env: dict[str, str] | None = None) -> Pair:
        env = {"ONEMAP_TWIN_LEADER_POLL_S": "0.5", **(extra_env or {})}
        a = AppProcess(data_dir, extra_env=env, name="app-a")
        a.start()
        b = AppProcess(data_dir, pg_port=a.pg_port, extra_env=env, name="app-b")
        try:
            b.start()
        except BaseException:
            a.stop()
            raise
        return cls(a, b)

    def processes(self) -> list[AppProcess]:
        return [self.a, self.b]

    def leaders(self) -> list[int]:
        """App process ids holding the leader lock."""
        return leader_pids(self.a.store_url)

    def by_pid(self, pid: int) -> AppProcess:
        return next(p for p in self.processes() if p.app_pid() == pid)

    def stop(self) -> None:
        """Stop both (the one that does not stop the cluster first)."""
        for proc in (self.b, self.a):
            if proc.proc is not None and proc.proc.poll() is None:
                proc.proc.terminate()
                proc.proc.wait(30)
        self.a.stop()


def status(url: str, token: str | None = None, opener=None) -> int:
    """The HTTP status of ``GET url`` (with a bearer ``token`` or through ``opener``)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[override]
        return None


class Browser:
    """A cookie jar signed in to one process; its cookies work on the other (same store)."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.session = ""
        """The session cookie's value, kept after the sign-out (as a thief would)."""
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.jar if c.name == name and c.value)

    def sign_in(self, base_url: str, username: str, password: str) -> None:
        with self.opener.open(base_url + "/login", timeout=5) as r:
            form = r.read().decode()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf is not None, "the sign-in form carries a CSRF token"
        body = urllib.parse.urlencode(
            {"username": username, "password": password, "csrf_token": csrf[1]}
        ).encode()
        assert self._post(base_url + "/login", body, {}) == 303
        self.session = self.cookie("onemap_session")

    def sign_out(self, base_url: str) -> int:
        csrf, session = self.cookie("_csrf_token"), self.cookie("onemap_session")
        headers = {"X-CSRFToken": csrf, "Cookie": f"onemap_session={session}; _csrf_token={csrf}"}
        return self._post(base_url + "/logout", b"", headers)

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(url, body, headers, method="POST")
        try:
            with self.opener.open(request, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def status_on(self, base_url: str, path: str) -> int:
        """``GET path`` on another process with this browser's session cookie only."""
        request = urllib.request.Request(
            base_url + path, headers={"Cookie": f"onemap_session={self.session}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code


class SseReader(threading.Thread):
    """Reads ``/api/live`` of one process; ``messages`` holds (arrival time, data) pairs."""

    def __init__(self, base_url: str, token: str) -> None:
        super().__init__(name="sse-reader", daemon=True)
        self.url, self.token = base_url + "/api/live", token
        self.messages: list[tuple[float, dict]] = []
        self.hello = threading.Event()
        self._stop_event = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        request = urllib.request.Request(self.url, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as stream:
            for raw in stream:
                if self._stop_event.is_set():
                    return
                line = raw.decode().rstrip("\n")
                if line.startswith("event: hello"):
                    self.hello.set()
                elif line.startswith("data: ") and self.hello.is_set():
                    data = json.loads(line[6:])
                    if "layers" not in data:
                        self.messages.append((time.time(), data))

    def stop(self) -> None:
        self._stop_event.set()
