"""Process facts from ``/proc`` the broker's supervision needs: a pid's command line and parent,
whether it is gone, who listens on a local TCP port, and stopping a process by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

PROC = Path("/proc")


def cmdline(pid: int) -> list[str] | None:
    """``pid``'s argv, or None when there is no such (live) process."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part] or None


def _stat(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()  # state, ppid, … (the name may hold spaces)


def parent(pid: int) -> int | None:
    """``pid``'s parent pid, or None when there is no such process."""
    fields = _stat(pid)
    return int(fields[1]) if fields else None


def gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (absent, or a zombie; our own child is reaped)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    fields = _stat(pid)
    return fields is None or fields[0] in ("Z", "X")


def terminate(pid: int, timeout: float = 5.0) -> None:
    """SIGTERM ``pid``, then SIGKILL after ``timeout`` seconds; returns once it is gone."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if gone(pid):
                return
            time.sleep(0.02)
    raise TimeoutError(f"process {pid} did not exit after SIGKILL")


def _listen_inodes(port: int) -> set[str]:
    inodes = set()
    for name in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{cols[9]}]")
    return inodes


def listeners(port: int) -> list[int]:
    """Pids of the processes listening on TCP ``port`` (those this user may inspect)."""
    inodes = _listen_inodes(port)
    pids: list[int] = []
    if not inodes:
        return pids
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in inodes:
                    pids.append(int(entry.name))
                    break
            except OSError:
                continue
    return sorted(pids)
